//! How the checker talks: short, coloured on a terminal, plain when piped or
//! under NO_COLOR (anstream strips the styles then), and questions that are
//! never asked of a script.

use crate::workbook::phrases::Phrases;
use std::fmt::Display;
use std::io::{BufRead, IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use transcript::line::{Line, LABEL_WIDTH};

pub const GOOD: Style = AnsiColor::Green.on_default();
pub const BAD: Style = AnsiColor::Red.on_default();
pub const WARN: Style = AnsiColor::Yellow.on_default();
pub const TITLE: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const PASS: Style = AnsiColor::Green.on_default().bold();
pub const FAIL: Style = AnsiColor::Red.on_default().bold();

/// `text` in `style`; print it with `anstream::println!` so the style goes where colour cannot.
pub fn paint(style: Style, text: impl Display) -> String {
    format!("{style}{text}{style:#}")
}

/// A transcript with its verdicts coloured: what worked green, what failed red.
pub fn transcript(text: &str) -> String {
    text.lines().map(transcript_line).collect::<Vec<_>>().join("\n")
}

fn transcript_line(text: &str) -> String {
    let line = Line::parse(text);
    let style = match line {
        Line::Stopped(_) | Line::Timeout { .. } | Line::Panic(_) | Line::OutputCut { .. } => return paint(BAD, text),
        Line::Failed { .. } => BAD,
        Line::Ok { .. } | Line::Observed(_) => GOOD,
        _ => return text.to_string(),
    };
    // The verdict (`ok`, `FAILED`, what was observed) in colour, up to the gap before any detail.
    let (label, rest) = text.split_at(LABEL_WIDTH);
    match rest.split_once("  ") {
        Some((verdict, detail)) => format!("{label}{}  {detail}", paint(style, verdict)),
        None => format!("{label}{}", paint(style, rest)),
    }
}

/// Why a command that would overwrite files did nothing.
#[derive(Debug)]
pub struct NotConfirmed(pub String);

impl std::fmt::Display for NotConfirmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotConfirmed {}

/// Asks `question` on the terminal; `yes` answers it in advance. Without a
/// terminal to ask on, the answer is an error that names `flag_hint`, never a guess.
pub fn confirm(question: &str, yes: bool, flag_hint: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(NotConfirmed(format!("not done: there is no terminal to ask \"{question}\"; {flag_hint}")).into());
    }
    if answer(question, &mut stdin.lock(), &mut std::io::stderr())? {
        Ok(())
    } else {
        Err(NotConfirmed("not done: you answered no".to_string()).into())
    }
}

/// Prints `question [y/N] ` to `out` and reads one line from `input`: only yes is yes.
pub fn answer(question: &str, input: &mut impl BufRead, out: &mut impl Write) -> std::io::Result<bool> {
    write!(out, "{question} [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    Ok(matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_is_yes() {
        for (typed, expected) in [("y\n", true), ("YES\n", true), ("\n", false), ("n\n", false), ("", false), ("yeah\n", false)] {
            let mut asked = Vec::new();
            assert_eq!(answer("reset?", &mut typed.as_bytes(), &mut asked).unwrap(), expected, "{typed:?}");
            assert_eq!(String::from_utf8(asked).unwrap(), "reset? [y/N] ");
        }
    }

    #[test]
    fn transcript_colours_keep_the_text() {
        let text = "compile  ok      .BTF present\nopen     FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at open";
        let painted = transcript(text);
        assert!(painted.contains("\x1b["), "no colour at all");
        let mut plain = Vec::new();
        let mut stream = anstream::StripStream::new(&mut plain);
        stream.write_all(painted.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(plain).unwrap(), text);
    }
}

/// How a failing transcript differs from a working program's, in the
/// learner's terms: the first place they part, as "yours" and "a working
/// program", never the whole working transcript. Text in `conceal` (what
/// would give the fix away) shows as `…`.
pub fn learner_diff(working: &str, yours: &str, conceal: &[String], say: Phrases) -> String {
    use similar::{ChangeTag, TextDiff};
    const SHOWN: usize = 6;
    let hide = |line: &str| conceal.iter().fold(line.to_string(), |line, secret| line.replace(secret.as_str(), "…"));
    let diff = TextDiff::from_lines(working, yours);
    let (mut theirs, mut mine) = (Vec::new(), Vec::new());
    for group in diff.grouped_ops(0).into_iter().take(1) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let line = change.value().trim_end().to_string();
                match change.tag() {
                    ChangeTag::Delete => theirs.push(hide(&line)),
                    ChangeTag::Insert => mine.push(line),
                    ChangeTag::Equal => {}
                }
            }
        }
    }
    if theirs.is_empty() && mine.is_empty() {
        return String::new();
    }
    let block = |lines: &[String]| {
        let mut out: Vec<String> = lines.iter().take(SHOWN).map(|l| format!("    {l}")).collect();
        if lines.len() > SHOWN {
            out.push(format!("    {}", say.more_lines(lines.len() - SHOWN)));
        }
        if out.is_empty() {
            out.push(format!("    {}", say.nothing_here()));
        }
        out.join("\n")
    };
    let (parts, mine_label, theirs_label) = say.diff_headings();
    format!("{parts}\n  {mine_label}\n{}\n  {theirs_label}\n{}", block(&mine), block(&theirs))
}

#[cfg(test)]
mod learner_diff_tests {
    use super::{learner_diff, Phrases};

    #[test]
    fn shows_the_first_difference_and_conceals_the_fix() {
        let working = "open     ok\nload     ok\nobserved read from task_struct.__state\n";
        let yours = "open     ok\nload     FAILED  EINVAL\nstopped  at load\n";
        let diff = learner_diff(working, yours, &["__state".to_string()], Phrases::english());
        assert!(diff.contains("yours:\n    load     FAILED  EINVAL"), "{diff}");
        assert!(diff.contains("a working program:\n    load     ok"), "{diff}");
        assert!(!diff.contains("__state"), "{diff}");
        assert_eq!(learner_diff("same\n", "same\n", &[], Phrases::english()), "");
    }
}
