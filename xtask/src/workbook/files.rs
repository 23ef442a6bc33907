//! A lesson's files: the learner's, the starting (broken) ones, the solution's, and their backups in `.backups/`.
//! Nothing is overwritten before it is saved under `.backups/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::machine::lock;
use crate::workbook::lessons::{Lesson, Meta};

/// A lesson's files: path inside the lesson folder → contents.
pub type Files = BTreeMap<PathBuf, Vec<u8>>;

/// What in a lesson folder is not the learner's: the lesson's text, and the
/// author's data that commits from before it moved to `course/` kept here, so
/// that reset never brings it back from history. Reset, restore, watch and
/// solution never write or watch these.
const AUTHORS: &[&str] = &["README.md", "lesson.toml", "solution", "snapshots", "alternatives", "fakes"];

/// Where backups go, at the workbook's top (git-ignored).
pub const BACKUPS: &str = ".backups";

/// Whether `relative` (a path inside a lesson folder) is one the learner works on.
pub fn is_learners(relative: &Path) -> bool {
    match relative.components().next() {
        Some(std::path::Component::Normal(first)) => !AUTHORS.iter().any(|a| first == *a),
        _ => false,
    }
}

/// The learner's files of the lesson in `dir`, as they are now.
pub fn current_files(dir: &Path) -> Result<Files> {
    let mut files = Files::new();
    collect(dir, dir, &mut files)?;
    Ok(files)
}

/// A short hash (FNV-1a) of the learner's files of the lesson in `dir`:
/// their names and contents. Any edit changes it.
pub fn hash(dir: &Path) -> Result<String> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, content) in current_files(dir)? {
        let name = name.to_string_lossy().into_owned().into_bytes();
        for byte in name.into_iter().chain([0]).chain(content).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Ok(format!("{hash:016x}"))
}

fn collect(top: &Path, dir: &Path, files: &mut Files) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let relative = path.strip_prefix(top)?.to_path_buf();
        if !is_learners(&relative) {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(top, &path, files)?;
        } else if kind.is_file() {
            files.insert(relative, std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?);
        }
    }
    Ok(())
}

/// Saves `files` of `lesson` in a new folder under `.backups/`; returns it, relative to `root`.
pub fn backup(root: &Path, lesson: &Lesson, files: &Files) -> Result<PathBuf> {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let stem = format!("{}-{}", lesson.number, utc_stamp(seconds));
    let mut relative = Path::new(BACKUPS).join(&stem);
    let mut n = 2;
    while root.join(&relative).exists() {
        relative = Path::new(BACKUPS).join(format!("{stem}-{n}"));
        n += 1;
    }
    let folder = root.join(&relative);
    write_files(&folder, files).with_context(|| format!("saving your files in {}", folder.display()))?;
    Ok(relative)
}

fn write_files(dir: &Path, files: &Files) -> Result<()> {
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// `20251128T032000Z` for 2025-11-28 03:20:00 UTC: sorts by time, safe in a file name.
pub fn utc_stamp(seconds: u64) -> String {
    let time = i64::try_from(seconds).ok().and_then(|s| chrono::DateTime::from_timestamp(s, 0)).unwrap_or_default();
    time.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The files that differ between `from` and `to`, for the paths in `to`.
pub fn differing(from: &Files, to: &Files) -> Vec<PathBuf> {
    to.iter().filter(|(path, contents)| from.get(*path) != Some(*contents)).map(|(path, _)| path.clone()).collect()
}

pub fn names(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Writes `files` into the lesson (only those in `changed`) after saving the learner's current files.
pub fn replace(root: &Path, lesson: &Lesson, current: &Files, files: &Files, changed: &[PathBuf]) -> Result<PathBuf> {
    let _held = lock::lesson(root, &lesson.number, "reset")?;
    let saved = backup(root, lesson, current)?;
    let chosen: Files = changed.iter().map(|p| (p.clone(), files[p].clone())).collect();
    write_files(&lesson.dir, &chosen)?;
    Ok(saved)
}

/// The starting files of a lesson, and where they came from.
pub struct Start {
    pub files: Files,
    /// The commit they were read from, abbreviated.
    pub commit: String,
    /// Whether that commit is HEAD.
    pub at_head: bool,
    /// Whether the lesson's own fixes lead from these files to its solution.
    pub verified: bool,
}

/// A workbook without git history: reset cannot know the starting files.
#[derive(Debug)]
pub struct NoGit(String);

impl std::fmt::Display for NoGit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "reset reads a lesson's starting files from git, and {}. Get the lesson folder afresh \
             from the workbook (or clone the workbook with git); `cargo xtask solution NN` still works",
            self.0
        )
    }
}

impl std::error::Error for NoGit {}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git").arg("-C").arg(root).args(args).output();
    match output {
        Ok(output) if output.status.success() => Ok(output.stdout),
        Ok(output) => bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(NoGit("git is not installed".to_string()).into()),
        Err(error) => Err(error).context("running git"),
    }
}

/// The lesson's learner files as committed in `commit`.
fn committed_files(root: &Path, lesson: &Lesson, commit: &str) -> Result<Files> {
    let folder = format!("lessons/{}/", lesson.dir_name);
    let listing = git(root, &["ls-tree", "-r", "-z", "--name-only", commit, "--", &folder])?;
    let mut files = Files::new();
    for path in listing.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let Some(relative) = path.strip_prefix(&folder) else { continue };
        if is_learners(Path::new(relative)) {
            files.insert(PathBuf::from(relative), git(root, &["show", &format!("{commit}:./{path}")])?);
        }
    }
    Ok(files)
}

