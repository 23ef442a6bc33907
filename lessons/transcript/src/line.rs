//! The transcript's lines: one type, [`Line`], whose `Display` writes every
//! line the loaders, the probes and the checker print, and whose parser reads
//! them back. A line is a label padded to [`LABEL_WIDTH`] columns, then its
//! text; a stage's line says `ok`, `FAILED` or `not proven` after its label.
//! Hand-written rather than a parser crate: the format is one fixed column.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// The columns a label takes, its padding included.
pub const LABEL_WIDTH: usize = 9;

/// The label of [`Line::Note`]: the lines shown but never compared.
pub const NOTE: &str = "note";

/// How a note gives a program's run count, as the kernel counts it:
/// `note     ran: count_opens 0 times during the workload` (or `since load`).
pub fn runs_note(program: &str, runs: u64, during_workload: bool) -> String {
    let span = if during_workload { "during the workload" } else { "since load" };
    format!("ran: {program} {runs} times {span}, as the kernel counts")
}

/// What the harness writes under a failed stage when libbpf's callback got nothing.
pub const NOTHING_LOGGED: &str = "(libbpf logged nothing)";

/// A step that can fail on its own and stop the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// The build: clang for the BPF object, rustc for the loader.
    Compile,
    /// The object relocated against another kernel's BTF.
    Portable,
    Open,
    Load,
    Attach,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::Compile, Stage::Portable, Stage::Open, Stage::Load, Stage::Attach];

    /// The word the transcript uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Compile => "compile",
            Stage::Portable => "portable",
            Stage::Open => "open",
            Stage::Load => "load",
            Stage::Attach => "attach",
        }
    }

    /// The stage a word names.
    pub fn named(word: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so that `{stage:<9}` pads.
        f.pad(self.as_str())
    }
}

/// libbpf's print levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warn,
    Info,
    Debug,
}

