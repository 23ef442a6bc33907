//! Where each lesson stands, kept across runs in one small git-ignored file.
//! A file that cannot be read is moved aside, never silently replaced.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::machine::lock;
use crate::workbook::files;
use crate::workbook::lessons::{Lesson, Meta};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum State {
    Passed,
    /// Failing; `layer` is the 1-based layer whose symptom showed, if any did.
    Failing {
        layer: Option<usize>,
    },
}

impl State {
    pub fn describe(&self, meta: &Meta) -> String {
        match self {
            State::Passed => "passed".to_string(),
            State::Failing { layer: Some(k) } => {
                let name = meta.layers.get(k - 1).map_or("", |l| l.name.as_str());
                format!("failing at layer {k} of {} ({name})", meta.layers.len())
            }
            State::Failing { layer: None } => "failing".to_string(),
        }
    }
}

/// A lesson's state and when a check last recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    #[serde(flatten)]
    pub state: State,
    /// Seconds since 1970-01-01 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<u64>,
    /// With a pass: [`files::hash`] of the learner's files that passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<String>,
}

impl Record {
    /// Whether the learner's files changed since this pass (records from
    /// before passes were hashed cannot tell, and say no).
    pub fn changed_since_passed(&self, lesson: &Lesson) -> bool {
        self.state == State::Passed && self.files.as_ref().is_some_and(|passed| files::hash(&lesson.dir).is_ok_and(|now| now != *passed))
    }
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    lessons: BTreeMap<String, Record>,
}

pub const PROGRESS: &str = ".progress.toml";

fn path(root: &Path) -> PathBuf {
    root.join(PROGRESS)
}

/// The file as it is; a missing file is no progress yet.
fn read(root: &Path) -> Result<File, String> {
    match std::fs::read_to_string(path(root)) {
        Ok(text) => toml::from_str(&text).map_err(|e| e.message().trim().to_string()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(error) => Err(error.to_string()),
    }
}

/// The file, or with the progress lock held, none: an unreadable file is
/// moved aside to `.progress.toml.bad` (or `.bad.2`, …) with a warning.
fn read_or_set_aside(root: &Path) -> File {
    read(root).unwrap_or_else(|why| {
        // Read again: another run may have set it aside already.
        read(root).unwrap_or_else(|_| set_aside(root, &why))
    })
}

fn set_aside(root: &Path, why: &str) -> File {
    let free = (1..)
        .map(|n| root.join(if n == 1 { format!("{PROGRESS}.bad") } else { format!("{PROGRESS}.bad.{n}") }))
        .find(|candidate| !candidate.exists())
        .expect("some name is free");
    let name = free.file_name().unwrap_or_default().to_string_lossy().into_owned();
    match std::fs::rename(path(root), &free) {
        Ok(()) => eprintln!("warning: {PROGRESS} could not be read ({why}); moved it to {name}, progress starts afresh"),
        Err(error) => eprintln!("warning: {PROGRESS} could not be read ({why}) nor moved aside ({error})"),
    }
    File::default()
}

/// Every recorded state and when it was recorded.
pub fn records(root: &Path) -> BTreeMap<String, Record> {
    match read(root) {
        Ok(file) => file.lessons,
        Err(_) => match lock::progress(root) {
            Ok(_held) => read_or_set_aside(root).lessons,
            Err(_) => BTreeMap::new(),
        },
    }
}

/// Every recorded state.
pub fn load(root: &Path) -> BTreeMap<String, State> {
    records(root).into_iter().map(|(number, record)| (number, record.state)).collect()
}

/// Records a lesson's state, stamped with the time; a pass also records
/// which files passed.
pub fn save(root: &Path, lesson: &Lesson, state: State) -> anyhow::Result<()> {
    let checked_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).ok();
    let files = if state == State::Passed { Some(files::hash(&lesson.dir)?) } else { None };
    update(root, |lessons| {
        lessons.insert(lesson.number.clone(), Record { state, checked_at, files });
    })
}

/// Forgets a lesson's state: it shows as not started again.
pub fn forget(root: &Path, number: &str) -> anyhow::Result<()> {
    update(root, |lessons| {
        lessons.remove(number);
    })
}

