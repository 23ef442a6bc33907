//! The READMEs show transcripts too, typed into fenced blocks. Each must equal
//! a snapshot that `cargo xtask dev verify` reproduces, so it cannot drift.

use book_builder::{Lesson, Workbook};

/// The fenced blocks of a Markdown file that hold a transcript: those whose
/// first line starts with `compile `.
fn transcript_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) => current = Some(Vec::new()),
            (Some(lines), true) => {
                if lines.first().is_some_and(|l| l.starts_with("compile ")) {
                    blocks.push(lines.join("\n"));
                }
                current = None;
            }
            (Some(lines), false) => lines.push(line),
            (None, false) => {}
        }
    }
    blocks
}

fn snapshots_of(lessons: &[Lesson]) -> Vec<String> {
    lessons.iter().flat_map(|l| l.snapshots().expect("reading snapshots")).map(|s| s.transcript).collect()
}

#[test]
fn finds_transcript_blocks_only() {
    let markdown = "# T\n\n```sh\ncargo xtask check 01\n```\n\n```\ncompile  ok\nopen     ok\n```\n\n```text\ncompile  FAILED\n```\n";
    assert_eq!(transcript_blocks(markdown), ["compile  ok\nopen     ok", "compile  FAILED"]);
}

#[test]
fn readme_transcripts_are_snapshots() {
    let workbook = Workbook::here();
    let lessons = workbook.lessons().unwrap();
    let mut readmes = vec![(workbook.root.join("README.md"), snapshots_of(&lessons))];
    for lesson in &lessons {
        readmes.push((lesson.dir.join("README.md"), snapshots_of(std::slice::from_ref(lesson))));
    }

    let mut checked = 0;
    let mut drifted = Vec::new();
    for (readme, snapshots) in readmes {
        let Ok(text) = std::fs::read_to_string(&readme) else { continue };
        for block in transcript_blocks(&text) {
            checked += 1;
            if !snapshots.contains(&block) {
                let shown = readme.strip_prefix(&workbook.root).unwrap_or(&readme).display().to_string();
                drifted.push(format!("{shown}: this transcript is in none of the snapshots it may quote:\n{block}"));
            }
        }
    }
    assert!(checked > 0, "the READMEs show no transcript at all; is the test looking in the right place?");
    assert!(drifted.is_empty(), "{}", drifted.join("\n\n"));
}
