//! The offline book (`cargo xtask book --bundle`): unpacked anywhere, each
//! edition opens from disk in Chromium with its search working, and the
//! Chinese edition's glyphs are drawn, not boxes. A DOM dump cannot tell a
//! glyph from a box, so that is checked on pixels: two different Han strings
//! must render differently (with no CJK font, both are the same row of boxes).

use std::path::Path;

use book_builder::{browser, bundle, Workbook};

fn unpack(archive: &Path, into: &Path) {
    let file = std::fs::File::open(archive).unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(file)).unpack(into).unwrap();
}

fn file_url(path: &Path, query: &str) -> String {
    format!("file://{}{query}", path.canonicalize().unwrap().display())
}

#[test]
fn the_offline_book_opens_from_disk_with_search_in_every_edition() {
    let workbook = Workbook::here();
    let chromium = browser::chromium().unwrap_or_else(|e| panic!("{e:#}"));
    book_builder::build(&workbook).unwrap_or_else(|e| panic!("the book does not build: {e:#}"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("offline");
    let _ = std::fs::remove_dir_all(&tmp);
    let archive = tmp.join(bundle::FILE_NAME);
    bundle::write(&workbook.build_dir(), &archive).unwrap();
    unpack(&archive, &tmp.join("unpacked"));
    let top = tmp.join("unpacked").join(bundle::TOP);

    for (edition, heading) in [("", "search results for 'BTF'"), ("zh-CN", "search results for 'BTF'")] {
        let index = top.join(edition).join("index.html");
        let profile = tmp.join(format!("profile-{edition}"));
        let dom = browser::dump_url(&chromium, &file_url(&index, "?search=BTF"), &profile).unwrap();
        let results = dom.split("id=\"mdbook-searchresults\"").nth(1).unwrap_or_default();
        let found = results.matches("<li").count();
        assert!(found > 3, "{edition:?}: the offline book's search found {found} pages for BTF");
        assert!(browser::text(&dom).contains(heading), "{edition:?}: no search results shown");
        let shot = tmp.join(format!("offline-{}.png", if edition.is_empty() { "en" } else { edition }));
        browser::screenshot(&chromium, &file_url(&index, "?search=BTF"), &profile, &shot, (1280, 900)).unwrap();
        eprintln!("{} opened from disk: {found} results; {}", index.display(), shot.display());
    }
}

#[test]
fn chinese_glyphs_are_drawn_not_boxes() {
    let chromium = browser::chromium().unwrap_or_else(|e| panic!("{e:#}"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("glyphs");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let mut shots = Vec::new();
    for (name, text) in [("a", "简体中文版"), ("b", "课堂检查点")] {
        let page = tmp.join(format!("{name}.html"));
        std::fs::write(&page, format!("<!DOCTYPE html><meta charset=utf-8><body style=\"margin:0;font-size:40px\">{text}</body>")).unwrap();
        let shot = tmp.join(format!("{name}.png"));
        browser::screenshot(&chromium, &file_url(&page, ""), &tmp.join(format!("profile-{name}")), &shot, (300, 60)).unwrap();
        shots.push(std::fs::read(&shot).unwrap());
    }
    assert_ne!(shots[0], shots[1], "two different Han strings render the same: no CJK font draws them (Debian: fonts-noto-cjk)");
}
