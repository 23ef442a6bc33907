//! `cargo xtask reset`: back to a lesson's starting (broken) files, the learner's saved first, and nothing without asking.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anstream::println;
use anyhow::Result;

use crate::report::terminal::{self, paint, DIM, TITLE, WARN};
use crate::usage_error::UsageError;
use crate::workbook::files::{current_files, differing, names, replace, starting_files, Files, Start};
use crate::workbook::lessons::{self, Lesson};
use crate::workbook::progress;

/// One lesson's planned reset.
struct Plan {
    lesson: Lesson,
    start: Start,
    current: Files,
    changed: Vec<PathBuf>,
}

fn plan(root: &Path, lesson: Lesson) -> Result<Plan> {
    let start = starting_files(root, &lesson)?;
    let current = current_files(&lesson.dir)?;
    let changed = differing(&current, &start.files);
    Ok(Plan { lesson, start, current, changed })
}

/// `cargo xtask reset`.
#[derive(clap::Args, Debug)]
pub struct ResetArgs {
    /// Lesson number, e.g. 01
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub lesson: Option<String>,
    /// Every lesson
    #[arg(long)]
    pub all: bool,
    /// Do not ask first
    #[arg(long)]
    pub yes: bool,
}

/// `cargo xtask reset NN` or `reset --all`.
pub fn reset(root: &Path, args: &ResetArgs) -> Result<ExitCode> {
    let yes = args.yes;
    let chosen = match (args.lesson.as_deref(), args.all) {
        (Some(wanted), false) => vec![lessons::find(root, wanted)?],
        (None, true) => lessons::all(root)?,
        _ => return Err(UsageError("name one lesson (`reset 01`) or all of them (`reset --all`)".into()).into()),
    };
    let mut plans = Vec::new();
    for lesson in chosen {
        let plan = plan(root, lesson)?;
        if plan.changed.is_empty() {
            println!("lesson {} is at its starting files already", plan.lesson.number);
        } else {
            println!("lesson {}: changed since the start: {}", plan.lesson.number, names(&plan.changed));
            if !plan.start.at_head {
                println!(
                    "  {}",
                    paint(DIM, format!("(your commits changed the lesson; its starting files are those of commit {})", plan.start.commit))
                );
            }
            if !plan.start.verified {
                println!("  {}", paint(WARN, "(the lesson's fixes no longer lead from these files to its solution; they are HEAD's)"));
            }
            plans.push(plan);
        }
    }
    if plans.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let question = if plans.len() == 1 {
        format!("reset lesson {} to its starting files? Yours are saved first.", plans[0].lesson.number)
    } else {
        format!("reset these {} lessons to their starting files? Yours are saved first.", plans.len())
    };
    let again = if args.all { "reset --all --yes".to_string() } else { format!("reset {} --yes", plans[0].lesson.number) };
    terminal::confirm(&question, yes, &format!("run `cargo xtask {again}` to reset without asking"))?;
    for plan in &plans {
        let saved = replace(root, &plan.lesson, &plan.current, &plan.start.files, &plan.changed)?;
        progress::forget(root, &plan.lesson.number)?;
        println!("saved your files of lesson {} in {}/", plan.lesson.number, paint(TITLE, saved.display()));
        println!("reset {}; get yours back with: cargo xtask restore {}", names(&plan.changed), plan.lesson.number);
    }
    Ok(ExitCode::SUCCESS)
}
