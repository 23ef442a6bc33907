//! Advice on a pass: a program that works can still use what the book warns
//! against. A pass stays a pass; each such use adds one short note. The
//! notes read the learner's sources, since the behaviour is already proven.

use std::path::Path;

use crate::workbook::lessons::Lesson;

/// A use the book warns against, the text that shows it, and why.
struct Habit {
    /// The file kind it applies to: `c` (the BPF program) or `rs` (the loader).
    kind: &'static str,
    pattern: &'static str,
    note: &'static str,
}

const HABITS: &[Habit] = &[
    Habit {
        kind: "c",
        pattern: "bpf_probe_read_str(",
        note: "`bpf_probe_read_str` is the legacy helper: it guesses user or kernel memory, and on some \
               architectures guesses wrong. Say which: `bpf_probe_read_user_str` or `bpf_probe_read_kernel_str`.",
    },
    Habit {
        kind: "c",
        pattern: "bpf_probe_read(",
        note: "`bpf_probe_read` is the legacy helper: it guesses user or kernel memory, and on some architectures \
               guesses wrong. Say which: `bpf_probe_read_user` or `bpf_probe_read_kernel` (or `BPF_CORE_READ`).",
    },
    Habit {
        kind: "c",
        pattern: "bpf_perf_event_output(",
        note: "a perf buffer works, but the ring buffer (5.8+) keeps events in order across CPUs and wastes less memory.",
    },
    Habit {
        kind: "rs",
        pattern: "mem::forget(",
        note: "`mem::forget` keeps a `Link` alive by leaking it: the program stays attached until the process exits, \
               and nothing can detach it earlier. Keeping the `Link` in a variable says the same thing plainly.",
    },
    Habit {
        kind: "rs",
        pattern: "Box::leak(",
        note: "`Box::leak` keeps a `Link` alive by leaking it: nothing can detach the program before the process \
               exits. Keeping the `Link` in a variable says the same thing plainly.",
    },
];

/// One note for each habit the lesson's sources show, in the order above.
pub fn notes(lesson: &Lesson) -> Vec<&'static str> {
    let sources = sources(&lesson.dir.join("src"));
    HABITS
        .iter()
        .filter(|habit| sources.iter().any(|(kind, text)| kind == habit.kind && code_lines(text).any(|line| line.contains(habit.pattern))))
        .map(|habit| habit.note)
        .collect()
}

/// Lines that are code, not comments (good enough for C and Rust sources).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| {
        let t = l.trim_start();
        !(t.starts_with("//") || t.starts_with('*') || t.starts_with("/*"))
    })
}

fn sources(dir: &Path) -> Vec<(String, String)> {
    let Ok(files) = crate::workbook::scratch::files_under(dir) else { return Vec::new() };
    files
        .into_iter()
        .filter_map(|path| {
            let kind = path.extension()?.to_str()?.to_string();
            let text = std::fs::read_to_string(&path).ok()?;
            Some((kind, text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_helpers_are_told_apart_and_comments_are_not_code() {
        let code = "// bpf_probe_read(&x, 4, p) was here\nbpf_probe_read_str(buf, sizeof(buf), name);\n";
        let found: Vec<&str> =
            HABITS.iter().filter(|h| h.kind == "c" && code_lines(code).any(|l| l.contains(h.pattern))).map(|h| h.pattern).collect();
        assert_eq!(found, ["bpf_probe_read_str("]);
    }
}
