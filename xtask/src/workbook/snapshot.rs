//! Transcripts compared with a lesson's insta snapshots (`course/NN-name/snapshots/<name>.snap`).
//!
//! insta is used as a library, with nothing set in the process: `Snapshot::from_file`
//! reads a stored snapshot and `TextSnapshotContents` compares it with a transcript as
//! `assert_snapshot!` would (trailing whitespace and CRLF do not count). insta 1.49 has
//! no public way to make a file snapshot from a string, so blessing writes the file here
//! in insta's layout: the stored header unchanged (or insta's header for a new one), then
//! the contents and a newline. A test proves that every stored snapshot comes out byte
//! for byte.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anstream::println;
use anstyle::{AnsiColor, Style};
use anyhow::{Context, Result};
use insta::internals::{SnapshotContents, TextSnapshotContents};
use insta::{Snapshot, TextSnapshotKind};
use similar::{Algorithm, ChangeTag, TextDiff};

/// The header of a new snapshot, as `assert_snapshot!` in this module wrote it.
const NEW_HEADER: &str = "---\nsource: xtask/src/workbook/snapshot.rs\n---\n";

/// What a comparison does when the transcript differs from its snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMismatch {
    /// Only answers: `check` shows its own diff, in the learner's terms.
    Quiet,
    /// Prints the difference (maintainers: verify, the matrix, the probes).
    ShowDiff,
    /// Prints the difference and writes the transcript as the snapshot (`dev verify --bless`).
    Bless,
}

/// The part of a transcript that snapshots hold: every line but the notes,
/// and no stage `ok` that repeats the stage line before it. A loader that
/// attaches two programs in one call (`skel.attach()`) works as well as one
/// that attaches each in turn; a second open, load and attach still counts.
pub fn compared(transcript: &str) -> String {
    transcript::Transcript::parse(transcript).compared().to_string()
}

/// Whether `transcript` (less its notes) equals `dir/<name>.snap`; on a
/// mismatch `on_mismatch` says what else to do. A blessed snapshot matches.
pub fn matches(dir: &Path, name: &str, transcript: &str, on_mismatch: OnMismatch) -> Result<bool> {
    let path = path(dir, name);
    let stored = read(&path);
    let new = contents(transcript);
    if stored.as_ref().is_some_and(|snapshot| same(snapshot, &new)) {
        return Ok(true);
    }
    if on_mismatch == OnMismatch::Quiet {
        return Ok(false);
    }
    let old = stored.as_ref().and_then(Snapshot::as_text).map(ToString::to_string);
    println!("{}", difference(&path, name, old.as_deref(), &new.to_string()));
    if on_mismatch == OnMismatch::ShowDiff {
        return Ok(false);
    }
    write(&path, &new)?;
    eprintln!("updated snapshot {}", path.display());
    Ok(true)
}

/// The snapshot a run is compared with, most specific first: `<name>@<kernel>`
/// (a Debian kernel under qemu), then `<name>@kprobes` where the kernel has
/// kprobes (a lesson with a kprobe layer runs further there), then `<name>`.
pub fn name_for(dir: &Path, name: &str, kernel: &str, kprobes: bool) -> String {
    let specific = (kernel != "host").then(|| format!("{name}@{kernel}"));
    let variant = kprobes.then(|| format!("{name}@kprobes"));
    specific.into_iter().chain(variant).find(|candidate| path(dir, candidate).exists()).unwrap_or_else(|| name.to_string())
}

/// The text stored in `dir/<name>.snap`, as insta reads it, if the file exists.
pub fn stored(dir: &Path, name: &str) -> Option<String> {
    read(&path(dir, name))?.as_text().map(ToString::to_string)
}

/// Whether `transcript` equals the stored snapshot, as insta compares them.
pub fn same_as_stored(dir: &Path, name: &str, transcript: &str) -> bool {
    read(&path(dir, name)).is_some_and(|snapshot| same(&snapshot, &contents(transcript)))
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snap"))
}

