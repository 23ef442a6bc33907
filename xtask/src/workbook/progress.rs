//! Where each lesson stands, kept across runs in one small git-ignored file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::machine::lock;
use crate::workbook::lessons::Meta;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum State {
    Passed,
    /// Failing; `layer` is the 1-based layer whose symptom showed, if any did.
    Failing { layer: Option<usize> },
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
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    lessons: BTreeMap<String, Record>,
}

fn path(root: &Path) -> PathBuf {
    root.join(".progress.toml")
}

/// Every recorded state and when it was recorded; an unreadable file counts as no progress.
pub fn records(root: &Path) -> BTreeMap<String, Record> {
    std::fs::read_to_string(path(root))
        .ok()
        .and_then(|text| toml::from_str::<File>(&text).ok())
        .unwrap_or_default()
        .lessons
}

/// Every recorded state.
pub fn load(root: &Path) -> BTreeMap<String, State> {
    records(root).into_iter().map(|(number, record)| (number, record.state)).collect()
}

/// Records a lesson's state, stamped with the time.
pub fn save(root: &Path, number: &str, state: State) -> anyhow::Result<()> {
    let checked_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).ok();
    update(root, |lessons| {
        lessons.insert(number.to_string(), Record { state, checked_at });
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
    let mut file = File { lessons: records(root) };
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

    #[test]
    fn states_survive_a_restart_and_forget_removes_one() {
        let root = scratch("persist");
        save(&root, "01", State::Passed).unwrap();
        save(&root, "02", State::Failing { layer: Some(2) }).unwrap();
        save(&root, "03", State::Failing { layer: None }).unwrap();
        // A new process reads only the file: nothing is cached in memory.
        let text = std::fs::read_to_string(root.join(".progress.toml")).unwrap();
        let reread: File = toml::from_str(&text).unwrap();
        assert_eq!(reread.lessons["01"].state, State::Passed);
        assert_eq!(reread.lessons["02"].state, State::Failing { layer: Some(2) });
        assert_eq!(reread.lessons["03"].state, State::Failing { layer: None });
        assert!(reread.lessons["02"].checked_at.is_some_and(|t| t > 1_700_000_000));
        forget(&root, "02").unwrap();
        assert_eq!(load(&root).keys().collect::<Vec<_>>(), ["01", "03"]);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn files_from_before_timestamps_and_broken_files_still_load() {
        let root = scratch("compat");
        std::fs::write(root.join(".progress.toml"), "[lessons.01]\nstate = \"failing\"\nlayer = 2\n").unwrap();
        assert_eq!(load(&root)["01"], State::Failing { layer: Some(2) });
        std::fs::write(root.join(".progress.toml"), "[lessons.01\nstate = ").unwrap();
        assert!(load(&root).is_empty());
        save(&root, "01", State::Passed).unwrap();
        assert_eq!(load(&root)["01"], State::Passed);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn concurrent_saves_lose_nothing() {
        let root = scratch("concurrent");
        let writers: Vec<_> = (1..=8)
            .map(|n| {
                let root = root.clone();
                std::thread::spawn(move || {
                    for round in 0..25 {
                        save(&root, &format!("{n:02}"), State::Failing { layer: Some(round) }).unwrap();
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
