//! The self-test's one judge: whether a run of a state on a kernel is what the
//! lesson documents, for `verify` on the host and for every kernel of the
//! matrix alike; with `--bless`, it writes the snapshots instead of reading
//! them. Also the one place that says whether a program worked.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;

use crate::workbook::feedback;
use crate::workbook::lessons::Lesson;
use crate::workbook::run::Run;
use crate::workbook::selftest::{KernelFacts, State, Target};
use crate::workbook::snapshot::{self, OnMismatch};
use transcript::line::{Line, Stage, Transcript};

/// What the judge says of a run that differs from its snapshot.
pub const DIFFERS: &str = "differs from its snapshot (diff above)";

/// Whether the program did what it exists for: it observed something and
/// stopped at no stage. A solution must, besides matching its snapshot.
pub fn works(transcript: &str) -> bool {
    Transcript::parse(transcript).works()
}

/// Whether the transcript is what the solution shows on that kernel: how
/// `check` tells a pass, and so how another learner's fix or fake is judged.
pub fn equals_solution(lesson: &Lesson, on: KernelFacts, transcript: &str) -> bool {
    let dir = lesson.snapshots();
    snapshot::same_as_stored(&dir, &snapshot::name_for(&dir, "fixed", on.name, on.kprobes), transcript)
}

/// Ok when the run on kernel `on` is what the lesson documents; Err says why
/// not. With `bless` (the snapshots this run has written or claimed) the
/// transcript becomes the snapshot, and the rest is judged against it.
///
/// The order, the same everywhere: first the snapshot, which holds the whole
/// transcript (insta prints the diff); then, for a kernel the lesson explains
/// in a note, nothing more; then for the solution whether it works; for a
/// layer, first whether the transcript still shows an earlier layer's
/// symptom, and only then whether it shows its own. An earlier symptom comes
/// first because `check` names the first layer whose symptom a transcript
/// shows: the learner would be sent back to that layer whatever else the
/// transcript says, and "an earlier fix did not take" names the cause where
/// "the symptom is missing" names only the effect.
pub fn judge(
    lesson: &Lesson,
    state: &State,
    on: KernelFacts,
    run: &Run,
    bless: Option<&mut BTreeSet<String>>,
) -> Result<Result<(), String>> {
    let transcript = run.transcript.as_str();
    let dir = lesson.snapshots();
    if let Some(case) = &state.case {
        if case.kernel_notes.contains_key(on.name) {
            // The case explains why it is the other way on this kernel: a slip that does no harm
            // there works as the solution does; an alternative tied to another architecture fails.
            let passes = equals_solution(lesson, on, transcript);
            let should = case.kind != crate::workbook::cases::Kind::Alternative;
            return Ok(match (passes, should) {
                (true, true) | (false, false) => Ok(()),
                (false, true) => Err(format!("fails, yet its note says it does no harm on {} ({})", on.name, case.about)),
                (true, false) => Err(format!("passes, yet its note says it fails on {} ({})", on.name, case.about)),
            });
        }
        let feedback = || feedback::words(lesson, run, on.host);
        let verdict = case.judge(equals_solution(lesson, on, transcript), transcript, feedback, on.release);
        return Ok(verdict.map(|_| ()).map_err(|why| format!("{why} ({})", case.about)));
    }
    let kernel = on.name;
    let as_documented = if let Some(taken) = bless {
        let variant = (on.kprobes && has_kprobe_layer(lesson)).then(|| format!("{}@kprobes", state.name));
        bless_snapshot(&dir, &state.name, variant.as_deref(), kernel, transcript, taken)?;
        true
    } else {
        snapshot::matches(&dir, &snapshot::name_for(&dir, &state.name, kernel, on.kprobes), transcript, OnMismatch::ShowDiff)?
    };
    if !as_documented {
        return Ok(Err(DIFFERS.to_string()));
    }
    if lesson.meta.kernel_notes.get(kernel).is_some_and(|n| n.contains_key(&state.name)) {
        // The lesson explains why this kernel differs; its snapshot is the whole expectation.
        return Ok(Ok(()));
    }
    let Some(k) = state.layer else {
        return Ok(if works(transcript) {
            Ok(())
        } else {
            Err("the solution does not work: its transcript shows nothing observed, or a stage it stopped at".to_string())
        });
    };
    let layer = &lesson.meta.layers[k - 1];
    let explain = format!("if this kernel really differs, explain it in lesson.toml under [kernel_notes.\"{kernel}\"]");
    Ok(if let Some(earlier) = lesson.meta.layers[..k - 1].iter().find(|l| l.shows(transcript)) {
        Err(format!("still shows an earlier layer's symptom {:?}; {explain}", earlier.symptom))
    } else if transcript.contains(&layer.symptom) {
        Ok(())
    } else {
        Err(format!("the transcript lacks the symptom {:?}; {explain}", layer.symptom))
    })
}

