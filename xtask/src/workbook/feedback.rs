//! What a failing check tells the learner, decided in one place: the causes
//! diagnose's rules find, the layer the transcript shows and its hint, or the
//! hint for a failure no layer describes, and the compiler's warnings that
//! belong to where the learner is. `check` prints it, `hint` repeats it, and
//! the self-test holds every planned mistake's feedback to the cause its
//! `cases.toml` says it must name.

use crate::workbook::cause;
use crate::workbook::error_index::Evidence;
use crate::workbook::lessons::{Lesson, Meta};
use crate::workbook::run::{current_layer, Run};
use transcript::Transcript;

/// The causes of a failing run, one line each, as `check` prints them.
pub fn causes(run: &Run, on_host: bool) -> Vec<String> {
    cause::lines(&cause::of_failure(&run.sources, run.object.as_deref(), on_host, &run.transcript, &run.log))
}

/// The layer a learner who was on layer `was_on` stays on, when this failure
/// is none of the lesson's layers: a new failure, a compile error included,
/// comes from their change to that layer. A timeout or an unproven
/// portability is the machine's word, not a new failure, and keeps nothing.
pub fn layer_kept(meta: &Meta, transcript: &str, passed: bool, was_on: Option<usize>) -> Option<usize> {
    let lines = Transcript::parse(transcript);
    let new_failure = !passed && !lines.timed_out() && lines.unproven().is_none() && current_layer(meta, transcript).is_none();
    was_on.filter(|_| new_failure)
}

/// Where the verifier stopped, as its log says it: the learner's source line
/// (`file.bpf.c:N` and its code) and the instruction there; nothing when the
/// verifier did not reject the program. diagnose reads the same last words.
pub fn verifier_stop(log: &str) -> Option<String> {
    let evidence = Evidence::read(log);
    let last = evidence.verifier_last_words()?;
    let (code, place) = last.source?;
    let instruction = last.instruction.map(|i| format!(" (instruction {i})")).unwrap_or_default();
    Some(format!("the verifier stopped at {place}: `{}`{instruction}", code.trim()))
}

/// Every word a failing check gives about `run`, in English, without colour:
/// what the self-test compares with a mistake's expected feedback.
pub fn words(lesson: &Lesson, run: &Run, on_host: bool) -> String {
    let mut words: Vec<String> = causes(run, on_host).into_iter().map(|c| format!("cause: {c}")).collect();
    words.extend(verifier_stop(&run.log).map(|stop| format!("where: {stop}")));
    words.extend(warnings_for(&lesson.meta, current_layer(&lesson.meta, &run.transcript), &run.warnings));
    match current_layer(&lesson.meta, &run.transcript) {
        Some(k) => {
            let layer = &lesson.meta.layers[k - 1];
            words.push(format!("layer {k} of {}: {}", lesson.meta.layers.len(), layer.name));
            words.push(format!("hint: {}", layer.hint.trim()));
        }
        None => words.push(format!("hint: {}", unlayered_hint(&lesson.meta, &run.transcript, &lesson.number))),
    }
    words.join("\n")
}

/// The hint for a failure that no layer describes: about that failure, never
/// an earlier layer's hint.
pub fn unlayered_hint(meta: &Meta, transcript: &str, number: &str) -> String {
    if let Some(slip) = meta.slips.iter().find(|s| transcript.contains(&s.symptom)) {
        return slip.hint.trim().to_string();
    }
    let lines = Transcript::parse(transcript);
    if lines.compile_failed() {
        return format!(
            "your change does not compile; here is the first error:\n  {}",
            lines.first_details().collect::<Vec<_>>().join("\n  ")
        );
    }
    if lines.panicked() {
        return "the loader panicked; the panic line above says where. No layer of this lesson panics.".to_string();
    }
    format!(
        "this is not one of the lesson's known failures: compare your transcript with a working program's \
         (`cargo xtask check {number}` prints both); undo your last change if it made things worse."
    )
}

