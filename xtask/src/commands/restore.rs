//! `cargo xtask restore`: the learner's files back from a backup that reset or solution made, the current ones saved first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anstream::println;
use anyhow::Result;

use crate::report::terminal::{self, paint, TITLE};
use crate::usage_error::UsageError;
use crate::workbook::files::{backups_of, collect_all, current_files, differing, names, replace, Files, BACKUPS};
use crate::workbook::lessons;

/// `cargo xtask restore NN [--from BACKUP]`: the learner's files back from a backup.
/// `cargo xtask restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// Lesson number, e.g. 01
    pub lesson: String,
    /// A backup folder in .backups/ (default: the newest for the lesson)
    #[arg(long, value_name = "BACKUP")]
    pub from: Option<String>,
    /// Do not ask first
    #[arg(long)]
    pub yes: bool,
}

pub fn restore(root: &Path, args: &RestoreArgs) -> Result<ExitCode> {
    let (from, yes) = (args.from.as_deref(), args.yes);
    let lesson = lessons::find(root, &args.lesson)?;
    let backups = backups_of(root, &lesson.number);
    let chosen = match from {
        Some(name) => {
            let name = Path::new(name).file_name().map(PathBuf::from).unwrap_or_default();
            let path = Path::new(BACKUPS).join(&name);
            if !backups.contains(&path) {
                return Err(UsageError(format!(
                    "{} is not a backup of lesson {}; its backups are: {}",
                    path.display(),
                    lesson.number,
                    if backups.is_empty() { "none".to_string() } else { names(&backups) }
                ))
                .into());
            }
            path
        }
        None => match backups.last() {
            Some(newest) => newest.clone(),
            None => return Err(UsageError(format!("lesson {} has no backups in {BACKUPS}/ to restore", lesson.number)).into()),
        },
    };
    let mut saved = Files::new();
    collect_all(&root.join(&chosen), &root.join(&chosen), &mut saved)?;
    let current = current_files(&lesson.dir)?;
    let changed = differing(&current, &saved);
    if changed.is_empty() {
        println!("lesson {}'s files already match {}/", lesson.number, chosen.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!("lesson {}: differs from {}/ in {}", lesson.number, chosen.display(), names(&changed));
    terminal::confirm(
        &format!("restore them from {}/? Your current files are saved first.", chosen.display()),
        yes,
        &format!("run `cargo xtask restore {} --yes` to restore without asking", lesson.number),
    )?;
    let backup = replace(root, &lesson, &current, &saved, &changed)?;
    println!("saved your current files in {}/", paint(TITLE, backup.display()));
    println!("restored {} from {}/", names(&changed), chosen.display());
    Ok(ExitCode::SUCCESS)
}
