//! Every `{{#include}}` in the book's sources must bring in text. mdBook itself
//! renders a misspelt anchor as nothing and a missing file as the raw directive.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// One `{{#include path[:lines|:anchor]}}` found in a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// 1-based line of the directive in its chapter.
    pub line: usize,
    /// The directive as written.
    pub text: String,
    /// The included file, relative to the chapter's folder.
    pub path: PathBuf,
    pub part: Part,
}

/// Which part of the file an include takes, with mdBook's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// 1-based first line and last line, both optional (`:3:`, `::5`, `:3:5`, `:3`).
    Lines { first: Option<usize>, last: Option<usize> },
    /// The lines between `ANCHOR: name` and `ANCHOR_END: name`.
    Anchor(String),
}

/// What is wrong with one directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

// The same pattern mdBook uses, so this finds exactly what mdBook expands.
pub(crate) static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\\{\{#.*\}\}|\{\{\s*#([a-zA-Z0-9_]+)\s+([^}]+)\}\}").expect("a valid pattern"));
static ANCHOR_START: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"ANCHOR:\s*(?P<name>[\w_-]+)").expect("a valid pattern"));
static ANCHOR_END: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"ANCHOR_END:\s*(?P<name>[\w_-]+)").expect("a valid pattern"));

/// The include directives in a chapter's text; unknown directives are problems.
pub fn find(chapter: &str) -> (Vec<Include>, Vec<Problem>) {
    let (mut includes, mut problems) = (Vec::new(), Vec::new());
    for capture in DIRECTIVE.captures_iter(chapter) {
        let Some(kind) = capture.get(1) else { continue }; // escaped
        let whole = capture.get(0).expect("a match has a whole");
        let line = chapter[..whole.start()].matches('\n').count() + 1;
        if let Some(include) = Include::from_match(&capture, line) {
            includes.push(include);
            continue;
        }
        match kind.as_str() {
            // The builder's own, expanded before these are checked.
            "title" | "diff" | "task" => {}
            other => problems.push(Problem { line, message: format!("unknown directive `#{other}` in {}", whole.as_str()) }),
        }
    }
    (includes, problems)
}

impl Part {
    fn whole() -> Part {
        Part::Lines { first: None, last: None }
    }

    /// mdBook's rules: a number starts a line range, anything else names an anchor.
    fn parse(spec: &str) -> Part {
        let mut pieces = spec.splitn(3, ':');
        let first = pieces.next().unwrap_or_default();
        let first = match first.parse::<usize>() {
            Ok(n) => Some(n.max(1)),
            Err(_) if first.is_empty() => None,
            Err(_) => return Part::Anchor(first.to_string()),
        };
        match pieces.next() {
            None if first.is_some() => Part::Lines { first, last: first },
            None => Part::whole(),
            Some(last) => Part::Lines { first, last: last.parse().ok() },
        }
    }

    /// The text mdBook would include from `file`, or why it would include nothing.
    pub fn take(&self, file: &str) -> Result<String, String> {
        let lines: Vec<&str> = file.lines().collect();
        match self {
            Part::Lines { first, last } => {
                let start = first.unwrap_or(1);
                let end = last.unwrap_or(lines.len());
                if start > lines.len() || end > lines.len() {
                    return Err(format!("asks for lines {start} to {end}, but the file has {} lines", lines.len()));
                }
                if start > end {
                    return Err(format!("asks for lines {start} to {end}, an empty range"));
                }
                Ok(lines[start - 1..end].join("\n"))
            }
            Part::Anchor(name) => {
                let named = |pattern: &Regex, line: &str| pattern.captures(line).is_some_and(|c| &c["name"] == name);
                let start = lines.iter().position(|l| named(&ANCHOR_START, l)).ok_or_else(|| format!("has no `ANCHOR: {name}`"))?;
                let kept: Vec<&str> = lines[start + 1..]
                    .iter()
                    .take_while(|l| !named(&ANCHOR_END, l))
                    .filter(|l| !ANCHOR_START.is_match(l) && !ANCHOR_END.is_match(l))
                    .copied()
                    .collect();
                Ok(kept.join("\n"))
            }
        }
    }
}

impl Include {
    /// The include a match of [`DIRECTIVE`] at `line` stands for, if it is one
    /// that brings in a file (not escaped, not another directive).
    pub(crate) fn from_match(capture: &regex::Captures, line: usize) -> Option<Include> {
        let (kind, rest) = (capture.get(1)?.as_str(), capture.get(2)?.as_str());
        if !matches!(kind, "include" | "rustdoc_include" | "playground") {
            return None;
        }
        let target = rest.split_whitespace().next().unwrap_or_default();
        let (path, spec) = target.split_once(':').unwrap_or((target, ""));
        let part = if kind == "playground" { Part::whole() } else { Part::parse(spec) };
        Some(Include { line, text: capture[0].to_string(), path: path.into(), part })
    }

