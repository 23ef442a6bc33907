//! One run of a lesson: build it with cargo, run it on this kernel or under qemu, and read its transcript.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use transcript::{Line, Stage, Transcript};

use crate::machine::cargo::{self, Build};
use crate::machine::kernels::Kernel;
use crate::machine::{runner, vm};
use crate::workbook::lessons::{Lesson, Meta};
use crate::workbook::source_rules::{self, Source};
use crate::workbook::{object, portability};

/// One run of a lesson: its transcript, libbpf's full log, and what the
/// loader itself printed on stdout and stderr (shown beside the transcript,
/// never compared).
pub struct Run {
    pub transcript: String,
    pub log: String,
    pub prints: String,
    /// The loader's own stderr, apart from libbpf's log; empty where the two
    /// cannot be told apart (under qemu).
    pub stderr: String,
    /// rustc's warnings about the lesson's code (shown when a check fails).
    pub warnings: Vec<String>,
    /// The `.bpf.o` the build left, for the diagnosis of a failure.
    pub object: Option<PathBuf>,
    /// The program's C sources as they were built, for the rules that read code.
    pub sources: Vec<Source>,
}

impl Run {
    /// A lesson that did not build: the transcript says why, the log holds the compilers' output.
    pub fn not_built(transcript: String, log: String) -> Run {
        Run { transcript, log, prints: String::new(), stderr: String::new(), warnings: Vec::new(), object: None, sources: Vec::new() }
    }

    /// A lesson that ran: `lines` before the loader's own transcript, then the loader's output.
    pub fn ran(mut lines: Vec<String>, output: runner::Output, warnings: Vec<String>) -> Run {
        lines.extend(output.transcript_lines());
        // Under qemu the harness writes libbpf's log to stderr, mixed with the loader's own.
        let (log, stderr) = match output.libbpf_log {
            Some(log) => (log, output.stderr),
            None => (output.stderr, String::new()),
        };
        Run { transcript: lines.join("\n"), log, prints: output.prints, stderr, warnings, object: None, sources: Vec::new() }
    }
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
        None => Line::Ok { stage: Stage::Compile, detail: Some("(the build left no .bpf.o in its OUT_DIR)".into()) }.to_string(),
    })
}

/// [`run_lesson`], run on this kernel or, given one, on a kernel under qemu.
pub fn run_lesson_on(root: &Path, lesson: &Lesson, target_dir: &Path, kernel: Option<&Kernel>) -> Result<Run> {
    run_built(root, lesson, build_lesson(root, lesson, target_dir)?, kernel)
}

/// A lesson's build, and its C sources as they were when it started.
pub struct LessonBuild {
    sources: Vec<Source>,
    build: Build,
}

/// Builds the lesson found in the workbook at `root` into `target_dir`, without running it.
pub fn build_lesson(root: &Path, lesson: &Lesson, target_dir: &Path) -> Result<LessonBuild> {
    let sources = source_rules::read(&lesson.dir_in(root).join("src"));
    Ok(LessonBuild { sources, build: cargo::build(root, &lesson.package, &lesson.dir_in(root), target_dir)? })
}

/// Runs what [`build_lesson`] built, on this kernel or under qemu; a failed build is the run's outcome.
pub fn run_built(root: &Path, lesson: &Lesson, built: LessonBuild, kernel: Option<&Kernel>) -> Result<Run> {
    let LessonBuild { sources, build } = built;
    match build {
        Build::Failed { lines, output } => Ok(Run { sources, ..Run::not_built(lines.join("\n"), output) }),
        Build::Built { binary, warnings, object } => {
            let mut lines = vec![compile_line(object.as_deref())?];
            // The relocation against another kernel's BTF and the real run are
            // independent loads: run them side by side, not one after the other.
            let (portable, output) = std::thread::scope(|scope| {
                let portable = scope.spawn(|| portability::lines(lesson, &binary));
                let output = match kernel {
                    None => runner::run_privileged(&binary),
                    Some(kernel) => vm::run_one(root, kernel, &binary, object.as_deref()),
                };
                (portable.join(), output)
            });
            lines.extend(portable.map_err(|_| anyhow::anyhow!("the portability check panicked"))?);
            Ok(Run { object, sources, ..Run::ran(lines, output?, warnings) })
        }
    }
}

/// The layer whose symptom the transcript shows, 1-based.
pub fn current_layer(meta: &Meta, transcript: &str) -> Option<usize> {
    meta.layers.iter().position(|l| l.shows(transcript)).map(|i| i + 1)
}

/// The stage named by the transcript's `stopped  at <stage>` line.
pub fn stopped_at(transcript: &str) -> Option<&'static str> {
    Transcript::parse(transcript).stopped_at().map(Stage::as_str)
}

/// Where `check` keeps the last run's full log (libbpf's, or the compilers').
pub fn log_path(root: &Path, number: &str) -> PathBuf {
    root.join("target/workbook/logs").join(format!("{number}.log"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_layer_and_stage_from_a_transcript() {
        let lesson = crate::workbook::lessons::find(&crate::workbook::root(), "01").unwrap();
        let silenced = "open     FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at open";
        assert_eq!(current_layer(&lesson.meta, silenced), Some(1));
        assert_eq!(stopped_at(silenced), Some("open"));
        let no_btf = "         libbpf: BTF is required, but is missing or corrupted.\nstopped  at open";
        assert_eq!(current_layer(&lesson.meta, no_btf), Some(2));
        assert_eq!(current_layer(&lesson.meta, "observed 5 of 5"), None);
        assert_eq!(stopped_at("observed 5 of 5"), None);
    }
}
