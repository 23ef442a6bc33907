//! Builds the workbook's mdBook (`book/`) into `book/build/`, and refuses to
//! produce a book that quietly lies: before the build every include must bring
//! in text, every lesson must have its chapter, and every error message a
//! lesson chapter quotes must be in one of that lesson's snapshots (another
//! chapter's, in any snapshot or a log of diagnose's corpus), and every
//! lesson chapter's hints must be its `lesson.toml`'s, in order, and no chapter
//! or hint may state a count, a line or a total its snapshots contradict; after
//! the build every internal link must lead somewhere. The transcripts it
//! includes are shortened after those checks, for the reader's eye only.

pub mod browser;
pub mod bundle;
pub mod claims;
pub mod diffs;
mod directive;
pub mod handout;
pub mod hints;
pub mod i18n;
pub mod includes;
pub mod links;
mod log;
pub mod quotes;
pub mod search;
pub mod serve;
pub mod task_cards;
pub mod transcripts;
pub mod workbook;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use mdbook_driver::MDBook;

pub use workbook::{Kernels, Lesson, Snapshot, Workbook};

/// `text`, a chapter in `chapter_dir`, with what the builder takes from the
/// lessons' files put in: fixes as diffs, and task cards.
pub fn expand_files(chapter_dir: &Path, text: &str) -> Result<String> {
    task_cards::expand(chapter_dir, &diffs::expand(chapter_dir, text)?)
}

/// [`expand_files`] in every chapter of `book`, whose sources are in `src`.
pub fn expand_files_in_book(src: &Path, book: &mut MDBook) -> Result<()> {
    expand_in_book(src, book, expand_files)
}

/// `expand` (given a chapter's folder and text) in every chapter of `book`,
/// whose sources are in `src`.
fn expand_in_book(src: &Path, book: &mut MDBook, expand: impl Fn(&Path, &str) -> Result<String>) -> Result<()> {
    let mut failed = None;
    book.book.for_each_mut(|item| {
        if let (mdbook_driver::book::BookItem::Chapter(chapter), None) = (item, &failed) {
            let path = chapter.path.clone().unwrap_or_default();
            let dir = src.join(&path).parent().map(Path::to_path_buf).unwrap_or_else(|| src.to_path_buf());
            match expand(&dir, &chapter.content) {
                Ok(text) => chapter.content = text,
                Err(error) => failed = Some(error.context(format!("in {}", path.display()))),
            }
        }
    });
    failed.map_or(Ok(()), Err)
}

/// Everything wrong with the English book's sources, one line each, `file:line: what`.
pub fn check_sources(workbook: &Workbook) -> Result<Vec<String>> {
    let src = workbook.src_dir();
    let lessons = workbook.lessons()?;
    let mut problems = Vec::new();
    let mut chapters = Vec::new();
    for chapter in markdown_files(&src)? {
        let source = std::fs::read_to_string(&chapter).with_context(|| format!("reading {}", chapter.display()))?;
        let path = chapter.strip_prefix(&src).unwrap_or(&chapter);
        let text = match expand_files(chapter.parent().unwrap_or(&src), &source)
            .and_then(|text| hints::expand(&lessons, path, &text, None, false))
        {
            Ok(text) => text,
            Err(error) => {
                problems.push(format!("{}: {error:#}", shown(workbook, &chapter)));
                source.clone()
            }
        };
        if let Some(lesson) = lessons.iter().find(|l| Path::new(&l.chapter_file()) == path) {
            problems.extend(hint_problems(lesson, &shown(workbook, &chapter), &source, &text)?);
            let hints = hints::Hints::english(lesson)?;
            problems.extend(layer_claims(lesson, &hints, &lesson.meta_source())?);
        }
        problems
            .extend(prose_claims(workbook, &lessons, path, &source)?.into_iter().map(|p| format!("{}: {p}", shown(workbook, &chapter))));
        chapters.push((chapter, text));
    }
    problems.extend(check_chapters(workbook, &chapters, |lesson| Some(lesson.title.clone()))?);

    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).context("reading book/src/SUMMARY.md")?;
    for lesson in &lessons {
        let chapter = src.join(lesson.chapter_file());
        if chapter.is_file() && !summary.contains(&format!("({})", lesson.chapter_file())) {
            problems.push(format!("{}: not listed in SUMMARY.md", shown(workbook, &chapter)));
        }
    }
    Ok(problems)
}

/// Whether lesson chapter `shown` takes its hints from `lesson`'s `lesson.toml`
/// (`source` as written, `text` with the hints expanded), and gives them as
/// `cargo xtask hint` does, and whether Markdown shows each as written.
fn hint_problems(lesson: &Lesson, shown: &str, source: &str, text: &str) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    if !hints::has_directive_once(source) {
        problems.push(format!(
            "{shown}: its hints must come from lesson.toml: write `{}` once, on a line of its own, under `## Hints`",
            hints::DIRECTIVE
        ));
    }
    let english = hints::Hints::english(lesson)?;
    problems.extend(english.problems(text).into_iter().map(|problem| format!("{shown}: {problem}")));
    for layer in &english.layers {
        for hint in std::iter::once(&layer.hint).chain(&layer.more) {
            if let Some(why) = hints::not_plain(hint) {
                problems.push(format!(
                    "course/{}/lesson.toml: the hint {hint:?} would not read in the book as written: {why}",
                    lesson.dir_name
                ));
            }
        }
    }
    Ok(problems)
}

