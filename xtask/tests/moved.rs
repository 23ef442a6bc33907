//! A workbook that is moved, cloned twice or reached through a symlink still
//! finds itself: the checker looks for its folder at run time, and `cargo
//! xtask` runs here exactly as a learner types it, with one shared
//! `CARGO_TARGET_DIR` for every copy. Checking a lesson loads BPF, so the test
//! needs root: `cargo xtask dev test` runs it as root.
//!
//! The shared target folder is this workbook's own, as a learner's global
//! `CARGO_TARGET_DIR` is shared with their other projects: the crates xtask
//! uses are built there already (by the `cargo xtask` that runs the tests), so
//! each copy builds only the workspace's own crates, where a folder of its own
//! would first build xtask's 130-odd crates, minutes on two cores. A check
//! still builds each copy's lesson in that copy's `target/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use common::*;

/// `cargo xtask ARGS` from `dir`, as a learner runs it: no test variables, the
/// shell's `$PWD`, and the target folder every copy shares.
fn cargo_xtask(dir: &Path, shared_target: &Path, args: &[&str]) -> Ran {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = Instant::now();
    let output = Command::new(cargo)
        .arg("xtask")
        .args(args)
        .current_dir(dir)
        .env("PWD", dir)
        .env("CARGO_TARGET_DIR", shared_target)
        .env("NO_COLOR", "1")
        .env_remove("WORKBOOK_ROOT")
        .env_remove("CARGO_MANIFEST_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let ran = Ran::from(output);
    assert!(!ran.stderr.contains("panicked"), "cargo xtask {args:?} in {} panicked:\n{}", dir.display(), ran.stderr);
    eprintln!("cargo xtask {} in {}: {:.1} s", args.join(" "), dir.display(), started.elapsed().as_secs_f64());
    ran
}

fn lesson_01_line(list: &Ran) -> String {
    list.stdout.lines().find(|l| l.contains(" 01 ")).unwrap_or_default().to_string()
}

fn fresh(path: PathBuf) -> PathBuf {
    if path.symlink_metadata().is_ok() {
        if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    path
}

#[test]
#[ignore = "needs root: checks lesson 01 in each copy, which loads BPF programs"]
fn a_moved_a_second_and_a_symlinked_workbook_each_find_themselves() {
    require_root();
    let _serial = serial();
    let base = workbook().join("target/xtask-tests/moved");
    // The target folder this test was built in (see the module's doc).
    let shared_target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_path_buf();
    let (first, moved, second, link) =
        (fresh(base.join("first")), fresh(base.join("moved")), fresh(base.join("second")), fresh(base.join("link")));
    // Where earlier versions of this test kept their own target folder.
    let _ = std::fs::remove_dir_all(base.join("shared-target"));

    // The first clone, its lesson 01 solved and checked, so its build and progress exist.
    copy_workbook(&first);
    apply_solution(&first);
    let ran = cargo_xtask(&first, &shared_target, &["check", "01"]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);

    // Moved: its own lessons and progress, and a check that rebuilds where it now is
    // (lesson 01's loader opens its .bpf.o by the path compiled into it).
    std::fs::rename(&first, &moved).unwrap();
    let list = cargo_xtask(&moved, &shared_target, &["list"]);
    assert_eq!(list.code, 0, "{}{}", list.stdout, list.stderr);
    assert!(lesson_01_line(&list).contains("passed"), "{}", list.stdout);
    let ran = cargo_xtask(&moved.join("lessons"), &shared_target, &["check", "01"]);
    assert_eq!(ran.code, 0, "checked from a subfolder of the moved workbook:\n{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("PASS"), "{}", ran.stdout);

    // A symlinked path to it.
    std::os::unix::fs::symlink(&moved, &link).unwrap();
    let list = cargo_xtask(&link, &shared_target, &["list"]);
    assert_eq!(list.code, 0, "{}{}", list.stdout, list.stderr);
    let ran = cargo_xtask(&link, &shared_target, &["check", "01"]);
    assert_eq!(ran.code, 0, "through a symlink:\n{}{}", ran.stdout, ran.stderr);

    // A second clone sharing the target folder: its own, unsolved lesson.
    copy_workbook(&second);
    let list = cargo_xtask(&second, &shared_target, &["list"]);
    assert_eq!(list.code, 0, "{}{}", list.stdout, list.stderr);
    assert!(lesson_01_line(&list).contains("not started"), "the second clone has its own progress:\n{}", list.stdout);
    let ran = cargo_xtask(&second, &shared_target, &["check", "01"]);
    assert_eq!(ran.code, 1, "the second clone's lesson 01 is still broken:\n{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("layer 1 of"), "{}", ran.stdout);

    // Outside any workbook: a short error, not a panic.
    let outside = std::env::temp_dir();
    let ran = common::xtask(&outside, &["list"])
        .env_remove("WORKBOOK_ROOT")
        .env_remove("CARGO_MANIFEST_DIR")
        .current_dir(&outside)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ran.stderr);
    assert_eq!(ran.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is not inside the workbook"), "{stderr}");

    for dir in [&moved, &second] {
        std::fs::remove_dir_all(dir).unwrap();
    }
    std::fs::remove_file(&link).unwrap();
}
