//! Where each lesson stands, kept across runs in one small git-ignored file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::lessons::Meta;

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

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    lessons: BTreeMap<String, State>,
}

fn path(root: &Path) -> PathBuf {
    root.join(".progress.toml")
}

/// Every recorded state; an unreadable file counts as no progress.
pub fn load(root: &Path) -> BTreeMap<String, State> {
    std::fs::read_to_string(path(root))
        .ok()
        .and_then(|text| toml::from_str::<File>(&text).ok())
        .unwrap_or_default()
        .lessons
}

/// Records a lesson's state; written whole and renamed, so a reader never sees half a file.
pub fn save(root: &Path, number: &str, state: State) -> anyhow::Result<()> {
    let mut file = File { lessons: load(root) };
    file.lessons.insert(number.to_string(), state);
    let temp = path(root).with_extension(format!("toml.{}", std::process::id()));
    std::fs::write(&temp, toml::to_string(&file)?)?;
    std::fs::rename(&temp, path(root))?;
    Ok(())
}