/// rustc's warnings worth showing at `layer`: none that belongs to a later
/// layer (it would give that layer away), and without rustc's `let _ =`
/// suggestion, which silences a `#[must_use]` value by dropping it: for a
/// libbpf-rs `Link`, that detaches the program.
pub fn warnings_for(meta: &Meta, layer: Option<usize>, warnings: &[String]) -> Vec<String> {
    let later = |warning: &str| {
        meta.layers
            .iter()
            .enumerate()
            .any(|(i, l)| layer.is_some_and(|k| i + 1 > k) && l.warning.as_deref().is_some_and(|w| warning.contains(w)))
    };
    warnings
        .iter()
        .filter(|w| !later(w))
        .map(|w| {
            let mut kept: Vec<&str> = Vec::new();
            let mut lines = w.lines().peekable();
            while let Some(line) = lines.next() {
                if line.contains("help: use `let _ = ...` to ignore the resulting value") {
                    // rustc follows the help with the suggested code, up to a blank line.
                    while lines.peek().is_some_and(|l| !l.trim().is_empty()) {
                        lines.next();
                    }
                    continue;
                }
                kept.push(line);
            }
            kept.join("\n")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_failure_keeps_the_layer_the_learner_was_on() {
        let lesson = crate::workbook::lessons::find(&crate::workbook::root(), "01").unwrap();
        let meta = &lesson.meta;
        let new =
            "compile  ok      .BTF present, .BTF.ext present\nopen     ok\nload     FAILED  EINVAL (Invalid argument)\nstopped  at load";
        assert_eq!(layer_kept(meta, new, false, Some(2)), Some(2));
        assert_eq!(layer_kept(meta, "compile  FAILED  rustc: 1 error\nstopped  at compile", false, Some(1)), Some(1));
        // A layer's own symptom is that layer, whatever the learner was on.
        let layer_1 = "open     FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at open";
        assert_eq!(layer_kept(meta, layer_1, false, Some(2)), None);
        // The machine's words keep nothing; neither does a pass, nor a first check.
        assert_eq!(layer_kept(meta, &transcript::Line::Timeout { seconds: 30 }.to_string(), false, Some(2)), None);
        assert_eq!(layer_kept(meta, new, true, Some(2)), None);
        assert_eq!(layer_kept(meta, new, false, None), None);
    }

    #[test]
    fn names_the_source_line_the_verifier_stopped_at() {
        let log = "libbpf: prog 'handle_exec': BPF program load failed: Permission denied\n\
                   libbpf: prog 'handle_exec': -- BEGIN PROG LOAD LOG --\n\
                   0: R1=ctx() R10=fp0\n\
                   ; e->ppid = task->real_parent->tgid; @ bootstrap.bpf.c:55\n\
                   12: (61) r1 = *(u32 *)(r1 +2428)\n\
                   R1 invalid mem access 'scalar'\n\
                   processed 12 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1\n\
                   libbpf: prog 'handle_exec': -- END PROG LOAD LOG --";
        let stop = verifier_stop(log).unwrap();
        assert!(stop.contains("bootstrap.bpf.c:55") && stop.contains("task->real_parent->tgid"), "{stop}");
        assert_eq!(verifier_stop("libbpf: failed to open: -ENOENT"), None);
    }

    const UNUSED_LINK: &str = "warning: unused `Link` that must be used
  --> src/main.rs:32:9
   |
32 |         lesson.stage(Stage::Attach, || skel.progs.count_opens.attach())?;
   |
   = note: not using this `Link` will detach the underlying program immediately
help: use `let _ = ...` to ignore the resulting value
   |
32 |         let _ = lesson.stage(Stage::Attach, || skel.progs.count_opens.attach())?;
   |         +++++++
";

    #[test]
    fn a_warning_that_belongs_to_a_later_layer_waits_and_never_suggests_let_underscore() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let lesson = crate::workbook::lessons::find(root, "02").unwrap();
        let layer = lesson.meta.layers.iter().position(|l| l.warning.is_some()).expect("lesson 02 names its Link warning") + 1;
        let warnings = vec![UNUSED_LINK.to_string()];
        assert!(warnings_for(&lesson.meta, Some(layer - 1), &warnings).is_empty(), "shown before its layer");
        let shown = warnings_for(&lesson.meta, Some(layer), &warnings);
        assert_eq!(shown.len(), 1);
        assert!(shown[0].contains("will detach the underlying program"), "{}", shown[0]);
        assert!(!shown[0].contains("let _ ="), "{}", shown[0]);
    }
}
