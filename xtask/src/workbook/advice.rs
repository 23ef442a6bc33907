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
    /// The note in Simplified Chinese.
    chinese: &'static str,
}

const HABITS: &[Habit] = &[
    Habit {
        kind: "c",
        pattern: "bpf_probe_read_str(",
        note: "`bpf_probe_read_str` is the legacy helper: it guesses user or kernel memory, and on some \
               architectures guesses wrong. Say which: `bpf_probe_read_user_str` or `bpf_probe_read_kernel_str`.",
        chinese: "`bpf_probe_read_str` 是旧式辅助函数：它猜测读取的是用户内存还是内核内存，在某些架构上会猜错。请明确指出：`bpf_probe_read_user_str` 或 `bpf_probe_read_kernel_str`。",
    },
    Habit {
        kind: "c",
        pattern: "bpf_probe_read(",
        note: "`bpf_probe_read` is the legacy helper: it guesses user or kernel memory, and on some architectures \
               guesses wrong. Say which: `bpf_probe_read_user` or `bpf_probe_read_kernel` (or `BPF_CORE_READ`).",
        chinese: "`bpf_probe_read` 是旧式辅助函数：它猜测读取的是用户内存还是内核内存，在某些架构上会猜错。请明确指出：`bpf_probe_read_user` 或 `bpf_probe_read_kernel`（或 `BPF_CORE_READ`）。",
    },
    Habit {
        kind: "c",
        pattern: "bpf_perf_event_output(",
        note: "a perf buffer works, but the ring buffer (5.8+) keeps events in order across CPUs and wastes less memory.",
        chinese: "perf buffer 可以用，但 ring buffer（5.8+）能在多个 CPU 之间保持事件的顺序，而且浪费的内存更少。",
    },
    Habit {
        kind: "rs",
        pattern: "mem::forget(",
        note: "`mem::forget` keeps a `Link` alive by leaking it: the program stays attached until the process exits, \
               and nothing can detach it earlier. Keeping the `Link` in a variable says the same thing plainly.",
        chinese: "`mem::forget` 通过泄漏 `Link` 让它一直存活：程序会保持附加直到进程退出，在此之前没有办法分离它。把 `Link` 保存在一个变量里，能更直白地表达同样的意思。",
    },
    Habit {
        kind: "rs",
        pattern: "Box::leak(",
        note: "`Box::leak` keeps a `Link` alive by leaking it: nothing can detach the program before the process \
               exits. Keeping the `Link` in a variable says the same thing plainly.",
        chinese: "`Box::leak` 通过泄漏 `Link` 让它一直存活：在进程退出之前没有办法分离程序。把 `Link` 保存在一个变量里，能更直白地表达同样的意思。",
    },
];

/// One note for each habit the lesson's sources show, in the order above,
/// in English or (`chinese`) in Simplified Chinese.
pub fn notes(lesson: &Lesson, chinese: bool) -> Vec<&'static str> {
    let sources = sources(&lesson.dir.join("src"));
    HABITS
        .iter()
        .filter(|habit| sources.iter().any(|(kind, text)| kind == habit.kind && code_lines(text).any(|line| line.contains(habit.pattern))))
        .map(|habit| if chinese { habit.chinese } else { habit.note })
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