/// Read, change, write, all under the progress lock, so two checks at once
/// cannot lose each other's result. The file is written whole and renamed, so a
/// reader never sees half of it.
fn update(root: &Path, change: impl FnOnce(&mut BTreeMap<String, Record>)) -> anyhow::Result<()> {
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let _held = lock::progress(root)?;
    let mut file = read_or_set_aside(root);
    change(&mut file.lessons);
    let unique = format!("toml.{}.{}", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed));
    let temp = path(root).with_extension(unique);
    std::fs::write(&temp, toml::to_string(&file)?)?;
    std::fs::rename(&temp, path(root))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-progress-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Lesson `number` with one learner's file, in its own folder under `root`.
    fn lesson(root: &Path, number: &str) -> Lesson {
        let dir = root.join(format!("lessons/{number}-test"));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        let meta = crate::workbook::lessons::parse_meta(crate::workbook::lessons::tests::GOOD).unwrap();
        let course = root.join(format!("course/{number}-test"));
        Lesson { number: number.into(), dir_name: format!("{number}-test"), dir, course, package: "test".into(), meta }
    }

    #[test]
    fn states_survive_a_restart_and_forget_removes_one() {
        let root = scratch("persist");
        save(&root, &lesson(&root, "01"), State::Passed).unwrap();
        save(&root, &lesson(&root, "02"), State::Failing { layer: Some(2) }).unwrap();
        save(&root, &lesson(&root, "03"), State::Failing { layer: None }).unwrap();
        // A new process reads only the file: nothing is cached in memory.
        let text = std::fs::read_to_string(root.join(".progress.toml")).unwrap();
        let reread: File = toml::from_str(&text).unwrap();
        assert_eq!(reread.lessons["01"].state, State::Passed);
        assert_eq!(reread.lessons["02"].state, State::Failing { layer: Some(2) });
        assert_eq!(reread.lessons["03"].state, State::Failing { layer: None });
        assert!(reread.lessons["02"].checked_at.is_some_and(|t| t > 1_700_000_000));
        assert!(reread.lessons["01"].files.is_some() && reread.lessons["02"].files.is_none());
        forget(&root, "02").unwrap();
        assert_eq!(load(&root).keys().collect::<Vec<_>>(), ["01", "03"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_pass_knows_when_the_learners_files_changed_since() {
        let root = scratch("changed");
        let lesson = lesson(&root, "01");
        save(&root, &lesson, State::Passed).unwrap();
        let passed = || records(&root)["01"].clone();
        assert!(!passed().changed_since_passed(&lesson));
        // The author's files are not the learner's: the lesson's text, and its data in course/.
        std::fs::write(lesson.dir.join("README.md"), "words").unwrap();
        assert!(!passed().changed_since_passed(&lesson));
        std::fs::create_dir_all(lesson.solution().join("src")).unwrap();
        std::fs::write(lesson.solution().join("src/main.rs"), "fn main() { fixed() }").unwrap();
        std::fs::write(lesson.cases_file(), "[[fake]]").unwrap();
        assert!(!passed().changed_since_passed(&lesson));
        std::fs::write(lesson.dir.join("src/main.rs"), "fn main() { }").unwrap();
        assert!(passed().changed_since_passed(&lesson));
        std::fs::write(lesson.dir.join("src/main.rs"), "fn main() {}").unwrap();
        assert!(!passed().changed_since_passed(&lesson), "the same files again");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn files_from_before_timestamps_load_and_a_broken_file_is_moved_aside() {
        let root = scratch("compat");
        std::fs::write(root.join(".progress.toml"), "[lessons.01]\nstate = \"failing\"\nlayer = 2\n").unwrap();
        assert_eq!(load(&root)["01"], State::Failing { layer: Some(2) });
        let broken = "[lessons.01\nstate = ";
        std::fs::write(root.join(".progress.toml"), broken).unwrap();
        assert!(load(&root).is_empty());
        assert_eq!(std::fs::read_to_string(root.join(".progress.toml.bad")).unwrap(), broken, "kept, not lost");
        assert!(!root.join(".progress.toml").exists());
        save(&root, &lesson(&root, "01"), State::Passed).unwrap();
        assert_eq!(load(&root)["01"], State::Passed);
        // A second broken file does not overwrite the first one set aside.
        std::fs::write(root.join(".progress.toml"), "not toml at all").unwrap();
        save(&root, &lesson(&root, "02"), State::Passed).unwrap();
        assert_eq!(std::fs::read_to_string(root.join(".progress.toml.bad")).unwrap(), broken);
        assert_eq!(std::fs::read_to_string(root.join(".progress.toml.bad.2")).unwrap(), "not toml at all");
        assert_eq!(load(&root).keys().collect::<Vec<_>>(), ["02"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn concurrent_saves_lose_nothing() {
        let root = scratch("concurrent");
        let writers: Vec<_> = (1..=8)
            .map(|n| {
                let root = root.clone();
                std::thread::spawn(move || {
                    let lesson = lesson(&root, &format!("{n:02}"));
                    for round in 0..25 {
                        save(&root, &lesson, State::Failing { layer: Some(round) }).unwrap();
                    }
                })
            })
            .collect();
        writers.into_iter().for_each(|w| w.join().unwrap());
        let states = load(&root);
        assert_eq!(states.len(), 8, "lost updates: {states:?}");
        assert!(states.values().all(|s| *s == State::Failing { layer: Some(24) }), "{states:?}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
