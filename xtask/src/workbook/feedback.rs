//! What a failing check tells the learner, decided in one place: the causes
//! diagnose's rules find, the layer the transcript shows and its hint, or the
//! hint for a failure no layer describes, and the compiler's warnings that
//! belong to where the learner is. It is one value, [`Feedback`]: `check`
//! prints it as text and gives it under `--json`, in the learner's language,
//! `hint` repeats its causes, and the self-test holds every planned mistake's
//! feedback (in English) to the cause its `cases.toml` says it must name.

use serde::Serialize;
use transcript::Transcript;

use crate::workbook::cause;
use crate::workbook::error_index::Evidence;
use crate::workbook::lessons::{Lesson, Meta};
use crate::workbook::phrases::Phrases;
use crate::workbook::portability;
use crate::workbook::run::{current_layer, stopped_at, Run};
use crate::workbook::translation::Translator;

/// Everything a failing check says after the transcript and its diff, in one language.
#[derive(Debug, Clone, Serialize)]
pub struct Feedback {
    /// `not yet:`, or `not proven:` when the machine could not prove what the lesson needs.
    pub label: String,
    /// What happened, in one sentence.
    pub verdict: String,
    /// More sentences of the verdict (a time-out's).
    pub details: Vec<String>,
    /// rustc's warnings about the learner's code that belong to where they are.
    pub warnings: Vec<String>,
    /// The causes the rules find, most specific first.
    pub causes: Vec<CauseLine>,
    /// Where the verifier stopped, in the learner's source.
    #[serde(rename = "where")]
    pub place: Option<String>,
    /// The layer the learner is on.
    pub layer: Option<LayerLine>,
    pub hint: Option<String>,
    /// Where to ask for more.
    pub more: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CauseLine {
    /// The cause's id, the same in every language.
    pub id: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerLine {
    pub number: usize,
    pub of: usize,
    pub name: String,
}

impl Feedback {
    /// The feedback on a failing `run` of `lesson`, for a learner on `layer`
    /// (`kept`: the layer was kept from the last check, since this failure is
    /// none of the lesson's layers), in the language of `tr`.
    pub fn of(lesson: &Lesson, run: &Run, on_host: bool, layer: Option<usize>, kept: bool, tr: &Translator) -> Feedback {
        let say = Phrases::of(tr);
        let lines = Transcript::parse(&run.transcript);
        let stage = stopped_at(&run.transcript);
        let mut feedback = Feedback {
            label: say.not_yet(),
            verdict: String::new(),
            details: Vec::new(),
            warnings: Vec::new(),
            causes: Vec::new(),
            place: None,
            layer: None,
            hint: None,
            more: None,
        };
        if lines.timed_out() {
            let seconds = lines
                .lines
                .iter()
                .find_map(|l| match l {
                    transcript::Line::Timeout { seconds } => Some(*seconds),
                    _ => None,
                })
                .unwrap_or_default();
            let mut sentences = say.timed_out(seconds).into_iter();
            feedback.verdict = sentences.next().unwrap_or_default();
            feedback.details = sentences.collect();
        } else if layer.is_none() && stage.is_none() && portability::unproven(&run.transcript) {
            // The machine lacks what the proof needs: not the learner's failure, so no cause and no hint.
            let mut sentences = say.unproven().into_iter();
            feedback.label = say.not_proven();
            feedback.verdict = sentences.next().unwrap_or_default();
            feedback.details = sentences.collect();
            return feedback;
        } else {
            feedback.verdict = match stage {
                _ if kept && lines.compile_failed() => say.kept_compile(),
                Some(stage) if kept => say.kept_stage(stage),
                None if kept => say.kept_ran(),
                Some(stage) => say.stopped_at(stage),
                None => say.ran_to_the_end(),
            };
        }
        if layer.is_some() && lines.compile_failed() {
            // The transcript keeps the error's first line; its source line and the compiler's words are in the log.
            let error = first_error(&run.log).unwrap_or_else(|| lines.first_details().collect::<Vec<_>>().join("\n"));
            feedback.details.extend(error.lines().map(|l| format!("  {l}")));
        }
        feedback.warnings = warnings_for(&lesson.meta, layer, &run.warnings);
        let findings = cause::of_failure(&run.sources, run.object.as_deref(), on_host, &run.transcript, &run.log);
        feedback.causes = findings.iter().map(|f| CauseLine { id: f.cause, text: say.cause_line(f) }).collect();
        feedback.place = verifier_stop(&run.log, say);
        match layer {
            Some(k) => {
                let current = &lesson.meta.layers[k - 1];
                feedback.layer = Some(LayerLine { number: k, of: lesson.meta.layers.len(), name: tr.text(&current.name) });
                // The hint follows the cause found: the layer's own only when the cause is what it plans.
                let foreign = foreign_cause(lesson, k, feedback.causes.iter().map(|c| c.id));
                feedback.hint = Some(foreign.map_or_else(|| tr.text(&current.hint), |id| say.hint_for_cause(id)));
                // `hint` says no more of a cause than its concept: only the layer's own hint has a second step.
                feedback.more = (foreign.is_none() && current.more.is_some()).then(|| say.stuck(&lesson.number));
            }
            None if lines.timed_out() => feedback.hint = Some(say.ask_hint(&lesson.number)),
            None => {
                feedback.hint = Some(hint_without_layer(lesson, &run.transcript, &run.log, feedback.causes.iter().map(|c| c.id), tr));
            }
        }
        feedback
    }

    /// The cause lines, as `hint` repeats them.
    pub fn cause_texts(&self) -> Vec<String> {
        self.causes.iter().map(|c| c.text.clone()).collect()
    }

    /// The feedback as text, one string a line. `style` colours a label by
    /// its [`Look`] and `fit` fits the hint's line to the terminal: both are
    /// the caller's, so that this layer knows nothing of terminals.
    pub fn text(&self, say: Phrases, style: impl Fn(Look, String) -> String, fit: impl Fn(String) -> String) -> Vec<String> {
        let mut out = vec![String::new(), format!("{} {}", style(Look::Failed, self.label.clone()), self.verdict)];
        out.extend(self.details.iter().cloned());
        if !self.warnings.is_empty() {
            out.push(style(Look::Warned, say.rustc_warned()));
            out.extend(self.warnings.iter().cloned());
        }
        for cause in &self.causes {
            out.push(format!("{} {}", style(Look::Warned, say.cause()), cause.text));
        }
        if let Some(place) = &self.place {
            out.push(format!("{} {place}", style(Look::Warned, say.place())));
        }
        if let Some(layer) = &self.layer {
            out.push(format!("{}{}", say.layer(layer.number, layer.of), layer.name));
        }
        if let Some(hint) = &self.hint {
            // Fitted with its label, which `style` may colour.
            out.push(fit(format!("{} {hint}", style(Look::Warned, say.hint()))));
        }
        if let Some(more) = &self.more {
            out.push(style(Look::Quiet, more.clone()));
        }
        out
    }

    /// [`Feedback::text`] with no colour and no wrapping.
    pub fn plain_text(&self, say: Phrases) -> Vec<String> {
        self.text(say, |_, text| text, |line| line)
    }
}

/// How a part of the feedback looks on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Failed,
    Warned,
    Quiet,
}

/// The cause whose own hint replaces layer `k`'s, from the causes found
/// (most specific first): the first that no later layer plans (that one's
/// hint would give the later layer away), when layer `k` does not plan it.
pub fn foreign_cause<'a>(lesson: &Lesson, k: usize, mut found: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let layers = &lesson.meta.layers;
    let later = |id: &str| layers.iter().enumerate().skip(k).any(|(i, l)| l.plans(&lesson.number, i + 1, id));
    let first = found.find(|id| !later(id))?;
    (!layers[k - 1].plans(&lesson.number, k, first)).then_some(first)
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
pub fn verifier_stop(log: &str, say: Phrases) -> Option<String> {
    let evidence = Evidence::read(log);
    let last = evidence.verifier_last_words()?;
    let (code, place) = last.source?;
    Some(say.verifier_stopped(place, code.trim(), last.instruction))
}

/// Every word a failing check gives about `run`, in English, without colour:
/// what the self-test compares with a mistake's expected feedback.
pub fn words(lesson: &Lesson, run: &Run, on_host: bool) -> String {
    let layer = current_layer(&lesson.meta, &run.transcript);
    Feedback::of(lesson, run, on_host, layer, false, &Translator::english()).plain_text(Phrases::english()).join("\n")
}

/// The hint for a failure that no layer describes: about that failure, never
/// an earlier layer's hint.
pub fn unlayered_hint(meta: &Meta, transcript: &str, log: &str, number: &str, tr: &Translator) -> String {
    let say = Phrases::of(tr);
    if let Some(slip) = meta.slips.iter().find(|s| transcript.contains(&s.symptom)) {
        return tr.text(&slip.hint);
    }
    let lines = Transcript::parse(transcript);
    if lines.compile_failed() {
        let error = first_error(log).unwrap_or_else(|| lines.first_details().collect::<Vec<_>>().join("\n"));
        return say.first_compile_error(&error.replace('\n', "\n  "));
    }
    if lines.panicked() {
        return say.panicked();
    }
    say.unknown_failure(number)
}

/// At most this many lines of the compiler's first error are shown.
const ERROR_LINES: usize = 8;

/// The compiler's first error as it printed it, with the source line it
/// points at (rustc's `-->` and its `|` lines, clang's code and caret); cargo's
/// own summary lines and clang's notes on macros left out.
pub fn first_error(log: &str) -> Option<String> {
    let lines: Vec<&str> = log.lines().collect();
    let is_error = |l: &str| {
        let l = l.trim();
        let rustc = (l.starts_with("error[") || l.starts_with("error: "))
            && !l.starts_with("error: failed to run custom build command")
            && !l.starts_with("error: could not compile")
            && !l.starts_with("error: aborting due to");
        rustc || l.contains(": error: ") || l.contains(": fatal error: ")
    };
    let start = lines.iter().position(|l| is_error(l))?;
    let indent = lines[start].len() - lines[start].trim_start().len();
    let block: Vec<&str> = lines[start..]
        .iter()
        .take_while(|l| !l.trim().is_empty() && !l.contains(": note: "))
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !is_error(l))
        .map(|(_, l)| l.get(indent..).unwrap_or(l.trim_start()).trim_end())
        .take(ERROR_LINES)
        .collect();
    Some(block.join("\n"))
}