    /// The text this include brings into the chapter in `chapter_dir`.
    pub fn resolve(&self, chapter_dir: &Path) -> Result<String, String> {
        let target = chapter_dir.join(&self.path);
        let file = std::fs::read_to_string(&target).map_err(|e| format!("{}: {e}", self.path.display()))?;
        let text = self.part.take(&file).map_err(|e| format!("{} {e}", self.path.display()))?;
        if text.trim().is_empty() {
            return Err(format!("{} gives no text", self.path.display()));
        }
        Ok(text)
    }
}

/// Every problem with the includes of the chapter `text`, which lives in `chapter_dir`.
pub fn check(text: &str, chapter_dir: &Path) -> Vec<Problem> {
    let (includes, mut problems) = find(text);
    for include in includes {
        if let Err(why) = include.resolve(chapter_dir) {
            problems.push(Problem { line: include.line, message: format!("{}: {why}", include.text) });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "line one\n// ANCHOR: setup\nlet x = 1;\n// ANCHOR_END: setup\n// ANCHOR: empty\n// ANCHOR_END: empty\nlast\n";

    /// A directory holding `code.rs`, removed when the test ends.
    struct Workdir(PathBuf);

    impl Drop for Workdir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn workdir(name: &str) -> Workdir {
        let dir = std::env::temp_dir().join(format!("book-includes-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("code.rs"), SOURCE).unwrap();
        Workdir(dir)
    }

    #[test]
    fn parses_ranges_and_anchors_as_mdbook_does() {
        assert_eq!(Part::parse(""), Part::Lines { first: None, last: None });
        assert_eq!(Part::parse("4:"), Part::Lines { first: Some(4), last: None });
        assert_eq!(Part::parse(":3"), Part::Lines { first: None, last: Some(3) });
        assert_eq!(Part::parse("2:5"), Part::Lines { first: Some(2), last: Some(5) });
        assert_eq!(Part::parse("7"), Part::Lines { first: Some(7), last: Some(7) });
        assert_eq!(Part::parse("setup"), Part::Anchor("setup".into()));
    }

    #[test]
    fn finds_directives_with_their_lines_and_skips_escaped_ones() {
        let chapter = "# T\n\n```\n{{#include ../a.snap:4:}}\n```\n\\{{#include not/this.rs}}\n{{ #include b.rs:x }}\n";
        let (includes, problems) = find(chapter);
        assert!(problems.is_empty());
        assert_eq!(includes.len(), 2);
        assert_eq!((includes[0].line, includes[0].path.as_path()), (4, Path::new("../a.snap")));
        assert_eq!(includes[1].part, Part::Anchor("x".into()));
    }

    #[test]
    fn a_misspelt_directive_is_a_problem() {
        let (includes, problems) = find("{{#inclde code.rs}}\n{{#title Fine}}");
        assert!(includes.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("#inclde"), "{problems:?}");
    }

    #[test]
    fn takes_the_same_text_mdbook_includes() {
        assert_eq!(Part::parse("setup").take(SOURCE).unwrap(), "let x = 1;");
        assert_eq!(Part::parse("2:3").take(SOURCE).unwrap(), "// ANCHOR: setup\nlet x = 1;");
        assert_eq!(Part::parse("7:").take(SOURCE).unwrap(), "last");
    }

    #[test]
    fn good_includes_pass() {
        let dir = workdir("good");
        let chapter = "{{#include code.rs}}\n{{#include code.rs:setup}}\n{{#include code.rs:3:3}}\n";
        assert_eq!(check(chapter, &dir.0), []);
    }

    #[test]
    fn missing_files_anchors_and_lines_and_empty_text_are_problems() {
        let dir = workdir("bad");
        let chapter = "{{#include nothing.rs}}\n{{#include code.rs:setpu}}\n{{#include code.rs:20:}}\n{{#include code.rs:empty}}\n{{#include code.rs:5:4}}\n";
        let problems = check(chapter, &dir.0);
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5], "{problems:#?}");
        assert!(problems[1].message.contains("no `ANCHOR: setpu`"));
        assert!(problems[2].message.contains("the file has 7 lines"));
        assert!(problems[3].message.contains("gives no text"));
    }
}
