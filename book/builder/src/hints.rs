//! A lesson chapter's hints are the lesson's own. `{{#hints}}`, on a line of
//! its own in the chapter, becomes for each layer of the lesson's `lesson.toml`,
//! in order, a fold labelled with the layer that holds the concept (`hint`)
//! and, folded again below it, the API and where to look (`more`): what `cargo xtask hint NN` gives when asked once,
//! then again. The builder expands it before mdBook or gettext read the
//! chapter, in the edition's language, so a hint is written once, in
//! `lesson.toml`, and its translation once, in `book/po`.

use std::path::Path;
use std::sync::LazyLock;

use anyhow::{bail, Context, Result};
use mdbook_driver::book::BookItem;
use mdbook_driver::MDBook;
use polib::catalog::Catalog;
use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use regex::Regex;
use serde::Deserialize;

use crate::{i18n, Lesson, Workbook};

/// Where a lesson chapter's hints go; alone on its line.
pub const DIRECTIVE: &str = "{{#hints}}";
/// The label of each layer's fold, a message of its own in `book/po`.
pub const LAYER_LABEL: &str = "Layer {number}: {name}";
/// The summary of the fold that holds a layer's second hint, a message too.
pub const MORE_LABEL: &str = "More: the API and where to look";

/// How each layer's fold opens; the book's stylesheet sets hint folds apart.
pub const HINT_FOLD: &str = "<details class=\"hint\">";

/// mdBook-i18n-helpers' directive: the next block is not a message. The
/// lesson's texts are messages of `lesson.toml`, not of the chapter.
const SKIP: &str = "<!-- mdbook-xgettext: skip -->";

