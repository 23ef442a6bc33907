//! A lesson's texts (hints, layer names) as the terminal shows them. They are
//! written hard-wrapped in `lesson.toml` and translated as one paragraph in
//! `book/po`, so the wrapping is done here, for the width of the terminal:
//! between English words at spaces, and in Chinese after a clause's
//! punctuation, never between two characters of one word (`字符串`, `返回值`)
//! unless a clause is wider than the whole line. textwrap measures the width
//! (two columns for a Chinese character) and fills the lines.

use std::io::IsTerminal;

use textwrap::core::Word;
use textwrap::{Options, WordSeparator};

/// The width when the output is no terminal, and the widest a text is ever set.
pub const DEFAULT_WIDTH: usize = 80;
/// The narrowest: below it, wrapping would do more harm than the terminal's own.
const NARROWEST: usize = 40;

/// How wide to set text for standard output: the terminal's width, at most
/// [`DEFAULT_WIDTH`]; that width when standard output is no terminal.
pub fn width() -> usize {
    if !std::io::stdout().is_terminal() {
        return DEFAULT_WIDTH;
    }
    // SAFETY: TIOCGWINSZ writes a `winsize` into the struct it is given, nothing else.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    let columns = if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(DEFAULT_WIDTH)
    };
    columns.clamp(NARROWEST, DEFAULT_WIDTH)
}

/// `text` with each paragraph on one line: the line breaks inside a paragraph
/// become a space between English words, and nothing beside a wide character
/// (Chinese, or its punctuation). Blank lines, and lines that start with a
/// space (code, a compiler's message), stay as they are. A space is kept
/// between a Chinese character and a word in Latin letters, as translators write it.
pub fn unwrap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        out.push_str(line);
        let Some(next) = lines.peek() else { break };
        let joins = !line.trim().is_empty() && !next.trim().is_empty() && !next.starts_with([' ', '\t']) && !line.starts_with([' ', '\t']);
        let (before, after) = (line.chars().last(), next.chars().next());
        if !joins {
            out.push('\n');
        } else if !((before.is_some_and(is_wide) && after.is_some_and(is_wide))
            || before.is_some_and(is_wide_punctuation)
            || after.is_some_and(is_wide_punctuation))
        {
            out.push(' ');
        }
    }
    out
}

/// `text` unwrapped ([`unwrap`]), then each paragraph wrapped to `width`
/// display columns (a Chinese character takes two).
pub fn wrap(text: &str, width: usize) -> String {
    let options = Options::new(width).word_separator(WordSeparator::Custom(break_points)).break_words(true);
    unwrap(text)
        .lines()
        .map(|line| if line.starts_with([' ', '\t']) || line.is_empty() { line.to_string() } else { textwrap::fill(line, &options) })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A character the terminal shows two columns wide: Chinese, and its punctuation.
fn is_wide(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{115f}' | '\u{2e80}'..='\u{a4cf}' | '\u{ac00}'..='\u{d7a3}' | '\u{f900}'..='\u{faff}' | '\u{fe30}'..='\u{fe4f}' | '\u{ff00}'..='\u{ff60}' | '\u{ffe0}'..='\u{ffe6}')
}

/// Chinese punctuation (`，`, `（`): no space beside it, ever.
fn is_wide_punctuation(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}')
}

/// Punctuation a line may end with but never start with: it closes a clause.
fn closes(c: char) -> bool {
    matches!(c, '，' | '。' | '、' | '；' | '：' | '？' | '！' | '）' | '」' | '』' | '》' | '”' | '’' | '…' | '—')
}

/// Punctuation a line may start with but never end with: it opens something.
fn opens(c: char) -> bool {
    matches!(c, '（' | '「' | '『' | '《' | '“' | '‘')
}

