//! `cargo xtask solution NN [--apply]`: the solution as a diff against the
//! learner's files. It asks before giving the answer away to a lesson that
//! does not pass yet, and saves the learner's files before writing over them.

use std::path::Path;
use std::process::ExitCode;

use anstream::println;
use anstyle::AnsiColor;
use anyhow::Result;
use similar::{ChangeTag, TextDiff};

use crate::report::terminal::{self, paint, BAD, DIM, GOOD, TITLE};
use crate::workbook::files::{self, Files};
use crate::workbook::lessons::{self, Lesson};
use crate::workbook::progress::{self, State};

/// `cargo xtask solution`.
#[derive(clap::Args, Debug)]
pub struct SolutionArgs {
    /// Lesson number, e.g. 01
    pub lesson: String,
    /// Write the solution over your files (yours are saved in .backups/ first)
    #[arg(long)]
    pub apply: bool,
    /// Do not ask first
    #[arg(long)]
    pub yes: bool,
}

pub fn solution(root: &Path, args: &SolutionArgs) -> Result<ExitCode> {
    let (apply, yes) = (args.apply, args.yes);
    let lesson = lessons::find(root, &args.lesson)?;
    let solution = files::solution_files(&lesson)?;
    let current = files::current_files(&lesson.dir)?;
    let changed = files::differing(&current, &solution);
    if changed.is_empty() {
        println!("your files of lesson {} already match its solution", lesson.number);
        return Ok(ExitCode::SUCCESS);
    }

    let passed = progress::load(root).get(&lesson.number) == Some(&State::Passed);
    let n = &lesson.number;
    if !passed {
        let (question, flag_hint) = if apply {
            (
                format!("lesson {n} does not pass yet. Write its solution over your files anyway? Yours are saved first."),
                format!("run `cargo xtask solution {n} --apply --yes` to write it anyway"),
            )
        } else {
            (
                format!("lesson {n} does not pass yet, and the solution gives the answer away. Show it anyway?"),
                format!("run `cargo xtask solution {n} --yes` to see it anyway"),
            )
        };
        terminal::confirm(&question, yes, &flag_hint)?;
    }

    for path in &changed {
        print_diff(path, current.get(path).map(Vec::as_slice), &solution[path]);
    }
    if !apply {
        println!("{}", paint(DIM, format!("write it over your files (saved first): cargo xtask solution {n} --apply")));
        return Ok(ExitCode::SUCCESS);
    }
    if passed {
        terminal::confirm(
            "write the solution over your files? Yours are saved first.",
            yes,
            &format!("run `cargo xtask solution {n} --apply --yes` to write it without asking"),
        )?;
    }
    let saved = write_solution(root, &lesson, &current, &solution, &changed)?;
    println!("saved your files of lesson {n} in {}/", paint(TITLE, saved.display()));
    println!("wrote the solution's {}; check it: cargo xtask check {n}", files::names(&changed));
    Ok(ExitCode::SUCCESS)
}

fn write_solution(
    root: &Path,
    lesson: &Lesson,
    current: &Files,
    solution: &Files,
    changed: &[std::path::PathBuf],
) -> Result<std::path::PathBuf> {
    let _held = crate::machine::lock::lesson(root, &lesson.number, "solution --apply")?;
    let saved = files::backup(root, lesson, current)?;
    for path in changed {
        let target = lesson.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, &solution[path])?;
    }
    Ok(saved)
}

/// A unified diff from the learner's file to the solution's, coloured on a terminal.
fn print_diff(path: &Path, yours: Option<&[u8]>, solution: &[u8]) {
    let yours_text = String::from_utf8_lossy(yours.unwrap_or_default());
    let solution_text = String::from_utf8_lossy(solution);
    let missing = if yours.is_none() { " (you have no such file)" } else { "" };
    println!("{}", paint(TITLE, format!("--- yours     {}{missing}", path.display())));
    println!("{}", paint(TITLE, format!("+++ solution  {}", path.display())));
    let diff = TextDiff::from_lines(yours_text.as_ref(), solution_text.as_ref());
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        println!("{}", paint(AnsiColor::Cyan.on_default(), hunk.header()));
        for change in hunk.iter_changes() {
            let line = change.value().trim_end_matches('\n');
            match change.tag() {
                ChangeTag::Delete => println!("{}", paint(BAD, format!("-{line}"))),
                ChangeTag::Insert => println!("{}", paint(GOOD, format!("+{line}"))),
                ChangeTag::Equal => println!(" {line}"),
            }
        }
    }
}
