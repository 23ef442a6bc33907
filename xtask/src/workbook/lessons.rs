//! Lessons on disk: the learner's folder `lessons/NN-slug/`, and the author's
//! data beside it in `course/NN-slug/` (`lesson.toml`, `solution/`,
//! `snapshots/`, `cases.toml`), out of the learner's way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::machine::host::{self, Finding, Status};
use crate::machine::kernels;
use crate::usage_error::UsageError;

/// `lesson.toml`: what a lesson is called, what it needs, and its layers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub title: String,
    pub needs: Needs,
    #[serde(rename = "layer")]
    pub layers: Vec<Layer>,
    /// Where a kernel really gives another outcome than the usual one, why:
    /// kernel (`5.10`) → snapshot name (`layer-1`, `fixed`) → explanation.
    #[serde(default)]
    pub kernel_notes: BTreeMap<String, BTreeMap<String, String>>,
    /// Text of the working transcript that would give a fix away: a failed
    /// check's diff shows it as `…`.
    #[serde(default)]
    pub conceal: Vec<String>,
    /// Natural slips that no layer describes, each with its own hint.
    #[serde(default, rename = "slip")]
    pub slips: Vec<Slip>,
    /// Kernels whose BTF the lesson's object must relocate against, besides
    /// the running kernel's: `check` proves it on every run.
    #[serde(default)]
    pub portability: Option<Portability>,
}

/// `[[slip]]` in `lesson.toml`: a mistake learners make on the way, not a layer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slip {
    /// Text in the transcript that shows the slip.
    pub symptom: String,
    pub hint: String,
}

/// `[portability]` in `lesson.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portability {
    /// Debian kernels (`5.10`) whose BTF the object is relocated against.
    pub kernels: Vec<String>,
    /// What those kernels stand for, for the transcript (`the pre-5.14 task_struct`).
    pub layout: String,
}

/// What the machine must offer for the lesson to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Needs {
    pub root: bool,
    pub btf: bool,
    pub tracefs: bool,
    pub kprobes: bool,
    /// fentry/fexit programs that load and attach (a probe's answer on the host).
    #[serde(default)]
    pub fentry: bool,
    pub min_kernel: String,
}

/// One failure the learner peels off, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub name: String,
    /// Text that appears in the transcript while this layer is the one failing.
    pub symptom: String,
    /// The class the symptom belongs to, as a regular expression: the same
    /// failure whatever name or value the learner's code produced (another
    /// kprobe target, another wrong exit code). The layer's own snapshot
    /// shows `symptom` itself.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The first hint: the concept, without the API.
    pub hint: String,
    /// The second hint, for a learner who asks again: the API and where to look.
    #[serde(default)]
    pub more: Option<String>,
    /// A kernel feature this layer needs (only "kprobes" so far); where it is
    /// missing the layer is skipped, with the reason, instead of run.
    #[serde(default)]
    pub requires: Option<String>,
    /// Text of a rustc warning that points at this layer's fix: held back
    /// while an earlier layer is the one failing, so it gives nothing away.
    #[serde(default)]
    pub warning: Option<String>,
    /// Causes (diagnose's ids) this layer plans besides those the error
    /// index says it reproduces: a cause found that is none of them is not
    /// this layer's, and its own hint is given instead of the layer's.
    #[serde(default)]
    pub causes: Vec<String>,
    /// The edits that fix this layer; applied in order they lead to `solution/`.
    pub fix: Vec<Edit>,
}

impl Layer {
    /// Whether `cause` is what layer `k` of lesson `number` is about: the error
    /// index reproduces it there, or the layer names it in `causes`.
    pub fn plans(&self, number: &str, k: usize, cause: &str) -> bool {
        let here = format!("lesson {number} layer {k}");
        self.causes.iter().any(|c| c == cause)
            || crate::workbook::error_index::CAUSES.iter().any(|c| c.id == cause && c.reproduced_by.contains(&here.as_str()))
    }

    /// Whether `transcript` shows this layer's failure: its symptom, or one of its class.
    pub fn shows(&self, transcript: &str) -> bool {
        transcript.contains(&self.symptom)
            || self.pattern.as_deref().is_some_and(|p| regex::Regex::new(p).is_ok_and(|re| re.is_match(transcript)))
    }
}

