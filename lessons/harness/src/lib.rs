//! Plumbing shared by every lesson loader, so the loaders show only libbpf-rs.
//!
//! A loader wraps its body in [`run`], hands libbpf's log to [`libbpf_log`]
//! through `set_print`, runs each step through [`Lesson::stage`], and gives
//! its program something to see with the helpers of [`workload`]. The result
//! is a transcript: one line per stage, the errno name and the key libbpf log
//! lines where a stage failed, and what the program observed. It goes to the
//! checker's own channel ([`channel`]), or to stdout when run by hand. The
//! full libbpf log goes to stderr.

mod log;
pub mod workload;

// Re-exported: the lessons name them through the harness.
pub use transcript::{channel, errno, redact, Line};

use std::fmt;
use std::process::ExitCode;

pub use log::libbpf_log;
pub use workload::{open_files, open_fresh_file, start_threads, Change, SleepingChild};

/// Set by the checker to relocate and load only: the run stops after `load`.
/// With a loader that honours `BTF_CUSTOM_PATH`, this proves that the object
/// relocates against another kernel's BTF.
pub const RELOCATE_ONLY_VAR: &str = "WORKBOOK_RELOCATE_ONLY";

/// A step of a BPF program's life that can fail on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Open,
    Load,
    Attach,
}

impl From<Stage> for transcript::Stage {
    fn from(stage: Stage) -> transcript::Stage {
        match stage {
            Stage::Open => transcript::Stage::Open,
            Stage::Load => transcript::Stage::Load,
            Stage::Attach => transcript::Stage::Attach,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        transcript::Stage::from(*self).fmt(f)
    }
}

/// The error a failed stage returns; its transcript lines are already printed.
#[derive(Debug)]
pub struct Stopped(pub Stage);

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopped at {}", self.0)
    }
}

impl std::error::Error for Stopped {}

/// The transcript of one run, printed as it happens.
pub struct Lesson {
    /// What the kernel reported attached at the latest observation.
    attached: Option<Vec<String>>,
}

impl Lesson {
    /// Runs one stage. On failure, records the errno name and the warn-level
    /// libbpf lines logged during the stage, then returns [`Stopped`].
    pub fn stage<T>(&mut self, stage: Stage, step: impl FnOnce() -> libbpf_rs::Result<T>) -> Result<T, Stopped> {
        let mark = log::mark();
        match step() {
            Ok(value) => {
                emit(Line::ok(stage.into()));
                if stage == Stage::Attach {
                    self.note_attached();
                }
                if stage == Stage::Load && std::env::var_os(RELOCATE_ONLY_VAR).is_some() {
                    // Exit, not return: the loader's body would go on to attach and run.
                    std::process::exit(0);
                }
                Ok(value)
            }
            Err(error) => {
                emit(Line::failed(stage.into(), clean(&describe(&format!("{error:#}")))));
                let lines = log::key_lines_since(mark);
                if lines.is_empty() {
                    emit(Line::detail(transcript::line::NOTHING_LOGGED));
                }
                for line in lines {
                    emit(Line::detail(clean(&line)));
                }
                Err(Stopped(stage))
            }
        }
    }

    /// Records a step this kernel cannot run, and why, so nothing passes silently.
    pub fn skipped(&mut self, label: &str, reason: impl fmt::Display) {
        emit(Line::Skipped { label: label.to_string(), reason: clean(&reason.to_string()) });
    }

    /// Records how many events of a kind chosen for this run (see
    /// [`workload`]) the program counted: `seen` of `expected` `what`.
    pub fn observed_count(&mut self, seen: u64, expected: workload::Count, what: &str) {
        self.observed(format!("{} {what}", workload::describe_count(seen, expected)));
    }

    /// Records what the program saw: the proof that it did its job. This
    /// run's chosen values (see [`workload`]) become placeholders. Then a note,
    /// not compared, says what the kernel reports attached at this moment (as
    /// after each attach), and how often each program has run.
    pub fn observed(&mut self, what: impl fmt::Display) {
        emit(Line::Observed(clean(&workload::normalize(&what.to_string()))));
        self.note_attached();
        // Whether each program ran at all tells an attach point nothing hits
        // from a condition in the program that drops every event.
        // Only a workload of the harness's marks where the counting starts; a
        // count since load would include whatever ran before it.
        if let Some((runs, true)) = workload::program_runs() {
            for (program, runs) in runs {
                let during_workload = true;
                emit(Line::Note(transcript::line::runs_note(&program, runs, during_workload)));
            }
        }
    }

