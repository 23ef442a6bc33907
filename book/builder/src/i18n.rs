//! Translations of the book, with gettext and mdbook-i18n-helpers (the tools
//! Comprehensive Rust uses): the English messages are extracted into
//! `book/po/messages.pot`, each language's translation is `book/po/<lang>.po`,
//! and a translated edition is the English book with every message replaced.
//!
//! Code blocks are never messages: transcripts, code and commands stay exactly
//! as the tools print them, because a reader searches for those strings. The
//! lessons' titles, layer names and hints (`lesson.toml`) are messages too, so
//! `cargo xtask hint` can answer in the learner's language from the same file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{anyhow, bail, Context, Result};
use mdbook_driver::book::BookItem;
use mdbook_driver::MDBook;
use mdbook_i18n_helpers::gettext::{add_stripped_summary_translations, translate_book};
use mdbook_renderer::RenderContext;
use polib::catalog::Catalog;
use polib::message::Message;
use polib::metadata::CatalogMetadata;
use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use regex::Regex;

use crate::{hints, Workbook};

/// mdBook-i18n-helpers' directive: the next block is not a message.
const SKIP: &str = "<!-- mdbook-xgettext: skip -->";

/// Where `messages.pot` and the `<lang>.po` files live.
pub fn po_dir(workbook: &Workbook) -> PathBuf {
    workbook.book_dir().join("po")
}

pub fn template_path(workbook: &Workbook) -> PathBuf {
    po_dir(workbook).join("messages.pot")
}

pub fn translation_path(workbook: &Workbook, language: &str) -> PathBuf {
    po_dir(workbook).join(format!("{language}.po"))
}

/// Every language with a translation in `book/po/`, e.g. `["zh-CN"]`.
pub fn languages(workbook: &Workbook) -> Result<Vec<String>> {
    let dir = po_dir(workbook);
    let mut languages = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "po") {
            languages.push(path.file_stem().unwrap_or_default().to_string_lossy().into_owned());
        }
    }
    languages.sort();
    Ok(languages)
}

/// Puts the skip directive before every fenced code block, at the fence's indentation,
/// so that extraction and translation both leave the block alone.
pub fn skip_code_blocks(markdown: &str) -> String {
    let mut fences: Vec<usize> = Parser::new(markdown)
        .into_offset_iter()
        .filter_map(|(event, range)| match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => Some(range.start),
            _ => None,
        })
        .collect();
    fences.dedup();
    let mut out = String::with_capacity(markdown.len() + fences.len() * (SKIP.len() + 8));
    let mut copied = 0;
    for fence in fences {
        let line_start = markdown[..fence].rfind('\n').map_or(0, |n| n + 1);
        let prefix = &markdown[line_start..fence];
        // Only a fence indented by spaces or quoted with `>` can take a line before it.
        if !prefix.chars().all(|c| c == ' ' || c == '>') {
            continue;
        }
        out.push_str(&markdown[copied..line_start]);
        out.push_str(prefix);
        out.push_str(SKIP);
        out.push('\n');
        copied = line_start;
    }
    out.push_str(&markdown[copied..]);
    out
}

/// Gives every ATX heading without an id the id mdBook would make from its
/// English text, so that a translated heading keeps the anchor links point to.
pub fn keep_heading_ids(markdown: &str) -> String {
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_HEADING_ATTRIBUTES);
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    let mut ends = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { id: None, .. }) if markdown[range.clone()].starts_with('#') => {
                let line_end = range.start + markdown[range.clone()].find('\n').unwrap_or(range.len());
                current = Some((line_end, String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, heading)) = current.as_mut() {
                    heading.push_str(&text);
                }
            }
            Event::End(pulldown_cmark::TagEnd::Heading(_)) => {
                if let Some((line_end, heading)) = current.take() {
                    let id = id_from_text(&heading);
                    let seen = used.entry(id.clone()).or_default();
                    let id = if *seen == 0 { id } else { format!("{id}-{seen}") };
                    *seen += 1;
                    ends.push((line_end, id));
                }
            }
            _ => {}
        }
    }
    let mut out = markdown.to_string();
    for (line_end, id) in ends.into_iter().rev() {
        let end = line_end - (markdown[..line_end].len() - markdown[..line_end].trim_end().len());
        out.insert_str(end, &format!(" {{#{id}}}"));
    }
    out
}

