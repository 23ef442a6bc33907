//! The translations are complete and current: `book/po/messages.pot` is what
//! the English sources give today, and every translation translates each of
//! its messages, none fuzzy, none left over, keeping every inline code span
//! (commands, names, messages) and every link exactly as the English has it.
//! After an English change: `cargo xtask dev update-po`, then translate.

use std::collections::BTreeSet;

use book_builder::{i18n, Workbook};
use pulldown_cmark::{Event, Parser, Tag};

#[test]
fn the_template_is_current_with_the_english_sources() {
    let workbook = Workbook::here();
    let fresh = i18n::template_text(&workbook).unwrap();
    let path = i18n::template_path(&workbook);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if fresh != committed {
        let fresh_ids = msgids(&fresh);
        let committed_ids = msgids(&committed);
        let new: Vec<&String> = fresh_ids.difference(&committed_ids).collect();
        let gone: Vec<&String> = committed_ids.difference(&fresh_ids).collect();
        panic!(
            "book/po/messages.pot is not what the English sources give: run `cargo xtask dev update-po` and translate.\n\
             new or changed: {new:#?}\nno longer in the English: {gone:#?}"
        );
    }
}

#[test]
fn every_translation_is_complete_and_not_fuzzy() {
    let workbook = Workbook::here();
    let template = i18n::template(&workbook).unwrap();
    let languages = i18n::languages(&workbook).unwrap();
    assert!(languages.contains(&"zh-CN".to_string()), "{languages:?}");
    let mut problems = Vec::new();
    for language in &languages {
        let translation = i18n::translation(&workbook, language).unwrap();
        let coverage = i18n::coverage(&template, &translation);
        println!("{language}: {}", coverage.summary());
        if !coverage.is_complete() {
            problems.push(format!(
                "{language}: {}\n  fuzzy: {:#?}\n  untranslated: {:#?}\n  stale: {:#?}",
                coverage.summary(),
                coverage.fuzzy,
                coverage.untranslated,
                coverage.stale
            ));
        }
        let po = std::fs::read_to_string(i18n::translation_path(&workbook, language)).unwrap();
        if po.lines().any(|l| l.starts_with("#~")) {
            problems.push(format!("{language}: obsolete (#~) messages are left in the file"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn translations_keep_code_and_links_exactly() {
    let workbook = Workbook::here();
    let mut problems = Vec::new();
    for language in i18n::languages(&workbook).unwrap() {
        let translation = i18n::translation(&workbook, &language).unwrap();
        for message in translation.messages() {
            let Ok(msgstr) = message.msgstr() else { continue };
            if msgstr.is_empty() {
                continue;
            }
            let (english, translated) = (kept(message.msgid()), kept(msgstr));
            let lost: Vec<&String> = english.iter().filter(|k| !translated.contains(*k)).collect();
            if !lost.is_empty() {
                problems.push(format!("{language}: the translation of {:?} lacks {lost:?}", message.msgid()));
            }
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

/// The inline code spans and link targets of a message, which a translation keeps.
fn kept(markdown: &str) -> BTreeSet<String> {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Code(code) => Some(format!("`{code}`")),
            Event::Start(Tag::Link { dest_url, .. }) => Some(format!("({dest_url})")),
            _ => None,
        })
        .collect()
}

/// The msgids of a .pot text, unescaped enough to compare.
fn msgids(pot: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut current: Option<String> = None;
    for line in pot.lines() {
        if let Some(rest) = line.strip_prefix("msgid ") {
            current = Some(rest.trim_matches('"').to_string());
        } else if let (Some(id), true) = (current.as_mut(), line.starts_with('"')) {
            id.push_str(line.trim_matches('"'));
        } else if let Some(id) = current.take() {
            if !id.is_empty() {
                ids.insert(id);
            }
        }
    }
    ids
}

#[test]
fn kept_finds_code_and_links() {
    let found = kept("Run `cargo xtask check 03`, see [the book](03-einval.md#x) and `EINVAL`.");
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["(03-einval.md#x)", "`EINVAL`", "`cargo xtask check 03`"]);
}
