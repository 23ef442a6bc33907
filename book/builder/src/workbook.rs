//! The parts of the workbook the book is built from: its lessons and their snapshots.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

#[derive(Debug, Clone)]
pub struct Workbook {
    pub root: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Lesson {
    /// The folder name, e.g. `01-open-fails`; the book's chapter is `book/src/<dir_name>.md`.
    pub dir_name: String,
    /// `lessons/NN-slug/`: the learner's files.
    pub dir: PathBuf,
    /// `course/NN-slug/`: `lesson.toml`, `solution/`, `snapshots/` and `cases.toml`.
    pub course: PathBuf,
    /// From `lesson.toml`.
    pub title: String,
}

/// A snapshot's transcript, without insta's header.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The file name without `.snap`, e.g. `layer-1` or `fixed`.
    pub name: String,
    pub transcript: String,
}

impl Workbook {
    /// The workbook this builder belongs to.
    pub fn here() -> Workbook {
        let builder = Path::new(env!("CARGO_MANIFEST_DIR"));
        Workbook { root: builder.ancestors().nth(2).expect("the builder lives in book/builder").to_path_buf() }
    }

    pub fn book_dir(&self) -> PathBuf {
        self.root.join("book")
    }

    pub fn src_dir(&self) -> PathBuf {
        self.book_dir().join("src")
    }

    /// Where the HTML goes; `build-dir` in book.toml says the same.
    pub fn build_dir(&self) -> PathBuf {
        self.book_dir().join("build")
    }

    /// Every `lessons/NN-slug/` with a `course/NN-slug/lesson.toml`, in order.
    pub fn lessons(&self) -> Result<Vec<Lesson>> {
        #[derive(Deserialize)]
        struct Meta {
            title: String,
        }
        let mut lessons = Vec::new();
        let folder = self.root.join("lessons");
        for entry in std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))? {
            let dir = entry?.path();
            let dir_name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let numbered = dir_name.split_once('-').is_some_and(|(n, _)| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()));
            let course = self.root.join("course").join(&dir_name);
            let toml = course.join("lesson.toml");
            if !numbered || !toml.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&toml).with_context(|| format!("reading {}", toml.display()))?;
            let meta: Meta = toml::from_str(&text).with_context(|| format!("in {}", toml.display()))?;
            lessons.push(Lesson { dir_name, dir, course, title: meta.title });
        }
        lessons.sort_by(|a, b| a.dir_name.cmp(&b.dir_name));
        Ok(lessons)
    }
}

impl Lesson {
    /// `01` from `01-open-fails`.
    pub fn number(&self) -> &str {
        &self.dir_name[..2]
    }

    pub fn chapter_file(&self) -> String {
        format!("{}.md", self.dir_name)
    }

    /// `course/NN-slug/lesson.toml`, as messages name it.
    pub fn meta_source(&self) -> String {
        format!("course/{}/lesson.toml", self.dir_name)
    }

    pub fn snapshots(&self) -> Result<Vec<Snapshot>> {
        snapshots_in(&self.course.join("snapshots"))
    }
}

/// The kernels the workbook is measured on: this machine's (which wrote every
/// snapshot without `@`) and the matrix's Debian kernels, from the last
/// matrix run's record, `book/compatibility.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernels {
    /// The host's version, such as `6.18`.
    pub host: String,
    /// Such as `5.10`, `6.1`, `6.12`; not the arm64 columns.
    pub matrix: Vec<String>,
}

impl Workbook {
    pub fn kernels(&self) -> Result<Kernels> {
        let file = self.book_dir().join("compatibility.json");
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let record: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("in {}", file.display()))?;
        let kernels = record["kernels"].as_object().with_context(|| format!("{} names no kernels", file.display()))?;
        let host = kernels
            .get("host")
            .and_then(|h| h.as_str())
            .and_then(|h| h.strip_prefix("Linux "))
            .and_then(|h| h.split([',', ' ']).next())
            .with_context(|| format!("{} does not say which Linux the host ran", file.display()))?;
        // The arm64 columns come from their own run, which runs no probes: their
        // snapshots (`<name>@6.1-arm64`) speak for themselves alone.
        let mut matrix: Vec<String> = kernels.keys().filter(|k| *k != "host" && !k.ends_with("-arm64")).cloned().collect();
        matrix.sort_by_key(|k| k.split('.').map(|n| n.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>());
        Ok(Kernels { host: host.to_string(), matrix })
    }

    /// The transcripts of `book/probes`, which reproduce what the book quotes outside the lessons.
    /// The logs of `cargo xtask diagnose`'s pasted-log corpus: real libbpf,
    /// verifier and clang output, which the error index may quote.
    pub fn pasted_logs(&self) -> Result<Vec<String>> {
        let folder = self.root.join("xtask/tests/data/logs");
        let mut logs = Vec::new();
        for entry in std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "log") {
                logs.push(std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?);
            }
        }
        Ok(logs)
    }

    pub fn probe_snapshots(&self) -> Result<Vec<Snapshot>> {
        snapshots_in(&self.book_dir().join("probes/snapshots"))
    }
}

/// Every `*.snap` in `folder`, by name; none when there is no such folder.
fn snapshots_in(folder: &Path) -> Result<Vec<Snapshot>> {
    {
        let mut snapshots = Vec::new();
        let Ok(entries) = std::fs::read_dir(folder) else { return Ok(snapshots) };
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".snap")) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            snapshots.push(Snapshot { name: name.to_string(), transcript: transcript(&text).to_string() });
        }
        snapshots.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(snapshots)
    }
}

/// An insta snapshot's content: what follows the `---` header block.
pub fn transcript(snap: &str) -> &str {
    let body = snap.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")).map_or(snap, |(_header, body)| body);
    body.trim_end_matches('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_transcript_drops_the_insta_header() {
        let snap = "---\nsource: xtask/src/snapshot.rs\n---\ncompile  ok\nopen     ok\n";
        assert_eq!(transcript(snap), "compile  ok\nopen     ok");
        assert_eq!(transcript("no header\n"), "no header");
    }

    #[test]
    fn finds_the_lessons_with_their_titles_and_snapshots() {
        let lessons = Workbook::here().lessons().unwrap();
        let first = lessons.first().expect("the workbook has lessons");
        assert_eq!(first.number(), "01");
        assert!(!first.title.is_empty());
        let snapshots = first.snapshots().unwrap();
        assert!(snapshots.iter().any(|s| s.name == "layer-1"), "every lesson documents its first failure");
        assert!(snapshots.iter().any(|s| s.name == "fixed"));
        assert!(snapshots.iter().all(|s| s.transcript.starts_with("compile ")), "{snapshots:#?}");
    }
}
