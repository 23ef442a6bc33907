//! The handout: one A4 page, printed by headless Chromium, that holds every
//! command it promises and every lesson's layers, rendered to a PNG a person
//! can look at (target/tmp/handout/handout-1.png). Needs Chromium and
//! poppler's pdftoppm and pdftotext (`cargo xtask dev test` installs them).

use std::path::Path;
use std::process::Command;

use book_builder::{handout, hints, Workbook};

fn tool(name: &str) -> &str {
    let found = Command::new(name).arg("-v").output().is_ok();
    assert!(found, "{name} is not installed: Debian's poppler-utils has it (`cargo xtask dev test` installs it)");
    name
}

#[test]
fn the_handout_is_one_page_with_every_lesson_and_renders() {
    let workbook = Workbook::here();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("handout");
    let _ = std::fs::remove_dir_all(&out);
    let pdf = handout::write(&workbook, &out).unwrap();
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    assert_eq!(handout::pages(&bytes), 1, "the handout is one page");

    let text = Command::new(tool("pdftotext")).args(["-layout"]).arg(&pdf).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for command in
        ["cargo xtask check 01", "cargo xtask hint 01", "cargo xtask preflight", "cargo xtask room join", "cargo xtask room export"]
    {
        assert!(flat.contains(command), "the printed handout lacks `{command}`:\n{text}");
    }
    for lesson in workbook.lessons().unwrap() {
        assert!(flat.contains(&lesson.title), "no {} in the printed handout:\n{text}", lesson.title);
        for layer in hints::layers(&lesson).unwrap() {
            assert!(flat.contains(&layer.name), "{}'s layer {:?} is not printed:\n{text}", lesson.dir_name, layer.name);
        }
    }

    let png = out.join("handout");
    let rendered = Command::new(tool("pdftoppm")).args(["-png", "-r", "80"]).arg(&pdf).arg(&png).status().unwrap();
    assert!(rendered.success());
    let png = out.join("handout-1.png");
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 30_000, "{} is {size} bytes: an empty page?", png.display());
    eprintln!("the handout, rendered: {}", png.display());
}
