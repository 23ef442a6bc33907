//! A transcript in the book shows its shape, not a wall of the same line. The
//! builder puts in every `{{#include}}` of a snapshot (`.snap`) itself, as
//! mdBook would, and shortens each run of alike lines, such as the 64 programs
//! of a tracepoint's limit, to its first lines and a line that counts the rest.
//! Only the rendered book is shortened: the snapshots stay whole, and the
//! book's checks read the chapters before, so a message quoted from a
//! shortened line is still found in its snapshot.

use std::path::Path;
use std::sync::LazyLock;

use anyhow::{anyhow, ensure, Result};
use polib::catalog::Catalog;
use regex::Regex;

use crate::includes::{self, Include};

/// The line that stands for the rest of a run; a message in `book/po`.
pub const MORE_LINES: &str = "… {count} more lines like this";

/// A run of alike lines this long or longer is shortened.
pub const LONG_RUN: usize = 8;
/// How many of a shortened run's lines stay.
const KEPT: usize = 3;

static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]+|[0-9]+").expect("a valid pattern"));

/// Whether two lines say the same thing but for their numbers and at most one
/// other word: the same log line about another item, not another message.
fn alike(first: &str, line: &str) -> bool {
    let (a, b) = (NUMBER.replace_all(first, "0"), NUMBER.replace_all(line, "0"));
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split_whitespace().collect(), b.split_whitespace().collect());
    if a.is_empty() || a.len() != b.len() || a[0] != b[0] {
        return false;
    }
    a.iter().zip(&b).filter(|(x, y)| x != y).count() <= 1
}

/// `transcript` with each run of [`LONG_RUN`] or more lines alike to the run's
/// first kept to its first lines, then `marker` (with `{count}` the number of
/// lines left out), indented as the run.
pub fn collapse(transcript: &str, marker: &str) -> String {
    let lines: Vec<&str> = transcript.split('\n').collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let run = lines[i..].iter().take_while(|line| alike(lines[i], line)).count().max(1);
        if run >= LONG_RUN {
            out.extend(lines[i..i + KEPT].iter().map(|l| l.to_string()));
            let indent = &lines[i][..lines[i].len() - lines[i].trim_start().len()];
            out.push(format!("{indent}{}", marker.replace("{count}", &(run - KEPT).to_string())));
        } else {
            out.extend(lines[i..i + run].iter().map(|l| l.to_string()));
        }
        i += run;
    }
    out.join("\n")
}

/// The marker in the language of `translation` (English if none, or if it has
/// no translation of [`MORE_LINES`]).
pub fn marker(translation: Option<&Catalog>) -> Result<String> {
    let marker = translation.and_then(|t| crate::i18n::lookup(t, MORE_LINES)).unwrap_or(MORE_LINES);
    ensure!(marker.contains("{count}"), "the translation of {MORE_LINES:?} must keep {{count}}: {marker:?}");
    Ok(marker.to_string())
}