    /// A note, not compared, of what the kernel reports attached now, when
    /// that changed since the last note.
    fn note_attached(&mut self) {
        let attached = workload::attached();
        if self.attached.as_ref() == Some(&attached) {
            return; // said already
        }
        if attached.is_empty() {
            emit(Line::Note(clean("attached: nothing, as the kernel reports it")));
        }
        for hook in &attached {
            emit(Line::Note(clean(&format!("attached: {hook}, as the kernel reports it"))));
        }
        self.attached = Some(attached);
    }

    /// Records anything else the reader needs to follow the run, under `label`.
    pub fn note(&mut self, label: &str, what: impl fmt::Display) {
        emit(Line::new(label, &clean(&what.to_string())));
    }
}

/// Reads a global of the program's `.bss` or `.data` again, each call: the
/// program writes it behind Rust's back, so a plain read may be reused.
pub fn fresh<T: Copy>(global: &T) -> T {
    // SAFETY: a plain value in memory libbpf has mapped; volatile, so every call reads it.
    unsafe { std::ptr::read_volatile(global) }
}

/// The variable `cargo xtask check` sets when it runs a lesson's binary.
pub const CHECK_VARIABLE: &str = "WORKBOOK_CHECK";

/// Whether the checker runs this binary. A lesson that is also a tool runs
/// its self-check then, and its normal command line otherwise.
pub fn checking() -> bool {
    std::env::var_os(CHECK_VARIABLE).is_some_and(|value| value == "1")
}

/// Whether this kernel can attach kprobes: libbpf uses the kprobe PMU, or
/// tracefs's `kprobe_events` on older kernels.
pub fn kernel_has_kprobes() -> bool {
    std::path::Path::new("/sys/bus/event_source/devices/kprobe").exists()
        || std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists()
}

/// Runs a loader body and prints its transcript. Exit code 0 when the body
/// finished, 1 when a stage or anything else failed.
pub fn run(body: impl FnOnce(&mut Lesson) -> anyhow::Result<()>) -> ExitCode {
    if let Some(code) = workload::helper_role() {
        return code;
    }
    channel::open();
    log::open();
    workload::count_runs();
    // Capture by default; a loader's own `set_print` replaces this.
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Info, libbpf_log)));
    let mut lesson = Lesson { attached: None };
    match body(&mut lesson) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match error.downcast_ref::<Stopped>() {
                Some(stopped) => emit(Line::Stopped(stopped.0.into())),
                None => emit(Line::Error(clean(&describe(&format!("{error:#}"))))),
            }
            ExitCode::FAILURE
        }
    }
}

/// `ENOENT (No such file or directory)` when the text carries an errno,
/// otherwise the text itself.
fn describe(error: &str) -> String {
    let Some(code) = errno::from_message(error) else {
        return error.to_string();
    };
    let reason = std::io::Error::from_raw_os_error(code).to_string();
    let reason = reason.split(" (os error").next().unwrap_or_default();
    match errno::name(code) {
        Some(name) => format!("{name} ({reason})"),
        None => format!("errno {code} ({reason})"),
    }
}

/// The label of transcript lines that are shown but never compared
/// ([`Line::Note`]): what they say may differ between correct programs.
pub const NOTE: &str = transcript::line::NOTE;

/// A line's text with this run's chosen values and run-specific numbers replaced.
fn clean(text: &str) -> String {
    redact::line(&workload::substitute(text))
}

fn emit(line: Line) {
    channel::write(&line);
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn describes_errno_by_name_and_reason() {
        assert_eq!(describe("failed to open object: No such file or directory (os error 2)"), "ENOENT (No such file or directory)");
        assert_eq!(describe("No such process (os error 3)"), "ESRCH (No such process)");
        assert_eq!(describe("a plain message"), "a plain message");
    }
}
