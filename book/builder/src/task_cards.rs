//! A lesson's task card in its chapter. `{{#task README}}`, alone on its line,
//! becomes the card of that lesson README (path relative to the chapter): the
//! quote that opens with `> **Goal:**`, giving the goal, the check and what a
//! pass looks like. The builder puts it in before gettext reads the chapter,
//! so a translated edition shows the card in its own language, from `book/po`,
//! while the README stays the one source of the card's English.

use std::path::Path;
use std::sync::LazyLock;

use anyhow::{Context, Result};
use regex::Regex;

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\{\{#task[ \t]+(\S+)[ \t]*\}\}[ \t]*$").expect("a valid pattern"));

/// The card of a README: its quote that opens with the goal.
pub fn card(readme: &str) -> Option<String> {
    let start = readme.lines().position(|l| l.starts_with("> **Goal:**"))?;
    let lines: Vec<&str> = readme.lines().skip(start).take_while(|l| l.starts_with('>')).collect();
    Some(lines.join("\n"))
}

/// `text`, a chapter in `chapter_dir`, with each `{{#task}}` expanded.
pub fn expand(chapter_dir: &Path, text: &str) -> Result<String> {
    crate::directive::replace(text, &DIRECTIVE, |m| {
        let readme = std::fs::read_to_string(chapter_dir.join(&m[1])).with_context(|| format!("`{{{{#task}}}}` reads {}", &m[1]))?;
        card(&readme).with_context(|| format!("{} has no task card, a quote opening with `> **Goal:**`", &m[1]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_card_is_the_quote_that_opens_with_the_goal() {
        let readme =
            "# L\n\n**You will learn:** x.\n\n> **Goal:** g.\n> **Check:** `c`\n> **A pass looks like:** p.\n\n## The task\n\n> not this\n";
        assert_eq!(card(readme).as_deref(), Some("> **Goal:** g.\n> **Check:** `c`\n> **A pass looks like:** p."));
        assert_eq!(card("# L\n\nno card\n"), None);
    }

    #[test]
    fn every_lesson_readme_with_a_goal_gives_a_card() {
        let lessons = crate::Workbook::here().lessons().unwrap();
        for lesson in lessons {
            let readme = std::fs::read_to_string(lesson.dir.join("README.md")).unwrap();
            if readme.contains("**Goal:**") {
                let card = card(&readme).unwrap();
                assert!(card.contains("**Check:**") && card.contains("**A pass looks like:**"), "{}: {card}", lesson.dir_name);
            }
        }
    }
}
