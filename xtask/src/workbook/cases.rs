//! Other learners' fixes and fakes, kept as data beside each lesson's
//! solution, which `cargo xtask dev verify` runs after the solution:
//!
//! ```text
//! course/NN-name/cases.toml
//!     [[alternative]]        a correct fix written another way: must pass
//!     [[fake]]               a program that only looks fixed: must fail
//!     [[mistake]]            a natural slip: must fail, and the check must name its cause
//!     name, about            what the case is, how this learner wrote it
//!     fails_with             (fakes) text the failing transcript shows
//!     feedback               (mistakes) text the check's feedback names: a cause id, a layer
//!     min_kernel             (optional) an alternative: the oldest kernel it works on; a mistake: the oldest it breaks on
//!     kernel_notes           (optional) kernel = why the case is the other way there: a fake or mistake passes, an alternative fails
//!     [[alternative.edit]]   file, find, replace: applied in order to the solved lesson
//! ```
//!
//! A case is a few edits against the solution, made the way a layer's fix is
//! made ([`Edit::apply_to`]), rather than whole files: when the solution
//! changes under an edit, its text is gone and the case fails loudly, naming
//! itself, instead of going on testing old code.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::workbook::files::{current_files, solution_files, Files};
use crate::workbook::lessons::{Edit, Lesson};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A correct fix: must pass.
    Alternative,
    /// A program that only looks fixed: must fail.
    Fake,
    /// A slip a learner makes on the way: must fail, and the check's
    /// feedback must name its cause.
    Mistake,
}

impl Kind {
    /// The plural: `alternatives`, `fakes`.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Alternative => "alternatives",
            Kind::Fake => "fakes",
            Kind::Mistake => "mistakes",
        }
    }

    /// The table name in `cases.toml`: `alternative`, `fake`.
    pub fn table(self) -> &'static str {
        self.folder().trim_end_matches('s')
    }
}

/// `cases.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    #[serde(default, rename = "alternative")]
    alternatives: Vec<Entry>,
    #[serde(default, rename = "fake")]
    fakes: Vec<Entry>,
    #[serde(default, rename = "mistake")]
    mistakes: Vec<Entry>,
}

/// One `[[alternative]]` or `[[fake]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    about: String,
    #[serde(default)]
    fails_with: Option<String>,
    #[serde(default)]
    min_kernel: Option<String>,
    #[serde(default)]
    feedback: Option<String>,
    #[serde(default)]
    kernel_notes: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "edit")]
    edits: Vec<Edit>,
}

#[derive(Debug)]
pub struct Case {
    pub kind: Kind,
    pub name: String,
    /// The lesson's number, for messages.
    pub lesson: String,
    pub about: String,
    /// For a fake: text its failing transcript must show.
    pub fails_with: Option<String>,
    /// For an alternative: the oldest kernel it works on (`"5.11"`); on older
    /// ones it must fail, as its `about` explains. For a mistake: the oldest
    /// kernel it breaks on; older ones do not run the code it changes.
    pub min_kernel: Option<(u32, u32)>,
    /// For a mistake: text the check's feedback (its causes, layer and hint)
    /// must contain: the cause in the learner's terms, never the fix.
    pub feedback: Option<String>,
    /// Kernels where the case is the other way round, and why: a fake's or
    /// a mistake's slip does no harm there (arm64, where one register holds
    /// the first argument and the return value), so it must pass; an
    /// alternative is tied to another architecture, so it must fail.
    pub kernel_notes: std::collections::BTreeMap<String, String>,
    /// The edits that turn the solved lesson into this case, in order.
    pub edits: Vec<Edit>,
}

/// Every alternative, then every fake, then every mistake of `lesson`, in the order `cases.toml`
/// gives them; an error names the case whose edits no longer apply to the solution.
pub fn all(lesson: &Lesson) -> Result<Vec<Case>> {
    let path = lesson.cases_file();
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(Vec::new()) };
    let cases = parse(&lesson.number, &text).with_context(|| format!("in {}", path.display()))?;
    let solved = solved_files(lesson)?;
    for case in &cases {
        case.edited(&solved)?;
    }
    Ok(cases)
}

