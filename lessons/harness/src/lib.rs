//! Plumbing shared by every lesson loader, so the loaders show only libbpf-rs.
//!
//! A loader wraps its body in [`run`], hands libbpf's log to [`libbpf_log`]
//! through `set_print`, and runs each step through [`Lesson::stage`]. The
//! result is a transcript on stdout: one line per stage, the errno name and the
//! key libbpf log lines where a stage failed, and what the program observed.
//! The full libbpf log goes to stderr.

pub mod errno;
mod log;
pub mod redact;

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

pub use log::libbpf_log;

/// A step of a BPF program's life that can fail on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Open,
    Load,
    Attach,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Open => "open",
            Stage::Load => "load",
            Stage::Attach => "attach",
        })
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
    _private: (),
}

impl Lesson {
    /// Runs one stage. On failure, records the errno name and the warn-level
    /// libbpf lines logged during the stage, then returns [`Stopped`].
    pub fn stage<T>(
        &mut self,
        stage: Stage,
        step: impl FnOnce() -> libbpf_rs::Result<T>,
    ) -> Result<T, Stopped> {
        let mark = log::mark();
        match step() {
            Ok(value) => {
                emit(&stage.to_string(), "ok");
                Ok(value)
            }
            Err(error) => {
                emit(&stage.to_string(), &format!("FAILED  {}", describe(&format!("{error:#}"))));
                let lines = log::key_lines_since(mark);
                if lines.is_empty() {
                    emit("", "(libbpf logged nothing)");
                }
                for line in lines {
                    emit("", &line);
                }
                Err(Stopped(stage))
            }
        }
    }

    /// Records a step this kernel cannot run, and why, so nothing passes silently.
    pub fn skipped(&mut self, label: &str, reason: impl fmt::Display) {
        emit(label, &format!("skipped: {reason}"));
    }

    /// Records what the program saw: the proof that it did its job.
    pub fn observed(&mut self, what: impl fmt::Display) {
        emit("observed", &what.to_string());
    }
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
    // Capture by default; a loader's own `set_print` replaces this.
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Info, libbpf_log)));
    let mut lesson = Lesson { _private: () };
    match body(&mut lesson) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            match error.downcast_ref::<Stopped>() {
                Some(stopped) => emit("stopped", &format!("at {}", stopped.0)),
                None => emit("error", &describe(&format!("{error:#}"))),
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

fn emit(label: &str, text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{label:<9}{}", redact::line(text));
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn describes_errno_by_name_and_reason() {
        assert_eq!(
            describe("failed to open object: No such file or directory (os error 2)"),
            "ENOENT (No such file or directory)"
        );
        assert_eq!(describe("No such process (os error 3)"), "ESRCH (No such process)");
        assert_eq!(describe("a plain message"), "a plain message");
    }
}
