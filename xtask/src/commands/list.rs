//! `cargo xtask list`: every lesson, its title, and where the learner is with it.

use std::path::Path;
use std::process::ExitCode;

use anstream::println;
use anyhow::Result;

use crate::report::json::{self, LessonStatus, ListReport, Machine};
use crate::report::terminal::{paint, BAD, DIM, GOOD, TITLE, WARN};
use crate::workbook::{lessons, progress};

/// `cargo xtask list`.
#[derive(clap::Args, Debug, Default)]
pub struct ListArgs {
    /// One JSON object instead of text (schema in the book's workshop guide)
    #[arg(long)]
    pub json: bool,
}

/// `cargo xtask list`: each lesson with its last known state, and the next to do.
pub fn list(root: &Path, args: &ListArgs) -> Result<ExitCode> {
    let json = args.json;
    let lessons = lessons::all(root)?;
    let records = progress::records(root);
    let statuses: Vec<LessonStatus> = lessons.iter().map(|l| LessonStatus::new(l, records.get(&l.number))).collect();
    let report = ListReport::new(Machine::this(), statuses);
    if json {
        json::print(&report);
        return Ok(ExitCode::SUCCESS);
    }
    let width = lessons.iter().map(|l| l.meta.title.chars().count()).max().unwrap_or(0);
    for (lesson, status) in lessons.iter().zip(&report.lessons) {
        let shown = match records.get(&lesson.number) {
            None => paint(DIM, "not started"),
            Some(_) if status.changed_since_passed => paint(WARN, "passed, changed since"),
            Some(record) => {
                let style = if record.state == progress::State::Passed { GOOD } else { BAD };
                paint(style, record.state.describe(&lesson.meta))
            }
        };
        let marker = if report.next.as_ref() == Some(&status.number) { "→" } else { " " };
        println!("{marker} {}  {:<width$}  {shown}", lesson.number, lesson.meta.title);
    }
    match &report.next {
        Some(n) => println!("\n{} of {} passed · next: {}", report.passed, report.total, paint(TITLE, format!("cargo xtask check {n}"))),
        None => println!("\n{}", paint(GOOD, "every lesson passes")),
    }
    Ok(ExitCode::SUCCESS)
}