/// The hint for a failure no layer describes, given the causes found (most
/// specific first): the lesson's own word for a slip it knows; else the
/// first cause's concept, after the first compiler error when the build
/// failed; else [`unlayered_hint`]. `hint` says the same as `check`.
pub fn hint_without_layer<'a>(
    lesson: &Lesson,
    transcript: &str,
    log: &str,
    mut causes: impl Iterator<Item = &'a str>,
    tr: &Translator,
) -> String {
    let say = Phrases::of(tr);
    let hint = unlayered_hint(&lesson.meta, transcript, log, &lesson.number, tr);
    if lesson.meta.slips.iter().any(|s| transcript.contains(&s.symptom)) {
        return hint;
    }
    let Some(cause) = causes.next() else { return hint };
    let compile = Transcript::parse(transcript).compile_failed();
    match (compile, say.own_hint_for_cause(cause)) {
        (true, Some(concept)) => format!("{hint}\n{concept}"),
        (true, None) => hint,
        (false, Some(concept)) => concept,
        // "Not one of the known failures" says nothing a named cause does not say better.
        (false, None) if hint == say.unknown_failure(&lesson.number) => say.unplanned_with_cause(),
        (false, None) => hint,
    }
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
        let stop = verifier_stop(log, Phrases::english()).unwrap();
        assert!(stop.contains("bootstrap.bpf.c:55") && stop.contains("task->real_parent->tgid"), "{stop}");
        assert_eq!(verifier_stop("libbpf: failed to open: -ENOENT", Phrases::english()), None);
    }

    fn failing_run(transcript: &str, log: &str) -> Run {
        Run::not_built(transcript.to_string(), log.to_string())
    }

    #[test]
    fn the_feedback_speaks_the_learners_language_in_text_and_json_alike() {
        let root = crate::workbook::root();
        let lesson = crate::workbook::lessons::find(&root, "01").unwrap();
        let run =
            failing_run("open     FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at open", "");
        let chinese = Translator::new(&root, &crate::workbook::translation::Language::Translated("zh-CN".into())).unwrap();
        let feedback = Feedback::of(&lesson, &run, false, Some(1), false, &chinese);
        let text = feedback.plain_text(Phrases::of(&chinese)).join("\n");
        for english in ["not yet", "stopped at", "cause:", "layer 1 of", "hint:", "stuck?", &lesson.meta.layers[0].name] {
            assert!(!text.contains(english), "{english:?} in:\n{text}");
        }
        assert!(text.contains("还没有通过") && text.contains("原因：") && text.contains("(silenced-log)"), "{text}");
        // --json carries the same words.
        let json = serde_json::to_value(&feedback).unwrap();
        assert_eq!(json["hint"].as_str(), feedback.hint.as_deref());
        assert!(text.contains(json["causes"][0]["text"].as_str().unwrap()));
        assert_eq!(json["layer"]["name"].as_str(), Some(chinese.text(&lesson.meta.layers[0].name).as_str()));
        // In English, the self-test's words are the same text.
        let english = words(&lesson, &run, false);
        assert!(english.contains("not yet: stopped at open") && english.contains("layer 1 of 2: "), "{english}");
    }

    #[test]
    fn the_hint_follows_the_cause_found_unless_it_is_the_layers_own_or_a_later_ones() {
        let root = crate::workbook::root();
        let three = crate::workbook::lessons::find(&root, "03").unwrap();
        // Layer 1 of lesson 03 plans a relocation; a layout chosen by the preprocessor is not its cause.
        assert_eq!(
            foreign_cause(&three, 1, ["compile-time-kernel-choice", "core-relocation"].into_iter()),
            Some("compile-time-kernel-choice")
        );
        assert_eq!(foreign_cause(&three, 1, ["core-relocation"].into_iter()), None);
        assert_eq!(foreign_cause(&three, 1, std::iter::empty()), None);
        // Lesson 01's layer 2 plans the missing BTF: on layer 1 its hint would give that layer away.
        let one = crate::workbook::lessons::find(&root, "01").unwrap();
        assert_eq!(foreign_cause(&one, 1, ["no-btf", "silenced-log"].into_iter()), None);
        assert_eq!(foreign_cause(&one, 1, ["no-btf", "null-check-missing"].into_iter()), Some("null-check-missing"));
        // In the feedback: the cause's concept in the learner's language, never the layer's hint, nor "stuck?".
        let run = failing_run("load     FAILED  EINVAL (Invalid argument)\nstopped  at load", "");
        let mut feedback = Feedback::of(&three, &run, false, Some(1), false, &Translator::english());
        assert_eq!(feedback.hint.as_deref(), Some(three.meta.layers[0].hint.as_str()));
        feedback.causes.insert(0, CauseLine { id: "compile-time-kernel-choice", text: String::new() });
        let id = foreign_cause(&three, 1, feedback.causes.iter().map(|c| c.id)).unwrap();
        let hint = Phrases::english().hint_for_cause(id);
        assert!(hint.contains("preprocessor") && !hint.contains("bpf_core_field_exists"), "{hint}");
        assert!(Phrases { english: false }.hint_for_cause(id).contains("预处理器"));
    }

    #[test]
    fn the_first_compiler_error_keeps_its_source_line_and_drops_cargos_summary() {
        let rustc = "   Compiling open-fails v0.1.0\nerror[E0308]: mismatched types\n  --> src/main.rs:33:31\n   |\n33 |             Some(value) => u32::from_ne_bytes(b),\n   |                            ^^^^^ expected `u64`, found `u32`\n\nerror: could not compile `open-fails`\n";
        let error = first_error(rustc).unwrap();
        assert!(error.starts_with("error[E0308]: mismatched types") && error.contains("expected `u64`, found `u32`"), "{error}");
        assert!(!error.contains("could not compile"), "{error}");
        let clang = "error: failed to run custom build command for `einval`\n\n  --- stderr\n  src/bpf/einval.bpf.c:45:58: error: no member named 'state' in 'struct task_struct'\n     45 |         if (x->state) {\n        |                ^~~~~\n  bpf_core_read.h:188:49: note: expanded from macro 'bpf_core_field_exists'\n  1 error generated.\n";
        let error = first_error(clang).unwrap();
        assert!(error.starts_with("src/bpf/einval.bpf.c:45:58: error:") && error.contains("45 |"), "{error}");
        assert!(!error.contains("note:") && !error.contains("custom build"), "{error}");
        assert_eq!(first_error("libbpf: failed to open: -ENOENT"), None);
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
