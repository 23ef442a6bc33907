//! A lesson folder added under a new number, its author data copied beside it
//! in `course/`, is found by the book with no change to the builder, which
//! then asks for its chapter (and for the workshop guide's progress totals to
//! count it).

mod common;

use std::path::PathBuf;

use book_builder::{check_sources, Workbook};

/// The workbook's lessons and book sources, plus lesson 01 copied as
/// `lessons/10-open-again` with its data in `course/10-open-again`.
fn fixture() -> PathBuf {
    let root = common::workbook_copy("new-lesson");
    copy_tree::copy_tree(&root.join("lessons/01-open-fails"), &root.join("lessons/10-open-again"), &["target"]).unwrap();
    let course = root.join("course/10-open-again");
    copy_tree::copy_tree(&root.join("course/01-open-fails"), &course, &["target"]).unwrap();
    let toml = std::fs::read_to_string(course.join("lesson.toml")).unwrap();
    let toml = toml.replace("title = \"Open fails: the missing BTF\"", "title = \"Open again\"");
    std::fs::write(course.join("lesson.toml"), toml).unwrap();
    root
}

#[test]
fn a_copied_lesson_is_found_and_needs_its_chapter() {
    let workbook = Workbook { root: fixture() };
    let lessons = workbook.lessons().unwrap();
    let last = lessons.last().unwrap();
    assert_eq!((last.number(), last.title.as_str()), ("10", "Open again"));
    assert!(last.snapshots().unwrap().iter().any(|s| s.name == "fixed"));

    let problems = check_sources(&workbook).unwrap();
    assert!(problems.iter().any(|p| p.ends_with("lesson 10-open-again has no chapter")), "{problems:#?}");
    // The workshop guide's progress totals count the lessons, so they must count the new one too.
    let totals = format!("the workbook has {} lessons", lessons.len());
    assert!(problems.iter().any(|p| p.starts_with("book/src/workshop.md: ") && p.ends_with(&totals)), "{problems:#?}");
    let others: Vec<&String> = problems.iter().filter(|p| !p.contains("10-open-again") && !p.ends_with(&totals)).collect();
    assert!(others.is_empty(), "the copy changes nothing else: {others:#?}");
}