impl Level {
    pub const fn as_str(self) -> &'static str {
        match self {
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    pub fn named(word: &str) -> Option<Level> {
        [Level::Warn, Level::Info, Level::Debug].into_iter().find(|l| l.as_str() == word)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The columns a `log` line's level takes, its padding included.
const LEVEL_WIDTH: usize = 6;

/// The end of the line that says the transcript was cut.
const CUT_REASON: &str = " KiB: the program printed far more";

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `open     ok`, or with what the stage found: `compile  ok      .BTF present, .BTF.ext present`.
    Ok { stage: Stage, detail: Option<String> },
    /// `load     FAILED  EINVAL (Invalid argument)`; a bare `compile  FAILED` when nothing says why.
    Failed { stage: Stage, detail: Option<String> },
    /// `portable not proven: …`: the machine lacks what the stage needs, so it says nothing either way.
    Unproven { stage: Stage, reason: String },
    /// `kprobe   skipped: this kernel has no kprobes`: a step this kernel cannot run.
    Skipped { label: String, reason: String },
    /// `         libbpf: …`: more about the line above, under no label.
    Detail(String),
    /// `stopped  at load`: the run ended at this stage's failure.
    Stopped(Stage),
    /// `observed …`: what the program saw, the proof that it did its job.
    Observed(String),
    /// `note     …`: shown but never compared; it may differ between correct programs.
    Note(String),
    /// `error    …`: the loader failed outside any stage.
    Error(String),
    /// `timeout  stopped after 10 s`: the checker ended the run.
    Timeout { seconds: u64 },
    /// `output   cut at 64 KiB: the program printed far more`.
    OutputCut { kib: u64 },
    /// `panic    …`: the loader panicked, with the panic's message.
    Panic(String),
    /// `log      debug libbpf: …`: a libbpf message a probe quotes, at its level.
    Log { level: Level, text: String },
    /// Any other label: a lesson's own (`child`, `wrong`), or `diagnose`'s (`object`, `core`).
    Labelled { label: String, text: String },
    /// Text in no column at all: a blank line, or a label too long for the column.
    Unlabelled(String),
}

impl Line {
    /// The line `label` and `text` make: a typed one where the label and text
    /// say so (`Line::new("note", t)` is [`Line::Note`]), else [`Line::Labelled`].
    pub fn new(label: &str, text: &str) -> Line {
        Line::typed(label, text).unwrap_or_else(|| Line::Labelled { label: label.to_string(), text: text.to_string() })
    }

    /// Reads a line [`Display`](fmt::Display) wrote; any other text is [`Line::Unlabelled`].
    pub fn parse(line: &str) -> Line {
        match split(line) {
            Some((label, text)) => Line::new(label, text),
            None => Line::Unlabelled(line.to_string()),
        }
    }

    /// A stage that passed, with nothing more to say.
    pub fn ok(stage: Stage) -> Line {
        Line::Ok { stage, detail: None }
    }

    /// A stage that failed, and why.
    pub fn failed(stage: Stage, detail: impl Into<String>) -> Line {
        Line::Failed { stage, detail: Some(detail.into()) }
    }

    /// A line under no label.
    pub fn detail(text: impl Into<String>) -> Line {
        Line::Detail(text.into())
    }

    fn typed(label: &str, text: &str) -> Option<Line> {
        let owned = || text.to_string();
        let line = match label {
            "" => Line::Detail(owned()),
            "stopped" => Line::Stopped(Stage::named(text.strip_prefix("at ")?)?),
            "observed" => Line::Observed(owned()),
            NOTE => Line::Note(owned()),
            "error" => Line::Error(owned()),
            "panic" => Line::Panic(owned()),
            "timeout" => Line::Timeout { seconds: number(text.strip_prefix("stopped after ")?.strip_suffix(" s")?)? },
            "output" => Line::OutputCut { kib: number(text.strip_prefix("cut at ")?.strip_suffix(CUT_REASON)?)? },
            "log" => {
                let (level, text) = split_at_column(text, LEVEL_WIDTH)?;
                Line::Log { level: Level::named(level)?, text: text.to_string() }
            }
            _ => match Stage::named(label) {
                Some(stage) => stage_line(stage, text).or_else(|| skipped(label, text))?,
                None => skipped(label, text)?,
            },
        };
        Some(line)
    }

    /// The label, as written before the padding; empty for a detail line.
    pub fn label(&self) -> &str {
        match self {
            Line::Ok { stage, .. } | Line::Failed { stage, .. } | Line::Unproven { stage, .. } => stage.as_str(),
            Line::Skipped { label, .. } | Line::Labelled { label, .. } => label,
            Line::Detail(_) | Line::Unlabelled(_) => "",
            Line::Stopped(_) => "stopped",
            Line::Observed(_) => "observed",
            Line::Note(_) => NOTE,
            Line::Error(_) => "error",
            Line::Timeout { .. } => "timeout",
            Line::OutputCut { .. } => "output",
            Line::Panic(_) => "panic",
            Line::Log { .. } => "log",
        }
    }

    /// What follows the label's column.
    pub fn text(&self) -> String {
        let line = self.to_string();
        match self {
            Line::Unlabelled(_) => line,
            _ => line[LABEL_WIDTH.max(self.label().len())..].to_string(),
        }
    }

    /// The stage that passed or failed on this line.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Line::Ok { stage, .. } | Line::Failed { stage, .. } | Line::Unproven { stage, .. } | Line::Stopped(stage) => Some(*stage),
            _ => None,
        }
    }

    /// Whether the line is compared with a working program's: notes are not.
    pub fn is_compared(&self) -> bool {
        !matches!(self, Line::Note(_))
    }

    /// What an `observed` line counts, `seen` of `expected`, as the harness
    /// writes it (`observed 5 of N file opens`; `N` is a count chosen for the run).
    pub fn count(&self) -> Option<(&str, &str)> {
        let Line::Observed(text) = self else { return None };
        let mut words = text.split_whitespace();
        let (seen, of, expected) = (words.next()?, words.next()?, words.next()?);
        let number = |w: &str| w == "N" || w.parse::<u64>().is_ok();
        (of == "of" && number(seen)).then_some((seen, expected))
    }
}

