//! Scratch copies of the workbook, where the self-tests apply a lesson's layer fixes without touching the learner's files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::workbook::lessons::{Edit, Layer, Lesson};

/// Folders of the workbook that a scratch copy leaves out.
const NOT_COPIED: &[&str] = &["target", ".git", "book/build", ".progress.toml", ".room.toml"];

/// A fresh copy of the workbook for one lesson's self-test, so that verifying
/// two lessons at once cannot disturb either.
pub fn scratch_copy(root: &Path, lesson: &Lesson) -> Result<PathBuf> {
    let scratch = root.join("target/xtask/verify").join(&lesson.dir_name);
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).context("clearing the scratch copy")?;
    }
    copy_tree::copy_tree(root, &scratch, NOT_COPIED).context("copying the workbook")?;
    Ok(scratch)
}

/// Not the learner's target folder: cargo hashes workspace members by their
/// path inside the workspace, so a copy's build would overwrite the learner's.
pub fn target_dir(scratch: &Path) -> PathBuf {
    scratch.parent().and_then(Path::parent).unwrap_or(scratch).join("verify-target")
}

/// Applies layer `k`'s fix edits to the lesson in `dir`.
pub fn apply_fixes(dir: &Path, k: usize, layer: &Layer) -> Result<()> {
    for edit in &layer.fix {
        apply(dir, edit).with_context(|| format!("layer {k}'s fix to {}", edit.file))?;
    }
    Ok(())
}

/// Replaces the single occurrence of `edit.find`.
fn apply(dir: &Path, edit: &Edit) -> Result<()> {
    let path = dir.join(&edit.file);
    let text = std::fs::read_to_string(&path)?;
    Ok(std::fs::write(&path, edit.apply_to(&text)?)?)
}

/// Every file below `dir`, at any depth; none when `dir` does not exist.
pub fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.exists() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}
