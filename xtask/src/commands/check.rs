//! `cargo xtask check NN` and `cargo xtask hint NN`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anstream::println;
use anyhow::{Context, Result};

use crate::machine::cargo::{self, Build};
use crate::workbook::lessons::{self, Lesson, Meta};
use crate::workbook::progress::{self, State};
use crate::report::json::{self, CheckReport, FindingReport, LessonStatus, Machine};
use crate::report::terminal::{self, paint, DIM, FAIL, PASS, TITLE, WARN};
use crate::machine::kernels::{self, Choice, Kernel};
use crate::machine::host;
use crate::machine::lock;
use crate::workbook::object;
use crate::machine::runner;
use crate::workbook::snapshot;
use crate::machine::vm;

/// One run of a lesson: its transcript and libbpf's full log.
pub struct Run {
    pub transcript: String,
    pub log: String,
}

/// Builds the lesson found in the workbook at `root` into `target_dir`, and runs it on this kernel.
pub fn run_lesson(root: &Path, lesson: &Lesson, target_dir: &Path) -> Result<Run> {
    run_lesson_on(root, lesson, target_dir, None)
}

/// The transcript's first line, read from the `.bpf.o` the build left.
pub fn compile_line(object: Option<&Path>) -> Result<String> {
    Ok(match object {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            object::facts(&bytes)?.transcript_line()
        }
        None => "compile  ok      (the build left no .bpf.o in its OUT_DIR)".to_string(),
    })
}

/// [`run_lesson`], run on this kernel or, given one, on a kernel under qemu.
pub fn run_lesson_on(root: &Path, lesson: &Lesson, target_dir: &Path, kernel: Option<&Kernel>) -> Result<Run> {
    let lesson_dir = lesson.dir_in(root);
    let lesson = Lesson { dir: lesson_dir, ..lesson.clone() };
    match cargo::build(root, &lesson, target_dir)? {
        Build::Failed { lines, output } => Ok(Run { transcript: lines.join("\n"), log: output }),
        Build::Built { binary, object } => {
            let compile = compile_line(object.as_deref())?;
            let output = match kernel {
                None => runner::run_privileged(&binary)?,
                Some(kernel) => vm::run_one(kernel, &binary, object.as_deref())?,
            };
            let mut lines = vec![compile];
            lines.extend(output.transcript_lines());
            Ok(Run { transcript: lines.join("\n"), log: output.stderr })
        }
    }
}

/// The layer whose symptom the transcript shows, 1-based.
pub fn current_layer(meta: &Meta, transcript: &str) -> Option<usize> {
    meta.layers.iter().position(|l| transcript.contains(&l.symptom)).map(|i| i + 1)
}

/// The stage named by the transcript's `stopped  at <stage>` line.
pub fn stopped_at(transcript: &str) -> Option<&str> {
    transcript.lines().find_map(|l| l.strip_prefix("stopped  at "))
}

pub fn log_path(root: &Path, number: &str) -> PathBuf {
    root.join("target/workbook/logs").join(format!("{number}.log"))
}

/// `kernel`: run on this one under qemu (`5.10`, `6.1`, `6.12`) instead of the host's.
pub fn check(root: &Path, wanted: &str, json: bool, kernel: Option<&str>) -> Result<ExitCode> {
    let lesson = lessons::find(root, wanted)?;
    let choice = kernel.map(kernels::choice).transpose()?.unwrap_or(Choice::Host);
    check_lesson_on(root, &lesson, json, "check", choice)
}

/// One check of `lesson`; `doing` names the command for anyone waiting on its lock.
pub fn check_lesson(root: &Path, lesson: &Lesson, json: bool, doing: &str) -> Result<ExitCode> {
    check_lesson_on(root, lesson, json, doing, Choice::Host)
}