/// mdBook's heading id: lower case, letters, digits, `_` and `-`, spaces as `-`.
fn id_from_text(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '_' || c == '-' => Some(c),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

static SUMMARY_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^([ \t]*)<summary>(.+)</summary>[ \t]*$").expect("a valid pattern"));
static SUMMARY_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<summary>\n\n(.*?)\n\n[ \t]*</summary>").expect("a valid pattern"));
static ADMONITION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^(?:[ \t]*>[ \t]*\n)?([ \t]*>[ \t]*)\\\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\\\][ \t]*").expect("a valid pattern")
});

/// `<summary>text</summary>` on one line is an HTML block, which gettext tools
/// skip; with its text as a paragraph of its own, the text is a message.
pub fn open_summaries(markdown: &str) -> String {
    SUMMARY_LINE.replace_all(markdown, "$1<summary>\n\n$1$2\n\n$1</summary>").into_owned()
}

/// The ASCII diagrams of a chapter: fenced blocks marked `text,diagram`, each as
/// the range of its text and the text. gettext reads no code block, and a
/// diagram's words are prose, so the builder makes each a message of its own,
/// translated whole so that its translator can keep its lines aligned.
pub fn diagrams(markdown: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut found = Vec::new();
    // The block being read, if a diagram: its text's range so far, and its text.
    let mut current: Option<(Option<std::ops::Range<usize>>, String)> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if info.split(',').any(|a| a.trim() == DIAGRAM) => {
                current = Some((None, String::new()))
            }
            Event::Text(text) => {
                if let Some((span, all)) = &mut current {
                    *span = Some(span.as_ref().map_or(range.clone(), |s| s.start..range.end));
                    all.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((Some(span), text)) = current.take() {
                    found.push((span, text));
                }
            }
            _ => {}
        }
    }
    found
}

/// What marks a fenced block as a diagram: ```` ```text,diagram ````.
pub const DIAGRAM: &str = "diagram";

/// The translator's note on every diagram.
const DIAGRAM_NOTE: &str = "An ASCII diagram: translate its words, keep its lines, and align with spaces (a Chinese character takes two columns); code and names stay as they are";

/// `markdown` with each diagram's text replaced by its translation, where there is one.
pub fn translate_diagrams(translation: &Catalog, markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut copied = 0;
    for (range, text) in diagrams(markdown) {
        if let Some(translated) = lookup(translation, text.trim_end()) {
            out.push_str(&markdown[copied..range.start]);
            out.push_str(translated.trim_end());
            out.push('\n');
            copied = range.end;
        }
    }
    out.push_str(&markdown[copied..]);
    out
}

/// Undoes `open_summaries` once translated: the text goes back inside
/// `<summary>`, as HTML, since Markdown is not read inside an HTML block.
pub fn close_summaries(markdown: &str) -> String {
    SUMMARY_BLOCK
        .replace_all(markdown, |c: &regex::Captures| {
            let mut html = String::new();
            pulldown_cmark::html::push_html(&mut html, Parser::new(c[1].trim()));
            let inline = html.trim().trim_start_matches("<p>").trim_end_matches("</p>");
            format!("<summary>{inline}</summary>")
        })
        .into_owned()
}

/// A GitHub-style admonition (`> [!TIP]`) must be the first line of its quote,
/// alone, as written; translation escapes its brackets, joins it to the
/// paragraph and may put an empty line before it.
pub fn restore_admonitions(markdown: &str) -> String {
    ADMONITION.replace_all(markdown, "$1[!$2]\n$1").into_owned()
}

static ADMONITION_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*>[ \t]*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*$").expect("a valid pattern"));

/// How many admonitions a chapter has, each `> [!KIND]` alone on its line.
pub fn admonitions(markdown: &str) -> usize {
    ADMONITION_LINE.find_iter(markdown).count()
}

