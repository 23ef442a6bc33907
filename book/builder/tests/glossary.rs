//! One word per concept in the Chinese edition, as its glossary gives it, so a
//! reader never meets one word for two things: attach is 附加 and mount is
//! 挂载 (the lessons teach that an unmounted tracefs makes attach fail), the
//! book's probes are 实验 (探针 is what kprobe gets called), skeleton is 骨架
//! and an object file's section is 节.

use book_builder::{i18n, Workbook};
use pulldown_cmark::{Event, Parser};
use regex::Regex;

/// A term, the glossary row that names it, and its Chinese word.
struct Term {
    /// The glossary's row for it, as the English cell writes it.
    row: &'static str,
    /// The Chinese word, which the row's translation must start with.
    chinese: &'static str,
    /// Where the English prose uses the term.
    english: &'static str,
}

const TERMS: &[Term] = &[
    Term { row: "**attach**", chinese: "附加", english: r"(?i)\battach(es|ed|ing|ment|ments)?\b" },
    Term { row: "**attach point**", chinese: "附加点", english: r"(?i)\battach points?\b" },
    Term { row: "**mount**", chinese: "挂载", english: r"(?i)\b(un)?mount(s|ed|ing)?\b" },
    Term { row: "**probe**", chinese: "实验", english: r"(?i)(^|[^-\w])probes?\b" },
    Term { row: "**skeleton**", chinese: "骨架", english: r"(?i)\bskeletons?\b" },
    Term { row: "**section**", chinese: "节", english: r"(?i)\bsections?\b" },
];

/// The words a reader sees in a message: its text and its links' text, not
/// its code spans or link targets.
fn prose(markdown: &str) -> String {
    Parser::new(markdown)
        .filter_map(|event| match event {
            Event::Text(text) => Some(text.into_string()),
            Event::SoftBreak | Event::HardBreak => Some(" ".into()),
            _ => None,
        })
        .collect()
}

/// Everything the Chinese edition says against its glossary, one line each.
fn problems(messages: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let patterns: Vec<Regex> = TERMS.iter().map(|t| Regex::new(t.english).unwrap()).collect();
    let uses = |term: &Term, english: &str| {
        let at = TERMS.iter().position(|t| t.row == term.row).unwrap();
        patterns[at].is_match(&prose(english))
    };
    let term = |row: &str| TERMS.iter().find(|t| t.row == row).unwrap();
    for term in TERMS {
        match messages.iter().find(|(en, _)| en == term.row) {
            Some((_, zh)) if zh.starts_with(&format!("**{}**", term.chinese)) => {}
            Some((_, zh)) => problems.push(format!("the glossary gives {} as {zh:?}, not **{}**", term.row, term.chinese)),
            None => problems.push(format!("the glossary has no row {}", term.row)),
        }
    }
    let (attach, mount, probe, skeleton, section) =
        (term("**attach**"), term("**mount**"), term("**probe**"), term("**skeleton**"), term("**section**"));
    // The book's own probe, not a kprobe, nor libbpf's feature probe.
    let feature_probe = Regex::new(r"(?i)feature probe").unwrap();
    // Where 段 is part of another word: field, stage, piece, means, paragraph.
    let other_duan = Regex::new(r"字段|阶段|片段|手段|段落|[一这那某每]段").unwrap();
    let kprobe = Regex::new(r"(?i)[ku]probe").unwrap();
    let skeleton_word = Regex::new(r"(?i)skeleton").unwrap();
    for (en, zh) in messages {
        let (en_prose, zh_prose) = (prose(en), prose(zh));
        let shown = || en.chars().take(90).collect::<String>();
        if zh_prose.contains("挂载") && !uses(mount, en) {
            problems.push(format!("挂载 (mount) where the English says no mount, only perhaps attach: {:?}", shown()));
        }
        if uses(attach, en) && !uses(mount, en) && zh_prose.contains("挂") {
            problems.push(format!("挂 for attach, not 附加: {:?}", shown()));
        }
        if zh_prose.contains("探针") && !kprobe.is_match(&en_prose) {
            problems.push(format!("探针 for the book's probes, not 实验: {:?}", shown()));
        }
        if uses(probe, en) && !feature_probe.is_match(&en_prose) && !zh_prose.contains(probe.chinese) {
            problems.push(format!("the English names a probe, the Chinese has no 实验: {:?}", shown()));
        }
        if uses(skeleton, en) && !zh_prose.contains(skeleton.chinese) {
            problems.push(format!("the English says skeleton, the Chinese has no 骨架: {:?}", shown()));
        }
        if skeleton_word.find_iter(&zh_prose).any(|m| !zh_prose[..m.start()].ends_with('（')) {
            problems.push(format!("skeleton left in English, not 骨架 (or only after it, in brackets): {:?}", shown()));
        }
        if uses(section, en) && other_duan.replace_all(&zh_prose, "").contains('段') {
            problems.push(format!("段 for a section, not 节: {:?}", shown()));
        }
    }
    problems
}

fn chinese_messages() -> Vec<(String, String)> {
    let workbook = Workbook::here();
    let translation = i18n::translation(&workbook, "zh-CN").unwrap();
    translation
        .messages()
        .filter_map(|m| Some((m.msgid().to_string(), m.msgstr().ok()?.to_string())))
        .filter(|(_, zh)| !zh.is_empty())
        .collect()
}

#[test]
fn the_chinese_edition_uses_one_word_per_concept_as_its_glossary_gives_it() {
    let problems = problems(&chinese_messages());
    assert!(problems.is_empty(), "{} problem(s) in book/po/zh-CN.po:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_glossary_test_finds_each_kind_of_slip() {
    let mut messages = chinese_messages();
    let mut add = |en: &str, zh: &str| messages.push((en.into(), zh.into()));
    add("layer 2: attached, yet nothing counted", "第 2 层：已挂载，却什么也没数到");
    add("see the [probe](probes.md#x)", "见 [探针](probes.md#x)");
    add("The skeleton's types refuse it.", "skeleton 的类型拒绝了它。");
    add("a map section libbpf refuses", "libbpf 拒绝的 map 段");
    let found = problems(&messages);
    for wanted in ["挂载 (mount) where", "探针 for the book's probes", "skeleton left in English", "段 for a section"] {
        assert!(found.iter().any(|p| p.starts_with(wanted)), "no problem starts with {wanted:?}: {found:#?}");
    }
    // What the book may say: 挂载 for mount, the kprobe row's 内核探针, a field (字段) beside a section.
    let fine = problems(&[
        ("tracefs is not mounted".into(), "tracefs 没有挂载".into()),
        ("**kprobe**".into(), "**kprobe**（内核探针）".into()),
        ("the `.maps` section's fields".into(), "`.maps` 节中的字段".into()),
    ]);
    assert!(fine.iter().all(|p| p.starts_with("the glossary")), "{fine:#?}");
}
