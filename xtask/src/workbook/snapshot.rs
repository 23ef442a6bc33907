//! Transcripts compared with a lesson's insta snapshots (`course/NN-name/snapshots/<name>.snap`).

use std::panic;
use std::path::Path;

/// The label of transcript lines that are shown but never compared: what the
/// kernel reports attached, which differs between correct programs.
pub const NOTE: &str = "note     ";

/// The part of a transcript that snapshots hold: every line but the notes,
/// and no stage `ok` that repeats the stage line before it. A loader that
/// attaches two programs in one call (`skel.attach()`) works as well as one
/// that attaches each in turn; a second open, load and attach still counts.
pub fn compared(transcript: &str) -> String {
    let outcome = |line: &str| line.get(9..).filter(|rest| *rest == "ok" || rest.starts_with("FAILED")).is_some();
    let mut kept: Vec<&str> = Vec::new();
    let mut last_stage: Option<&str> = None;
    for line in transcript.lines().filter(|l| !l.starts_with(NOTE)) {
        if outcome(line) {
            if line.ends_with(" ok") && last_stage == Some(line) {
                continue;
            }
            last_stage = Some(line);
        }
        kept.push(line);
    }
    kept.join("\n")
}

/// Compares `transcript` (less its notes) with `dir/<name>.snap` through
/// insta. On a mismatch insta prints the diff and this returns false.
/// `INSTA_UPDATE`, set once in `main`, decides whether a mismatch is also
/// written out.
pub fn matches(dir: &Path, name: &str, transcript: &str) -> bool {
    let transcript = compared(transcript);
    let transcript = transcript.as_str();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        let quiet = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let outcome = panic::catch_unwind(|| insta::assert_snapshot!(name, transcript));
        panic::set_hook(quiet);
        outcome.is_ok()
    })
}

/// The snapshot a run is compared with, most specific first: `<name>@<kernel>`
/// (a Debian kernel under qemu), then `<name>@kprobes` where the kernel has
/// kprobes (a lesson with a kprobe layer runs further there), then `<name>`.
pub fn name_for(dir: &Path, name: &str, kernel: &str, kprobes: bool) -> String {
    let specific = (kernel != "host").then(|| format!("{name}@{kernel}"));
    let variant = kprobes.then(|| format!("{name}@kprobes"));
    specific.into_iter().chain(variant).find(|candidate| dir.join(format!("{candidate}.snap")).exists()).unwrap_or_else(|| name.to_string())
}

/// The text stored in `dir/<name>.snap`, if the file exists.
pub fn stored(dir: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.snap"))).ok()?;
    // A header between two `---` lines, then the snapshot itself.
    let body = text.strip_prefix("---\n")?.split_once("\n---\n")?.1;
    Some(body.trim_end().to_string())
}

/// Whether `transcript` equals the stored snapshot, as insta compares them.
pub fn same_as_stored(dir: &Path, name: &str, transcript: &str) -> bool {
    stored(dir, name).is_some_and(|s| s == compared(transcript).trim_end().replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_shown_but_not_compared() {
        let run = "attach   ok\nobserved 0 of N\nnote     attached: nothing, as the kernel reports it";
        assert_eq!(compared(run), "attach   ok\nobserved 0 of N");
    }

    #[test]
    fn a_stage_that_succeeds_again_is_said_once_and_a_failure_always() {
        let in_turn = "attach   ok\nobserved N of N opens\nattach   ok\nobserved N of N threads";
        let at_once = "attach   ok\nobserved N of N opens\nobserved N of N threads";
        assert_eq!(compared(in_turn), at_once);
        let failed = "attach   ok\nobserved N of N opens\nattach   FAILED  ENOENT";
        assert_eq!(compared(failed), failed);
        let second_run = "load     ok\nattach   ok\nobserved it\nopen     ok\nload     ok\nattach   ok\nobserved it";
        assert_eq!(compared(second_run), second_run);
    }

    #[test]
    fn per_kernel_snapshots_fall_back_to_the_default() {
        let dir = crate::workbook::root().join("course/01-open-fails/snapshots");
        assert_eq!(name_for(&dir, "layer-1", "5.10", true), "layer-1");
        assert_eq!(name_for(&dir, "fixed", "host", false), "fixed");
        let fixed = stored(&dir, "fixed").unwrap();
        assert!(fixed.starts_with("compile  ok") && !fixed.ends_with('\n'));
        assert!(same_as_stored(&dir, "fixed", &format!("{fixed}\n")));
        assert!(!same_as_stored(&dir, "fixed", "open     ok"));
        assert!(stored(&dir, "no-such-snapshot").is_none());
    }

    #[test]
    fn kernels_with_kprobes_prefer_the_kprobes_variant() {
        let dir = crate::workbook::root().join("course/02-attach/snapshots");
        assert_eq!(name_for(&dir, "fixed", "host", true), "fixed@kprobes");
        assert_eq!(name_for(&dir, "fixed", "6.1", true), "fixed@kprobes");
        assert_eq!(name_for(&dir, "fixed", "host", false), "fixed");
        assert_eq!(name_for(&dir, "layer-1", "host", true), "layer-1");
    }
}