/// The book's English sources as mdBook loads them, with code blocks marked as
/// skipped and `<summary>` texts opened up as messages. The lessons' hints are
/// put in, in the language of `hints_in` (English if none), marked as skipped
/// too: they are messages of `lesson.toml`, translated there.
fn english_book(workbook: &Workbook, hints_in: Option<&Catalog>) -> Result<MDBook> {
    let mut book = MDBook::load(workbook.book_dir()).context("loading book/book.toml and book/src/SUMMARY.md")?;
    // Diffs first, so their code blocks are skipped as every other is; task
    // cards too, so they are messages of the chapter.
    crate::expand_files_in_book(&workbook.src_dir(), &mut book)?;
    book.book.for_each_mut(|item| {
        if let BookItem::Chapter(chapter) = item {
            chapter.content = open_summaries(&skip_code_blocks(&chapter.content));
        }
    });
    hints::expand_book(workbook, &mut book, hints_in, true)?;
    Ok(book)
}

/// The messages of the book and of the lessons, as `book/po/messages.pot` holds them.
pub fn template(workbook: &Workbook) -> Result<Catalog> {
    let mut book = english_book(workbook, None)?;
    // Sources without line numbers: a line moving is not a change to translate.
    book.config.set("output.xgettext.granularity", 0)?;
    let title = book.config.book.title.clone().unwrap_or_default();
    let context = RenderContext::new(book.root.clone(), book.book, book.config, workbook.build_dir());
    let mut catalogs =
        mdbook_i18n_helpers::xgettext::create_catalogs(&context, std::fs::read_to_string).context("extracting the book's messages")?;
    let mut catalog = catalogs.remove(Path::new("messages.pot")).ok_or_else(|| anyhow!("xgettext made no messages.pot"))?;
    if !catalogs.is_empty() {
        bail!("xgettext split the messages into several files; book.toml must not set output.xgettext.depth");
    }
    catalog.metadata = metadata(&title);
    add(&mut catalog, &title, "book/book.toml", "The book's title");
    add(
        &mut catalog,
        hints::LAYER_LABEL,
        "book/builder/src/hints.rs",
        "Labels each layer's fold in a lesson chapter; keep {number} and {name}",
    );
    add(&mut catalog, hints::MORE_LABEL, "book/builder/src/hints.rs", "Labels the fold with a layer's second hint");
    add(
        &mut catalog,
        crate::transcripts::MORE_LINES,
        "book/builder/src/transcripts.rs",
        "Stands in a transcript for the rest of a run of alike lines; keep {count}",
    );
    for (path, (_, text)) in chapters(&english_book(workbook, None)?) {
        for (_, diagram) in diagrams(&text) {
            add(&mut catalog, diagram.trim_end(), &format!("book/src/{}", path.display()), DIAGRAM_NOTE);
        }
    }
    for lesson in workbook.lessons()? {
        let source = lesson.meta_source();
        let text = std::fs::read_to_string(lesson.course.join("lesson.toml")).with_context(|| format!("reading {source}"))?;
        let table: toml::Table = toml::from_str(&text).with_context(|| format!("in {source}"))?;
        for (key, text) in learner_texts(&table) {
            add(&mut catalog, &text, &source, &key);
        }
    }
    Ok(catalog)
}

/// The same metadata every time, so the template changes only when a message does.
fn metadata(title: &str) -> CatalogMetadata {
    let mut metadata = CatalogMetadata::new();
    metadata.project_id_version = title.to_string();
    metadata.mime_version = "1.0".into();
    metadata.content_type = "text/plain; charset=UTF-8".into();
    metadata.content_transfer_encoding = "8bit".into();
    metadata
}

fn add(catalog: &mut Catalog, msgid: &str, source: &str, comment: &str) {
    let source = match catalog.find_message(None, msgid, None) {
        Some(known) if !known.source().lines().any(|s| s == source) => format!("{}\n{source}", known.source()),
        Some(known) => known.source().to_string(),
        None => source.to_string(),
    };
    let comment = match catalog.find_message(None, msgid, None) {
        Some(known) if !known.comments().is_empty() => known.comments().to_string(),
        _ => comment.to_string(),
    };
    let message = Message::build_singular().with_msgid(msgid.to_string()).with_source(source).with_comments(comment).done();
    catalog.append_or_update(message);
}

