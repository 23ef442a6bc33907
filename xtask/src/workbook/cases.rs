//! Other learners' fixes and fakes, kept as data beside each lesson, which
//! `cargo xtask dev verify` runs after the solution:
//!
//! ```text
//! lessons/NN-name/alternatives/<case>/   correct fixes written another way: each must pass
//! lessons/NN-name/fakes/<case>/          programs that only look fixed: each must fail
//!     case.toml                          about = "how this learner wrote it" (fakes add
//!                                        fails_with = "text the failing transcript shows")
//!     src/...                            whole files, laid over the solution's files
//! ```
//!
//! A case holds whole files rather than patches, so that it stays a complete
//! program, readable on its own, whatever later edits the solution gets.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::workbook::lessons::Lesson;
use crate::workbook::scratch::files_under;

/// The file in a case folder that describes it; every other file is laid over the solution.
pub const CASE_FILE: &str = "case.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A correct fix: must pass.
    Alternative,
    /// A program that only looks fixed: must fail.
    Fake,
}

impl Kind {
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Alternative => "alternatives",
            Kind::Fake => "fakes",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct About {
    about: String,
    #[serde(default)]
    fails_with: Option<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

#[derive(Debug)]
pub struct Case {
    pub kind: Kind,
    pub name: String,
    pub about: String,
    /// For a fake: text its failing transcript must show.
    pub fails_with: Option<String>,
    /// For an alternative: the oldest kernel it works on (`"5.11"`); on older
    /// ones it must fail, as its `about` explains.
    pub min_kernel: Option<(u32, u32)>,
    /// (path inside the lesson, file in the case folder)
    pub files: Vec<(PathBuf, PathBuf)>,
}

/// Every alternative, then every fake, of `lesson`, by name.
pub fn all(lesson: &Lesson) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    for kind in [Kind::Alternative, Kind::Fake] {
        let folder = lesson.dir.join(kind.folder());
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
        dirs.sort();
        for dir in dirs {
            cases.push(read(kind, &dir).with_context(|| format!("{}", dir.display()))?);
        }
    }
    Ok(cases)
}

fn read(kind: Kind, dir: &Path) -> Result<Case> {
    let about: About = toml::from_str(&std::fs::read_to_string(dir.join(CASE_FILE))?)?;
    anyhow::ensure!(!about.about.trim().is_empty(), "{CASE_FILE} says nothing about the case");
    anyhow::ensure!(kind == Kind::Fake || about.fails_with.is_none(), "only a fake has fails_with");
    anyhow::ensure!(kind == Kind::Alternative || about.min_kernel.is_none(), "only an alternative has min_kernel");
    let min_kernel = match &about.min_kernel {
        Some(text) => Some(
            crate::machine::kernels::major_minor(text).with_context(|| format!("min_kernel {text:?} is not a version like \"5.11\""))?,
        ),
        None => None,
    };
    let files: Vec<(PathBuf, PathBuf)> = files_under(dir)?
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n != CASE_FILE))
        .map(|f| Ok((f.strip_prefix(dir)?.to_path_buf(), f)))
        .collect::<Result<_>>()?;
    anyhow::ensure!(!files.is_empty(), "the case has no files to lay over the solution");
    Ok(Case {
        kind,
        name: dir.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        about: about.about.trim().to_string(),
        fails_with: about.fails_with,
        min_kernel,
        files,
    })
}

impl Case {
    /// `alternative read-into`, `fake no-filter`.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind.folder().trim_end_matches('s'), self.name)
    }

    /// Lays the case's files over the lesson at `dir`; returns what they replaced.
    pub fn lay_over(&self, dir: &Path) -> Result<Vec<(PathBuf, Option<Vec<u8>>)>> {
        let mut replaced = Vec::new();
        for (inside, file) in &self.files {
            let target = dir.join(inside);
            replaced.push((target.clone(), std::fs::read(&target).ok()));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(file, &target)?;
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
    /// snapshot for that kernel. Ok holds a few words on the outcome.
    pub fn judge(&self, passes: bool, transcript: &str, release: Option<(u32, u32)>) -> Result<&'static str, String> {
        if self.kind == Kind::Alternative && !self.works_on(release) {
            return if passes {
                Err("passes on a kernel older than its min_kernel: is min_kernel still true?".to_string())
            } else {
                Ok("fails on this older kernel, as its case.toml says")
            };
        }
        self.verdict(passes, transcript).map(|()| if passes { "passes" } else { "fails" })
    }

    /// What a fake's transcript must show, and what an alternative's must equal, decided.
    pub fn verdict(&self, passes: bool, transcript: &str) -> Result<(), String> {
        match self.kind {
            Kind::Alternative if passes => Ok(()),
            Kind::Alternative => Err("fails, yet it is a correct fix".to_string()),
            Kind::Fake if passes => Err("passes, yet it is a fake".to_string()),
            Kind::Fake => match &self.fails_with {
                Some(text) if !transcript.contains(text.as_str()) => Err(format!("fails, but without showing {text:?}")),
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
    fn a_fake_must_fail_for_its_reason() {
        let fake = Case {
            kind: Kind::Fake,
            name: "f".into(),
            about: "a".into(),
            fails_with: Some("5 of N".into()),
            min_kernel: None,
            files: vec![],
        };
        assert!(fake.verdict(false, "observed 5 of N opens").is_ok());
        assert!(fake.verdict(false, "stopped  at load").is_err());
        assert!(fake.verdict(true, "observed N of N").is_err());
        let alternative = Case { kind: Kind::Alternative, fails_with: None, ..fake };
        assert!(alternative.verdict(true, "").is_ok());
        assert!(alternative.verdict(false, "").is_err());
    }

    #[test]
    fn an_alternative_with_min_kernel_must_fail_before_it() {
        let case = Case {
            kind: Kind::Alternative,
            name: "a".into(),
            about: "a".into(),
            fails_with: None,
            min_kernel: Some((5, 11)),
            files: vec![],
        };
        assert!(case.judge(false, "stopped  at load", Some((5, 10))).is_ok());
        assert!(case.judge(true, "observed it", Some((5, 10))).is_err());
        assert!(case.judge(true, "observed it", Some((6, 1))).is_ok());
        assert!(case.judge(false, "stopped  at load", Some((6, 1))).is_err());
    }
}
