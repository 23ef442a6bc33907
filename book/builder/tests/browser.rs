//! Builds the book and reads its pages in headless Chromium, as a reader's
//! browser renders them: every lesson chapter must show its title, the
//! lesson's broken and fixed transcripts, and every transcript it includes.
//! Each translated edition the same: its own titles (in its script), the
//! transcripts exactly as in English (but for the line that counts a run of
//! alike lines the builder shortens), and a way back to the other editions.
//! Every lesson chapter shows its lesson's hints, in the edition's language,
//! in the order `cargo xtask hint` gives them.

use std::path::{Path, PathBuf};

use book_builder::hints::Hints;
use book_builder::{browser, i18n, includes, transcripts, Edition, Workbook};

/// What one page must show.
#[derive(Clone)]
struct Expected {
    page: String,
    title: Option<String>,
    transcripts: Vec<(String, String)>,
    /// A lesson's hints as a reader sees them, in order: each layer's concept, then its API.
    hints: Vec<String>,
}

/// `hints`' texts as the page shows them: rendered, with white space as one space.
fn shown_hints(hints: &Hints) -> Vec<String> {
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_SMART_PUNCTUATION);
    let mut shown = Vec::new();
    for layer in &hints.layers {
        for text in std::iter::once(&layer.hint).chain(&layer.more) {
            let mut html = String::new();
            pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(text, options));
            shown.push(one_line(&browser::text(&html)));
        }
    }
    shown
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn expectations(workbook: &Workbook) -> Vec<Expected> {
    let src = workbook.src_dir();
    let lessons = workbook.lessons().expect("reading the lessons");
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("reading book/src")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && !p.ends_with("SUMMARY.md"))
        .collect();
    chapters.sort();

    let mut all = Vec::new();
    for chapter in chapters {
        let text = std::fs::read_to_string(&chapter).expect("reading a chapter");
        let chapter_dir = chapter.parent().expect("a chapter has a folder");
        let (found, _) = includes::find(&text);
        let mut transcripts: Vec<(String, String)> = found
            .iter()
            .filter(|i| i.path.extension().is_some_and(|e| e == "snap"))
            .map(|i| (i.path.display().to_string(), i.resolve(chapter_dir).unwrap_or_else(|why| panic!("{why}"))))
            .collect();
        let stem = chapter.file_stem().expect("a file name").to_string_lossy().into_owned();
        let lesson = lessons.iter().find(|l| l.dir_name == stem);
        if let Some(lesson) = lesson {
            // Whatever the chapter includes, it must show how the lesson starts and how it ends.
            for snapshot in lesson.snapshots().expect("reading snapshots") {
                if snapshot.name == "layer-1" || snapshot.name == "fixed" {
                    transcripts.push((format!("{}/snapshots/{}.snap", lesson.dir_name, snapshot.name), snapshot.transcript));
                }
            }
        }
        transcripts.sort_by(|a, b| a.1.cmp(&b.1));
        transcripts.dedup_by(|a, b| a.1 == b.1);
        let hints = lesson.map(|l| shown_hints(&Hints::english(l).expect("reading lesson.toml"))).unwrap_or_default();
        if lesson.is_some() || !transcripts.is_empty() {
            all.push(Expected { page: format!("{stem}.html"), title: lesson.map(|l| l.title.clone()), transcripts, hints });
        }
    }
    all
}

fn problems_on_page(chromium: &Path, out: &Path, profiles: &Path, expected: &Expected, lessons: &[String]) -> Vec<String> {
    let profile = profiles.join(out.file_name().unwrap_or_default()).join(&expected.page);
    let dom = match browser::dump_dom(chromium, &out.join(&expected.page), &profile) {
        Ok(dom) => dom,
        Err(error) => return vec![format!("{}: {error:#}", expected.page)],
    };
    let _ = std::fs::remove_dir_all(&profile);
    let mut problems = Vec::new();
    let Some(main) = browser::main_content(&dom) else {
        return vec![format!("{}: the rendered page has no <main>", expected.page)];
    };
    if let Some(title) = &expected.title {
        match browser::first_heading(main) {
            Some(heading) if heading.contains(title.as_str()) => {}
            other => problems.push(format!("{}: heading {other:?} lacks the title {title:?}", expected.page)),
        }
    }
    let text = browser::text(main);
    for (source, transcript) in &expected.transcripts {
        if !text.contains(transcript.as_str()) {
            problems.push(format!("{}: the rendered page lacks the transcript of {source}:\n{transcript}", expected.page));
        }
    }
    let flowing = one_line(&text);
    let mut after = 0;
    for hint in &expected.hints {
        match flowing.get(after..).and_then(|rest| rest.find(hint.as_str())) {
            Some(at) => after += at + hint.len(),
            None => problems.push(format!("{}: the rendered page lacks this hint, or shows it out of order:\n{hint}", expected.page)),
        }
    }
    // The sidebar is built by the page's own script: proof that a browser, not a parser, read it.
    for lesson in lessons {
        if !dom.contains(&format!("href=\"{lesson}.html\"")) {
            problems.push(format!("{}: the script-built sidebar has no link to {lesson}.html", expected.page));
        }
    }
    // The language switch, also built by a script, leads to this page in the other editions.
    let switches = browser::language_switches(&dom);
    if switches.is_empty() {
        problems.push(format!("{}: no language switch", expected.page));
    }
    for (lang, href) in switches {
        let target = out.join(&href);
        if !href.ends_with(&expected.page) || !target.is_file() {
            problems.push(format!("{}: the switch to {lang} leads to {href}, which is not this page", expected.page));
        }
    }
    problems
}