/// Everything wrong with a translated edition's chapters: the same checks as the
/// English ones, and each lesson chapter's heading must hold the translated title.
pub fn check_translation(workbook: &Workbook, language: &str, book: &MDBook) -> Result<Vec<String>> {
    let translation = i18n::translation(workbook, language)?;
    let src = workbook.src_dir();
    let chapters: Vec<(PathBuf, String)> = i18n::chapters(book).into_iter().map(|(path, (_name, text))| (src.join(path), text)).collect();
    let mut problems = check_chapters(workbook, &chapters, |lesson| i18n::lookup(&translation, &lesson.title).map(str::to_string))?;
    // Admonitions (`> [!TIP]`) are rebuilt after translation; each must still be one.
    let lessons = workbook.lessons()?;
    for (path, text) in &chapters {
        let source = std::fs::read_to_string(path).unwrap_or_default();
        let relative = path.strip_prefix(&src).unwrap_or(path);
        let english = hints::expand(&lessons, relative, &source, None, false).unwrap_or(source);
        let (wanted, found) = (i18n::admonitions(&english), i18n::admonitions(text));
        if wanted != found {
            problems.push(format!("{}: {found} admonition(s) where the English has {wanted}", shown(workbook, path)));
        }
        if let Some(lesson) = lessons.iter().find(|l| Path::new(&l.chapter_file()) == relative) {
            let hints = hints::Hints::translated(lesson, &translation)?;
            for problem in hints.problems(text) {
                problems.push(format!("{}: {problem}", shown(workbook, path)));
            }
            problems.extend(layer_claims(lesson, &hints, &format!("the translation of {}", lesson.meta_source()))?);
        }
        problems.extend(prose_claims(workbook, &lessons, relative, text)?.into_iter().map(|p| format!("{}: {p}", shown(workbook, path))));
    }
    Ok(problems.into_iter().map(|p| format!("{language}: {p}")).collect())
}

/// What the prose of chapter `path` (relative to `book/src`) claims that the
/// snapshots contradict: a lesson chapter's, its lesson's; any other's, every
/// lesson's and every probe's. And any learner's progress in its transcripts
/// must count the lessons.
fn prose_claims(workbook: &Workbook, lessons: &[Lesson], path: &Path, text: &str) -> Result<Vec<String>> {
    let mut snapshots = Vec::new();
    match lessons.iter().find(|l| Path::new(&l.chapter_file()) == path) {
        Some(lesson) => snapshots.extend(lesson.snapshots()?),
        None => {
            for lesson in lessons {
                snapshots.extend(lesson.snapshots()?);
            }
            snapshots.extend(workbook.probe_snapshots()?);
        }
    }
    let mut problems = claims::contradicted(text, &snapshots);
    problems.extend(claims::wrong_totals(text, lessons.len()));
    Ok(problems)
}

/// What each layer's hints (`hints`, in one edition's language) claim that the
/// transcripts of that layer (`layer-K.snap`, and its kernel variants) contradict.
fn layer_claims(lesson: &Lesson, hints: &hints::Hints, shown: &str) -> Result<Vec<String>> {
    let snapshots = lesson.snapshots()?;
    let mut problems = Vec::new();
    for (i, layer) in hints.layers.iter().enumerate() {
        let name = format!("layer-{}", i + 1);
        let own: Vec<Snapshot> = snapshots.iter().filter(|s| s.name == name || s.name.starts_with(&format!("{name}@"))).cloned().collect();
        if own.is_empty() {
            continue;
        }
        for text in std::iter::once(&layer.hint).chain(&layer.more) {
            for problem in claims::contradicted(text, &own) {
                problems.push(format!("{shown}: layer {}'s hint: {problem}", i + 1));
            }
        }
    }
    Ok(problems)
}