/// Why a run that matches its snapshot says nothing about its layer, if it
/// does not: the layer's symptom is missing (or a fake or a mistake works),
/// and the transcript says the portability check, where a lesson with
/// `[portability]` may show it, was not made.
pub fn unchecked(lesson: &Lesson, state: &State, transcript: &str) -> Option<String> {
    lesson.meta.portability.as_ref()?;
    let reason = crate::workbook::portability::unproven_reason(transcript)?;
    if let Some(case) = &state.case {
        // A fake or a mistake that works here may be one only the portability check shows.
        let slip = case.kind != crate::workbook::cases::Kind::Alternative;
        return (slip && works(transcript)).then_some(reason);
    }
    let k = state.layer?;
    let shown = lesson.meta.layers[..k].iter().any(|l| l.shows(transcript));
    (!shown).then_some(reason)
}

/// The order in which a lesson's kernels are judged: the host first, then
/// newest to oldest, so that with `--bless` a kernel-specific snapshot is
/// written only where a kernel's transcript differs from the general one.
pub fn order(targets: &[Target]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&t| (!matches!(targets[t], Target::Host), std::cmp::Reverse(t)));
    order
}

fn has_kprobe_layer(lesson: &Lesson) -> bool {
    lesson.meta.layers.iter().any(|l| l.requires.as_deref() == Some("kprobes"))
}

/// What blessing one transcript does to the snapshots.
#[derive(Debug, PartialEq, Eq)]
struct Blessing {
    write: String,
    /// A snapshot no later kernel of this run may take: the host, whose
    /// transcript `<name>` already holds, keeps `<name>@kprobes` absent.
    claim: Option<String>,
    remove: Vec<String>,
}

/// Where a transcript is written, as generally as it holds. `fits(s)` is
/// None when snapshot `s` is not stored, else whether it equals the
/// transcript; `taken` holds what this run has written or claimed, any other
/// snapshot is from an earlier run.
///
/// The host writes `<name>`, or `variant` (`<name>@kprobes`) when it has
/// kprobes and the lesson a kprobe layer, so that `<name>` keeps what a
/// kernel without kprobes shows; unless `<name>` already fits, when the
/// variant would only repeat it. A kernel under qemu writes nothing new when
/// `<name>` fits, else `variant` when that is free or fits, else
/// `<name>@<kernel>`. An arm64 kernel writes only `<name>@<kernel>`, and
/// only where the snapshot it would be compared with does not fit.
fn blessing(name: &str, variant: Option<&str>, kernel: &str, fits: impl Fn(&str) -> Option<bool>, taken: &BTreeSet<String>) -> Blessing {
    let specific = format!("{name}@{kernel}");
    let write = |snapshot: &str, remove: Vec<String>| Blessing { write: snapshot.to_string(), claim: None, remove };
    if kernel == "host" {
        return match variant {
            Some(variant) if fits(name) == Some(true) => {
                Blessing { write: name.to_string(), claim: Some(variant.to_string()), remove: vec![variant.to_string()] }
            }
            _ => write(variant.unwrap_or(name), Vec::new()),
        };
    }
    if kernel.ends_with("-arm64") {
        // An arm64 run comes alone, without the host: it never rewrites what the amd64 kernels share.
        let general = variant.filter(|v| fits(v).is_some()).unwrap_or(name);
        return if fits(general) == Some(true) { write(general, vec![specific]) } else { write(&specific, Vec::new()) };
    }
    if fits(name) != Some(false) {
        let unclaimed = variant.filter(|v| !taken.contains(*v)).map(str::to_string);
        return write(name, unclaimed.into_iter().chain([specific]).collect());
    }
    match variant {
        Some(variant) if !taken.contains(variant) || fits(variant) == Some(true) => write(variant, vec![specific]),
        _ => write(&specific, Vec::new()),
    }
}

