//! Pictures of the book as a reader's browser draws it, in every edition: the
//! on-ramp, a lesson chapter, the triage page and a diagram, written to
//! `book/screenshots/` (ignored by git) to be looked at. A PNG must exist and
//! show something: a page that failed to render, or Chinese drawn as boxes
//! on a blank page, is one colour or nearly.

use std::io::Read;
use std::path::{Path, PathBuf};

use book_builder::{browser, i18n, Edition, Workbook};

/// The pages to picture, by name, each with the window's height: the on-ramp;
/// a lesson chapter's top (task card, transcript, "try it"), and the whole
/// chapter, with its ASCII diagrams and its folded hints; the triage page.
/// And the drawn diagram, found as the edition's chapter includes it, since a
/// translated edition shows a translated drawing.
const PAGES: &[(&str, &str, u32)] = &[
    ("anatomy", "anatomy.html", 1400),
    ("02-attach", "02-attach.html", 1400),
    ("02-attach-whole", "02-attach.html", 9000),
    ("triage", "triage.html", 1400),
];
const DIAGRAM_PAGE: &str = "03-einval.html";
const DIAGRAM: &str = "images/relocation";

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// The pixels of an 8-bit RGB or RGBA PNG, one `[r, g, b, a]` each, as Chromium writes them.
fn pixels(png: &[u8]) -> Vec<[u8; 4]> {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut at, mut width, mut height, mut channels, mut data) = (8, 0usize, 0usize, 0usize, Vec::new());
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let (kind, body) = (&png[at + 4..at + 8], &png[at + 8..at + 8 + len]);
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert_eq!(body[8], 8, "8 bits a channel");
                channels = match body[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(body[12], 0, "not interlaced");
            }
            b"IDAT" => data.extend_from_slice(body),
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&data[..]).read_to_end(&mut raw).unwrap();
    let stride = width * channels;
    let mut previous = vec![0u8; stride];
    let mut out = Vec::with_capacity(width * height);
    for row in raw.chunks(stride + 1).take(height) {
        let (filter, line) = (row[0], &row[1..]);
        let mut current = vec![0u8; stride];
        for i in 0..stride {
            let a = if i >= channels { current[i - channels] as i16 } else { 0 };
            let (b, c) = (previous[i] as i16, if i >= channels { previous[i - channels] as i16 } else { 0 });
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("PNG filter {other}"),
            };
            current[i] = line[i].wrapping_add(predicted as u8);
        }
        out.extend(current.chunks(channels).map(|p| [p[0], p[1], p[2], if channels == 4 { p[3] } else { 255 }]));
        previous = current;
    }
    out
}

/// The share of pixels that differ from the commonest colour, the page's background.
fn ink(pixels: &[[u8; 4]]) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for p in pixels {
        *counts.entry(*p).or_insert(0usize) += 1;
    }
    let background = counts.values().max().copied().unwrap_or(0);
    1.0 - background as f64 / pixels.len().max(1) as f64
}

#[test]
fn blank_and_drawn_pictures_are_told_apart() {
    // A 2×1 RGB PNG, one white pixel and one black, filter 0.
    let raw = [0u8, 255, 255, 255, 0, 0, 0];
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &raw).unwrap();
    let idat = z.finish().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, body) in [(&b"IHDR"[..], &[0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0][..]), (b"IDAT", &idat), (b"IEND", &[])] {
        png.extend((body.len() as u32).to_be_bytes());
        png.extend(kind);
        png.extend(body);
        png.extend([0; 4]);
    }
    let shown = pixels(&png);
    assert_eq!(shown, [[255, 255, 255, 255], [0, 0, 0, 255]]);
    assert_eq!(ink(&shown), 0.5);
    assert_eq!(ink(&[[9, 9, 9, 255]; 4]), 0.0);
}

#[test]
fn the_on_ramp_a_lesson_the_triage_page_and_a_diagram_are_drawn_in_every_edition() {
    let workbook = Workbook::here();
    let chromium = browser::chromium().unwrap_or_else(|e| panic!("{e:#}"));
    book_builder::build(&workbook).unwrap_or_else(|e| panic!("the book does not build: {e:#}"));
    let shots_dir = workbook.root.join("book/screenshots");
    let _ = std::fs::remove_dir_all(&shots_dir);
    std::fs::create_dir_all(&shots_dir).unwrap();
    let profiles = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("screenshots-{}", std::process::id()));

    let mut editions = vec![Edition::English];
    editions.extend(i18n::languages(&workbook).unwrap().into_iter().map(Edition::Translated));
    assert!(editions.len() > 1, "the book has a translation");
    let mut problems = Vec::new();
    for edition in &editions {
        let name = match edition {
            Edition::English => "en".to_string(),
            Edition::Translated(language) => language.clone(),
        };
        let out = edition.build_dir(&workbook);
        // The diagram as the edition's page includes it.
        let page = std::fs::read_to_string(out.join(DIAGRAM_PAGE)).unwrap();
        let diagram = page
            .split("src=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap_or_default())
            .find(|src| src.starts_with(DIAGRAM) && src.ends_with(".svg"))
            .unwrap_or_else(|| panic!("{name}: {DIAGRAM_PAGE} shows no {DIAGRAM}*.svg"))
            .to_string();
        let targets: Vec<(String, PathBuf, u32)> = PAGES
            .iter()
            .map(|(what, page, height)| (what.to_string(), out.join(page), *height))
            .chain([("diagram".to_string(), out.join(&diagram), 1400)])
            .collect();
        for (what, file, height) in targets {
            let shot = shots_dir.join(format!("{name}-{what}.png"));
            let profile = profiles.join(format!("{name}-{what}"));
            if let Err(e) = browser::screenshot(&chromium, &file_url(&file), &profile, &shot, (1280, height)) {
                problems.push(format!("{name} {what}: {e:#}"));
                continue;
            }
            let shown = ink(&pixels(&std::fs::read(&shot).unwrap()));
            println!("{} {:.1}% ink", shot.display(), shown * 100.0);
            if shown < 0.01 {
                problems.push(format!("{}: blank ({:.2}% of pixels differ from the background)", shot.display(), shown * 100.0));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&profiles);
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
