//! Chinese words in the book's search. mdBook's index splits text at white
//! space and drops any word longer than 80 bytes. Chinese has no spaces, so a
//! Chinese sentence was one such word, and the zh-CN book's search found no
//! Chinese at all: not 重定位, not 验证器.
//!
//! After mdBook writes an edition, [`add_han_pairs`] adds to its index, as
//! words, every pair of adjacent Chinese characters in each section's title,
//! text and breadcrumbs (a lone character as itself). A script in the page's
//! head (`theme/head.hbs`) splits what the reader types the same way, so
//! 重定位 is searched as 重定 and 定位, and the sections that hold both rank
//! first. No dictionary is needed, and a word is found wherever it is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

/// How mdBook wraps the index in `searchindex.js`.
const PREFIX: &str = "window.search = Object.assign(window.search, JSON.parse('";
const SUFFIX: &str = "'));";

/// Whether `c` is a Chinese character (CJK unified ideographs, extension A,
/// compatibility ideographs); the script in `theme/head.hbs` uses the same ranges.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// The words `text` gives the index for its Chinese: each pair of adjacent
/// Chinese characters, and a character standing alone as itself; with how
/// often each occurs.
pub fn han_pairs(text: &str) -> BTreeMap<String, usize> {
    let mut words = BTreeMap::new();
    let mut run: Vec<char> = Vec::new();
    let mut flush = |run: &mut Vec<char>| {
        match run.len() {
            0 => {}
            1 => *words.entry(run[0].to_string()).or_default() += 1,
            _ => {
                for pair in run.windows(2) {
                    *words.entry(pair.iter().collect()).or_default() += 1;
                }
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if is_han(c) {
            run.push(c);
        } else {
            flush(&mut run);
        }
    }
    flush(&mut run);
    words
}

/// The search index files of the edition built into `out`.
fn index_files(out: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("searchindex") && name.ends_with(".js") {
            found.push(path);
        }
    }
    Ok(found)
}

/// Adds the Chinese words of every section to the search index of the edition
/// built into `out`; returns how many distinct words it added. An edition
/// without Chinese, or without search, is left as it is.
pub fn add_han_pairs(out: &Path) -> Result<usize> {
    let files = index_files(out)?;
    let mut added = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let Some(quoted) = text.trim_end().strip_prefix(PREFIX).and_then(|t| t.strip_suffix(SUFFIX)) else {
            bail!("{} is not the index mdBook writes ({PREFIX}…{SUFFIX})", file.display());
        };
        let mut search: Value =
            serde_json::from_str(&unquote(quoted)).with_context(|| format!("reading the index in {}", file.display()))?;
        let words = add_to_index(&mut search["index"]).with_context(|| format!("in {}", file.display()))?;
        if words == 0 {
            continue;
        }
        added += words;
        let json = serde_json::to_string(&search)?;
        std::fs::write(&file, format!("{PREFIX}{}{SUFFIX}", json.replace('\\', "\\\\").replace('\'', "\\'")))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(added)
}

/// Adds the Chinese words of each document of an elasticlunr `index` to its
/// fields' inverted indexes, as elasticlunr adds any word: a term frequency of
/// √count, and the field's length grown by the words added.
fn add_to_index(index: &mut Value) -> Result<usize> {
    let fields: Vec<String> =
        index["fields"].as_array().context("the index has no fields")?.iter().filter_map(|f| f.as_str().map(str::to_string)).collect();
    let docs = index["documentStore"]["docs"].as_object().context("the index stores no documents")?.clone();
    let mut distinct = std::collections::BTreeSet::new();
    for (doc, stored) in &docs {
        for field in &fields {
            let words = han_pairs(stored[field].as_str().unwrap_or_default());
            if words.is_empty() {
                continue;
            }
            let root = &mut index["index"][field]["root"];
            anyhow::ensure!(root.is_object(), "the index has no inverted index for {field}");
            for (word, count) in &words {
                add_token(root, doc, word, (*count as f64).sqrt());
                distinct.insert(word.clone());
            }
            let length = &mut index["documentStore"]["docInfo"][doc][field];
            *length = json!(length.as_u64().unwrap_or(0) + words.values().sum::<usize>() as u64);
        }
    }
    Ok(distinct.len())
}

/// elasticlunr's `InvertedIndex.addToken`: one node per character; the last
/// holds the document's term frequency and counts the documents (`df`).
fn add_token(root: &mut Value, doc: &str, word: &str, tf: f64) {
    let mut node = root;
    for c in word.chars() {
        let children = node.as_object_mut().expect("an index node is an object");
        node = children.entry(c.to_string()).or_insert_with(|| json!({ "docs": {}, "df": 0 }));
    }
    let node = node.as_object_mut().expect("an index node is an object");
    let docs = node.entry("docs").or_insert_with(|| Value::Object(Map::new())).as_object_mut().expect("docs is an object");
    let new = !docs.contains_key(doc);
    docs.insert(doc.to_string(), json!({ "tf": tf }));
    if new {
        let df = node.get("df").and_then(Value::as_i64).unwrap_or(0);
        node.insert("df".into(), json!(df + 1));
    }
}

/// The JavaScript single-quoted string mdBook writes, as its text: it escapes
/// only backslashes and single quotes.
fn unquote(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_gives_its_pairs_and_lone_characters() {
        let words = han_pairs("重定位失败，libbpf 的 `x` 验证器");
        let keys: Vec<&str> = words.keys().map(String::as_str).collect();
        assert_eq!(keys, ["位失", "失败", "定位", "的", "证器", "重定", "验证"]);
        assert!(han_pairs("English only, `code` too").is_empty());
    }

    #[test]
    fn a_word_is_added_as_elasticlunr_adds_it() {
        let mut index = json!({
            "fields": ["title", "body"],
            "documentStore": {
                "docs": {"0": {"id": "0", "title": "重定位", "body": "libbpf 重定位"}, "1": {"id": "1", "title": "x", "body": "定位"}},
                "docInfo": {"0": {"title": 0, "body": 1}, "1": {"title": 1, "body": 0}}
            },
            "index": {"title": {"root": {"docs": {}, "df": 0}}, "body": {"root": {"docs": {}, "df": 0}}}
        });
        assert_eq!(add_to_index(&mut index).unwrap(), 2);
        let body = &index["index"]["body"]["root"];
        assert_eq!(body["定"]["位"]["df"], 2);
        assert_eq!(body["定"]["位"]["docs"]["1"]["tf"], 1.0);
        assert_eq!(body["重"]["定"]["docs"]["0"]["tf"], 1.0);
        assert_eq!(index["documentStore"]["docInfo"]["0"]["body"], 3);
        assert!(index["index"]["title"]["root"]["定"]["位"]["docs"]["1"].is_null());
    }

    #[test]
    fn the_quoted_index_reads_back() {
        let json = r#"{"a":"it's a \"b\\c\""}"#;
        let quoted = json.replace('\\', "\\\\").replace('\'', "\\'");
        assert_eq!(unquote(&quoted), json);
    }
}