/// The cases in the text of a `cases.toml` of lesson `number`.
pub fn parse(number: &str, text: &str) -> Result<Vec<Case>> {
    let file: CasesFile = toml::from_str(text)?;
    let entries = file
        .alternatives
        .into_iter()
        .map(|e| (Kind::Alternative, e))
        .chain(file.fakes.into_iter().map(|e| (Kind::Fake, e)))
        .chain(file.mistakes.into_iter().map(|e| (Kind::Mistake, e)));
    let mut cases: Vec<Case> = Vec::new();
    for (kind, entry) in entries {
        let case = read(number, kind, entry)?;
        anyhow::ensure!(!cases.iter().any(|c| c.kind == kind && c.name == case.name), "two {}s are named {:?}", kind.table(), case.name);
        cases.push(case);
    }
    Ok(cases)
}

fn read(number: &str, kind: Kind, entry: Entry) -> Result<Case> {
    let label = format!("{} {}", kind.table(), entry.name);
    let ensure = |ok: bool, why: &str| if ok { Ok(()) } else { Err(anyhow::anyhow!("{label}: {why}")) };
    ensure(!entry.name.trim().is_empty() && !entry.name.contains(char::is_whitespace), "a case's name is one word, like no-filter")?;
    ensure(!entry.about.trim().is_empty(), "says nothing about the case")?;
    ensure(kind == Kind::Fake || entry.fails_with.is_none(), "only a fake has fails_with")?;
    ensure(kind != Kind::Fake || entry.min_kernel.is_none(), "a fake has no min_kernel")?;
    ensure((kind == Kind::Mistake) == entry.feedback.is_some(), "a mistake, and only a mistake, says the feedback it must get")?;
    ensure(entry.feedback.as_deref().is_none_or(|f| !f.trim().is_empty()), "an empty feedback would match anything the check says")?;
    ensure(!entry.edits.is_empty(), "has no edits to make to the solution")?;
    for (kernel, why) in &entry.kernel_notes {
        let known = kernel == "host" || crate::machine::kernels::pinned(kernel).is_ok();
        ensure(known, &format!("kernel_notes names unknown kernel {kernel:?}"))?;
        ensure(!why.trim().is_empty(), &format!("kernel_notes.{kernel:?} is empty"))?;
    }
    let min_kernel = match &entry.min_kernel {
        Some(text) => Some(
            crate::machine::kernels::major_minor(text)
                .with_context(|| format!("{label}: min_kernel {text:?} is not a version like \"5.11\""))?,
        ),
        None => None,
    };
    Ok(Case {
        kind,
        name: entry.name,
        lesson: number.to_string(),
        about: entry.about.trim().to_string(),
        fails_with: entry.fails_with,
        min_kernel,
        feedback: entry.feedback.map(|f| f.trim().to_string()),
        kernel_notes: entry.kernel_notes,
        edits: entry.edits,
    })
}

/// The lesson's files once solved: its own files with the solution's written over them.
fn solved_files(lesson: &Lesson) -> Result<Files> {
    let mut files = current_files(&lesson.dir)?;
    files.extend(solution_files(lesson)?);
    Ok(files)
}

