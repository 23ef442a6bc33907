//! Bad input gets a short error and exit code 2, never a panic. These run the
//! real checker binary and need no root: nothing gets as far as building.

mod common;

use common::*;

#[test]
fn bad_lesson_numbers_and_commands_exit_2_with_a_short_error() {
    let root = workbook();
    for args in [
        &["check", "9"][..],
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
    let ran = run(&workbook(), &["check", "9"]);
    assert!(ran.stderr.starts_with("error: there is no lesson 9; lessons are 01 to "), "{}", ran.stderr);
    assert_eq!(ran.stderr.lines().count(), 1);
}
