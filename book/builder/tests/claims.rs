//! The prose agrees with the snapshots: no chapter or hint, in either edition,
//! states a count, cites a line, or counts with a line, that the transcripts
//! it speaks of contradict; and a learner's progress counts the lessons there are.

mod common;

use std::path::Path;

use book_builder::{check_sources, check_translation, i18n, Workbook};

fn claims_only(problems: Vec<String>) -> Vec<String> {
    // The claim checks' own sentences; the other checks have tests of their own.
    let marks = [
        "so no count is right",
        "the transcripts count",
        "have no `",
        "holds that count",
        "line of the transcripts it speaks of says",
        "lessons",
    ];
    problems.into_iter().filter(|p| marks.iter().any(|m| p.contains(m))).collect()
}

#[test]
fn no_chapter_or_hint_states_what_the_snapshots_contradict() {
    let workbook = Workbook::here();
    let mut problems = claims_only(check_sources(&workbook).unwrap());
    for language in i18n::languages(&workbook).unwrap() {
        let book = i18n::translated_book(&workbook, &language).unwrap();
        problems.extend(claims_only(check_translation(&workbook, &language, &book).unwrap()));
    }
    assert!(problems.is_empty(), "{} claim(s) the snapshots contradict:\n{}", problems.len(), problems.join("\n"));
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The contradicted claims the old texts made, put back into a copy of the
/// workbook, and a stage outcome no transcript shows: each is refused.
#[test]
fn the_claims_the_snapshots_contradicted_are_refused() {
    let workbook = Workbook { root: common::workbook_copy("old-claims") };
    let src = workbook.src_dir();
    let before = claims_only(check_sources(&workbook).unwrap());
    assert_eq!(before, Vec::<String>::new(), "the copy is as good as the original");

    let chapter01 = src.join("01-open-fails.md");
    let text = std::fs::read_to_string(&chapter01).unwrap();
    let at = text.find("tracepoint, opens a file").expect("lesson 01 says how the loader opens files");
    let end = at + text[at..].find(", and reads its own count").expect("and then reads its count");
    std::fs::write(&chapter01, format!("{}tracepoint, opens a file five times{}", &text[..at], &text[end..])).unwrap();
    let toml = workbook.root.join("course/02-attach/lesson.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let at = text.find("attached exactly the tracepoint the SEC() name gives").unwrap()
        + "attached exactly the tracepoint the SEC() name gives".len();
    let end = at + text[at..].find(", and no").unwrap();
    std::fs::write(&toml, format!("{} (the note line says\nwhich){}", &text[..at], &text[end..])).unwrap();
    let chapter03 = src.join("03-einval.md");
    let text = std::fs::read_to_string(&chapter03).unwrap();
    let at = text
        .find("\n\nThe object line")
        .or_else(|| text.find("\n\n`cargo xtask diagnose` counts"))
        .or_else(|| text.find("\n\nThe transcript's compile line"))
        .expect("lesson 03 says where relocations are counted");
    let end = at + 2 + text[at + 2..].find('\n').unwrap();
    std::fs::write(&chapter03, format!("{}\n\nThe compile line of a transcript counts these records.{}", &text[..at], &text[end..]))
        .unwrap();
    // A progress total one short of the lessons there are.
    let lessons = workbook.lessons().unwrap().len();
    let short = format!("1/{}", lessons - 1);
    edit(&src.join("workshop.md"), &format!("1/{lessons}"), &short);
    // And a stage's outcome the layer's transcript does not show.
    edit(&workbook.root.join("course/03-einval/lesson.toml"), "Load fails with EINVAL", "Load fails with ESRCH");

    let problems = claims_only(check_sources(&workbook).unwrap());
    let workshop = format!("book/src/workshop.md: \"{short}\"");
    let expect = [
        "book/src/01-open-fails.md: \"opens a file five times\": the run chooses how many times",
        "course/02-attach/lesson.toml: layer 2's hint: \"the note line\": the transcripts it speaks of have no `note` line",
        "book/src/03-einval.md: \"The compile line of a transcript counts these records\": no `compile` line",
        workshop.as_str(),
        "course/03-einval/lesson.toml: layer 1's hint: \"Load fails with ESRCH\": no `load` line of the transcripts it speaks of says failed with ESRCH",
    ];
    for wanted in expect {
        assert!(problems.iter().any(|p| p.starts_with(wanted)), "no problem starts with {wanted:?}:\n{problems:#?}");
    }
}