/// Replace the one occurrence of `find` in `file` by `replace`: a layer's fix,
/// or one step from the solution to another learner's program (`cases.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    pub file: String,
    pub find: String,
    pub replace: String,
}

impl Edit {
    /// `text` with the edit made; an error when `find` is not in it exactly once,
    /// so an edit whose text has gone fails loudly instead of testing old code.
    pub fn apply_to(&self, text: &str) -> Result<String> {
        match text.matches(self.find.as_str()).count() {
            1 => Ok(text.replacen(&self.find, &self.replace, 1)),
            0 => anyhow::bail!("its text is not in the file"),
            n => anyhow::bail!("its text is in the file {n} times"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Lesson {
    /// Two digits, e.g. "01".
    pub number: String,
    /// The folder name, e.g. "01-open-fails".
    pub dir_name: String,
    /// `lessons/NN-slug/`: the learner's files, and only those.
    pub dir: PathBuf,
    /// `course/NN-slug/`: the author's data (`lesson.toml`, `solution/`, `snapshots/`, `cases.toml`).
    pub course: PathBuf,
    /// The cargo package, read from the lesson's Cargo.toml.
    pub package: String,
    pub meta: Meta,
}

impl Layer {
    /// Why this layer cannot run on this machine, if it cannot.
    pub fn skip_reason(&self) -> Option<String> {
        self.skip_reason_on(host::kprobes_available())
    }

    /// Why this layer cannot run on a kernel with or without kprobes.
    pub fn skip_reason_on(&self, kprobes: bool) -> Option<String> {
        match self.requires.as_deref() {
            Some("kprobes") if !kprobes => Some("this kernel has no kprobes (CONFIG_KPROBES unset)".to_string()),
            _ => None,
        }
    }
}

impl Needs {
    /// Why a kernel with or without kprobes, and with fentry's answer (asked
    /// only when the lesson needs it), cannot run the lesson at all: a fact
    /// of that kernel, which no setup changes, so the self-test marks it
    /// skipped with the reason, never passed.
    pub fn kernel_lacks(&self, kprobes: bool, fentry: impl FnOnce() -> Result<(), String>) -> Option<String> {
        if self.kprobes && !kprobes {
            return Some("this kernel has no kprobes (CONFIG_KPROBES unset), which the lesson needs".to_string());
        }
        if self.fentry {
            return fentry().err().map(|why| format!("this kernel does not run fentry programs, which the lesson needs: {why}"));
        }
        None
    }

    /// The problems that stop a lesson with these needs from running here.
    pub fn problems_here(&self) -> Vec<Finding> {
        let mut checks = host::build_problems();
        checks.extend(self.run_problems_here());
        checks
    }

    /// [`Needs::problems_here`] apart from the build's tools: what stops a
    /// built lesson from running here.
    pub fn run_problems_here(&self) -> Vec<Finding> {
        let mut checks = Vec::new();
        if self.root {
            checks.push(host::check_privileges());
        }
        if self.btf {
            checks.push(host::check_btf());
        }
        if self.tracefs {
            checks.push(host::check_tracefs());
        }
        if self.kprobes && !host::kprobes_available() {
            checks.push(host::finding(
                "kprobes",
                Status::Problem,
                "this lesson needs kprobes, which this kernel lacks (CONFIG_KPROBES unset)",
                None,
            ));
        }
        if self.fentry {
            if let Err(why) = crate::machine::fentry::support() {
                checks.push(host::finding(
                    "fentry",
                    Status::Problem,
                    format!("this lesson needs fentry programs, which this kernel refuses: {why}"),
                    None,
                ));
            }
        }
        checks.extend(host::check_min_kernel(&self.min_kernel));
        checks.retain(|f| f.status == Status::Problem);
        checks
    }
}

/// The workbook's folder of author data, one `NN-slug/` per lesson.
pub const COURSE: &str = "course";

impl Lesson {
    /// The same lesson inside another copy of the workbook.
    pub fn dir_in(&self, root: &Path) -> PathBuf {
        root.join("lessons").join(&self.dir_name)
    }

    pub fn snapshots(&self) -> PathBuf {
        self.course.join("snapshots")
    }

    /// The solution's files, as the lesson folder holds them once fixed.
    pub fn solution(&self) -> PathBuf {
        self.course.join("solution")
    }

    /// The other learners' fixes and fakes, as edits against the solution.
    pub fn cases_file(&self) -> PathBuf {
        self.course.join("cases.toml")
    }
}

pub fn parse_meta(text: &str) -> Result<Meta> {
    let meta: Meta = toml::from_str(text)?;
    anyhow::ensure!(!meta.layers.is_empty(), "a lesson needs at least one layer");
    for (i, layer) in meta.layers.iter().enumerate() {
        let n = i + 1;
        anyhow::ensure!(!layer.hint.trim().is_empty(), "layer {n} has an empty hint");
        anyhow::ensure!(!layer.symptom.trim().is_empty(), "layer {n} has an empty symptom");
        anyhow::ensure!(!layer.fix.is_empty(), "layer {n} has no fix");
        if let Some(pattern) = &layer.pattern {
            let re = regex::Regex::new(pattern).map_err(|e| anyhow::anyhow!("layer {n}'s pattern is not a regular expression: {e}"))?;
            anyhow::ensure!(re.is_match(&layer.symptom), "layer {n}'s pattern does not match its own symptom {:?}", layer.symptom);
        }
        if let Some(feature) = &layer.requires {
            anyhow::ensure!(feature == "kprobes", "layer {n} requires unknown feature {feature:?}");
        }
    }
    for (kernel, notes) in &meta.kernel_notes {
        // Any kernel of the matrix, arm64's included: the pinned series, or the host.
        let known = kernel == "host" || kernels::pinned(kernel).is_ok();
        anyhow::ensure!(known, "kernel_notes names unknown kernel {kernel:?}");
        for (state, note) in notes {
            let layer = state.strip_prefix("layer-").and_then(|k| k.parse::<usize>().ok());
            let known = state == "fixed" || layer.is_some_and(|k| (1..=meta.layers.len()).contains(&k));
            anyhow::ensure!(known, "kernel_notes.{kernel} names {state:?}, which is neither a layer-K nor fixed");
            anyhow::ensure!(!note.trim().is_empty(), "kernel_notes.{kernel}.{state} is empty");
        }
    }
    Ok(meta)
}

/// Every lesson under `root/lessons`, with its data from `root/course`, in order.
pub fn all(root: &Path) -> Result<Vec<Lesson>> {
    folders(root)?.into_iter().map(|folder| folder.load(root)).collect()
}

/// A lesson's folder, `lessons/NN-slug`, before its data is read.
struct Folder {
    number: String,
    dir_name: String,
    dir: PathBuf,
}

impl Folder {
    fn load(self, root: &Path) -> Result<Lesson> {
        let Folder { number, dir_name, dir } = self;
        let course = root.join(COURSE).join(&dir_name);
        let toml_path = course.join("lesson.toml");
        let text = std::fs::read_to_string(&toml_path).with_context(|| format!("reading {}", toml_path.display()))?;
        let meta = parse_meta(&text).with_context(|| format!("in {}", toml_path.display()))?;
        let package = package_name(&dir)?;
        Ok(Lesson { number, dir_name, dir, course, package, meta })
    }
}

/// Every lesson's folder, in order.
fn folders(root: &Path) -> Result<Vec<Folder>> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(root.join("lessons")).context("reading lessons/")? {
        let dir = entry?.path();
        let dir_name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let Some((number, _slug)) = dir_name.split_once('-') else { continue };
        if number.len() != 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        folders.push(Folder { number: number.to_string(), dir_name, dir });
    }
    folders.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(folders)
}

/// The lesson a user named: `3`, `03`, `einval` or `03-einval`. Only its
/// own data is read: a check reads one lesson, not every lesson.
pub fn find(root: &Path, wanted: &str) -> Result<Lesson> {
    let folders = folders(root)?;
    let range = match (folders.first(), folders.last()) {
        (Some(first), Some(last)) => format!("{} to {}", first.number, last.number),
        _ => "none exist".to_string(),
    };
    let wanted = wanted.trim();
    let by_number = wanted.parse::<u32>().ok().map(|n| format!("{n:02}"));
    let position = folders.iter().position(|l| {
        Some(&l.number) == by_number.as_ref() || l.dir_name == wanted || l.dir_name.split_once('-').map(|(_, slug)| slug) == Some(wanted)
    });
    match position {
        Some(i) => folders.into_iter().nth(i).expect("position is in range").load(root),
        None if by_number.is_some() => Err(UsageError(format!("there is no lesson {wanted}; lessons are {range}")).into()),
        None => Err(UsageError(format!("'{wanted}' is not a lesson; give its number, {range} (see `cargo xtask list`)")).into()),
    }
}

fn package_name(dir: &Path) -> Result<String> {
    #[derive(Deserialize)]
    struct Manifest {
        package: Package,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
    }
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Manifest = toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    Ok(manifest.package.name)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal valid lesson.toml: one layer whose fix turns `a` into `b` in src/main.rs.
    pub(crate) const GOOD: &str = r#"
title = "T"
[needs]
root = true
btf = true
tracefs = false
kprobes = false
min_kernel = "5.8"
[[layer]]
name = "one"
symptom = "ENOENT"
hint = "look"
[[layer.fix]]
file = "src/main.rs"
find = "a"
replace = "b"
"#;

    #[test]
    fn parses_a_lesson() {
        let meta = parse_meta(GOOD).unwrap();
        assert_eq!(meta.title, "T");
        assert_eq!(meta.layers[0].fix[0].file, "src/main.rs");
        assert!(meta.needs.root && !meta.needs.kprobes);
        let refused = || Err("EPERM".to_string());
        assert_eq!(meta.needs.kernel_lacks(false, refused), None);
        let kprobes = Needs { kprobes: true, ..meta.needs.clone() };
        assert_eq!(kprobes.kernel_lacks(true, refused), None);
        assert!(kprobes.kernel_lacks(false, || Ok(())).is_some_and(|why| why.starts_with("this kernel has no kprobes")));
        let fentry = Needs { fentry: true, ..meta.needs.clone() };
        assert_eq!(fentry.kernel_lacks(false, || Ok(())), None);
        let why = fentry.kernel_lacks(true, refused);
        assert_eq!(why.as_deref(), Some("this kernel does not run fentry programs, which the lesson needs: EPERM"));
    }

    #[test]
    fn rejects_unknown_keys_empty_hints_and_missing_layers() {
        assert!(parse_meta(&GOOD.replace("title = \"T\"", "title = \"T\"\ncolour = 1")).is_err());
        assert!(parse_meta(&GOOD.replace("hint = \"look\"", "hint = \" \"")).is_err());
        let no_layers = GOOD.split("[[layer]]").next().unwrap();
        assert!(parse_meta(no_layers).is_err());
    }

    #[test]
    fn kernel_notes_name_a_known_kernel_and_state() {
        let note = |kernel: &str, state: &str| format!("{GOOD}\n[kernel_notes.\"{kernel}\"]\n{state} = \"why\"\n");
        let meta = parse_meta(&note("5.10", "layer-1")).unwrap();
        assert_eq!(meta.kernel_notes["5.10"]["layer-1"], "why");
        assert!(parse_meta(&note("5.10", "fixed")).is_ok());
        assert!(parse_meta(&note("4.19", "layer-1")).is_err());
        assert!(parse_meta(&note("5.10", "layer-2")).is_err());
        assert!(parse_meta(&note("host", "fixed")).is_ok());
    }

    #[test]
    fn kernel_notes_accept_every_kernel_the_lock_pins_arm64_ones_included() {
        let note = |kernel: &str| format!("{GOOD}\n[kernel_notes.\"{kernel}\"]\nlayer-1 = \"why\"\n");
        for series in kernels::pinned_series() {
            let meta = parse_meta(&note(series.name)).unwrap_or_else(|e| panic!("{}: {e:#}", series.name));
            assert_eq!(meta.kernel_notes[series.name]["layer-1"], "why");
        }
        assert!(kernels::pinned_series().any(|s| s.name == "6.12-arm64"), "the lock pins arm64 kernels");
        let error = parse_meta(&note("6.6-arm64")).unwrap_err();
        assert_eq!(error.to_string(), "kernel_notes names unknown kernel \"6.6-arm64\"");
    }

    #[test]
    fn finds_lessons_by_number_or_slug_and_rejects_the_rest() {
        let root = crate::workbook::root();
        assert_eq!(find(&root, "1").unwrap().dir_name, "01-open-fails");
        assert_eq!(find(&root, "01").unwrap().package, "open-fails");
        assert_eq!(find(&root, "open-fails").unwrap().number, "01");
        for bad in ["0", "99", "abc", ""] {
            let error = find(&root, bad).unwrap_err();
            assert!(error.downcast_ref::<UsageError>().is_some(), "{bad}: {error}");
        }
    }
}
