//! `cargo xtask check NN` and `cargo xtask hint NN`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cargo::{self, Build};
use crate::lessons::{self, Lesson, Meta};
use crate::progress::{self, State};
use crate::kernels::{self, Choice, Kernel};
use crate::{doctor, object, runner, snapshot, vm};

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

pub fn log_path(number: &str) -> PathBuf {
    crate::root().join("target/workbook/logs").join(format!("{number}.log"))
}

pub fn check(root: &Path, wanted: &str, kernel: Option<&str>) -> Result<ExitCode> {
    let lesson = lessons::find(root, wanted)?;
    let choice = kernel.map(kernels::choice).transpose()?.unwrap_or(Choice::Host);
    let problems = match choice {
        Choice::Host => doctor::preflight(&lesson.meta.needs),
        Choice::Debian(_) => vm::preflight(),
    };
    if !problems.is_empty() {
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

    let on = kernel.as_ref().map(|k| format!(" · on {} under qemu", k.describe())).unwrap_or_default();
    println!("lesson {} · {}{on}", lesson.number, lesson.meta.title);
    let run = run_lesson_on(root, &lesson, &root.join("target"), kernel.as_ref())?;
    println!("{}", run.transcript);
    let log = log_path(&lesson.number);
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&log, &run.log)?;

    let expected = snapshot::name_for(&lesson.snapshots(), "fixed", choice.name());
    if snapshot::matches(&lesson.snapshots(), &expected, &run.transcript) {
        progress::save(root, &lesson.number, State::Passed)?;
        println!("\nPASS  lesson {} works: it loads, attaches and sees what it exists for", lesson.number);
        return Ok(ExitCode::SUCCESS);
    }

    let layer = current_layer(&lesson.meta, &run.transcript);
    progress::save(root, &lesson.number, State::Failing { layer })?;
    let stage = stopped_at(&run.transcript).unwrap_or("observe (it ran, but did not see what it should)");
    println!("\nnot yet: stopped at {stage}");
    match layer {
        Some(k) => {
            let current = &lesson.meta.layers[k - 1];
            println!("layer {k} of {}: {}", lesson.meta.layers.len(), current.name);
            println!("hint: {}", current.hint.trim());
        }
        None => println!("hint: compare your transcript with the fixed one above; `cargo xtask hint {}` helps", lesson.number),
    }
    if !run.log.is_empty() {
        println!("full log (libbpf, or the compilers): {}", log.strip_prefix(root).unwrap_or(&log).display());
    }
    Ok(ExitCode::FAILURE)
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
