//! Helpers for the tests that build the book from a changed copy of the workbook.

use std::path::{Path, PathBuf};

use book_builder::Workbook;

/// Copies the folder `from` to `to`, build output aside.
pub fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "target" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// A fresh copy of the workbook's lessons and book sources under the test's
/// scratch folder `name`, to be changed.
pub fn workbook_copy(name: &str) -> PathBuf {
    let here = Workbook::here().root;
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    for part in ["lessons", "course", "book/src", "book/probes/snapshots", "book/diagnose/snapshots", "xtask/tests/data/logs"] {
        copy(&here.join(part), &root.join(part));
    }
    // The kernels the snapshots were measured on.
    std::fs::copy(here.join("book/compatibility.json"), root.join("book/compatibility.json")).unwrap();
    root
}