/// The label and the text of a line in the format, or `None`.
fn split(line: &str) -> Option<(&str, &str)> {
    split_at_column(line, LABEL_WIDTH)
}

/// A word padded to `width` columns with at least one space, and the rest.
fn split_at_column(text: &str, width: usize) -> Option<(&str, &str)> {
    let head = text.get(..width)?;
    let word = head.trim_end_matches(' ');
    (head.ends_with(' ') && !word.contains(char::is_whitespace)).then(|| (word, &text[width..]))
}

/// A number written as [`Display`](fmt::Display) writes it, so that it reads back the same.
fn number(digits: &str) -> Option<u64> {
    digits.parse().ok().filter(|n: &u64| n.to_string() == digits)
}

fn stage_line(stage: Stage, text: &str) -> Option<Line> {
    let detail = |rest: &str, gap: &str| match rest {
        "" => Some(None),
        rest => rest.strip_prefix(gap).map(|d| Some(d.to_string())),
    };
    if let Some(rest) = text.strip_prefix("ok") {
        return Some(Line::Ok { stage, detail: detail(rest, "      ")? });
    }
    if let Some(rest) = text.strip_prefix("FAILED") {
        return Some(Line::Failed { stage, detail: detail(rest, "  ")? });
    }
    Some(Line::Unproven { stage, reason: text.strip_prefix("not proven: ")?.to_string() })
}

fn skipped(label: &str, text: &str) -> Option<Line> {
    Some(Line::Skipped { label: label.to_string(), reason: text.strip_prefix("skipped: ")?.to_string() })
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = self.label();
        match self {
            Line::Unlabelled(text) => return f.write_str(text),
            _ => write!(f, "{label:<LABEL_WIDTH$}")?,
        }
        match self {
            Line::Ok { detail: None, .. } => f.write_str("ok"),
            Line::Ok { detail: Some(detail), .. } => write!(f, "ok      {detail}"),
            Line::Failed { detail: None, .. } => f.write_str("FAILED"),
            Line::Failed { detail: Some(detail), .. } => write!(f, "FAILED  {detail}"),
            Line::Unproven { reason, .. } => write!(f, "not proven: {reason}"),
            Line::Skipped { reason, .. } => write!(f, "skipped: {reason}"),
            Line::Stopped(stage) => write!(f, "at {stage}"),
            Line::Timeout { seconds } => write!(f, "stopped after {seconds} s"),
            Line::OutputCut { kib } => write!(f, "cut at {kib}{CUT_REASON}"),
            Line::Log { level, text } => write!(f, "{level:<LEVEL_WIDTH$}{text}"),
            Line::Detail(text)
            | Line::Observed(text)
            | Line::Note(text)
            | Line::Error(text)
            | Line::Panic(text)
            | Line::Labelled { text, .. }
            | Line::Unlabelled(text) => f.write_str(text),
        }
    }
}

impl FromStr for Line {
    type Err = Infallible;

    fn from_str(line: &str) -> Result<Line, Infallible> {
        Ok(Line::parse(line))
    }
}

/// The lines of a transcript's text.
pub fn lines(text: &str) -> impl Iterator<Item = Line> + '_ {
    text.lines().map(Line::parse)
}

/// A whole transcript, read once, with the questions the checker asks of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub lines: Vec<Line>,
}

impl Transcript {
    pub fn parse(text: &str) -> Transcript {
        Transcript { lines: lines(text).collect() }
    }

    /// The stage named by the `stopped  at <stage>` line.
    pub fn stopped_at(&self) -> Option<Stage> {
        self.lines.iter().find_map(|l| match l {
            Line::Stopped(stage) => Some(*stage),
            _ => None,
        })
    }