fn check_lesson_on(root: &Path, lesson: &Lesson, json: bool, doing: &str, choice: Choice) -> Result<ExitCode> {
    let problems = match choice {
        Choice::Host => host::preflight(&lesson.meta.needs),
        Choice::Debian(_) => vm::preflight(),
    };
    if !problems.is_empty() {
        if json {
            let record = progress::records(root).remove(&lesson.number);
            json::print(&CheckReport {
                outcome: "cannot-run",
                problems: problems.iter().map(FindingReport::from).collect(),
                ..report(lesson, record.as_ref(), "", None)
            });
            return Ok(ExitCode::FAILURE);
        }
        eprintln!("lesson {} cannot run on this machine yet:", lesson.number);
        for problem in &problems {
            eprintln!("{problem}");
        }
        if choice == Choice::Host {
            eprintln!("{}", vm::offer(&lesson.number));
        }
        return Ok(ExitCode::FAILURE);
    }
    let kernel = match choice {
        Choice::Host => None,
        Choice::Debian(series) => Some(kernels::ensure(series)?),
    };

    if !json {
        let on = kernel.as_ref().map(|k| format!(" · on {} under qemu", k.describe())).unwrap_or_default();
        println!("{}", paint(TITLE, format!("lesson {} · {}{on}", lesson.number, lesson.meta.title)));
    }
    // Build, run and record as one step, so a second check or `watch` waits
    // instead of rebuilding the binary under this one's feet.
    let _held = lock::lesson(root, &lesson.number, doing)?;
    let run = run_lesson_on(root, lesson, &root.join("target"), kernel.as_ref())?;
    if !json {
        println!("{}", terminal::transcript(&run.transcript));
    }
    let log = log_path(root, &lesson.number);
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&log, &run.log)?;
    let shown_log = (!run.log.is_empty()).then(|| log.strip_prefix(root).unwrap_or(&log).display().to_string());

    // On a mismatch insta prints the diff against the fixed transcript (not under --json).
    let kprobes = kernel.as_ref().map_or_else(host::kprobes_available, |k| k.kprobes());
    let expected = snapshot::name_for(&lesson.snapshots(), "fixed", choice.name(), kprobes);
    let passed = snapshot::matches(&lesson.snapshots(), &expected, &run.transcript);
    let layer = current_layer(&lesson.meta, &run.transcript);
    let state = if passed { State::Passed } else { State::Failing { layer } };
    progress::save(root, &lesson.number, state)?;
    let record = progress::records(root).remove(&lesson.number);

    if json {
        json::print(&report(lesson, record.as_ref(), &run.transcript, shown_log));
        return Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    if passed {
        println!(
            "\n{}  lesson {} works: it loads, attaches and sees what it exists for",
            paint(PASS, "PASS"),
            lesson.number
        );
        if let Some(next) = next_lesson(root) {
            println!("next: cargo xtask check {next}");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let timed_out = run.transcript.contains(TIMED_OUT);
    if timed_out {
        println!(
            "\n{} the program did not finish within {} s, so the checker stopped it.",
            paint(FAIL, "not yet:"),
            runner::timeout().as_secs()
        );
        println!("A loader that waits for an event that never comes, or handles events without end, does this.");
        println!("Nothing it loaded stays in the kernel.");
    } else {
        match stopped_at(&run.transcript) {
            Some(stage) => println!("\n{} stopped at {stage}", paint(FAIL, "not yet:")),
            None => println!("\n{} it ran to the end, but its transcript is not a working program's", paint(FAIL, "not yet:")),
        }
    }
    match layer {
        Some(k) => {
            let current = &lesson.meta.layers[k - 1];
            println!("layer {k} of {}: {}", lesson.meta.layers.len(), current.name);
            println!("{} {}", paint(WARN, "hint:"), current.hint.trim());
        }
        None if timed_out => println!("{} `cargo xtask hint {}` helps", paint(WARN, "hint:"), lesson.number),
        None => {
            println!(
                "{} the diff above shows how your transcript differs from a working program's; `cargo xtask hint {}` helps",
                paint(WARN, "hint:"),
                lesson.number
            );
        }
    }
    if let Some(log) = shown_log {
        println!("{}", paint(DIM, format!("full log (libbpf, or the compilers): {log}")));
    }
    Ok(ExitCode::FAILURE)
}

/// The closing line of a transcript whose program the timeout stopped.
const TIMED_OUT: &str = "timeout  stopped after";

/// The `--json` report of a check with this transcript.
fn report(lesson: &Lesson, record: Option<&progress::Record>, transcript: &str, log: Option<String>) -> CheckReport {
    let status = LessonStatus::new(lesson, record);
    let hint = status.layer.and_then(|k| lesson.meta.layers.get(k.wrapping_sub(1))).map(|l| l.hint.trim().to_string());
    let hint = if status.state == "passed" { None } else { hint };
    CheckReport {
        schema: json::SCHEMA,
        command: "check",
        machine: Machine::this(),
        outcome: if status.state == "passed" { "passed" } else { "failing" },
        stopped_at: stopped_at(transcript).map(str::to_string),
        timed_out: transcript.contains(TIMED_OUT),
        transcript: transcript.lines().map(str::to_string).collect(),
        hint,
        log,
        problems: Vec::new(),
        lesson: status,
    }
}

/// The first lesson that does not pass yet.
fn next_lesson(root: &Path) -> Option<String> {
    let states = progress::load(root);
    lessons::all(root).ok()?.into_iter().map(|l| l.number).find(|n| states.get(n) != Some(&State::Passed))
}

pub fn hint(root: &Path, wanted: &str) -> Result<ExitCode> {
    let lesson = lessons::find(root, wanted)?;
    let layers = &lesson.meta.layers;
    let k = match progress::load(root).get(&lesson.number) {
        Some(State::Passed) => {
            println!("lesson {} already passes. The book's chapter explains the fix in full.", lesson.number);
            return Ok(ExitCode::SUCCESS);
        }
        Some(State::Failing { layer: Some(k) }) => *k,
        Some(State::Failing { layer: None }) => {
            println!("(your last check failed in a way no layer describes; here is the first layer's hint)");
            1
        }
        None => {
            println!("(you have not checked lesson {} yet; here is the first layer's hint)", lesson.number);
            1
        }
    };
    let layer = &layers[k.clamp(1, layers.len()) - 1];
    println!("layer {k} of {}: {}", layers.len(), layer.name);
    println!("{}", layer.hint.trim());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_layer_and_stage_from_a_transcript() {
        let lesson = lessons::find(&crate::root(), "01").unwrap();
        let silenced = "open     FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at open";
        assert_eq!(current_layer(&lesson.meta, silenced), Some(1));
        assert_eq!(stopped_at(silenced), Some("open"));
        let no_btf = "         libbpf: BTF is required, but is missing or corrupted.\nstopped  at open";
        assert_eq!(current_layer(&lesson.meta, no_btf), Some(2));
        assert_eq!(current_layer(&lesson.meta, "observed 5 of 5"), None);
        assert_eq!(stopped_at("observed 5 of 5"), None);
    }
}
