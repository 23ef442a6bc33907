//! Builds the workbook's mdBook (`book/`) into `book/build/`, and refuses to
//! produce a book that quietly lies: before the build every include must bring
//! in text, every lesson must have its chapter, and every error message a
//! lesson chapter quotes must be in one of that lesson's snapshots; after the
//! build every internal link must lead somewhere.

pub mod browser;
pub mod includes;
pub mod links;
mod log;
pub mod quotes;
pub mod serve;
pub mod workbook;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mdbook_driver::MDBook;

pub use workbook::{Lesson, Snapshot, Workbook};

/// Everything wrong with the book's sources, one line each, `file:line: what`.
pub fn check_sources(workbook: &Workbook) -> Result<Vec<String>> {
    let src = workbook.src_dir();
    let lessons = workbook.lessons()?;
    let mut reproduced: Vec<String> = workbook.probe_snapshots()?.into_iter().map(|s| s.transcript).collect();
    for lesson in &lessons {
        reproduced.extend(lesson.snapshots()?.into_iter().map(|s| s.transcript));
    }
    let mut problems = Vec::new();
    for chapter in markdown_files(&src)? {
        let text = std::fs::read_to_string(&chapter).with_context(|| format!("reading {}", chapter.display()))?;
        let dir = chapter.parent().expect("a file has a folder");
        for problem in includes::check(&text, dir) {
            problems.push(format!("{}:{}: {}", shown(workbook, &chapter), problem.line, problem.message));
        }
        let is_lesson = lessons.iter().any(|l| src.join(l.chapter_file()) == chapter);
        if !is_lesson {
            for quote in quotes::unverified(&text, &reproduced) {
                problems.push(format!(
                    "{}: quotes `{quote}` as a message, but no lesson or probe snapshot contains it",
                    shown(workbook, &chapter)
                ));
            }
        }
    }

    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).context("reading book/src/SUMMARY.md")?;
    for lesson in &lessons {
        let chapter = src.join(lesson.chapter_file());
        let where_ = shown(workbook, &chapter);
        let Ok(text) = std::fs::read_to_string(&chapter) else {
            problems.push(format!("{where_}: lesson {} has no chapter", lesson.dir_name));
            continue;
        };
        if !summary.contains(&format!("({})", lesson.chapter_file())) {
            problems.push(format!("{where_}: not listed in SUMMARY.md"));
        }
        let heading = text.lines().find_map(|l| l.strip_prefix("# ")).unwrap_or_default();
        if !heading.contains(&lesson.title) {
            problems.push(format!("{where_}: its heading {heading:?} lacks the lesson's title {:?}", lesson.title));
        }
        let snapshots: Vec<String> = lesson.snapshots()?.into_iter().map(|s| s.transcript).collect();
        for quote in quotes::unverified(&text, &snapshots) {
            problems.push(format!(
                "{where_}: quotes `{quote}` as a message, but no snapshot of lesson {} contains it",
                lesson.number()
            ));
        }
    }
    Ok(problems)
}

/// Checks the sources, builds the HTML book, and checks its links.
pub fn build(workbook: &Workbook) -> Result<PathBuf> {
    let problems = check_sources(workbook)?;
    if !problems.is_empty() {
        bail!("the book's sources have {} problem(s):\n  {}", problems.len(), problems.join("\n  "));
    }

    let book = MDBook::load(workbook.book_dir()).context("loading book/book.toml and book/src/SUMMARY.md")?;
    let out = book.build_dir_for("html");
    anyhow::ensure!(
        out == workbook.build_dir(),
        "book.toml builds into {}, but the workbook expects {}",
        out.display(),
        workbook.build_dir().display()
    );
    let logged = log::Problems::default();
    tracing::subscriber::with_default(logged.clone(), || book.build()).context("building the book")?;
    let logged = logged.take();
    if !logged.is_empty() {
        bail!("mdBook reported {} problem(s):\n  {}", logged.len(), logged.join("\n  "));
    }

    let broken = links::Site::read(&out)?.broken_links();
    if !broken.is_empty() {
        bail!("the built book has {} broken link(s):\n  {}", broken.len(), broken.join("\n  "));
    }
    Ok(out)
}

fn markdown_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(markdown_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A path as the reader of an error message wants it: from the workbook's top.
fn shown(workbook: &Workbook, path: &Path) -> String {
    path.strip_prefix(&workbook.root).unwrap_or(path).display().to_string()
}
