//! Helpers for the tests that build the book from a changed copy of the workbook.

use std::path::{Path, PathBuf};

use book_builder::Workbook;

/// A fresh copy of the workbook's lessons and book sources under the test's
/// scratch folder `name`, to be changed.
pub fn workbook_copy(name: &str) -> PathBuf {
    let here = Workbook::here().root;
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    // The toolbox chapter includes its probe's C source.
    for part in [
        "lessons",
        "course",
        "book/src",
        "book/probes/snapshots",
        "book/probes/src/bpf",
        "book/diagnose/snapshots",
        "xtask/tests/data/logs",
    ] {
        copy_tree::copy_tree(&here.join(part), &root.join(part), &["target"]).unwrap();
    }
    // The kernels the snapshots were measured on.
    std::fs::copy(here.join("book/compatibility.json"), root.join("book/compatibility.json")).unwrap();
    root
}