/// Every edition's expectations: a translation's lesson titles are the translated
/// ones, and must be written in its own script; its transcripts are the English ones.
fn editions(workbook: &Workbook, english: &[Expected]) -> Vec<(Edition, Vec<Expected>)> {
    // The transcripts as the builder shortens them, counting the rest in the edition's language.
    let shortened = |e: &Expected, marker: &str| -> Vec<(String, String)> {
        e.transcripts.iter().map(|(source, t)| (source.clone(), transcripts::collapse(t, marker))).collect()
    };
    let marker = transcripts::marker(None).unwrap();
    let mut all = vec![(Edition::English, english.iter().map(|e| Expected { transcripts: shortened(e, &marker), ..e.clone() }).collect())];
    let lessons = workbook.lessons().unwrap();
    for language in i18n::languages(workbook).unwrap() {
        let translation = i18n::translation(workbook, &language).unwrap();
        let marker = transcripts::marker(Some(&translation)).unwrap();
        assert!(
            marker != transcripts::MORE_LINES && marker.chars().any(is_han),
            "{language}: {:?} is not translated",
            transcripts::MORE_LINES
        );
        let pages = english
            .iter()
            .map(|e| {
                let lesson = lessons.iter().find(|l| format!("{}.html", l.dir_name) == e.page);
                let hints = lesson.map(|l| shown_hints(&Hints::translated(l, &translation).unwrap())).unwrap_or_default();
                for (hint, english) in hints.iter().zip(&e.hints) {
                    assert!(hint != english && hint.chars().any(is_han), "{language}: the hint {english:?} is not translated");
                }
                let title = e.title.as_ref().map(|t| {
                    let translated = i18n::lookup(&translation, t).unwrap_or_else(|| panic!("{language}: no translation of {t:?}"));
                    assert!(translated.chars().any(is_han), "{language}: the title {translated:?} is not in Chinese");
                    translated.to_string()
                });
                Expected { title, hints, transcripts: shortened(e, &marker), ..e.clone() }
            })
            .collect();
        all.push((Edition::Translated(language), pages));
    }
    all
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

#[test]
fn lesson_chapters_render_their_titles_and_transcripts_in_chromium() {
    let workbook = Workbook::here();
    let chromium = browser::chromium().unwrap_or_else(|e| panic!("{e:#}"));
    book_builder::build(&workbook).unwrap_or_else(|e| panic!("the book does not build: {e:#}"));
    let expected = expectations(&workbook);
    let lessons: Vec<String> = workbook.lessons().unwrap().into_iter().map(|l| l.dir_name).collect();
    assert!(expected.iter().filter(|e| e.title.is_some()).count() == lessons.len(), "every lesson has a chapter");
    let editions = editions(&workbook, &expected);
    assert!(editions.len() > 1, "the book has a translation");

    let profiles = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("chromium-{}", std::process::id()));
    let mut problems = Vec::new();
    for (edition, pages) in &editions {
        let out = edition.build_dir(&workbook);
        let name = match edition {
            Edition::English => "en",
            Edition::Translated(language) => language,
        };
        for page in pages {
            let found = problems_on_page(&chromium, &out, &profiles, page, &lessons);
            let shown = match &page.title {
                Some(title) => format!("«{title}», {} transcripts and {} hints", page.transcripts.len(), page.hints.len()),
                None => format!("{} transcripts", page.transcripts.len()),
            };
            let status = if found.is_empty() { format!("ok: {shown}") } else { "FAILED".into() };
            println!("{name:<6} {:<22} {status}", page.page);
            problems.extend(found);
        }
    }
    let _ = std::fs::remove_dir_all(&profiles);
    assert!(problems.is_empty(), "{} problem(s) in the rendered book:\n{}", problems.len(), problems.join("\n"));
}
