//! The one-page handout: book/handout/handout.md, with each lesson's layers
//! filled in from its lesson.toml (so it never lists a layer the lesson lost),
//! as HTML and, through headless Chromium, as a PDF.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::workbook::Workbook;
use crate::{browser, hints};

/// Where the layers go in the handout's source.
const LAYERS: &str = "<!-- layers -->";

pub fn source(workbook: &Workbook) -> PathBuf {
    workbook.book_dir().join("handout/handout.md")
}

/// The handout's Markdown with the lessons' layers in place.
pub fn markdown(workbook: &Workbook) -> Result<String> {
    let text = std::fs::read_to_string(source(workbook)).with_context(|| format!("reading {}", source(workbook).display()))?;
    anyhow::ensure!(text.contains(LAYERS), "{} has no {LAYERS} line", source(workbook).display());
    let mut layers = String::new();
    for lesson in workbook.lessons()? {
        let names: Vec<String> =
            hints::layers(&lesson)?.iter().enumerate().map(|(k, layer)| format!("{}. {}", k + 1, layer.name)).collect();
        layers.push_str(&format!("- **{}** {}: {}\n", &lesson.dir_name[..2], lesson.title, names.join("; ")));
    }
    Ok(text.replace(LAYERS, layers.trim_end()))
}

const STYLE: &str = r#"<style>
@page { size: A4; margin: 12mm 14mm; }
body { font-family: "Noto Sans", "Noto Sans CJK SC", sans-serif; font-size: 9.5pt; line-height: 1.3; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 .3em; }
h2 { font-size: 11pt; margin: .8em 0 .2em; border-bottom: 1px solid #ccc; }
pre { background: #f4f4f4; padding: .4em .6em; font-size: 8.5pt; margin: .3em 0; white-space: pre-wrap; }
p, ul { margin: .3em 0; }
li { margin: .1em 0; }
</style>"#;

/// The handout as one HTML page, styled for one printed A4 page.
pub fn html(workbook: &Workbook) -> Result<String> {
    let markdown = markdown(workbook)?;
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, pulldown_cmark::Parser::new(&markdown));
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Workshop handout</title>\n{STYLE}</head>\n<body>\n{body}</body></html>\n"
    ))
}

/// Writes handout.md, handout.html and handout.pdf into `out`; the PDF's path.
pub fn write(workbook: &Workbook, out: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("handout.md"), markdown(workbook)?)?;
    let page = out.join("handout.html");
    std::fs::write(&page, html(workbook)?)?;
    let pdf = out.join("handout.pdf");
    let profile = out.join(".chromium");
    let _ = std::fs::remove_dir_all(&profile);
    let page = page.canonicalize()?;
    browser::pdf(&browser::chromium()?, &format!("file://{}", page.display()), &profile, &pdf)?;
    let _ = std::fs::remove_dir_all(&profile);
    Ok(pdf)
}

/// Pages in a PDF, counted by its page objects (Chromium writes them uncompressed).
pub fn pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_object_is_counted_and_the_page_tree_is_not() {
        assert_eq!(pages(b"<< /Type /Pages /Count 1 >> << /Type /Page /Parent 1 0 R >>"), 1);
    }
}
