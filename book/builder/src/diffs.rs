//! A lesson's fix shown as what it changes. `{{#diff START SOLUTION}}`, alone
//! on its line, becomes a unified diff of the two files (paths relative to the
//! chapter, as for `{{#include}}`), made from the files themselves at every
//! build: two near-identical listings hide the few lines that matter, and a
//! diff typed by hand would drift from the lesson.

use std::path::Path;
use std::sync::LazyLock;

use anyhow::{bail, Context, Result};
use regex::Regex;

static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\{\{#diff[ \t]+(\S+)[ \t]+(\S+)[ \t]*\}\}[ \t]*$").expect("a valid pattern"));

/// The diff from `start` to `solution`, as a fenced block, with each file named
/// by its path in the workbook.
pub fn diff_block(start_name: &str, start: &str, solution_name: &str, solution: &str) -> Result<String> {
    let diff = similar::TextDiff::from_lines(start, solution);
    let text = diff.unified_diff().context_radius(3).header(start_name, solution_name).to_string();
    if text.trim().is_empty() {
        bail!("{start_name} and {solution_name} are the same: there is no fix to show");
    }
    Ok(format!("```diff\n{}\n```", text.trim_end()))
}

/// A path as the reader knows it: from the workbook's top, without `../`.
fn shown(path: &str) -> String {
    path.split('/').filter(|p| *p != ".." && *p != ".").collect::<Vec<_>>().join("/")
}

/// `text`, a chapter in `chapter_dir`, with each `{{#diff}}` expanded.
pub fn expand(chapter_dir: &Path, text: &str) -> Result<String> {
    crate::directive::replace(text, &DIRECTIVE, |m| {
        let read = |p: &str| std::fs::read_to_string(chapter_dir.join(p)).with_context(|| format!("`{{{{#diff}}}}` reads {p}"));
        diff_block(&shown(&m[1]), &read(&m[1])?, &shown(&m[2]), &read(&m[2])?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_shows_only_the_changed_lines_and_their_context() {
        let start = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
        let solution = "a\nb\nc\nd\ne\nF\ng\nh\ni\n";
        let block = diff_block("lessons/x/a.c", start, "course/x/solution/a.c", solution).unwrap();
        assert_eq!(block, "```diff\n--- lessons/x/a.c\n+++ course/x/solution/a.c\n@@ -3,7 +3,7 @@\n c\n d\n e\n-f\n+F\n g\n h\n i\n```");
        assert!(diff_block("a", start, "b", start).is_err(), "a solution equal to the start shows nothing");
    }

    #[test]
    fn the_directive_is_replaced_alone_on_its_line_from_the_files() {
        let dir = std::env::temp_dir().join(format!("diffs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("s")).unwrap();
        std::fs::write(dir.join("a.c"), "one\ntwo\n").unwrap();
        std::fs::write(dir.join("s/a.c"), "one\n2\n").unwrap();
        let text = expand(&dir, "Before.\n\n{{#diff ./a.c ./s/a.c}}\n\nAfter `{{#diff x y}}`.\n").unwrap();
        assert_eq!(text, "Before.\n\n```diff\n--- a.c\n+++ s/a.c\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n```\n\nAfter `{{#diff x y}}`.\n");
        assert!(expand(&dir, "{{#diff a.c missing.c}}\n").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