    /// What each `observed` line says, in order.
    pub fn observed(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| match l {
            Line::Observed(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// Each program's run count at the latest observation that gave one
    /// ([`runs_note`]): empty when the kernel did not count runs.
    pub fn program_runs(&self) -> Vec<(&str, u64)> {
        let mut runs: Vec<(&str, u64)> = Vec::new();
        for line in &self.lines {
            let Line::Note(text) = line else { continue };
            let Some(rest) = text.strip_prefix("ran: ") else { continue };
            let mut words = rest.split(' ');
            let (Some(name), Some(Ok(count))) = (words.next(), words.next().map(str::parse::<u64>)) else { continue };
            match runs.iter_mut().find(|(n, _)| *n == name) {
                Some(known) => known.1 = count,
                None => runs.push((name, count)),
            }
        }
        runs
    }

    /// The program ran to the end and observed something: what a working program's transcript shows.
    pub fn works(&self) -> bool {
        self.stopped_at().is_none() && self.observed().next().is_some()
    }

    /// The first failed stage, with what its line says after `FAILED` (empty when nothing).
    pub fn first_failure(&self) -> Option<(Stage, &str)> {
        self.lines.iter().find_map(|l| match l {
            Line::Failed { stage, detail } => Some((*stage, detail.as_deref().unwrap_or(""))),
            _ => None,
        })
    }

    /// What the first `FAILED` line of `stage` says after `FAILED`.
    pub fn failure_of(&self, stage: Stage) -> Option<&str> {
        self.lines.iter().find_map(|l| match l {
            Line::Failed { stage: s, detail } if *s == stage => Some(detail.as_deref().unwrap_or("")),
            _ => None,
        })
    }

    /// Whether the build failed: then the compile line comes first, and says `FAILED`.
    pub fn compile_failed(&self) -> bool {
        matches!(self.lines.first(), Some(Line::Failed { stage: Stage::Compile, .. }))
    }

    /// The detail lines under the first line, trimmed: the first error of a failed build.
    pub fn first_details(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().skip(1).map_while(|l| match l {
            Line::Detail(text) => Some(text.trim()),
            _ => None,
        })
    }

    /// Whether the loader panicked.
    pub fn panicked(&self) -> bool {
        self.lines.iter().any(|l| matches!(l, Line::Panic(_)))
    }

    /// Whether `stage` passed at least once.
    pub fn passed(&self, stage: Stage) -> bool {
        self.lines.iter().any(|l| matches!(l, Line::Ok { stage: s, .. } if *s == stage))
    }

    /// Whether the checker ended the run.
    pub fn timed_out(&self) -> bool {
        self.lines.iter().any(|l| matches!(l, Line::Timeout { .. }))
    }

    /// Whether a failed stage's libbpf log reached the harness empty.
    pub fn nothing_logged(&self) -> bool {
        self.lines.iter().any(|l| matches!(l, Line::Detail(text) if text == NOTHING_LOGGED))
    }

    /// Why a stage was not proven here, as its line says it.
    pub fn unproven(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| match l {
            Line::Unproven { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
    }

    /// The part that snapshots hold: every line but the notes, and no stage
    /// `ok` that repeats the last stage outcome. A loader that attaches two
    /// programs in one call (`skel.attach()`) works as well as one that
    /// attaches each in turn; a second open, load and attach still counts.
    pub fn compared(&self) -> Transcript {
        let mut kept = Vec::new();
        let mut last_outcome: Option<&Line> = None;
        for line in self.lines.iter().filter(|l| l.is_compared()) {
            if matches!(line, Line::Ok { detail: None, .. } | Line::Failed { .. }) {
                if matches!(line, Line::Ok { .. }) && last_outcome == Some(line) {
                    continue;
                }
                last_outcome = Some(line);
            }
            kept.push(line.clone());
        }
        Transcript { lines: kept }
    }
}

impl FromIterator<Line> for Transcript {
    fn from_iter<I: IntoIterator<Item = Line>>(lines: I) -> Transcript {
        Transcript { lines: lines.into_iter().collect() }
    }
}

impl fmt::Display for Transcript {
    /// The lines joined by newlines, with none after the last, as the snapshots keep them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<Line> {
        vec![
            Line::ok(Stage::Open),
            Line::Ok { stage: Stage::Compile, detail: Some(".BTF present, .BTF.ext present".into()) },
            Line::failed(Stage::Load, "EINVAL (Invalid argument)"),
            Line::Failed { stage: Stage::Compile, detail: None },
            Line::Unproven { stage: Stage::Portable, reason: "Linux 5.10's BTF is not here".into() },
            Line::Skipped { label: "kprobe".into(), reason: "this kernel has no kprobes".into() },
            Line::detail(NOTHING_LOGGED),
            Line::Stopped(Stage::Attach),
            Line::Observed("N of N openat calls by this process".into()),
            Line::Note("attached: nothing, as the kernel reports it".into()),
            Line::Error("ENOENT (No such file or directory)".into()),
            Line::Timeout { seconds: 10 },
            Line::OutputCut { kib: 64 },
            Line::Panic("called `Option::unwrap()` on a `None` value".into()),
            Line::Log { level: Level::Debug, text: "libbpf: prog 'p': relo #0: no matching targets found".into() },
            Line::Log { level: Level::Warn, text: "R1 invalid mem access 'scalar'".into() },
            Line::Labelled { label: "session".into(), text: "HH:MM:SS EXEC  child".into() },
            Line::Unlabelled(String::new()),
            Line::Unlabelled("1 error, 0 warnings".into()),
        ]
    }

    #[test]
    fn every_variant_reads_back_as_written() {
        for line in every_variant() {
            let written = line.to_string();
            assert_eq!(Line::parse(&written), line, "{written:?}");
            assert_eq!(written.parse::<Line>(), Ok(line.clone()));
            if !matches!(line, Line::Unlabelled(_)) {
                assert_eq!(Line::new(line.label(), &line.text()), line, "{written:?}");
            }
        }
    }

    #[test]
    fn lines_copied_from_the_snapshots_read_as_their_kind() {
        let cases = [
            (
                "compile  ok      .BTF missing, .BTF.ext missing",
                Line::Ok { stage: Stage::Compile, detail: Some(".BTF missing, .BTF.ext missing".into()) },
            ),
            ("compile  ok", Line::ok(Stage::Compile)),
            ("compile  FAILED  rustc: 1 error", Line::failed(Stage::Compile, "rustc: 1 error")),
            ("         --> lessons/05-bootstrap/src/main.rs:87:5", Line::detail("--> lessons/05-bootstrap/src/main.rs:87:5")),
            ("stopped  at compile", Line::Stopped(Stage::Compile)),
            (
                "portable ok      relocates against Linux 5.10's BTF (task_struct before 5.14)",
                Line::Ok { stage: Stage::Portable, detail: Some("relocates against Linux 5.10's BTF (task_struct before 5.14)".into()) },
            ),
            (
                "portable FAILED  does not relocate against Linux 5.10's BTF (task_struct before 5.14)",
                Line::failed(Stage::Portable, "does not relocate against Linux 5.10's BTF (task_struct before 5.14)"),
            ),
            ("open     FAILED  ESRCH (No such process)", Line::failed(Stage::Open, "ESRCH (No such process)")),
            ("         (libbpf logged nothing)", Line::detail(NOTHING_LOGGED)),
            ("load     FAILED  EACCES (Permission denied)", Line::failed(Stage::Load, "EACCES (Permission denied)")),
            ("         verifier: R8 invalid mem access 'scalar'", Line::detail("verifier: R8 invalid mem access 'scalar'")),
            ("attach   ok", Line::ok(Stage::Attach)),
            ("observed 0 of N file opens by this process", Line::Observed("0 of N file opens by this process".into())),
            (
                "kprobe   skipped: this kernel has no kprobes",
                Line::Skipped { label: "kprobe".into(), reason: "this kernel has no kprobes".into() },
            ),
            (
                "note     attached: raw tracepoint sys_enter, as the kernel reports it",
                Line::Note("attached: raw tracepoint sys_enter, as the kernel reports it".into()),
            ),
            (
                "child    /tmp/bootstrap-check-XXXXXXXX/child exits with code 3",
                Line::Labelled { label: "child".into(), text: "/tmp/bootstrap-check-XXXXXXXX/child exits with code 3".into() },
            ),
            ("wrong    exit code 768, not 3", Line::Labelled { label: "wrong".into(), text: "exit code 768, not 3".into() }),
            (
                "log      debug libbpf: prog 'two_suffixes': relo #1: no matching targets found",
                Line::Log { level: Level::Debug, text: "libbpf: prog 'two_suffixes': relo #1: no matching targets found".into() },
            ),
            (
                "log      warn  R1 invalid mem access 'scalar'",
                Line::Log { level: Level::Warn, text: "R1 invalid mem access 'scalar'".into() },
            ),
            ("compile  -target bpf -mcpu=v2", Line::Labelled { label: "compile".into(), text: "-target bpf -mcpu=v2".into() }),
            ("load     FAILED at load with EINVAL", Line::Labelled { label: "load".into(), text: "FAILED at load with EINVAL".into() }),
            (
                "error    core-relocation: struct task_struct___pre514.state",
                Line::Error("core-relocation: struct task_struct___pre514.state".into()),
            ),
            ("timeout  stopped after 1 s", Line::Timeout { seconds: 1 }),
            ("output   cut at 64 KiB: the program printed far more", Line::OutputCut { kib: 64 }),
            (
                "$ cargo xtask diagnose lessons/03-einval/src/bpf/einval.bpf.c",
                Line::Unlabelled("$ cargo xtask diagnose lessons/03-einval/src/bpf/einval.bpf.c".into()),
            ),
        ];
        for (text, expected) in cases {
            let line = Line::parse(text);
            assert_eq!(line, expected, "{text:?}");
            assert_eq!(line.to_string(), text);
        }
    }

    #[test]
    fn near_misses_stay_as_written() {
        // Each is one character off a typed line: it keeps its text, as a plain labelled line.
        for text in [
            "stopped  at pin",
            "open     okay",
            "open     FAILED ENOENT",
            "timeout  stopped after 01 s",
            "timeout  stopped after +1 s",
            "output   cut at 64 KiB",
            "log      trace x",
            "portable not proven",
        ] {
            let line = Line::parse(text);
            assert!(matches!(line, Line::Labelled { .. }), "{text:?}: {line:?}");
            assert_eq!(line.to_string(), text);
        }
        for text in ["observed", "a label  x", "verylongla x", "", "注意事项 和更多"] {
            assert_eq!(Line::parse(text), Line::Unlabelled(text.into()), "{text:?}");
        }
    }

    #[test]
    fn a_label_pads_to_its_column_and_a_long_one_runs_on() {
        assert_eq!(Line::new("wrong", "x").to_string(), "wrong    x");
        assert_eq!(Line::new("", "x").to_string(), "         x");
        assert_eq!(Line::Labelled { label: "muchtoolong".into(), text: "x".into() }.to_string(), "muchtoolongx");
        assert_eq!(Line::Labelled { label: "muchtoolong".into(), text: "x".into() }.text(), "x");
    }

    #[test]
    fn a_transcript_answers_the_checkers_questions() {
        let failing = Transcript::parse(
            "compile  ok      .BTF present\nobserved 0 of 5 file opens\nattach   FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at attach",
        );
        assert_eq!(failing.stopped_at(), Some(Stage::Attach));
        assert_eq!(failing.observed().collect::<Vec<_>>(), ["0 of 5 file opens"]);
        assert!(!failing.works());
        assert_eq!(failing.first_failure(), Some((Stage::Attach, "ENOENT (No such file or directory)")));
        assert_eq!(failing.failure_of(Stage::Load), None);
        assert!(failing.passed(Stage::Compile) && !failing.passed(Stage::Attach));
        assert!(failing.nothing_logged() && !failing.timed_out() && !failing.panicked() && !failing.compile_failed());
        let unbuilt = Transcript::parse(
            "compile  FAILED  rustc: 1 error\n         error[E0594]: cannot assign\n         --> src/main.rs:87:5\nstopped  at compile",
        );
        assert!(unbuilt.compile_failed());
        assert_eq!(unbuilt.first_details().collect::<Vec<_>>(), ["error[E0594]: cannot assign", "--> src/main.rs:87:5"]);
        assert!(Transcript::parse("open     ok\npanic    at src/main.rs:3").panicked());

        let working = Transcript::parse("open     ok\nnote     attached: nothing\nobserved N of N\ntimeout  stopped after 10 s");
        assert!(working.works() && working.timed_out());
        assert_eq!(working.compared().to_string(), "open     ok\nobserved N of N\ntimeout  stopped after 10 s");
        assert_eq!(Transcript::parse("portable not proven: no BTF here").unproven(), Some("no BTF here"));
        assert_eq!(Transcript::parse("observed it").stopped_at(), None);
    }

    /// Every stored snapshot in the workspace: its text, after insta's header.
    fn stored_snapshots() -> Vec<(std::path::PathBuf, String)> {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().find(|d| d.join("Cargo.lock").exists()).unwrap().to_path_buf();
        let mut found = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap().flatten() {
                let path = entry.path();
                let name = entry.file_name();
                if path.is_dir() && name != "target" && !name.to_string_lossy().starts_with('.') {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "snap") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let body = text.strip_prefix("---\n").and_then(|t| t.split_once("\n---\n")).map_or(text.as_str(), |(_, b)| b);
                    found.push((path.strip_prefix(&root).unwrap().to_path_buf(), body.to_string()));
                }
            }
        }
        found
    }

    #[test]
    fn every_stored_snapshot_reads_back_byte_for_byte() {
        let snapshots = stored_snapshots();
        assert!(snapshots.len() >= 20, "found only {} snapshots", snapshots.len());
        for (path, body) in &snapshots {
            let transcript = Transcript::parse(body);
            assert_eq!(transcript.to_string(), body.trim_end_matches('\n'), "{}", path.display());
            // Only `diagnose` writes text outside the columns: its command line, blank lines, its tally.
            let is_diagnose = path.components().any(|c| c.as_os_str() == "diagnose");
            for line in transcript.lines.iter().filter(|_| !is_diagnose) {
                assert!(!matches!(line, Line::Unlabelled(_)), "{}: {line:?}", path.display());
            }
        }
    }

    #[test]
    fn reads_back_the_latest_run_count_of_each_program() {
        let text = format!(
            "attach   ok\nobserved 0 of N\nnote     {}\nnote     {}\nnote     {}",
            runs_note("count_opens", 3, true),
            runs_note("count_clones", 0, true),
            runs_note("count_opens", 12, false)
        );
        assert_eq!(Transcript::parse(&text).program_runs(), [("count_opens", 12), ("count_clones", 0)]);
        assert!(Transcript::parse("observed 0 of N").program_runs().is_empty());
        assert_eq!(Transcript::parse(&text).compared().to_string(), "attach   ok\nobserved 0 of N");
    }

    #[test]
    fn an_observed_line_counts_what_it_saw() {
        assert_eq!(Line::parse("observed 5 of N file opens").count(), Some(("5", "N")));
        assert_eq!(Line::parse("observed N of N openat calls by this process").count(), Some(("N", "N")));
        assert_eq!(Line::parse("observed 3 of 5 facts about the child right").count(), Some(("3", "5")));
        assert_eq!(Line::parse("observed child asleep: state S").count(), None);
        assert_eq!(Line::parse("observed some of 5").count(), None);
        assert_eq!(Line::parse("wrong    5 of 5").count(), None);
    }

    #[test]
    fn the_compared_part_drops_notes_and_an_ok_that_repeats() {
        let compared = |text: &str| Transcript::parse(text).compared().to_string();
        assert_eq!(
            compared("attach   ok\nobserved 0 of N\nnote     attached: nothing, as the kernel reports it"),
            "attach   ok\nobserved 0 of N"
        );
        let in_turn = "attach   ok\nobserved N of N opens\nattach   ok\nobserved N of N threads";
        let at_once = "attach   ok\nobserved N of N opens\nobserved N of N threads";
        assert_eq!(compared(in_turn), at_once);
        let failed = "attach   ok\nobserved N of N opens\nattach   FAILED  ENOENT";
        assert_eq!(compared(failed), failed);
        let second_run = "load     ok\nattach   ok\nobserved it\nopen     ok\nload     ok\nattach   ok\nobserved it";
        assert_eq!(compared(second_run), second_run);
    }
}
