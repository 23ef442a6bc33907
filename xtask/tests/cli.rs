//! Bad input gets a short error and exit code 2, never a panic. These run the
//! real checker binary and need no root: nothing gets as far as building.

mod common;

use common::*;

#[test]
fn bad_lesson_numbers_and_commands_exit_2_with_a_short_error() {
    let root = workbook();
    for args in [
        &["check", "99"][..],
        &["check", "abc"],
        &["check", ""],
        &["hint", "42"],
        &["check"],
        &["frobnicate"],
        &["check", "01", "--kernel", "2.6"],
    ] {
        let ran = run(&root, args);
        assert_eq!(ran.code, 2, "xtask {args:?}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "xtask {args:?} printed to stdout: {}", ran.stdout);
        let first = ran.stderr.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: "), "xtask {args:?}: {}", ran.stderr);
        assert!(ran.stderr.lines().count() <= 6, "xtask {args:?} said too much:\n{}", ran.stderr);
    }
}

#[test]
fn a_missing_lesson_names_the_range_that_exists() {
    let ran = run(&workbook(), &["check", "99"]);
    assert!(ran.stderr.starts_with("error: there is no lesson 99; lessons are 01 to "), "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1);
}

#[test]
fn the_maintainers_old_spellings_exit_2_naming_the_new_one() {
    let root = workbook();
    for (old, new) in [
        (&["verify", "01", "--bless"][..], "cargo xtask dev verify 01 --bless"),
        (&["test", "--yes"], "cargo xtask dev test --yes"),
        (&["book", "--update-po"], "cargo xtask dev update-po"),
        (&["book", "--test"], "cargo xtask dev test-book"),
        (&["kernels", "--update"], "cargo xtask dev update-kernels"),
        (&["vmlinux"], "cargo xtask dev vmlinux"),
    ] {
        let ran = run(&root, old);
        assert_eq!(ran.code, 2, "xtask {old:?}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "xtask {old:?} printed to stdout: {}", ran.stdout);
        assert_eq!(ran.stderr.trim_end(), format!("error: the maintainers' commands moved under `dev`: {new}"));
    }
}

#[test]
fn help_names_cargo_xtask_and_keeps_the_maintainers_commands_under_dev() {
    let root = workbook();
    let top = run(&root, &["--help"]);
    assert_eq!(top.code, 0, "{}", top.stderr);
    assert!(top.stdout.contains("Usage: cargo xtask [COMMAND]"), "{}", top.stdout);
    let listed = |help: &str, name: &str| help.lines().any(|l| l.trim_start().starts_with(&format!("{name} ")));
    for learner in ["list", "check", "hint", "doctor", "book", "room", "setup", "dev"] {
        assert!(listed(&top.stdout, learner), "{learner} missing from:\n{}", top.stdout);
    }
    let dev = run(&root, &["dev", "--help"]);
    assert!(dev.stdout.contains("Usage: cargo xtask dev <COMMAND>"), "{}", dev.stdout);
    for maintainer in ["verify", "test", "test-book", "update-po", "update-kernels", "vmlinux"] {
        assert!(!listed(&top.stdout, maintainer), "{maintainer} is still at the top:\n{}", top.stdout);
        assert!(listed(&dev.stdout, maintainer), "{maintainer} missing from:\n{}", dev.stdout);
    }
}