/// Whether applying every layer's fixes to `files` gives the lesson's `solution/`:
/// the mark of a lesson's untouched starting files.
pub fn leads_to_solution(meta: &Meta, files: &Files, solution: &Files) -> bool {
    let mut fixed = files.clone();
    for edit in meta.layers.iter().flat_map(|l| &l.fix) {
        let Some(text) = fixed.get(Path::new(&edit.file)).and_then(|b| String::from_utf8(b.clone()).ok()) else {
            return false;
        };
        let Ok(text) = edit.apply_to(&text) else { return false };
        fixed.insert(PathBuf::from(&edit.file), text.into_bytes());
    }
    solution.iter().all(|(path, contents)| fixed.get(path) == Some(contents))
}

/// The lesson's starting files: HEAD's, unless the learner committed their own
/// work, then those of the newest commit from which the lesson's fixes still
/// lead to its solution.
pub fn starting_files(root: &Path, lesson: &Lesson) -> Result<Start> {
    let inside = git(root, &["rev-parse", "--is-inside-work-tree"]);
    match inside {
        Err(error) if error.downcast_ref::<NoGit>().is_some() => return Err(error),
        Err(_) => return Err(NoGit("this copy of the workbook is not a git checkout".to_string()).into()),
        Ok(_) => {}
    }
    let solution = solution_files(lesson)?;
    let head = committed_files(root, lesson, "HEAD").unwrap_or_default();
    if head.is_empty() {
        bail!("lesson {} is not committed to git, so reset has no starting files for it", lesson.number);
    }
    let short = |commit: &str| git(root, &["rev-parse", "--short", commit]).map(|s| String::from_utf8_lossy(&s).trim().to_string());
    if leads_to_solution(&lesson.meta, &head, &solution) {
        return Ok(Start { files: head, commit: short("HEAD")?, at_head: true, verified: true });
    }
    let folder = format!("lessons/{}", lesson.dir_name);
    let history = git(root, &["log", "--format=%H", "-n", "200", "--", &folder])?;
    for commit in String::from_utf8_lossy(&history).lines() {
        let files = committed_files(root, lesson, commit)?;
        if !files.is_empty() && leads_to_solution(&lesson.meta, &files, &solution) {
            return Ok(Start { files, commit: short(commit)?, at_head: false, verified: true });
        }
    }
    Ok(Start { files: head, commit: short("HEAD")?, at_head: true, verified: false })
}

/// The files in the lesson's `course/NN-name/solution/`.
pub fn solution_files(lesson: &Lesson) -> Result<Files> {
    let dir = lesson.solution();
    let mut files = Files::new();
    collect_all(&dir, &dir, &mut files)?;
    Ok(files)
}

pub fn collect_all(top: &Path, dir: &Path, files: &mut Files) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_all(top, &path, files)?;
        } else {
            files.insert(path.strip_prefix(top)?.to_path_buf(), std::fs::read(&path)?);
        }
    }
    Ok(())
}

/// The backups of lesson `number`, oldest first.
pub fn backups_of(root: &Path, number: &str) -> Vec<PathBuf> {
    let prefix = format!("{number}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(BACKUPS))
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix) && e.path().is_dir())
        .map(|e| Path::new(BACKUPS).join(e.file_name()))
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_764_300_000), "20251128T032000Z");
    }

    #[test]
    fn the_authors_files_are_not_the_learners() {
        for learners in ["src/main.rs", "src/bpf/x.bpf.c", "build.rs", "Cargo.toml", "notes.txt"] {
            assert!(is_learners(Path::new(learners)), "{learners}");
        }
        for authors in ["README.md", "lesson.toml", "solution/src/main.rs", "snapshots/fixed.snap", "fakes/no-filter/src/main.rs", ""] {
            assert!(!is_learners(Path::new(authors)), "{authors}");
        }
    }

    #[test]
    fn only_untouched_starting_files_lead_to_the_solution() {
        let toml = crate::workbook::lessons::tests::GOOD.replace("src/main.rs", "build.rs");
        let toml = toml.replace("find = \"a\"", "find = \"-O2\"").replace("replace = \"b\"", "replace = \"-g -O2\"");
        let meta = crate::workbook::lessons::parse_meta(&toml).unwrap();
        assert_eq!(meta.layers[0].fix[0].replace, "-g -O2");
        let files = |build: &str| -> Files {
            [("build.rs", build), ("src/main.rs", "fn main() {}")].map(|(p, c)| (PathBuf::from(p), c.as_bytes().to_vec())).into()
        };
        let solution: Files = [(PathBuf::from("build.rs"), b"clang -g -O2".to_vec())].into();
        assert!(leads_to_solution(&meta, &files("clang -O2"), &solution));
        // Already fixed: the fix's text is gone.
        assert!(!leads_to_solution(&meta, &files("clang -g -O2"), &solution));
        // Changed elsewhere in a fixed file: the fixes no longer give the solution.
        assert!(!leads_to_solution(&meta, &files("clang -O2 -Wall"), &solution));
    }
}