impl Case {
    /// `alternative read-into`, `fake no-filter`.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind.table(), self.name)
    }

    /// The files the case changes, as its edits leave them, made to `files`
    /// (the solved lesson's); an error names the lesson, the case and the file
    /// when an edit's text is not there exactly once.
    pub fn edited(&self, files: &Files) -> Result<Files> {
        let mut changed = Files::new();
        for (i, edit) in self.edits.iter().enumerate() {
            let path = PathBuf::from(&edit.file);
            let whose = || format!("lesson {}, {}: edit {} to {}", self.lesson, self.label(), i + 1, edit.file);
            let before = match changed.get(&path).or_else(|| files.get(&path)) {
                Some(bytes) => String::from_utf8(bytes.clone()).with_context(|| format!("{}: not text", whose()))?,
                None => anyhow::bail!("{}: the solved lesson has no such file", whose()),
            };
            let after = edit.apply_to(&before).with_context(whose)?;
            changed.insert(path, after.into_bytes());
        }
        Ok(changed)
    }

    /// Makes the case's edits to the solved lesson at `dir`; returns what they replaced.
    pub fn lay_over(&self, dir: &Path) -> Result<Vec<(PathBuf, Option<Vec<u8>>)>> {
        let mut before = Files::new();
        for edit in &self.edits {
            let path = PathBuf::from(&edit.file);
            if let Ok(bytes) = std::fs::read(dir.join(&path)) {
                before.insert(path, bytes);
            }
        }
        // Every edit is made in memory first, so that one whose text is gone leaves the lesson as it was.
        let changed = self.edited(&before)?;
        let mut replaced = Vec::new();
        for (inside, content) in changed {
            let target = dir.join(&inside);
            replaced.push((target.clone(), before.remove(&inside)));
            std::fs::write(&target, content)?;
        }
        Ok(replaced)
    }

    /// Whether the case is expected to work on a kernel of `release`.
    pub fn works_on(&self, release: Option<(u32, u32)>) -> bool {
        match (self.min_kernel, release) {
            (Some(min), Some(release)) => release >= min,
            _ => true,
        }
    }

    /// Judges a run of the case on a kernel of `release`, as `check` would:
    /// `passes` says whether its transcript equals the lesson's passing
    /// snapshot for that kernel, and `feedback` gives every word the check
    /// would say of the failure. Ok holds a few words on the outcome.
    pub fn judge(
        &self,
        passes: bool,
        transcript: &str,
        feedback: impl FnOnce() -> String,
        release: Option<(u32, u32)>,
    ) -> Result<&'static str, String> {
        if self.kind == Kind::Alternative && !self.works_on(release) {
            return if passes {
                Err("passes on a kernel older than its min_kernel: is min_kernel still true?".to_string())
            } else {
                Ok("fails on this older kernel, as its min_kernel says")
            };
        }
        if self.kind == Kind::Mistake && !self.works_on(release) {
            // The slip changes code an older kernel never runs (a newer layout's branch).
            return Ok("not judged on this older kernel: the slip breaks only from its min_kernel");
        }
        let said = if self.kind == Kind::Mistake && !passes { feedback() } else { String::new() };
        self.verdict(passes, transcript, &said).map(|()| match (passes, self.kind) {
            (true, _) => "passes",
            (false, Kind::Mistake) => "fails, and the check names its cause",
            (false, _) => "fails",
        })
    }

    /// What a fake's transcript must show, what an alternative's must equal,
    /// and what a mistake's feedback (`said`) must name, decided.
    pub fn verdict(&self, passes: bool, transcript: &str, said: &str) -> Result<(), String> {
        match self.kind {
            Kind::Alternative if passes => Ok(()),
            Kind::Alternative => Err("fails, yet it is a correct fix".to_string()),
            Kind::Fake if passes => Err("passes, yet it is a fake".to_string()),
            Kind::Fake => match &self.fails_with {
                Some(text) if !transcript.contains(text.as_str()) => Err(format!("fails, but without showing {text:?}")),
                _ => Ok(()),
            },
            Kind::Mistake if passes => Err("passes, yet it is a mistake: its edits no longer break the program".to_string()),
            Kind::Mistake => match &self.feedback {
                Some(text) if !said.contains(text.as_str()) => {
                    Err(format!("fails, but the check's feedback does not name {text:?}; it said:\n{said}"))
                }
                _ => Ok(()),
            },
        }
    }
}