static DIRECTIVE_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\{\{#hints\}\}[ \t]*$").expect("a valid pattern"));
static HINTS_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^##[ \t]+(?:Hints|.*\{[ \t]*#hints[ \t]*\})[ \t]*$").expect("a valid pattern"));
static FIX_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^##[ \t]+(?:The fix|.*\{[ \t]*#the-fix[ \t]*\})[ \t]*$").expect("a valid pattern"));
static TIP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\?\[!TIP\\?\]").expect("a valid pattern"));
static QUOTE_MARK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^[ \t]*>[ \t]?").expect("a valid pattern"));
static ESCAPE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\([!-/:-@\[-`{-~])").expect("a valid pattern"));

/// One layer's hints, trimmed, as `lesson.toml` has them or translated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Layer {
    pub name: String,
    /// The first hint: the concept.
    pub hint: String,
    /// The second: the API and where to look.
    #[serde(default)]
    pub more: Option<String>,
}

/// A lesson's hints and the labels around them, in one edition's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hints {
    pub layers: Vec<Layer>,
    pub layer_label: String,
    pub more_label: String,
}

/// The layers of `lesson`, with their texts trimmed as `book/po` holds them.
pub fn layers(lesson: &Lesson) -> Result<Vec<Layer>> {
    #[derive(Deserialize)]
    struct Meta {
        #[serde(default, rename = "layer")]
        layers: Vec<Layer>,
    }
    let path = lesson.course.join("lesson.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let meta: Meta = toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
    Ok(meta
        .layers
        .into_iter()
        .map(|l| Layer { name: l.name.trim().into(), hint: l.hint.trim().into(), more: l.more.map(|m| m.trim().to_string()) })
        .collect())
}

impl Hints {
    pub fn english(lesson: &Lesson) -> Result<Hints> {
        Ok(Hints { layers: layers(lesson)?, layer_label: LAYER_LABEL.into(), more_label: MORE_LABEL.into() })
    }

    /// In the language of `translation`; a text it does not translate stays English,
    /// as everywhere in a translated edition (the translation tests ask for all).
    pub fn translated(lesson: &Lesson, translation: &Catalog) -> Result<Hints> {
        let tr = |text: &str| join_wide_lines(i18n::lookup(translation, text).unwrap_or(text));
        let layers =
            layers(lesson)?.iter().map(|l| Layer { name: tr(&l.name), hint: tr(&l.hint), more: l.more.as_deref().map(tr) }).collect();
        let layer_label = tr(LAYER_LABEL);
        if !layer_label.contains("{number}") || !layer_label.contains("{name}") {
            bail!("the translation of {LAYER_LABEL:?} must keep {{number}} and {{name}}: {layer_label:?}");
        }
        Ok(Hints { layers, layer_label, more_label: tr(MORE_LABEL) })
    }

    fn label(&self, k: usize) -> String {
        self.layer_label.replace("{number}", &k.to_string()).replace("{name}", &self.layers[k - 1].name)
    }

    /// The label as HTML, for a `<summary>`, where Markdown is not read.
    fn label_html(&self, k: usize) -> String {
        inline_html(&self.label(k))
    }

    /// The Markdown `{{#hints}}` stands for: each layer folded under its label,
    /// so a learner opens only the hint they need, and in it the API folded
    /// again. `for_gettext` marks each block as no message of the chapter's.
    pub fn markdown(&self, for_gettext: bool) -> String {
        let skip = if for_gettext { format!("{SKIP}\n") } else { String::new() };
        let mut out = String::new();
        for (i, layer) in self.layers.iter().enumerate() {
            out.push_str(&skip);
            out.push_str(&format!("{HINT_FOLD}\n<summary>{}</summary>\n\n", self.label_html(i + 1)));
            out.push_str(&skip);
            out.push_str(&layer.hint);
            out.push_str("\n\n");
            if let Some(more) = &layer.more {
                out.push_str(&skip);
                out.push_str(&format!("<details>\n<summary>{}</summary>\n\n", self.more_label));
                out.push_str(&skip);
                out.push_str(more);
                out.push_str("\n\n</details>\n\n");
            }
            out.push_str("</details>\n\n");
        }
        out.trim_end().to_string()
    }

    /// What is wrong with the hints of `chapter`, a lesson chapter as the reader
    /// gets it, after expansion and translation: between its headings `Hints`
    /// and `The fix`, one fold per layer, in order, each labelled with the
    /// layer and holding the layer's concept as the lesson has it and then, in
    /// a fold of its own, its API; no hint fold besides, and no hint unfolded.
    pub fn problems(&self, chapter: &str) -> Vec<String> {
        let (Some(start), Some(end)) = (HINTS_HEADING.find(chapter), FIX_HEADING.find(chapter)) else {
            return vec!["a lesson chapter needs a `## Hints` heading and, after it, `## The fix`".into()];
        };
        if end.start() < start.end() {
            return vec!["`## Hints` comes after `## The fix`: the hints must come first".into()];
        }
        let section = &chapter[start.end()..end.start()];
        let mut problems = Vec::new();
        if TIP.is_match(section) {
            problems.push("a hint is shown unfolded, as a tip: write `{{#hints}}`, which folds each layer's hints".to_string());
        }
        let folds: Vec<usize> = section.match_indices(HINT_FOLD).map(|(at, _)| at).collect();
        if folds.len() != self.layers.len() {
            problems.push(format!(
                "{} hint fold(s) between `## Hints` and `## The fix`, where lesson.toml has {} layer(s): write `{DIRECTIVE}` there, not hints of your own",
                folds.len(),
                self.layers.len()
            ));
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let k = i + 1;
            let region = match folds.get(i) {
                Some(&at) => plain(&section[at..folds.get(k).copied().unwrap_or(section.len())]),
                None => String::new(),
            };
            let concept = plain(&layer.hint);
            let head = plain(&format!("{HINT_FOLD} <summary>{}</summary> {}", self.label_html(k), layer.hint));
            let Some(rest) = region.strip_prefix(&head) else {
                problems.push(if region.contains(&concept) {
                    format!("layer {k}: its concept is not right below its label {:?} in its fold", self.label(k))
                } else {
                    format!("layer {k}: its concept (`hint` in lesson.toml) is not in the layer's fold, in the layers' order, as the lesson has it")
                });
                continue;
            };
            let mut rest = rest.trim_start().to_string();
            if let Some(more) = &layer.more {
                let api = plain(&format!("<details> <summary>{}</summary> {more} </details>", self.more_label));
                match rest.strip_prefix(&api) {
                    Some(after) => rest = after.trim_start().to_string(),
                    None => {
                        problems.push(if rest.contains(&plain(more)) {
                            format!("layer {k}: its API (`more`) is not in a fold labelled {:?} right below its concept", self.more_label)
                        } else {
                            format!("layer {k}: its API (`more` in lesson.toml) is not below its concept, as the lesson has it")
                        });
                        continue;
                    }
                }
            }
            let holds_more = match rest.strip_prefix("</details>") {
                None => true,
                Some(after) => folds.get(k).is_some() && !after.trim().is_empty(),
            };
            if holds_more {
                problems.push(format!("layer {k}: its fold holds more than its label {:?}, its concept and its API", self.label(k)));
            }
        }
        problems
    }
}

/// One line of Markdown as HTML without its paragraph, for a `<summary>`.
fn inline_html(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, Parser::new(markdown));
    html.trim().trim_start_matches("<p>").trim_end_matches("</p>").to_string()
}

/// Why `text`, a hint or its translation, would not read in the book as it
/// does in a terminal, if it would not: it must be one paragraph of plain text
/// and code spans. `<linux/types.h>` would vanish as HTML, `_user_` turn italic.
pub fn not_plain(text: &str) -> Option<String> {
    let mut paragraphs = 0;
    for event in Parser::new(text) {
        match event {
            Event::Start(Tag::Paragraph) => paragraphs += 1,
            Event::End(TagEnd::Paragraph) | Event::Text(_) | Event::Code(_) | Event::SoftBreak => {}
            Event::Html(html) | Event::InlineHtml(html) => return Some(format!("{:?} reads as HTML: put it in backticks", html.trim())),
            other => return Some(format!("it is Markdown, not plain text ({other:?}): put code in backticks")),
        }
    }
    (paragraphs != 1).then(|| format!("it is {paragraphs} paragraphs, not one"))
}

/// Joins the lines of a text where a space would be wrong: between two wide
/// characters, such as Chinese ones, and beside wide punctuation (`：`, `（`).
pub fn join_wide_lines(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let wide = |c: Option<&char>| c.is_some_and(|c| !c.is_ascii() && !c.is_whitespace());
    let punctuation = |c: Option<&char>| c.is_some_and(|c| matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}'));
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let (before, after) = (i.checked_sub(1).and_then(|p| chars.get(p)), chars.get(i + 1));
        if c == '\n' && ((wide(before) && wide(after)) || punctuation(before) || punctuation(after)) {
            continue;
        }
        out.push(c);
    }
    out
}

/// Expands `{{#hints}}` in every chapter of `book`: English, or in the language
/// of `translation`.
pub fn expand_book(workbook: &Workbook, book: &mut MDBook, translation: Option<&Catalog>, for_gettext: bool) -> Result<()> {
    let lessons = workbook.lessons()?;
    let mut failed = None;
    book.book.for_each_mut(|item| {
        if let (BookItem::Chapter(chapter), None) = (item, &failed) {
            let path = chapter.path.clone().unwrap_or_default();
            match expand(&lessons, &path, &chapter.content, translation, for_gettext) {
                Ok(text) => chapter.content = text,
                Err(error) => failed = Some(error),
            }
        }
    });
    failed.map_or(Ok(()), Err)
}

/// `text`, the chapter `path` (relative to `book/src`), with its `{{#hints}}` expanded.
pub fn expand(lessons: &[Lesson], path: &Path, text: &str, translation: Option<&Catalog>, for_gettext: bool) -> Result<String> {
    if !DIRECTIVE_LINE.is_match(text) {
        return Ok(text.to_string());
    }
    let lesson = lessons
        .iter()
        .find(|l| path == Path::new(&l.chapter_file()))
        .with_context(|| format!("{}: `{DIRECTIVE}` belongs in a lesson's chapter", path.display()))?;
    let hints = match translation {
        Some(translation) => Hints::translated(lesson, translation)?,
        None => Hints::english(lesson)?,
    };
    let markdown = hints.markdown(for_gettext);
    Ok(DIRECTIVE_LINE.replace_all(text, regex::NoExpand(&markdown)).into_owned())
}

/// Whether a chapter's source writes `{{#hints}}` once, as a lesson chapter must.
pub fn has_directive_once(source: &str) -> bool {
    DIRECTIVE_LINE.find_iter(source).count() == 1
}

/// Markdown reduced to compare texts in it: no quote marks, no escapes, no
/// skip directives, every run of white space one space.
fn plain(markdown: &str) -> String {
    let text = markdown.replace(SKIP, " ");
    let text = QUOTE_MARK.replace_all(&text, " ");
    let text = ESCAPE.replace_all(&text, "$1");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints() -> Hints {
        Hints {
            layers: vec![
                Layer {
                    name: "first".into(),
                    hint: "The concept of\nlayer one.".into(),
                    more: Some("Use `the_api()`,\nlook in `/proc`.".into()),
                },
                Layer { name: "second".into(), hint: "The concept of layer two.".into(), more: None },
            ],
            layer_label: LAYER_LABEL.into(),
            more_label: MORE_LABEL.into(),
        }
    }

    fn chapter(hints: &str) -> String {
        format!("# 09 · T\n\n## What you will see\n\ntext\n\n## Hints\n\n{hints}\n\n`cargo xtask hint 09` gives the hint.\n\n## The fix\n\n<details>\n<summary>The fix</summary>\n\nx\n\n</details>\n")
    }

    #[test]
    fn the_expansion_folds_each_concept_and_then_its_api_before_the_fix() {
        let expanded = chapter(&hints().markdown(false));
        assert!(expanded.contains(
            "## Hints\n\n<details class=\"hint\">\n<summary>Layer 1: first</summary>\n\nThe concept of\nlayer one.\n\n<details>\n<summary>More: the API and where to look</summary>\n\nUse `the_api()`,\nlook in `/proc`.\n\n</details>\n\n</details>\n\n<details class=\"hint\">\n<summary>Layer 2: second</summary>\n\nThe concept of layer two.\n\n</details>\n\n`cargo"
        ), "{expanded}");
        assert_eq!(hints().problems(&expanded), Vec::<String>::new());
        assert_eq!(crate::i18n::admonitions(&expanded), 0, "no hint is an unfolded tip");
    }

    #[test]
    fn hints_typed_by_hand_unfolded_out_of_order_or_after_the_fix_are_found() {
        let generated = hints().markdown(false);
        // Typed by hand as tips, unfolded.
        let typed = chapter("> [!TIP]\n> **Layer 1: first**\n>\n> The concept of layer one. Use `the_api()`.\n\n> [!TIP]\n> **Layer 2: second**\n>\n> The concept of layer two.");
        let problems = hints().problems(&typed);
        assert!(problems.iter().any(|p| p.starts_with("a hint is shown unfolded")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("0 hint fold(s)")), "{problems:?}");
        let retyped = chapter(&generated.replace("layer one.", "layer 1."));
        assert!(hints().problems(&retyped).iter().any(|p| p.starts_with("layer 1: its concept (`hint` in lesson.toml) is not")));

        // The API and the concept swapped.
        let swapped = generated
            .replacen("The concept of\nlayer one.", "@", 1)
            .replacen("Use `the_api()`,\nlook in `/proc`.", "The concept of\nlayer one.", 1)
            .replacen("@", "Use `the_api()`,\nlook in `/proc`.", 1);
        let problems = hints().problems(&chapter(&swapped));
        assert!(problems.iter().any(|p| p.starts_with("layer 1: its concept is not right below its label")), "{problems:?}");

        // The layers in the wrong order.
        let (one, two) = generated.split_at(generated.find("<details class=\"hint\">\n<summary>Layer 2").unwrap());
        let problems = hints().problems(&chapter(&format!("{two}\n\n{one}")));
        assert!(problems.iter().any(|p| p.starts_with("layer 1: its concept")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("layer 2: its concept")), "{problems:?}");

        // The hints after the fix.
        let late = chapter("").replace("</details>\n", &format!("</details>\n\n{generated}\n"));
        let problems = hints().problems(&late);
        assert!(problems.iter().any(|p| p.starts_with("0 hint fold(s)")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("layer 1: its concept")), "{problems:?}");

        // A fold of one's own beside the generated ones.
        let extra = chapter(&format!("{generated}\n\n<details class=\"hint\">\n<summary>Layer 3</summary>\n\nAlso this.\n\n</details>"));
        assert!(hints().problems(&extra).iter().any(|p| p.starts_with("3 hint fold(s)")));

        // The API outside its fold.
        let unfolded = chapter(&generated.replace("<details>\n<summary>More: the API and where to look</summary>\n", ""));
        let problems = hints().problems(&unfolded);
        assert!(problems.iter().any(|p| p.starts_with("layer 1: its API (`more`) is not in a fold")), "{problems:?}");

        // Something else inside a layer's fold.
        let stuffed = chapter(&generated.replacen("</details>\n\n</details>", "</details>\n\nAnd the answer.\n\n</details>", 1));
        let problems = hints().problems(&stuffed);
        assert!(problems.iter().any(|p| p.starts_with("layer 1: its fold holds more")), "{problems:?}");
    }

    #[test]
    fn the_directive_is_expanded_only_alone_on_its_line() {
        assert!(has_directive_once("## Hints\n\n{{#hints}}\n\n## The fix\n"));
        assert!(!has_directive_once("## Hints\n\nWrite `{{#hints}}` here.\n"));
        assert!(!has_directive_once("{{#hints}}\n{{#hints}}\n"));
    }

    #[test]
    fn hints_must_read_as_plain_text_in_markdown() {
        assert_eq!(not_plain("Use `bpf_probe_read_user_str`, and\ncheck what it returns."), None);
        assert!(not_plain("Do not add <b>this</b>.").unwrap().contains("HTML"));
        assert_eq!(not_plain("Do not add <linux/types.h>: it is no HTML tag."), None);
        assert!(not_plain("a _user_ read").is_some());
        assert!(not_plain("one\n\ntwo").unwrap().contains("2 paragraphs"));
    }

    #[test]
    fn wide_lines_join_without_a_space() {
        assert_eq!(
            join_wide_lines("这个加载器的回调\n把日志送到哪里去了？用 `set_print`\n看看"),
            "这个加载器的回调把日志送到哪里去了？用 `set_print`\n看看"
        );
        assert_eq!(join_wide_lines("重定位：\ntask_struct 的\n`state`（`bpftool`\n）"), "重定位：task_struct 的\n`state`（`bpftool`）");
        assert_eq!(join_wide_lines("one\ntwo"), "one\ntwo");
    }

    #[test]
    fn skipped_for_gettext_the_hints_are_no_messages_of_the_chapter() {
        let text = chapter(&hints().markdown(true));
        let messages: Vec<String> = mdbook_i18n_helpers::extract_messages(&text).unwrap().into_iter().map(|(_, m)| m.message).collect();
        assert!(messages.iter().all(|m| !m.contains("concept") && !m.contains("the_api") && !m.contains("Layer")), "{messages:?}");
        assert!(messages.contains(&"Hints".to_string()), "{messages:?}");
    }
}