/// The pieces a line may break between: after a run of spaces, after Chinese
/// punctuation that closes a clause, and before punctuation that opens one.
fn break_points(line: &str) -> Box<dyn Iterator<Item = Word<'_>> + '_> {
    let mut words = Vec::new();
    let mut start = 0;
    let mut chars = line.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let Some(&(next_at, next)) = chars.peek() else {
            break;
        };
        let after_spaces = c == ' ' && next != ' ';
        let after_clause = closes(c) && !closes(next) && next != ' ';
        let before_opening = opens(next) && !opens(c) && c != ' ';
        if (after_spaces || after_clause || before_opening) && next_at > start {
            words.push(Word::from(&line[start..next_at]));
            start = next_at;
        }
    }
    if start < line.len() {
        words.push(Word::from(&line[start..]));
    }
    Box::new(words.into_iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn han(c: char) -> bool {
        ('\u{4e00}'..='\u{9fff}').contains(&c)
    }

    #[test]
    fn english_paragraphs_join_with_a_space_and_wrap_at_spaces() {
        let text = "open failed with ENOENT, yet the object file exists, and libbpf logged\nnothing. Where does it go?";
        assert_eq!(unwrap(text), "open failed with ENOENT, yet the object file exists, and libbpf logged nothing. Where does it go?");
        let wrapped = wrap(text, 40);
        assert!(wrapped.lines().all(|l| l.len() <= 40), "{wrapped}");
        assert_eq!(wrapped.replace('\n', " "), unwrap(text));
    }

    #[test]
    fn chinese_lines_join_without_a_space_and_break_after_a_clause() {
        let text = "libbpf 需要目标文件的 BTF 才能理解其中的 map，而 compile\n一行说这个目标文件没有 BTF。用 `bpf_probe_read_user_str` 读取字符串，检查它的返回值。";
        assert!(unwrap(text).contains("compile 一行"), "{}", unwrap(text));
        let text = "检查读取 helper 的返\n回值，以及字符串的长度。";
        assert_eq!(unwrap(text), "检查读取 helper 的返回值，以及字符串的长度。");
        for width in [40, 50, 60, 80] {
            let wrapped = wrap("把日志送到哪里去了？在骨架生命周期的哪个阶段，`.rodata` 还可以写？读取用户态字符串要用 `bpf_probe_read_user_str`，并检查它的返回值：负数就是失败。", width);
            for (line, next) in wrapped.lines().zip(wrapped.lines().skip(1)) {
                let (end, start) = (line.chars().last().unwrap(), next.chars().next().unwrap());
                assert!(!(han(end) && han(start)), "a break inside a Chinese word at width {width}:\n{wrapped}");
                assert!(!closes(start), "a line starts with closing punctuation at width {width}:\n{wrapped}");
            }
            assert!(wrapped.lines().all(|l| textwrap::core::display_width(l) <= width), "{wrapped}");
            assert!(wrapped.contains("返回值") && wrapped.contains("生命周期的"), "{wrapped}");
        }
    }

    #[test]
    fn indented_lines_and_blank_lines_stay() {
        let text = "your change does not compile; here is the first error:\n  error: expected `;`\nThe full output is below.\n\nmore: see the log.";
        assert_eq!(wrap(text, 80), text);
    }

    /// The hints `cargo xtask hint` prints in Chinese: the translation holds no
    /// line break of its own (a break the translator typed lands mid-line in a
    /// terminal of any other width: 字符⏎串, 返回⏎值), and the code wraps it at
    /// clause ends, within the width, never between two Chinese characters.
    #[test]
    fn chinese_hints_are_one_paragraph_and_wrap_between_clauses() {
        use crate::workbook::lessons;
        use crate::workbook::translation::{Language, Translator};
        let han = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
        let letters = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
        let chinese = Translator::new(&root, &Language::Translated("zh-CN".into())).unwrap();
        let mut problems = Vec::new();
        for lesson in lessons::all(&root).unwrap() {
            let mut texts = Vec::new();
            for layer in &lesson.meta.layers {
                texts.push(layer.hint.clone());
                texts.extend(layer.more.clone());
            }
            texts.extend(lesson.meta.slips.iter().map(|slip| slip.hint.clone()));
            for text in texts {
                let translated = chinese.text(&text);
                if translated.contains('\n') {
                    problems.push(format!("{}: the translation of {:?} has a line break of its own", lesson.dir_name, text.trim()));
                }
                for width in [60, DEFAULT_WIDTH] {
                    let wrapped = wrap(&translated, width);
                    let lines: Vec<&str> = wrapped.lines().collect();
                    for pair in lines.windows(2) {
                        let (end, start) = (pair[0].chars().last(), pair[1].chars().next());
                        if end.is_some_and(han) && start.is_some_and(han) {
                            problems
                                .push(format!("{}: at width {width}, a break between two Chinese characters:\n{wrapped}", lesson.dir_name));
                        }
                    }
                    if let Some(long) = lines.iter().find(|l| textwrap::core::display_width(l) > width) {
                        problems.push(format!("{}: at width {width}, a line wider than that: {long}", lesson.dir_name));
                    }
                    if letters(&wrapped) != letters(&translated) {
                        problems.push(format!("{}: wrapping changed the text of {:?}", lesson.dir_name, text.trim()));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