/// Puts back what [`Case::lay_over`] replaced.
pub fn restore(replaced: Vec<(PathBuf, Option<Vec<u8>>)>) -> Result<()> {
    for (path, content) in replaced {
        match content {
            Some(bytes) => std::fs::write(&path, bytes)?,
            None => std::fs::remove_file(&path)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_has_three_alternatives_and_three_fakes() {
        let root = crate::workbook::root();
        for lesson in crate::workbook::lessons::all(&root).unwrap() {
            let cases = all(&lesson).unwrap();
            let count = |kind| cases.iter().filter(|c| c.kind == kind).count();
            assert!(count(Kind::Alternative) >= 3, "lesson {} has {} alternatives", lesson.number, count(Kind::Alternative));
            assert!(count(Kind::Fake) >= 3, "lesson {} has {} fakes", lesson.number, count(Kind::Fake));
        }
    }

    #[test]
    fn every_lesson_has_five_mistakes() {
        let root = crate::workbook::root();
        for lesson in crate::workbook::lessons::all(&root).unwrap() {
            let mistakes = all(&lesson).unwrap().into_iter().filter(|c| c.kind == Kind::Mistake).count();
            assert!(mistakes >= 5, "lesson {} has {mistakes} mistakes", lesson.number);
        }
    }

    #[test]
    fn every_cases_edits_apply_to_todays_solution_and_change_it() {
        let root = crate::workbook::root();
        for lesson in crate::workbook::lessons::all(&root).unwrap() {
            let solved = solved_files(&lesson).unwrap();
            for case in all(&lesson).unwrap() {
                let edited = case.edited(&solved).unwrap();
                for (path, content) in &edited {
                    assert_ne!(
                        solved.get(path),
                        Some(content),
                        "lesson {} {}: {} is the solution's",
                        lesson.number,
                        case.label(),
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn an_edit_whose_text_is_gone_names_the_lesson_the_case_and_the_file() {
        let text = r#"
[[fake]]
name = "no-filter"
about = "drops the filter"
fails_with = "by this process"
[[fake.edit]]
file = "src/main.rs"
find = "filter(pid)"
replace = "true"
"#;
        let cases = parse("07", text).unwrap();
        let files = |main: &str| -> Files { [(PathBuf::from("src/main.rs"), main.as_bytes().to_vec())].into() };
        let edited = cases[0].edited(&files("if filter(pid) {}")).unwrap();
        assert_eq!(edited[Path::new("src/main.rs")], b"if true {}");
        for solution in ["if filtered(pid) {}", "filter(pid); filter(pid);"] {
            let error = format!("{:#}", cases[0].edited(&files(solution)).unwrap_err());
            assert!(error.starts_with("lesson 07, fake no-filter: edit 1 to src/main.rs: its text is"), "{error}");
        }
        assert!(parse("07", &text.replace("fails_with", "min_kernel")).is_err(), "a fake has no min_kernel");
        assert!(parse("07", &text.replace("[[fake", "[[alternative")).is_err(), "only a fake has fails_with");
        assert!(parse("07", text.split("[[fake.edit]]").next().unwrap()).is_err(), "a case needs edits");
        assert!(parse("07", &format!("{text}{text}")).is_err(), "names are unique");
    }

    #[test]
    fn a_fake_must_fail_for_its_reason() {
        let fake = Case {
            kind: Kind::Fake,
            name: "f".into(),
            about: "a".into(),
            fails_with: Some("5 of N".into()),
            lesson: "01".into(),
            min_kernel: None,
            feedback: None,
            kernel_notes: Default::default(),
            edits: vec![],
        };
        assert!(fake.verdict(false, "observed 5 of N opens", "").is_ok());
        assert!(fake.verdict(false, "stopped  at load", "").is_err());
        assert!(fake.verdict(true, "observed N of N", "").is_err());
        let alternative = Case { kind: Kind::Alternative, fails_with: None, ..fake };
        assert!(alternative.verdict(true, "", "").is_ok());
        assert!(alternative.verdict(false, "", "").is_err());
    }

    #[test]
    fn a_mistake_must_fail_and_its_feedback_must_name_the_cause() {
        let text = r#"
[[mistake]]
name = "uapi-include"
about = "includes a kernel UAPI header beside vmlinux.h"
feedback = "(uapi-header)"
[[mistake.edit]]
file = "src/bpf/x.bpf.c"
find = "a"
replace = "b"
"#;
        let cases = parse("04", text).unwrap();
        let mistake = &cases[0];
        assert_eq!((mistake.kind, mistake.label()), (Kind::Mistake, "mistake uapi-include".to_string()));
        let named = || "cause: a kernel UAPI header is included (uapi-header)\nlayer 1 of 4: …".to_string();
        assert_eq!(mistake.judge(false, "stopped  at compile", named, None), Ok("fails, and the check names its cause"));
        let vague = || "hint: this is not one of the lesson's known failures".to_string();
        assert!(mistake.judge(false, "stopped  at compile", vague, None).unwrap_err().contains("does not name"));
        assert!(mistake.judge(true, "observed it", String::new, None).unwrap_err().contains("no longer break"));
        // Only a mistake says what its feedback must be, and every mistake does.
        assert!(parse("04", &text.replace("[[mistake]]", "[[fake]]").replace("[[mistake.edit]]", "[[fake.edit]]")).is_err());
        assert!(parse("04", &text.replace("feedback = \"(uapi-header)\"\n", "")).is_err());
        assert!(parse("04", &text.replace("\"(uapi-header)\"", "\" \"")).is_err(), "an empty feedback names nothing");
    }

    #[test]
    fn a_mistake_with_min_kernel_is_not_judged_before_it() {
        let text = "[[mistake]]\nname = \"m\"\nabout = \"a\"\nfeedback = \"(core-relocation)\"\nmin_kernel = \"5.14\"\n\
                    [[mistake.edit]]\nfile = \"f\"\nfind = \"a\"\nreplace = \"b\"\n";
        let mistake = &parse("03", text).unwrap()[0];
        assert!(mistake.judge(true, "observed it", String::new, Some((5, 10))).is_ok());
        assert!(mistake.judge(true, "observed it", String::new, Some((6, 1))).is_err());
    }

    #[test]
    fn kernel_notes_name_a_pinned_kernel_and_say_why() {
        let text = "[[mistake]]\nname = \"m\"\nabout = \"a\"\nfeedback = \"(x)\"\n[mistake.kernel_notes]\n\"6.1-arm64\" = \"x0\"\n\
                    [[mistake.edit]]\nfile = \"f\"\nfind = \"a\"\nreplace = \"b\"\n";
        assert_eq!(parse("09", text).unwrap()[0].kernel_notes["6.1-arm64"], "x0");
        let error = parse("09", &text.replace("6.1-arm64", "4.19")).unwrap_err();
        assert_eq!(error.to_string(), "mistake m: kernel_notes names unknown kernel \"4.19\"");
        let alternative =
            text.replace("[[mistake", "[[alternative").replace("[mistake", "[alternative").replace("feedback = \"(x)\"\n", "");
        assert_eq!(parse("09", &alternative).unwrap()[0].kernel_notes["6.1-arm64"], "x0", "an alternative may be another architecture's");
        assert!(parse("09", &text.replace("\"x0\"", "\" \"")).is_err(), "an empty note says nothing");
    }

    #[test]
    fn an_alternative_with_min_kernel_must_fail_before_it() {
        let case = Case {
            kind: Kind::Alternative,
            name: "a".into(),
            about: "a".into(),
            fails_with: None,
            lesson: "01".into(),
            min_kernel: Some((5, 11)),
            feedback: None,
            kernel_notes: Default::default(),
            edits: vec![],
        };
        assert!(case.judge(false, "stopped  at load", String::new, Some((5, 10))).is_ok());
        assert!(case.judge(true, "observed it", String::new, Some((5, 10))).is_err());
        assert!(case.judge(true, "observed it", String::new, Some((6, 1))).is_ok());
        assert!(case.judge(false, "stopped  at load", String::new, Some((6, 1))).is_err());
    }
}
