//! The workbook's content: lessons and their `lesson.toml`, the learner's files and progress, snapshots, `.bpf.o` facts, scratch copies, lesson runs.

pub mod advice;
pub mod bpf_object;
pub mod cases;
pub mod cause;
pub mod core_relo;
pub mod deep;
pub mod diagnosis;
pub mod error_index;
pub mod feedback;
pub mod files;
pub mod judge;
pub mod kept_build;
pub mod kernel_lock;
pub mod lessons;
pub mod object;
pub mod phrases;
pub mod portability;
pub mod progress;
pub mod reach;
pub mod room;
pub mod run;
pub mod scratch;
pub mod selftest;
pub mod snapshot;
pub mod source_rules;
pub mod switches;
pub mod translation;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{bail, Result};

/// The workbook's top folder, found at run time, never compiled in: a moved
/// or renamed folder, a second clone, a shared `CARGO_TARGET_DIR` and a path
/// through a symlink all find their own. In order: `WORKBOOK_ROOT` (the
/// checker's own tests point it at a copy); the nearest folder at or above
/// the current one that holds the workspace's `Cargo.toml` and `lessons/`;
/// the folder above `CARGO_MANIFEST_DIR`, which `cargo run` sets.
pub fn find_root() -> Result<PathBuf> {
    if let Some(copy) = std::env::var_os("WORKBOOK_ROOT").filter(|r| !r.is_empty()) {
        return Ok(PathBuf::from(copy));
    }
    let here = std::env::current_dir().ok().map(|dir| logical(&dir));
    let upward = here.iter().flat_map(|dir| dir.ancestors()).map(Path::to_path_buf);
    let cargo_run = std::env::var_os("CARGO_MANIFEST_DIR").and_then(|dir| Path::new(&dir).parent().map(Path::to_path_buf));
    match upward.chain(cargo_run).find(|dir| is_workbook(dir)) {
        Some(root) => Ok(root),
        None => bail!(
            "{} is not inside the workbook: run `cargo xtask` from the workbook's folder (the one holding lessons/)",
            here.map_or_else(|| "the current folder".to_string(), |dir| dir.display().to_string())
        ),
    }
}

/// The workbook's top folder; [`find_root`] once per process.
pub fn root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| find_root().unwrap_or_else(|error| panic!("{error:#}"))).clone()
}

fn is_workbook(dir: &Path) -> bool {
    dir.join("lessons").is_dir() && std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|manifest| manifest.contains("[workspace]"))
}

/// The current folder as the shell names it (`$PWD`, which keeps a symlink
/// the user went through), when that is the same folder.
fn logical(physical: &Path) -> PathBuf {
    let pwd = std::env::var_os("PWD").map(PathBuf::from).filter(|p| p.is_absolute());
    match pwd {
        Some(pwd) if pwd.canonicalize().is_ok_and(|p| p == physical.canonicalize().unwrap_or_default()) => pwd,
        _ => physical.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_folder_holding_the_workspace_and_its_lessons() {
        let root = root();
        assert!(is_workbook(&root), "{}", root.display());
        assert!(!is_workbook(&root.join("lessons")));
        assert!(!is_workbook(&root.join("xtask")), "a member's Cargo.toml is no workspace");
    }
}
