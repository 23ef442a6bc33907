//! A new lesson needs no change to the checker: a lesson folder copied under a
//! new number, with its author data copied beside it in `course/`, its own
//! package name and title, is listed, hinted, checked and verified like the
//! shipped ones.

mod common;

use std::path::{Path, PathBuf};

use common::{copy_folder, require_root, run, scratch, serial};

const TITLE: &str = "Open again: a lesson added by copying a folder";

/// A scratch workbook with lesson 01 copied to `lessons/NN-open-again`, and
/// its data to `course/NN-open-again`. Scratch workbooks share one `target/`,
/// where `check` leaves its last transcript and `hint` its level, by lesson
/// number: each test copies to a number of its own, so that a check in one
/// does not move the other's hints, and starts with no state for it.
fn workbook_with_lesson(name: &str, number: &str) -> PathBuf {
    let root = scratch(name, false);
    let folder = format!("{number}-open-again");
    let lesson = root.join("lessons").join(&folder);
    copy_folder(&root.join("lessons/01-open-fails"), &lesson);
    copy_folder(&root.join("course/01-open-fails"), &root.join("course").join(&folder));
    edit(&lesson.join("Cargo.toml"), "name = \"open-fails\"", "name = \"open-again\"");
    edit(
        &root.join("course").join(&folder).join("lesson.toml"),
        "title = \"Open fails: the missing BTF\"",
        &format!("title = \"{TITLE}\""),
    );
    for kind in ["cause", "transcript", "log", "hint"] {
        let _ = std::fs::remove_file(root.join("target/workbook/logs").join(format!("{number}.{kind}")));
    }
    root
}

fn edit(file: &Path, find: &str, replace: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(find), "{} lacks {find:?}", file.display());
    std::fs::write(file, text.replace(find, replace)).unwrap();
}

#[test]
fn list_and_hint_show_a_copied_lesson() {
    let root = workbook_with_lesson("new-lesson-list", "11");
    let list = run(&root, &["list"]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    let last = list.stdout.lines().filter(|l| !l.trim().is_empty()).nth_back(1).unwrap_or_default();
    assert!(last.contains("11") && last.contains(TITLE) && last.contains("not started"), "{}", list.stdout);

    let json = run(&root, &["list", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let numbers: Vec<&str> = report["lessons"].as_array().unwrap().iter().map(|l| l["number"].as_str().unwrap()).collect();
    assert_eq!(numbers.last(), Some(&"11"), "{numbers:?}");
    assert_eq!(report["lessons"][numbers.len() - 1]["slug"], "open-again");

    let hint = run(&root, &["hint", "11"]);
    assert_eq!(hint.code, 0, "{}", hint.stderr);
    assert!(hint.stdout.contains("layer 1 of 2"), "{}", hint.stdout);
    // Asked again, by its slug, the same lesson's hint goes one step further.
    let by_slug = run(&root, &["hint", "open-again"]);
    let concept: String = hint.stdout.lines().take_while(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
    assert!(by_slug.stdout.starts_with(&concept), "{}", by_slug.stdout);
    assert!(by_slug.stdout.contains("more: "), "{}", by_slug.stdout);
}

#[test]
#[ignore = "needs root: loads BPF programs"]
fn check_and_verify_run_a_copied_lesson() {
    require_root();
    let _serial = serial();
    let root = workbook_with_lesson("new-lesson-check", "10");
    let check = run(&root, &["check", "10"]);
    assert_eq!(check.code, 1, "{}\n{}", check.stdout, check.stderr);
    assert!(check.stdout.contains(&format!("lesson 10 · {TITLE}")), "{}", check.stdout);
    assert!(check.stdout.contains("layer 1 of 2"), "{}", check.stdout);
    let list = run(&root, &["list", "--json"]);
    assert!(
        list.stdout.contains(r#""number":"10","slug":"open-again""#) && list.stdout.contains(r#""state":"failing""#),
        "{}",
        list.stdout
    );

    let verify = run(&root, &["dev", "verify", "10"]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains(&format!("lesson 10 · {TITLE}")), "{}", verify.stdout);
    assert!(verify.stdout.contains("verify: 1 passed, 0 failed"), "{}", verify.stdout);
}