/// Writes `transcript` as [`blessing`] decides, and removes the snapshots a more general one replaces.
fn bless_snapshot(
    dir: &Path,
    name: &str,
    variant: Option<&str>,
    kernel: &str,
    transcript: &str,
    taken: &mut BTreeSet<String>,
) -> Result<()> {
    let fits = |snapshot: &str| snapshot::stored(dir, snapshot).map(|_| snapshot::same_as_stored(dir, snapshot, transcript));
    let blessing = blessing(name, variant, kernel, fits, taken);
    for snapshot in &blessing.remove {
        let path = dir.join(format!("{snapshot}.snap"));
        if path.exists() {
            std::fs::remove_file(&path)?;
            println!("  removed {}: a more general snapshot fits", path.display());
        }
    }
    snapshot::matches(dir, &blessing.write, transcript, OnMismatch::Bless)?;
    taken.insert(blessing.write);
    taken.extend(blessing.claim);
    Ok(())
}

/// A few words on what a transcript shows: `sees 5 of 5`, `stops at load`.
pub fn summary(transcript: &str) -> String {
    let mut parts = Vec::new();
    for line in transcript::line::lines(transcript) {
        match &line {
            Line::Observed(_) => {
                parts.push(line.count().map_or_else(|| "sees it".to_string(), |(seen, of)| format!("sees {seen} of {of}")))
            }
            Line::Failed { stage: Stage::Portable, .. } => parts.push("does not relocate on an older kernel".to_string()),
            Line::Stopped(stage) => parts.push(format!("stops at {stage}")),
            Line::Timeout { .. } => parts.push("times out".to_string()),
            Line::Panic(_) => parts.push("panics".to_string()),
            Line::Error(_) => parts.push("errors".to_string()),
            _ => {}
        }
    }
    // Many lines of one kind (a program that reports every event) read as one.
    parts.dedup();
    if parts.is_empty() {
        "prints nothing it should".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run with this transcript and no log.
    fn ran(transcript: &str) -> Run {
        Run::not_built(transcript.to_string(), String::new())
    }
    use crate::workbook::lessons;
    use crate::workbook::selftest::Artifact;

    /// Lesson 01 with its snapshots in a scratch folder (one per `test`) holding only `snapshots`.
    fn lesson_with(test: &str, snapshots: &[(&str, &str)], notes: &[(&str, &str)]) -> Lesson {
        let mut lesson = lessons::find(&crate::workbook::root(), "01").unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-judge-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("snapshots")).unwrap();
        for (name, body) in snapshots {
            let text = format!("---\nsource: xtask/src/snapshot.rs\n---\n{body}\n");
            std::fs::write(dir.join("snapshots").join(format!("{name}.snap")), text).unwrap();
        }
        for (kernel, text) in notes {
            lesson.meta.kernel_notes.entry(kernel.to_string()).or_default().insert("layer-1".into(), text.to_string());
        }
        lesson.course = dir.clone();
        lesson.dir = dir;
        lesson
    }

    fn state(name: &str, layer: Option<usize>) -> State {
        State { name: name.into(), label: name.into(), layer, case: None, artifact: Artifact::NotBuilt }
    }

    fn on(kernel: &str) -> KernelFacts<'_> {
        KernelFacts { name: kernel, host: kernel == "host", kprobes: true, release: None }
    }

    const FAILS: &str = "open     FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at open";
    const NO_BTF: &str = "         libbpf: BTF is required, but is missing or corrupted.\nstopped  at open";
    const WORKS: &str = "open     ok\nobserved 5 of 5 openat calls by this process";

    #[test]
    fn a_layer_passes_with_its_snapshot_and_symptom() {
        let lesson = lesson_with("layer", &[("layer-1", FAILS)], &[]);
        let layer_1 = state("layer-1", Some(1));
        assert_eq!(judge(&lesson, &layer_1, on("6.1"), &ran(FAILS), None).unwrap(), Ok(()));
        let error = judge(&lesson, &layer_1, on("6.1"), &ran(WORKS), None).unwrap().unwrap_err();
        assert!(error.contains("differs from its snapshot"), "{error}");
        std::fs::remove_dir_all(&lesson.dir).unwrap();
    }

    #[test]
    fn an_earlier_layers_symptom_is_named_before_a_missing_own_one() {
        // Layer 2's snapshot shows layer 1's symptom and lacks its own: the earlier fix did not take.
        let lesson = lesson_with("earlier", &[("layer-2", FAILS)], &[]);
        let error = judge(&lesson, &state("layer-2", Some(2)), on("host"), &ran(FAILS), None).unwrap().unwrap_err();
        assert!(error.starts_with("still shows an earlier layer's symptom"), "{error}");
        std::fs::remove_dir_all(&lesson.dir).unwrap();
        let lesson = lesson_with("own", &[("layer-2", NO_BTF)], &[]);
        assert_eq!(judge(&lesson, &state("layer-2", Some(2)), on("host"), &ran(NO_BTF), None).unwrap(), Ok(()));
        std::fs::remove_dir_all(&lesson.dir).unwrap();
    }

    #[test]
    fn a_solution_must_match_its_snapshot_and_work() {
        let lesson = lesson_with("solution", &[("fixed", WORKS)], &[]);
        assert_eq!(judge(&lesson, &state("fixed", None), on("host"), &ran(WORKS), None).unwrap(), Ok(()));
        std::fs::remove_dir_all(&lesson.dir).unwrap();
        // A snapshot that documents a failure is no solution.
        let lesson = lesson_with("failing-solution", &[("fixed", FAILS)], &[]);
        let error = judge(&lesson, &state("fixed", None), on("host"), &ran(FAILS), None).unwrap().unwrap_err();
        assert!(error.starts_with("the solution does not work"), "{error}");
        std::fs::remove_dir_all(&lesson.dir).unwrap();
    }

    #[test]
    fn a_program_works_when_it_observed_and_stopped_nowhere() {
        assert!(works(WORKS));
        assert!(!works(FAILS));
        assert!(!works("observed 0 of 5 file opens\nattach   FAILED  ENOENT\nstopped  at attach"));
        assert!(!works("open     ok\nload     ok"));
    }

    #[test]
    fn a_kernel_where_the_layer_works_needs_its_snapshot_and_a_note() {
        let lesson = lesson_with("kernel", &[("layer-1", FAILS), ("layer-1@5.10", WORKS)], &[]);
        let layer_1 = state("layer-1", Some(1));
        // The per-kernel snapshot is chosen, but without a note a working broken layer is wrong.
        let error = judge(&lesson, &layer_1, on("5.10"), &ran(WORKS), None).unwrap().unwrap_err();
        assert!(error.contains("kernel_notes.\"5.10\""), "{error}");
        // Other kernels still compare with the default snapshot.
        assert_eq!(judge(&lesson, &layer_1, on("6.12"), &ran(FAILS), None).unwrap(), Ok(()));
        std::fs::remove_dir_all(&lesson.dir).unwrap();

        let lesson = lesson_with("noted", &[("layer-1", FAILS), ("layer-1@5.10", WORKS)], &[("5.10", "why")]);
        assert_eq!(judge(&lesson, &layer_1, on("5.10"), &ran(WORKS), None).unwrap(), Ok(()));
        std::fs::remove_dir_all(&lesson.dir).unwrap();
    }

    #[test]
    fn a_layer_whose_portability_check_was_not_tried_is_unchecked_not_failed() {
        let einval = lessons::find(&crate::workbook::root(), "03").unwrap();
        let lines = crate::workbook::portability::not_tried(&einval, crate::workbook::selftest::CROSS_UNPROVEN);
        assert_eq!(
            lines,
            ["portable not proven: not tried against Linux 5.10's BTF: the check runs the loader on the build machine, which cannot run an arm64 build"]
        );
        // Layer 2 fails only in the portability check: without it the program works, and says why.
        let works = format!("compile  ok\n{}\nopen     ok\nload     ok\nattach   ok\nobserved child asleep", lines[0]);
        let why = unchecked(&einval, &state("layer-2", Some(2)), &works);
        assert_eq!(why.as_deref(), Some(lines[0].split("not proven: ").nth(1).unwrap()));
        // A transcript that shows the layer's symptom, or with the check made, is judged as ever.
        assert_eq!(unchecked(&einval, &state("layer-2", Some(2)), "compile  ok\nobserved child asleep"), None);
        let shown = format!("{works}\nstruct task_struct___v514.__state");
        assert_eq!(unchecked(&einval, &state("layer-2", Some(2)), &shown), None);
        assert_eq!(unchecked(&einval, &state("fixed", None), &works), None);
        // A fake or a mistake that works where the check was not tried may be one only it shows.
        let mut cases = crate::workbook::cases::all(&einval).unwrap();
        let take = |cases: &mut Vec<crate::workbook::cases::Case>, kind| {
            let at = cases.iter().position(|c| c.kind == kind).unwrap();
            cases.remove(at)
        };
        let fake = take(&mut cases, crate::workbook::cases::Kind::Fake);
        let fake = State { case: Some(fake), ..state("fake", None) };
        let observed = format!("{works}: state S");
        assert!(unchecked(&einval, &fake, &observed).is_some());
        assert_eq!(unchecked(&einval, &fake, "compile  ok\nobserved child asleep: state S"), None, "the check was made");
        let alternative = take(&mut cases, crate::workbook::cases::Kind::Alternative);
        assert_eq!(unchecked(&einval, &State { case: Some(alternative), ..state("alt", None) }, &observed), None);
        // A lesson without [portability] has no such line, and no such excuse.
        let open_fails = lessons::find(&crate::workbook::root(), "01").unwrap();
        assert!(crate::workbook::portability::not_tried(&open_fails, "why").is_empty());
        assert_eq!(unchecked(&open_fails, &state("layer-1", Some(1)), &works), None);
    }

    #[test]
    fn a_noted_slip_must_work_on_its_kernel_and_fail_elsewhere() {
        let lesson = lesson_with("case-note", &[("fixed", WORKS)], &[]);
        let text = "[[mistake]]\nname = \"m\"\nabout = \"a\"\nfeedback = \"(x)\"\n[mistake.kernel_notes]\n\"6.1-arm64\" = \"x0\"\n\
                    [[mistake.edit]]\nfile = \"f\"\nfind = \"a\"\nreplace = \"b\"\n";
        let case = crate::workbook::cases::parse("01", text).unwrap().remove(0);
        let slip = State { case: Some(case), ..state("mistake-m", None) };
        assert_eq!(judge(&lesson, &slip, on("6.1-arm64"), &ran(WORKS), None).unwrap(), Ok(()));
        let error = judge(&lesson, &slip, on("6.1-arm64"), &ran(FAILS), None).unwrap().unwrap_err();
        assert!(error.starts_with("fails, yet its note says it does no harm on 6.1-arm64"), "{error}");
        let error = judge(&lesson, &slip, on("6.12-arm64"), &ran(WORKS), None).unwrap().unwrap_err();
        assert!(error.contains("no longer break"), "{error}");
        // An alternative noted for a kernel is tied to another architecture: there it must fail.
        let alternative =
            text.replace("[[mistake", "[[alternative").replace("[mistake", "[alternative").replace("feedback = \"(x)\"\n", "");
        let case = crate::workbook::cases::parse("01", &alternative).unwrap().remove(0);
        let other = State { case: Some(case), ..state("alternative-m", None) };
        assert_eq!(judge(&lesson, &other, on("6.1-arm64"), &ran(FAILS), None).unwrap(), Ok(()));
        let error = judge(&lesson, &other, on("6.1-arm64"), &ran(WORKS), None).unwrap().unwrap_err();
        assert!(error.starts_with("passes, yet its note says it fails on 6.1-arm64"), "{error}");
        std::fs::remove_dir_all(&lesson.dir).unwrap();
    }

    /// `fits` over snapshots given as (name, fits the transcript).
    fn stored<'a>(snapshots: &'a [(&'a str, bool)]) -> impl Fn(&str) -> Option<bool> + 'a {
        move |name| snapshots.iter().find(|(n, _)| *n == name).map(|(_, fits)| *fits)
    }

    fn writes(snapshot: &str, claim: Option<&str>, remove: &[&str]) -> Blessing {
        Blessing { write: snapshot.into(), claim: claim.map(Into::into), remove: remove.iter().map(|r| r.to_string()).collect() }
    }

    #[test]
    fn the_host_blesses_the_kprobes_variant_only_where_the_general_snapshot_does_not_fit() {
        let none = BTreeSet::new();
        let variant = Some("fixed@kprobes");
        // Without kprobes, or in a lesson without a kprobe layer: the general snapshot.
        assert_eq!(blessing("fixed", None, "host", stored(&[("fixed", false)]), &none), writes("fixed", None, &[]));
        // With them, a transcript of its own goes to the variant, keeping what a kernel without kprobes shows.
        assert_eq!(blessing("fixed", variant, "host", stored(&[("fixed", false)]), &none), writes("fixed@kprobes", None, &[]));
        // A transcript the general snapshot already holds writes no copy, and drops an old one.
        let same = stored(&[("fixed", true), ("fixed@kprobes", true)]);
        assert_eq!(blessing("fixed", variant, "host", same, &none), writes("fixed", Some("fixed@kprobes"), &["fixed@kprobes"]));
    }

    #[test]
    fn an_arm64_kernel_blesses_only_its_own_snapshot() {
        let none = BTreeSet::new();
        let variant = Some("fixed@kprobes");
        // The amd64 kernels' variant is free in an arm64 run, yet never taken.
        let own = writes("fixed@6.1-arm64", None, &[]);
        assert_eq!(blessing("fixed", variant, "6.1-arm64", stored(&[("fixed", false)]), &none), own);
        assert_eq!(blessing("fixed", variant, "6.1-arm64", stored(&[("fixed", true), ("fixed@kprobes", false)]), &none), own);
        // Where what it is compared with fits, its own copy goes.
        let fits = writes("fixed@kprobes", None, &["fixed@6.1-arm64"]);
        assert_eq!(blessing("fixed", variant, "6.1-arm64", stored(&[("fixed", false), ("fixed@kprobes", true)]), &none), fits);
        assert_eq!(
            blessing("layer-2", None, "6.12-arm64", stored(&[("layer-2", true)]), &none),
            writes("layer-2", None, &["layer-2@6.12-arm64"])
        );
    }

    #[test]
    fn a_kernel_under_qemu_blesses_the_most_general_snapshot_that_holds() {
        let none = BTreeSet::new();
        let variant = Some("layer-1@kprobes");
        let general = writes("layer-1", None, &["layer-1@kprobes", "layer-1@6.1"]);
        assert_eq!(blessing("layer-1", variant, "6.1", stored(&[("layer-1", true)]), &none), general);
        assert_eq!(blessing("layer-1", variant, "6.1", stored(&[]), &none), general);
        // A different transcript takes the variant while it is free, or where it fits.
        assert_eq!(
            blessing("layer-1", variant, "6.1", stored(&[("layer-1", false)]), &none),
            writes("layer-1@kprobes", None, &["layer-1@6.1"])
        );
        let taken: BTreeSet<String> = ["layer-1@kprobes".to_string()].into();
        let fits_variant = stored(&[("layer-1", false), ("layer-1@kprobes", true)]);
        assert_eq!(blessing("layer-1", variant, "6.1", fits_variant, &taken), writes("layer-1@kprobes", None, &["layer-1@6.1"]));
        // Else its own: also when the host claimed the variant absent, or wrote another transcript there.
        let specific = writes("layer-1@6.1", None, &[]);
        assert_eq!(blessing("layer-1", variant, "6.1", stored(&[("layer-1", false)]), &taken), specific);
        assert_eq!(blessing("layer-1", variant, "6.1", stored(&[("layer-1", false), ("layer-1@kprobes", false)]), &taken), specific);
        assert_eq!(blessing("layer-1", None, "5.10", stored(&[("layer-1", false)]), &none), writes("layer-1@5.10", None, &[]));
        // What this run wrote or claimed stays, even where the general snapshot fits.
        assert_eq!(blessing("layer-1", variant, "5.10", stored(&[("layer-1", true)]), &taken), writes("layer-1", None, &["layer-1@5.10"]));
    }

    #[test]
    fn summaries_name_what_was_seen_and_where_it_stopped() {
        assert_eq!(summary("compile  ok\nopen     ok\nobserved 5 of 5 openat calls by this process"), "sees 5 of 5");
        assert_eq!(summary("open     FAILED  ENOENT\nstopped  at open"), "stops at open");
        assert_eq!(summary("observed 0 of 5 file opens\nattach   FAILED  ENOENT\nstopped  at attach"), "sees 0 of 5, stops at attach");
        assert_eq!(summary("compile  FAILED  clang: 2 errors\nstopped  at compile"), "stops at compile");
        assert_eq!(summary("observed the event"), "sees it");
        assert_eq!(summary("open     ok\ntimeout  stopped after 30 s"), "times out");
        assert_eq!(summary("compile  ok"), "prints nothing it should");
    }
}