/// Includes, quoted messages and lesson headings of `chapters` (path, text);
/// `title` gives the title a lesson's heading must hold in this edition.
fn check_chapters(workbook: &Workbook, chapters: &[(PathBuf, String)], title: impl Fn(&Lesson) -> Option<String>) -> Result<Vec<String>> {
    let src = workbook.src_dir();
    let lessons = workbook.lessons()?;
    let probe_snapshots = workbook.probe_snapshots()?;
    let mut reproduced: Vec<String> = probe_snapshots.iter().map(|s| s.transcript.clone()).collect();
    let kernels = workbook.kernels()?;
    let mut cases = quotes::cases(&probe_snapshots, &kernels, false);
    reproduced.extend(workbook.pasted_logs()?);
    for lesson in &lessons {
        let snapshots = lesson.snapshots()?;
        cases.extend(quotes::cases(&snapshots, &kernels, true));
        reproduced.extend(snapshots.into_iter().map(|s| s.transcript));
    }
    let mut problems = Vec::new();
    for (chapter, text) in chapters {
        let dir = chapter.parent().expect("a file has a folder");
        for problem in includes::check(text, dir) {
            problems.push(format!("{}:{}: {}", shown(workbook, chapter), problem.line, problem.message));
        }
        for problem in quotes::kernel_problems(text, &cases) {
            problems.push(format!("{}: {problem}", shown(workbook, chapter)));
        }
        let is_lesson = lessons.iter().any(|l| &src.join(l.chapter_file()) == chapter);
        if !is_lesson {
            for quote in quotes::unverified(text, &reproduced) {
                problems.push(format!(
                    "{}: quotes `{quote}` as a message, but no lesson or probe snapshot contains it",
                    shown(workbook, chapter)
                ));
            }
        }
    }

    for lesson in &lessons {
        let chapter = src.join(lesson.chapter_file());
        let where_ = shown(workbook, &chapter);
        let Some((_, text)) = chapters.iter().find(|(path, _)| path == &chapter) else {
            problems.push(format!("{where_}: lesson {} has no chapter", lesson.dir_name));
            continue;
        };
        let heading = text.lines().find_map(|l| l.strip_prefix("# ")).unwrap_or_default();
        match title(lesson) {
            Some(title) if heading.contains(&title) => {}
            Some(title) => problems.push(format!("{where_}: its heading {heading:?} lacks the lesson's title {title:?}")),
            None => problems.push(format!("{where_}: the lesson's title {:?} has no translation", lesson.title)),
        }
        let snapshots: Vec<String> = lesson.snapshots()?.into_iter().map(|s| s.transcript).collect();
        for quote in quotes::unverified(text, &snapshots) {
            problems.push(format!("{where_}: quotes `{quote}` as a message, but no snapshot of lesson {} contains it", lesson.number()));
        }
    }
    Ok(problems)
}

/// Which editions to build: English, or one translation by its language code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edition {
    English,
    Translated(String),
}

impl Edition {
    /// `en` (or nothing) is the English book; anything else must have a `book/po/<lang>.po`.
    pub fn parse(language: Option<&str>) -> Edition {
        match language {
            None | Some("en") => Edition::English,
            Some(language) => Edition::Translated(language.to_string()),
        }
    }

    /// Where this edition's HTML goes.
    pub fn build_dir(&self, workbook: &Workbook) -> PathBuf {
        match self {
            Edition::English => workbook.build_dir(),
            Edition::Translated(language) => workbook.build_dir().join(language),
        }
    }
}

/// Every edition: English first (its build empties `book/build/`), then each translation.
pub fn editions(workbook: &Workbook) -> Result<Vec<Edition>> {
    let mut editions = vec![Edition::English];
    editions.extend(i18n::languages(workbook)?.into_iter().map(Edition::Translated));
    Ok(editions)
}

/// Builds every edition, checked; returns the English one's folder.
pub fn build(workbook: &Workbook) -> Result<PathBuf> {
    let mut out = None;
    for edition in editions(workbook)? {
        let built = build_edition(workbook, &edition)?;
        out.get_or_insert(built);
    }
    out.context("no edition to build")
}

/// Checks one edition's sources, builds its HTML, and checks its links.
pub fn build_edition(workbook: &Workbook, edition: &Edition) -> Result<PathBuf> {
    let mut book = match edition {
        Edition::English => {
            let problems = check_sources(workbook)?;
            if !problems.is_empty() {
                bail!("the book's sources have {} problem(s):\n  {}", problems.len(), problems.join("\n  "));
            }
            let mut book = MDBook::load(workbook.book_dir()).context("loading book/book.toml and book/src/SUMMARY.md")?;
            expand_files_in_book(&workbook.src_dir(), &mut book)?;
            hints::expand_book(workbook, &mut book, None, false)?;
            book
        }
        Edition::Translated(language) => {
            let book = i18n::translated_book(workbook, language)?;
            let problems = check_translation(workbook, language, &book)?;
            if !problems.is_empty() {
                bail!("the {language} edition has {} problem(s):\n  {}", problems.len(), problems.join("\n  "));
            }
            book
        }
    };
    // Checked whole; shortened only for the reader, in the edition's language.
    let translation = match edition {
        Edition::English => None,
        Edition::Translated(language) => Some(i18n::translation(workbook, language)?),
    };
    let marker = transcripts::marker(translation.as_ref())?;
    expand_in_book(&workbook.src_dir(), &mut book, |dir, text| transcripts::expand(dir, text, &marker))?;
    let out = book.build_dir_for("html");
    anyhow::ensure!(
        out == edition.build_dir(workbook),
        "book.toml builds into {}, but the workbook expects {}",
        out.display(),
        edition.build_dir(workbook).display()
    );
    let logged = log::Problems::default();
    tracing::subscriber::with_default(logged.clone(), || book.build()).context("building the book")?;
    let logged = logged.take();
    if !logged.is_empty() {
        bail!("mdBook reported {} problem(s):\n  {}", logged.len(), logged.join("\n  "));
    }

    // mdBook's search drops Chinese words; the index gets them after the build.
    search::add_han_pairs(&out).context("adding Chinese words to the search index")?;

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
