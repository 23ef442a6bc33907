//! After the build: every relative link and resource in the HTML must point to
//! a file that exists, and every `#fragment` to an id on that page.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

static REFERENCE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\s(?:href|src)="([^"]*)""#).expect("a valid pattern"));
static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\sid="([^"]+)""#).expect("a valid pattern"));

/// Pages that are not checked: 404.html resolves its links against the site's root.
const UNCHECKED: &[&str] = &["404.html"];

/// The HTML pages of a built book, by path relative to its folder.
pub struct Site {
    pages: HashMap<PathBuf, String>,
    files: HashSet<PathBuf>,
}

impl Site {
    pub fn read(dir: &Path) -> std::io::Result<Site> {
        let mut site = Site { pages: HashMap::new(), files: HashSet::new() };
        site.read_dir(dir, dir)?;
        Ok(site)
    }

    fn read_dir(&mut self, top: &Path, dir: &Path) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                self.read_dir(top, &path)?;
                continue;
            }
            let relative = path.strip_prefix(top).expect("inside the book").to_path_buf();
            if relative.extension().is_some_and(|e| e == "html") {
                self.pages.insert(relative.clone(), std::fs::read_to_string(&path)?);
            }
            self.files.insert(relative);
        }
        Ok(())
    }

    /// Every broken link, as `page: link (why)`, sorted.
    pub fn broken_links(&self) -> Vec<String> {
        let ids: HashMap<&Path, HashSet<&str>> = self
            .pages
            .iter()
            .map(|(page, html)| (page.as_path(), ID.captures_iter(html).map(|c| c.get(1).expect("group").as_str()).collect()))
            .collect();
        let mut broken = Vec::new();
        for (page, html) in &self.pages {
            if UNCHECKED.iter().any(|u| page == Path::new(u)) {
                continue;
            }
            for capture in REFERENCE.captures_iter(html) {
                let link = capture.get(1).expect("group").as_str();
                if let Err(why) = self.follow(page, link, &ids) {
                    broken.push(format!("{}: {link} ({why})", page.display()));
                }
            }
        }
        broken.sort();
        broken.dedup();
        broken
    }

    fn follow(&self, page: &Path, link: &str, ids: &HashMap<&Path, HashSet<&str>>) -> Result<(), String> {
        let external = link.contains("://") || link.starts_with("mailto:") || link.starts_with("data:") || link.starts_with("javascript:");
        if external || link.is_empty() {
            return Ok(());
        }
        let link = link.split('?').next().unwrap_or_default();
        let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
        let target = if path.is_empty() {
            page.to_path_buf()
        } else if path.starts_with('/') {
            return Err("an absolute path, which breaks when the book is not at the site's root".into());
        } else {
            let joined = normalize(&page.parent().unwrap_or(Path::new("")).join(unescape(path))).ok_or("leads out of the book")?;
            if joined.as_os_str().is_empty() || self.pages.contains_key(&joined.join("index.html")) {
                joined.join("index.html")
            } else {
                joined
            }
        };
        if !self.files.contains(&target) {
            return Err(format!("no file {}", target.display()));
        }
        if fragment.is_empty() || target.extension().is_none_or(|e| e != "html") {
            return Ok(());
        }
        let fragment = unescape(fragment);
        match ids.get(target.as_path()) {
            Some(known) if known.contains(fragment.as_str()) => Ok(()),
            _ => Err(format!("no id \"{fragment}\" in {}", target.display())),
        }
    }
}

/// `a/./b/../c` → `a/c`; `None` when it climbs above the top.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

/// Percent-escapes and the HTML entities an attribute may hold.
fn unescape(text: &str) -> String {
    let text = text.replace("&amp;", "&");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(pages: &[(&str, &str)], files: &[&str]) -> Site {
        Site {
            pages: pages.iter().map(|(p, h)| (PathBuf::from(p), h.to_string())).collect(),
            files: pages.iter().map(|(p, _)| *p).chain(files.iter().copied()).map(PathBuf::from).collect(),
        }
    }

    #[test]
    fn good_links_pass() {
        let site = site(
            &[
                (
                    "index.html",
                    r##"<a href="setup.html">s</a> <a href="setup.html#tracefs">t</a> <img src="images/pipeline.svg"> <a href="#top">^</a> <h1 id="top">"##,
                ),
                ("setup.html", r#"<h2 id="tracefs">T</h2> <a href="index.html">back</a> <a href="https://example.org/x">out</a>"#),
            ],
            &["images/pipeline.svg"],
        );
        assert_eq!(site.broken_links(), Vec::<String>::new());
    }

    #[test]
    fn missing_pages_files_and_fragments_are_broken() {
        let site = site(
            &[(
                "index.html",
                r#"<a href="setpu.html">s</a> <a href="index.html#nowhere">n</a> <img src="../outside.png"> <a href="/root.html">r</a>"#,
            )],
            &[],
        );
        let broken = site.broken_links();
        assert_eq!(broken.len(), 4, "{broken:#?}");
        assert!(broken.iter().any(|b| b.contains("setpu.html (no file setpu.html)")));
        assert!(broken.iter().any(|b| b.contains("no id \"nowhere\"")));
        assert!(broken.iter().any(|b| b.contains("leads out of the book")));
        assert!(broken.iter().any(|b| b.contains("absolute path")));
    }

    #[test]
    fn unescapes_percent_and_entities() {
        assert_eq!(unescape("a%20b&amp;c"), "a b&c");
        assert_eq!(unescape("100%"), "100%");
    }
}
