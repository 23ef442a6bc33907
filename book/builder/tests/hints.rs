//! Every lesson chapter discloses its hints the way `cargo xtask hint NN` does,
//! from the same `lesson.toml`: for each layer in order, folded, the concept,
//! then, folded again, the API and where to look, all before the fix; in English and in
//! every translation, which must translate each of them.

mod common;

use std::path::{Path, PathBuf};

use book_builder::hints::{self, Hints};
use book_builder::{check_sources, i18n, Workbook};

#[test]
fn lesson_chapters_give_their_lesson_toml_hints_in_order_in_every_edition() {
    let workbook = Workbook::here();
    let lessons = workbook.lessons().unwrap();
    let mut problems = Vec::new();
    for lesson in &lessons {
        let file = lesson.chapter_file();
        let source = std::fs::read_to_string(workbook.src_dir().join(&file)).unwrap();
        if !hints::has_directive_once(&source) {
            problems.push(format!("en {file}: does not take its hints from lesson.toml with `{}`", hints::DIRECTIVE));
        }
        let english = hints::expand(&lessons, Path::new(&file), &source, None, false).unwrap();
        let wanted = Hints::english(lesson).unwrap();
        assert!(!wanted.layers.is_empty());
        problems.extend(wanted.problems(&english).into_iter().map(|p| format!("en {file}: {p}")));
        for layer in &wanted.layers {
            for text in std::iter::once(&layer.hint).chain(&layer.more) {
                problems.extend(hints::not_plain(text).map(|why| format!("en {file}: {text:?}: {why}")));
            }
        }
    }
    for language in i18n::languages(&workbook).unwrap() {
        let translation = i18n::translation(&workbook, &language).unwrap();
        let book = i18n::translated_book(&workbook, &language).unwrap();
        let chapters = i18n::chapters(&book);
        for lesson in &lessons {
            let file = lesson.chapter_file();
            let (_, text) = &chapters[&PathBuf::from(&file)];
            let english = Hints::english(lesson).unwrap();
            let wanted = Hints::translated(lesson, &translation).unwrap();
            problems.extend(wanted.problems(text).into_iter().map(|p| format!("{language} {file}: {p}")));
            for (en, translated) in english.layers.iter().zip(&wanted.layers) {
                for (en, text) in [(&en.hint, &translated.hint)].into_iter().chain(en.more.iter().zip(&translated.more)) {
                    if i18n::lookup(&translation, en).is_none() {
                        problems.push(format!("{language} {file}: no translation of the hint {en:?}"));
                    }
                    problems.extend(hints::not_plain(text).map(|why| format!("{language} {file}: {text:?}: {why}")));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// The workbook's lessons and book sources, copied to be changed.
fn fixture(name: &str) -> Workbook {
    Workbook { root: common::workbook_copy(name) }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_book_refuses_hints_typed_by_hand_or_placed_after_the_fix() {
    let workbook = fixture("hints-by-hand");
    assert_eq!(check_sources(&workbook).unwrap(), Vec::<String>::new(), "the copy is as good as the original");
    let src = workbook.src_dir();

    // Lesson 03's hints typed by hand, the concept and the API in one tip.
    edit(
        &src.join("03-einval.md"),
        "{{#hints}}",
        "> [!TIP]\n> **Layer 1.** Does this kernel's `task_struct` have that field? Declare a\n> second flavor of the structure with the field this kernel has.\n\n\
         > [!TIP]\n> **Layer 2.** Keep both reads and let `bpf_core_field_exists` pick one.",
    );
    // Lesson 04's hints after its fix.
    let chapter = src.join("04-macros.md");
    edit(&chapter, "{{#hints}}\n", "");
    edit(&chapter, "\n## The article's claims", "\n{{#hints}}\n\n## The article's claims");
    // A hint in lesson.toml that Markdown would not show as the terminal does.
    edit(
        &workbook.root.join("course/01-open-fails/lesson.toml"),
        "a loader installs with `set_print`",
        "a loader installs with <b>set_print</b>",
    );

    let problems = check_sources(&workbook).unwrap();
    let expect = [
        "book/src/03-einval.md: its hints must come from lesson.toml",
        "book/src/03-einval.md: a hint is shown unfolded",
        "book/src/03-einval.md: layer 1: its concept (`hint` in lesson.toml) is not in the layer's fold",
        "book/src/04-macros.md: 0 hint fold(s) between `## Hints` and `## The fix`",
        "book/src/04-macros.md: layer 4: its concept",
        "course/01-open-fails/lesson.toml: the hint",
    ];
    for wanted in expect {
        assert!(problems.iter().any(|p| p.starts_with(wanted)), "no problem starts with {wanted:?}:\n{problems:#?}");
    }
}
