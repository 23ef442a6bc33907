//! The workbook's content: lessons and their `lesson.toml`, the learner's files and progress, snapshots, `.bpf.o` facts, scratch copies, lesson runs.

pub mod files;
pub mod lessons;
pub mod object;
pub mod progress;
pub mod run;
pub mod scratch;
pub mod snapshot;
pub mod translation;

use std::path::{Path, PathBuf};

/// The workbook's top folder (`WORKBOOK_ROOT` points the checker at a copy, for its own tests).
pub fn root() -> PathBuf {
    if let Some(copy) = std::env::var_os("WORKBOOK_ROOT").filter(|r| !r.is_empty()) {
        return PathBuf::from(copy);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workbook")
        .to_path_buf()
}