fn read(path: &Path) -> Option<Snapshot> {
    Snapshot::from_file(path).ok()
}

/// A transcript as a file snapshot's contents.
fn contents(transcript: &str) -> TextSnapshotContents {
    TextSnapshotContents::new(compared(transcript), TextSnapshotKind::File)
}

/// insta's own rule, as its default comparator applies it to text snapshots.
fn same(stored: &Snapshot, new: &TextSnapshotContents) -> bool {
    *stored.contents() == SnapshotContents::from(new.clone())
}

/// Writes `new` to `path`, under the header already there (or a new one).
fn write(path: &Path, new: &TextSnapshotContents) -> Result<()> {
    let old = std::fs::read_to_string(path).ok();
    let header = old.as_deref().and_then(header).unwrap_or(NEW_HEADER);
    std::fs::write(path, file_text(header, new)).with_context(|| format!("writing {}", path.display()))
}

/// A .snap file's header: its YAML metadata between two `---` lines, both included.
fn header(text: &str) -> Option<&str> {
    let end = text.strip_prefix("---\n")?.find("\n---\n")? + "---\n".len() + "\n---\n".len();
    Some(&text[..end])
}

/// The file insta saves: header, the contents as insta normalises them, a newline.
fn file_text(header: &str, contents: &TextSnapshotContents) -> String {
    format!("{header}{contents}\n")
}

