//! Copies a folder tree: the one copy helper of the workbook's tooling and
//! tests (the self-test's scratch copies, `doctor --deep`'s probe, the tests'
//! scratch workbooks and learners' homes, the book tests' changed copies).
//!
//! Written out rather than taken from a crate: `fs_extra` has no way to leave
//! a path out, and `dircpy` leaves out every file whose path merely contains a
//! text (so `target` would drop `src/target.rs` too), after walking into the
//! folder it leaves out; neither makes a symlink again as a symlink or a hard
//! link on request. What is needed here is one short walk.

use std::io;
use std::path::Path;

/// Copies the folder `from` to `to` (made if missing), leaving out the paths
/// in `leave_out`, relative to `from` (`"target"`, `"book/build"`). Files keep
/// their permissions; a symlink is made again as the same symlink.
pub fn copy_tree(from: &Path, to: &Path, leave_out: &[&str]) -> io::Result<()> {
    walk(from, from, to, leave_out, How::Copy)
}

/// As [`copy_tree`] without leaving anything out, each file a hard link to
/// the original where the file system allows it (a copy where it does not,
/// e.g. across file systems): a big tree, such as a toolchain, in a moment.
pub fn link_tree(from: &Path, to: &Path) -> io::Result<()> {
    walk(from, from, to, &[], How::HardLink)
}

#[derive(Clone, Copy, PartialEq)]
enum How {
    Copy,
    HardLink,
}

fn walk(top: &Path, from: &Path, to: &Path, leave_out: &[&str], how: How) -> io::Result<()> {
    std::fs::create_dir_all(to).map_err(|e| named(e, "creating", to))?;
    for entry in std::fs::read_dir(from).map_err(|e| named(e, "reading", from))? {
        let entry = entry.map_err(|e| named(e, "reading", from))?;
        let path = entry.path();
        let relative = path.strip_prefix(top).unwrap_or(&path);
        if leave_out.iter().any(|skip| relative == Path::new(skip)) {
            continue;
        }
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| named(e, "reading", &path))?;
        if kind.is_dir() {
            walk(top, &path, &target, leave_out, how)?;
        } else if kind.is_symlink() {
            let points_to = std::fs::read_link(&path).map_err(|e| named(e, "reading", &path))?;
            std::os::unix::fs::symlink(points_to, &target).map_err(|e| named(e, "making", &target))?;
        } else if how == How::Copy || std::fs::hard_link(&path, &target).is_err() {
            std::fs::copy(&path, &target).map_err(|e| named(e, "copying", &path))?;
        }
    }
    Ok(())
}

/// The error with the path it concerns: io errors name none.
fn named(error: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{doing} {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;

    /// A folder of the test's own under the system's temporary folder.
    fn scratch_folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("copy-tree-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn tree(name: &str) -> PathBuf {
        let from = scratch_folder(name).join("from");
        for file in ["a.txt", "src/target.rs", "target/debug/big", "book/build/index.html", "book/src/index.md"] {
            std::fs::create_dir_all(from.join(file).parent().unwrap()).unwrap();
            std::fs::write(from.join(file), file).unwrap();
        }
        std::fs::set_permissions(from.join("a.txt"), std::fs::Permissions::from_mode(0o751)).unwrap();
        std::os::unix::fs::symlink("../a.txt", from.join("src/link")).unwrap();
        from
    }

    #[test]
    fn leaves_out_paths_from_the_top_only_and_keeps_modes_and_symlinks() {
        let from = tree("copy");
        let to = from.with_file_name("to");
        copy_tree(&from, &to, &["target", "book/build"]).unwrap();
        assert!(!to.join("target").exists() && !to.join("book/build").exists());
        assert_eq!(std::fs::read_to_string(to.join("src/target.rs")).unwrap(), "src/target.rs");
        assert_eq!(std::fs::read_to_string(to.join("book/src/index.md")).unwrap(), "book/src/index.md");
        assert_eq!(std::fs::metadata(to.join("a.txt")).unwrap().mode() & 0o777, 0o751);
        assert_ne!(std::fs::metadata(to.join("a.txt")).unwrap().ino(), std::fs::metadata(from.join("a.txt")).unwrap().ino());
        assert_eq!(std::fs::read_link(to.join("src/link")).unwrap(), Path::new("../a.txt"));
        assert_eq!(std::fs::read_to_string(to.join("src/link")).unwrap(), "a.txt", "the link resolves inside the copy");
        std::fs::remove_dir_all(from.parent().unwrap()).unwrap();
    }

    #[test]
    fn links_every_file_of_a_tree() {
        let from = tree("link");
        let to = from.with_file_name("to");
        link_tree(&from, &to).unwrap();
        for file in ["a.txt", "target/debug/big", "book/build/index.html"] {
            assert_eq!(std::fs::metadata(to.join(file)).unwrap().ino(), std::fs::metadata(from.join(file)).unwrap().ino(), "{file}");
        }
        std::fs::remove_dir_all(from.parent().unwrap()).unwrap();
    }

    #[test]
    fn names_the_path_it_cannot_read() {
        let missing = scratch_folder("missing");
        let error = copy_tree(&missing, &missing.with_file_name("to"), &[]).unwrap_err();
        assert!(error.to_string().contains(&missing.display().to_string()), "{error}");
    }
}
