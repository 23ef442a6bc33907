//! How the checker talks: short, coloured on a terminal, plain when piped or
//! under NO_COLOR (anstream strips the styles then), and questions that are
//! never asked of a script.

use std::fmt::Display;
use std::io::{BufRead, IsTerminal, Write};

use anstyle::{AnsiColor, Style};

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

fn transcript_line(line: &str) -> String {
    let label = line.get(..9).unwrap_or(line);
    let rest = line.get(9..).unwrap_or("");
    if ["stopped", "timeout", "panic", "output"].iter().any(|word| label.starts_with(word)) {
        return paint(BAD, line);
    }
    let style = if rest.starts_with("FAILED") {
        BAD
    } else if rest.starts_with("ok") || label.starts_with("observed") {
        GOOD
    } else {
        return line.to_string();
    };
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