/// How the transcript differs from the snapshot, laid out as insta's review shows it.
fn difference(path: &Path, name: &str, old: Option<&str>, new: &str) -> String {
    const WIDTH: usize = 74;
    const RED: Style = AnsiColor::Red.on_default();
    const GREEN: Style = AnsiColor::Green.on_default();
    const DIM: Style = Style::new().dimmed();
    let rule = |left: &str, cross: &str, fill: &str| format!("{left}{cross}{}", fill.repeat(WIDTH - 13));
    let mut out = vec![
        format!("{:━^WIDTH$}", " Snapshot Summary "),
        format!("Snapshot file: {}", path.display()),
        format!("Snapshot: {name}"),
        "─".repeat(WIDTH),
    ];
    if old.is_some() {
        out.push(format!("{RED}-old snapshot{RED:#}"));
    }
    out.push(format!("{GREEN}+new results{GREEN:#}"));
    out.push(rule("────────────", "┬", "─"));
    let diff = TextDiff::configure().algorithm(Algorithm::Patience).timeout(Duration::from_millis(500)).diff_lines(old.unwrap_or(""), new);
    for (i, group) in diff.grouped_ops(4).iter().enumerate() {
        if i > 0 {
            out.push(rule("┈┈┈┈┈┈┈┈┈┈┈┈", "┼", "┈"));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let number = |index: Option<usize>| index.map(|i| (i + 1).to_string()).unwrap_or_default();
                let (old_line, new_line) = (number(change.old_index()), number(change.new_index()));
                let line = change.value().trim_end_matches('\n');
                out.push(match change.tag() {
                    ChangeTag::Delete => format!("{old_line:>5} {:>5} │{RED}-{line}{RED:#}", ""),
                    ChangeTag::Insert => format!("{:>5} {new_line:>5} │{GREEN}+{line}{GREEN:#}", ""),
                    ChangeTag::Equal => format!("{old_line:>5} {new_line:>5} │ {DIM}{line}{DIM:#}"),
                });
            }
        }
    }
    out.push(rule("────────────", "┴", "─"));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_kernel_snapshots_fall_back_to_the_default() {
        let dir = crate::workbook::root().join("course/01-open-fails/snapshots");
        assert_eq!(name_for(&dir, "layer-1", "5.10", true), "layer-1");
        assert_eq!(name_for(&dir, "fixed", "host", false), "fixed");
        let fixed = stored(&dir, "fixed").unwrap();
        assert!(fixed.starts_with("compile  ok") && !fixed.ends_with('\n'));
        assert!(same_as_stored(&dir, "fixed", &format!("{fixed}\n")));
        assert!(same_as_stored(&dir, "fixed", &format!("{fixed}\r\nnote     attached: whatever")));
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

    /// Every .snap file in the workbook, lessons' and the book's.
    fn every_snapshot_file() -> Vec<PathBuf> {
        let root = crate::workbook::root();
        let mut dirs = Vec::new();
        for parent in [root.join("course"), root.join("book")] {
            for entry in std::fs::read_dir(parent).unwrap() {
                dirs.push(entry.unwrap().path().join("snapshots"));
            }
        }
        let mut files: Vec<PathBuf> = dirs
            .iter()
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flatten()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "snap"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn every_stored_snapshot_is_written_back_byte_for_byte() {
        let files = every_snapshot_file();
        assert!(files.len() > 40, "found only {files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let snapshot = Snapshot::from_file(&file).unwrap();
            let contents = snapshot.as_text().unwrap();
            let header = header(&text).unwrap_or_else(|| panic!("{} has no header", file.display()));
            assert_eq!(file_text(header, contents), text, "{}", file.display());
        }
    }

    /// A folder of its own under the system's temporary folder, emptied first.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-snapshot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn blessing_writes_only_a_differing_transcript_and_insta_reads_it_back() {
        let lesson = crate::workbook::root().join("course/01-open-fails/snapshots");
        let dir = scratch("bless");
        let original = std::fs::read(lesson.join("fixed.snap")).unwrap();
        std::fs::write(dir.join("fixed.snap"), &original).unwrap();

        // The same transcript, with a note and a trailing newline: nothing to write.
        let same = format!("{}\nnote     attached: it\n", stored(&lesson, "fixed").unwrap());
        assert!(matches(&dir, "fixed", &same, OnMismatch::Bless).unwrap());
        assert_eq!(std::fs::read(dir.join("fixed.snap")).unwrap(), original);

        let other = "compile  ok\nopen     FAILED  ENOENT\nstopped  at open\n";
        assert!(!matches(&dir, "fixed", other, OnMismatch::Quiet).unwrap());
        assert!(!matches(&dir, "fixed", other, OnMismatch::ShowDiff).unwrap());
        assert_eq!(std::fs::read(dir.join("fixed.snap")).unwrap(), original, "only blessing writes");
        assert!(matches(&dir, "fixed", other, OnMismatch::Bless).unwrap());
        let written = std::fs::read_to_string(dir.join("fixed.snap")).unwrap();
        assert_eq!(written, format!("{}{}", header(std::str::from_utf8(&original).unwrap()).unwrap(), other));
        assert!(matches(&dir, "fixed", other, OnMismatch::Quiet).unwrap());

        // A new snapshot gets the header insta gave this module's snapshots.
        assert!(matches(&dir, "layer-9", "open     ok", OnMismatch::Bless).unwrap());
        let snapshot = Snapshot::from_file(&dir.join("layer-9.snap")).unwrap();
        assert_eq!(snapshot.metadata().source(), Some("xtask/src/workbook/snapshot.rs"));
        assert_eq!(snapshot.as_text().unwrap().to_string(), "open     ok");
        assert_eq!(std::fs::read_to_string(dir.join("layer-9.snap")).unwrap(), format!("{NEW_HEADER}open     ok\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_difference_numbers_old_and_new_lines() {
        let shown = difference(Path::new("s/fixed.snap"), "fixed", Some("compile  ok\nopen     ok"), "compile  ok\nopen     FAILED");
        let mut plain = Vec::new();
        std::io::Write::write_all(&mut anstream::StripStream::new(&mut plain), shown.as_bytes()).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert!(plain.contains("Snapshot file: s/fixed.snap\nSnapshot: fixed\n"), "{plain}");
        assert!(plain.contains("-old snapshot\n+new results\n"), "{plain}");
        assert!(plain.contains("\n    1     1 │ compile  ok\n    2       │-open     ok\n          2 │+open     FAILED\n"), "{plain}");
    }
}