/// `text`, a chapter in `chapter_dir`, with each snapshot it includes put in,
/// shortened; every other directive is left to mdBook.
pub fn expand(chapter_dir: &Path, text: &str, marker: &str) -> Result<String> {
    crate::directive::replace(text, &includes::DIRECTIVE, |m| match Include::from_match(m, 0) {
        Some(include) if include.path.extension().is_some_and(|e| e == "snap") => {
            let transcript = include.resolve(chapter_dir).map_err(|why| anyhow!("{}: {why}", include.text))?;
            Ok(collapse(&transcript, marker))
        }
        _ => Ok(m[0].to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Workbook;

    fn probe(name: &str) -> String {
        let snapshots = Workbook::here().probe_snapshots().unwrap();
        snapshots.into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no probe snapshot {name}")).transcript
    }

    #[test]
    fn a_tracepoints_64_programs_show_as_three_lines_and_a_count() {
        let snapshot = probe("tracepoint-program-limit");
        let note = "note     attached: tracepoint sys_enter_getppid, as the kernel reports it";
        assert_eq!(snapshot.matches(note).count(), 64, "the snapshot lists every program");
        let shown = collapse(&snapshot, MORE_LINES);
        assert_eq!(shown.matches(note).count(), 3);
        assert!(shown.contains(&format!("{note}\n… 61 more lines like this\nopen     ok\n")), "{shown}");
        assert!(shown.starts_with("observed 64 programs attached to syscalls/sys_enter_getppid; the next one:\n"), "{shown}");
        assert!(shown.ends_with("stopped  at attach") || shown.ends_with("stopped  at attach\n"), "{shown}");
        // Every line shown but the count is the snapshot's own.
        for line in shown.lines().filter(|l| !l.contains("more lines like this")) {
            assert!(snapshot.lines().any(|l| l == line), "{line:?} is not in the snapshot");
        }
        assert_eq!(shown.lines().count(), snapshot.lines().count() - 61 + 1);
        // The appendix that tells of the shortening quotes this very line, in both editions.
        let workbook = Workbook::here();
        let internals = std::fs::read_to_string(workbook.src_dir().join("internals.md")).unwrap();
        assert!(internals.contains(&format!("\"{}\"", MORE_LINES.replace("{count}", "61"))));
        for language in crate::i18n::languages(&workbook).unwrap() {
            let translation = crate::i18n::translation(&workbook, &language).unwrap();
            let line = marker(Some(&translation)).unwrap().replace("{count}", "61");
            assert!(collapse(&snapshot, &marker(Some(&translation)).unwrap()).contains(&format!("{note}\n{line}\nopen")));
            let quoted =
                translation.messages().any(|m| m.msgid().contains("more lines like this\"") && m.msgstr().is_ok_and(|s| s.contains(&line)));
            assert!(quoted, "{language}: the appendix's example is not {line:?}");
        }
    }

    #[test]
    fn distinct_lines_short_runs_and_one_word_changes_are_kept() {
        // Ten `observed` lines, each a different fact: nothing is alike to shorten.
        let toolbox = probe("core-toolbox");
        assert_eq!(collapse(&toolbox, MORE_LINES), toolbox);
        let short: String = (1..LONG_RUN).map(|i| format!("         libbpf: relo #{i}: patched insn\n")).collect();
        assert_eq!(collapse(&short, MORE_LINES), short);
        let long: String = (0..10).map(|i| format!("         libbpf: map 'm{i}': created at 0x{i:x}0\n")).collect();
        assert_eq!(
            collapse(&long, "（另 {count} 行）"),
            "         libbpf: map 'm0': created at 0x00\n         libbpf: map 'm1': created at 0x10\n         libbpf: map 'm2': created at 0x20\n         （另 7 行）\n"
        );
        assert!(!alike("open     ok", "load     ok"), "another stage is another line");
        assert!(!alike("a b c d", "a x y d"), "two other words are another line");
    }

    #[test]
    fn a_chapter_gets_its_snapshots_shortened_and_keeps_every_other_directive() {
        let src = Workbook::here().src_dir();
        let chapter = "```text\n{{#include ../probes/snapshots/tracepoint-program-limit.snap:4:}}\n```\n\n{{#include ../probes/Cargo.toml}}\n\\{{#include x.snap}}\n";
        let text = expand(&src, chapter, MORE_LINES).unwrap();
        assert!(text.starts_with("```text\nobserved 64 programs"), "{text}");
        assert!(text.contains("… 61 more lines like this\nopen     ok"), "{text}");
        assert!(text.ends_with("stopped  at attach\n```\n\n{{#include ../probes/Cargo.toml}}\n\\{{#include x.snap}}\n"), "{text}");
        assert!(expand(&src, "{{#include ../probes/snapshots/no-such.snap}}\n", MORE_LINES).is_err());
    }

    #[test]
    fn a_translated_marker_must_keep_its_count() {
        use polib::message::Message;
        let mut catalog = Catalog::new(polib::metadata::CatalogMetadata::new());
        catalog.append_or_update(Message::build_singular().with_msgid(MORE_LINES.into()).with_msgstr("… 还有类似的行".into()).done());
        assert!(marker(Some(&catalog)).is_err());
        assert_eq!(marker(None).unwrap(), MORE_LINES);
    }
}
