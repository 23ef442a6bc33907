//! The Chinese edition's search finds Chinese words. Headless Chromium opens
//! the built zh-CN book with `?search=重定位` (and 验证器), as a reader's link
//! to a search would, and the results mdBook's own script lists must lead to
//! the chapters that use the word. mdBook alone lists none: its index has no
//! Chinese words (see `book_builder::search`).

use std::path::Path;
use std::sync::LazyLock;

use book_builder::{browser, search, Edition, Workbook};
use regex::Regex;

static RESULTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?s)<ul id="mdbook-searchresults"[^>]*>(.*?)</ul>"#).expect("a valid pattern"));
static RESULT_LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r##"<a href="([^"#?]*)[^"]*""##).expect("a valid pattern"));
static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?s)<div id="mdbook-searchresults-header"[^>]*>(.*?)</div>"#).expect("a valid pattern"));

/// `text` as a URL's query value: UTF-8, percent-encoded.
fn query(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The pages the search for `word` lists, in order, and the header above them.
fn search(chromium: &Path, out: &Path, profiles: &Path, word: &str) -> (Vec<String>, String) {
    let page = out.join("index.html").canonicalize().unwrap();
    let url = format!("file://{}?search={}", page.display(), query(word));
    let profile = profiles.join(query(word));
    let dom = browser::dump_url(chromium, &url, &profile).unwrap_or_else(|e| panic!("{e:#}"));
    let _ = std::fs::remove_dir_all(&profile);
    let results = RESULTS.captures(&dom).map(|c| c[1].to_string()).unwrap_or_default();
    let pages = RESULT_LINK.captures_iter(&results).map(|c| c[1].to_string()).collect();
    let header = HEADER.captures(&dom).map(|c| browser::text(&c[1])).unwrap_or_default();
    (pages, header)
}

#[test]
fn the_chinese_book_finds_chinese_words() {
    let workbook = Workbook::here();
    let chromium = browser::chromium().unwrap_or_else(|e| panic!("{e:#}"));
    let edition = Edition::Translated("zh-CN".into());
    let out = book_builder::build_edition(&workbook, &edition).unwrap_or_else(|e| panic!("the zh-CN book does not build: {e:#}"));
    let profiles = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("search-{}", std::process::id()));

    let mut problems = Vec::new();
    // Each word, and a chapter that is about it; the English words of the same book are still found.
    for (word, chapter) in [("重定位", "03-einval.html"), ("验证器", "05-bootstrap.html"), ("tracefs", "setup.html")] {
        let (pages, header) = search(&chromium, &out, &profiles, word);
        println!("{word}: {header}: {pages:?}");
        if pages.is_empty() {
            problems.push(format!("searching {word} lists nothing ({header:?})"));
        } else if !pages.iter().any(|p| p == chapter) {
            problems.push(format!("searching {word} does not list {chapter}: {pages:?}"));
        }
        // Every page listed holds the word.
        for page in &pages {
            let html = std::fs::read_to_string(out.join(page)).unwrap_or_default();
            if !html.contains(word) {
                problems.push(format!("searching {word} lists {page}, which does not hold it"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&profiles);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_index_holds_the_pairs_the_search_box_asks_for() {
    // What the reader's 重定位 becomes in the search box (theme/head.hbs): 重定, 定位, both words of the index.
    let pairs: Vec<String> = search::han_pairs("重定位").into_keys().collect();
    assert_eq!(pairs, ["定位", "重定"]);
    // The page's head holds the script, so that it patches elasticlunr before mdBook's searcher can search.
    let head = std::fs::read_to_string(Workbook::here().book_dir().join("theme/head.hbs")).unwrap();
    assert!(head.contains(r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"), "the script's ranges are search.rs's is_han");
}