/// The texts of a `lesson.toml` that a learner reads: the lesson's `title`, each
/// layer's `name`, and every string under a key that starts with `hint` or is
/// `more`, however the hints are arranged (levels as keys, in a list, a table).
/// Each comes with where it is, e.g. `layer[1].hint`; texts are trimmed.
pub fn learner_texts(table: &toml::Table) -> Vec<(String, String)> {
    fn strings(value: &toml::Value, key: String, out: &mut Vec<(String, String)>) {
        match value {
            toml::Value::String(text) if !text.trim().is_empty() => out.push((key, text.trim().to_string())),
            toml::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    strings(item, format!("{key}[{}]", i + 1), out);
                }
            }
            toml::Value::Table(table) => {
                for (name, item) in table {
                    strings(item, format!("{key}.{name}"), out);
                }
            }
            _ => {}
        }
    }
    fn walk(table: &toml::Table, at: &str, out: &mut Vec<(String, String)>) {
        for (name, value) in table {
            let key = if at.is_empty() { name.clone() } else { format!("{at}.{name}") };
            let is_layer = at.starts_with("layer[");
            if name.starts_with("hint") || name == "more" || (name == "title" && at.is_empty()) || (name == "name" && is_layer) {
                strings(value, key, out);
            } else if let toml::Value::Array(items) = value {
                for (i, item) in items.iter().enumerate() {
                    if let toml::Value::Table(inner) = item {
                        walk(inner, &format!("{key}[{}]", i + 1), out);
                    }
                }
            } else if let toml::Value::Table(inner) = value {
                walk(inner, &key, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(table, "", &mut out);
    out
}

/// Writes `messages.pot` from the current English sources.
pub fn write_template(workbook: &Workbook) -> Result<PathBuf> {
    let path = template_path(workbook);
    std::fs::create_dir_all(po_dir(workbook))?;
    polib::po_file::write(&template(workbook)?, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The template as text, exactly as `write_template` writes it.
pub fn template_text(workbook: &Workbook) -> Result<String> {
    let scratch = std::env::temp_dir().join(format!("workbook-messages-{}.pot", std::process::id()));
    polib::po_file::write(&template(workbook)?, &scratch)?;
    let text = std::fs::read_to_string(&scratch);
    let _ = std::fs::remove_file(&scratch);
    Ok(text?)
}

/// One language's translation, as its `.po` file holds it.
pub fn translation(workbook: &Workbook, language: &str) -> Result<Catalog> {
    let path = translation_path(workbook, language);
    if !path.is_file() {
        let known = languages(workbook).unwrap_or_default();
        bail!("no translation for {language:?}: book/po/{language}.po does not exist (translations: {})", known.join(", "));
    }
    polib::po_file::parse(&path).map_err(|e| anyhow!("{e}")).with_context(|| format!("reading {}", path.display()))
}

/// How far a translation covers the template.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub translated: Vec<String>,
    /// Translated once, but marked `fuzzy` since the English changed (by msgmerge).
    pub fuzzy: Vec<String>,
    pub untranslated: Vec<String>,
    /// In the translation but no longer in the template.
    pub stale: Vec<String>,
}

impl Coverage {
    pub fn is_complete(&self) -> bool {
        self.fuzzy.is_empty() && self.untranslated.is_empty() && self.stale.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "{} translated, {} fuzzy, {} untranslated, {} no longer in the English",
            self.translated.len(),
            self.fuzzy.len(),
            self.untranslated.len(),
            self.stale.len()
        )
    }
}

pub fn coverage(template: &Catalog, translation: &Catalog) -> Coverage {
    let mut coverage = Coverage::default();
    for message in template.messages() {
        let msgid = message.msgid().to_string();
        match translation.find_message(None, &msgid, None) {
            Some(found) if found.flags().is_fuzzy() => coverage.fuzzy.push(msgid),
            Some(found) if found.is_translated() => coverage.translated.push(msgid),
            _ => coverage.untranslated.push(msgid),
        }
    }
    for message in translation.messages() {
        if template.find_message(None, message.msgid(), None).is_none() {
            coverage.stale.push(message.msgid().to_string());
        }
    }
    coverage
}

/// The translated message for `msgid`, if there is one that is not fuzzy.
pub fn lookup<'a>(translation: &'a Catalog, msgid: &str) -> Option<&'a str> {
    translation.find_message(None, msgid, None).filter(|m| m.is_translated() && !m.flags().is_fuzzy()).and_then(|m| m.msgstr().ok())
}

/// The book in `language`: every chapter, chapter name and the title translated,
/// building into `book/build/<language>/`.
pub fn translated_book(workbook: &Workbook, language: &str) -> Result<MDBook> {
    let mut catalog = translation(workbook, language)?;
    // Fuzzy messages are out of date: the English shows rather than a wrong translation.
    let fuzzy: Vec<String> = catalog.messages().filter(|m| m.flags().is_fuzzy()).map(|m| m.msgid().to_string()).collect();
    for msgid in fuzzy {
        catalog.delete_message(None, &msgid, None);
    }
    add_stripped_summary_translations(&mut catalog);
    let mut book = english_book(workbook, Some(&catalog))?;
    book.book.for_each_mut(|item| {
        if let BookItem::Chapter(chapter) = item {
            chapter.content = keep_heading_ids(&chapter.content);
        }
    });
    if let Some(title) = book.config.book.title.clone() {
        book.config.book.title = Some(lookup(&catalog, &title).unwrap_or(&title).to_string());
    }
    book.config.book.language = Some(language.to_string());
    book.config.build.build_dir = PathBuf::from("build").join(language);
    translate_book(&catalog, &mut book.book).with_context(|| format!("translating the book with book/po/{language}.po"))?;
    book.book.for_each_mut(|item| {
        if let BookItem::Chapter(chapter) = item {
            chapter.content = translate_diagrams(&catalog, &restore_admonitions(&close_summaries(&chapter.content)));
        }
    });
    Ok(book)
}

/// The chapters of a loaded book by their source file, e.g. `03-einval.md`, with their text.
pub fn chapters(book: &MDBook) -> BTreeMap<PathBuf, (String, String)> {
    book.iter()
        .filter_map(|item| match item {
            BookItem::Chapter(chapter) => chapter.path.clone().map(|path| (path, (chapter.name.clone(), chapter.content.clone()))),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagrams_are_the_marked_blocks_and_are_replaced_by_their_translation() {
        let text = "Prose.\n\n```text,diagram\nopen ──▶ load\n  │ fails\n```\n\n```text\nnot a diagram\n```\n";
        let found = diagrams(text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, "open ──▶ load\n  │ fails\n");
        assert_eq!(&text[found[0].0.clone()], found[0].1);
        let mut catalog = Catalog::new(CatalogMetadata::new());
        catalog.append_or_update(
            Message::build_singular().with_msgid("open ──▶ load\n  │ fails".into()).with_msgstr("open ──▶ load\n  │ 失败".into()).done(),
        );
        assert_eq!(
            translate_diagrams(&catalog, text),
            "Prose.\n\n```text,diagram\nopen ──▶ load\n  │ 失败\n```\n\n```text\nnot a diagram\n```\n"
        );
    }

    #[test]
    fn code_blocks_get_the_skip_directive_at_their_indentation() {
        let text = "Para.\n\n```text\nopen FAILED\n```\n\n- item\n\n  ```sh\n  cargo xtask check 03\n  ```\n";
        let marked = skip_code_blocks(text);
        assert_eq!(
            marked,
            "Para.\n\n<!-- mdbook-xgettext: skip -->\n```text\nopen FAILED\n```\n\n- item\n\n  <!-- mdbook-xgettext: skip -->\n  ```sh\n  cargo xtask check 03\n  ```\n"
        );
        let messages: Vec<String> = mdbook_i18n_helpers::extract_messages(&marked).unwrap().into_iter().map(|(_, m)| m.message).collect();
        assert_eq!(messages, ["Para.", "item"]);
    }

    #[test]
    fn summaries_and_admonitions_survive_translation() {
        let text = "<details>\n<summary>The loader, <code>src/main.rs</code></summary>\n\n```rust\nfn main() {}\n```\n\n</details>\n\n> [!TIP]\n> **Layer 1.** Read\n> the log.\n";
        let opened = open_summaries(text);
        let messages: Vec<String> =
            mdbook_i18n_helpers::extract_messages(&skip_code_blocks(&opened)).unwrap().into_iter().map(|(_, m)| m.message).collect();
        assert_eq!(messages, ["The loader, <code>src/main.rs</code>", "\\[!TIP\\] **Layer 1.** Read the log."]);
        let mut catalog = Catalog::new(CatalogMetadata::new());
        for (en, zh) in [(&messages[0], "加载器 <code>src/main.rs</code>"), (&messages[1], "\\[!TIP\\] **第 1 层。** 读日志。")] {
            catalog.append_or_update(Message::build_singular().with_msgid(en.clone()).with_msgstr(zh.into()).done());
        }
        let mut book = mdbook_driver::book::Book::new();
        book.push_item(mdbook_driver::book::Chapter::new("c", skip_code_blocks(&opened), "c.md", Vec::new()));
        translate_book(&catalog, &mut book).unwrap();
        let BookItem::Chapter(translated) = &book.items[0] else { panic!() };
        let done = restore_admonitions(&close_summaries(&translated.content));
        assert!(done.contains("<summary>加载器 <code>src/main.rs</code></summary>"), "{done}");
        assert!(done.contains("</details>\n\n > [!TIP]\n > **第 1 层。** 读日志。"), "{done}");
        assert!(done.contains("fn main() {}"), "{done}");
    }

    #[test]
    fn headings_keep_their_english_ids() {
        let text = "# 03 · EINVAL at load\n\n## What `cargo xtask doctor` checks\n\ntext\n\n## Hints\n\n## Hints\n\n## Set {#custom}\n";
        assert_eq!(
            keep_heading_ids(text),
            "# 03 · EINVAL at load {#03--einval-at-load}\n\n## What `cargo xtask doctor` checks {#what-cargo-xtask-doctor-checks}\n\ntext\n\n## Hints {#hints}\n\n## Hints {#hints-1}\n\n## Set {#custom}\n"
        );
        let mut catalog = Catalog::new(CatalogMetadata::new());
        catalog.append_or_update(Message::build_singular().with_msgid("Hints".into()).with_msgstr("提示".into()).done());
        let mut book = mdbook_driver::book::Book::new();
        let chapter = mdbook_driver::book::Chapter::new("c", keep_heading_ids("## Hints\n"), "c.md", Vec::new());
        book.push_item(chapter);
        translate_book(&catalog, &mut book).unwrap();
        let BookItem::Chapter(translated) = &book.items[0] else { panic!() };
        assert_eq!(translated.content.trim(), "## 提示 { #hints }");
    }

    #[test]
    fn finds_title_layer_names_and_every_kind_of_hint() {
        let table: toml::Table = toml::from_str(
            r#"
title = "T"
[needs]
root = true
[[layer]]
name = "first"
symptom = "not for people"
hint = " one text \n"
more = "the API"
[[layer]]
name = "second"
hint = ["concept", "api"]
hints = { concept = "c", more = "m" }
[[layer.fix]]
file = "x"
find = "a"
"#,
        )
        .unwrap();
        let found: Vec<(String, String)> = learner_texts(&table);
        let found: Vec<(&str, &str)> = found.iter().map(|(k, t)| (k.as_str(), t.as_str())).collect();
        assert_eq!(
            found,
            [
                ("layer[1].hint", "one text"),
                ("layer[1].more", "the API"),
                ("layer[1].name", "first"),
                ("layer[2].hint[1]", "concept"),
                ("layer[2].hint[2]", "api"),
                ("layer[2].hints.concept", "c"),
                ("layer[2].hints.more", "m"),
                ("layer[2].name", "second"),
                ("title", "T"),
            ]
        );
    }

    fn catalog(messages: &[(&str, &str, bool)]) -> Catalog {
        let mut catalog = Catalog::new(CatalogMetadata::new());
        for (msgid, msgstr, fuzzy) in messages {
            let mut flags = polib::message::MessageFlags::new();
            if *fuzzy {
                flags.add_flag("fuzzy");
            }
            let message = Message::build_singular().with_msgid(msgid.to_string()).with_msgstr(msgstr.to_string()).with_flags(flags).done();
            catalog.append_or_update(message);
        }
        catalog
    }

    #[test]
    fn coverage_counts_translated_fuzzy_missing_and_stale() {
        let template = catalog(&[("a", "", false), ("b", "", false), ("c", "", false), ("d", "", false)]);
        let translation = catalog(&[("a", "甲", false), ("b", "乙", true), ("c", "", false), ("gone", "旧", false)]);
        let found = coverage(&template, &translation);
        assert_eq!(found.translated, ["a"]);
        assert_eq!(found.fuzzy, ["b"]);
        assert_eq!(found.untranslated, ["c", "d"]);
        assert_eq!(found.stale, ["gone"]);
        assert!(!found.is_complete());
        assert_eq!(lookup(&translation, "a"), Some("甲"));
        assert_eq!(lookup(&translation, "b"), None, "a fuzzy translation is not used");
    }
}
