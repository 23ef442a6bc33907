//! `cargo xtask verify`: the workbook's self-test. In a scratch copy, never in
//! the learner's files, every lesson must fail layer by layer exactly as its
//! snapshots say, the layer fixes must add up to `solution/`, and the solution
//! must pass.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::commands::check::run_lesson;
use crate::workbook::lessons::{self, Edit, Layer, Lesson};
use crate::machine::host;
use crate::workbook::snapshot;

/// Folders of the workbook that a scratch copy leaves out.
const NOT_COPIED: &[&str] = &["target", ".git", "book/build", ".progress.toml"];

pub fn verify(root: &Path, wanted: &[String], bless: bool) -> Result<ExitCode> {
    let lessons = if wanted.is_empty() {
        lessons::all(root)?
    } else {
        wanted.iter().map(|w| lessons::find(root, w)).collect::<Result<_>>()?
    };
    for lesson in &lessons {
        let problems = host::preflight(&lesson.meta.needs);
        if !problems.is_empty() {
            eprintln!("lesson {} cannot run on this machine:", lesson.number);
            problems.iter().for_each(|p| eprintln!("{p}"));
            return Ok(ExitCode::FAILURE);
        }
    }

    let (mut passed, mut failed) = (0, 0);
    for lesson in &lessons {
        println!("lesson {} · {}", lesson.number, lesson.meta.title);
        match scratch_copy(root, lesson).and_then(|scratch| verify_lesson(&scratch, lesson, bless)) {
            Ok(true) => passed += 1,
            Ok(false) => failed += 1,
            Err(error) => {
                println!("  ✗ {error:#}");
                failed += 1;
            }
        }
    }
    println!("\nverify: {passed} passed, {failed} failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// A fresh copy of the workbook for one lesson's self-test, so that verifying
/// two lessons at once cannot disturb either.
pub(crate) fn scratch_copy(root: &Path, lesson: &Lesson) -> Result<PathBuf> {
    let scratch = root.join("target/xtask/verify").join(&lesson.dir_name);
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).context("clearing the scratch copy")?;
    }
    copy_tree(root, root, &scratch)?;
    Ok(scratch)
}

/// Not the learner's target folder: cargo hashes workspace members by their
/// path inside the workspace, so a copy's build would overwrite the learner's.
pub(crate) fn target_dir(scratch: &Path) -> PathBuf {
    scratch.parent().and_then(Path::parent).unwrap_or(scratch).join("verify-target")
}

fn verify_lesson(scratch: &Path, lesson: &Lesson, bless: bool) -> Result<bool> {
    let dir = lesson.dir_in(scratch);
    let kprobes = host::kprobes_available();
    let mut ok = true;

    for (i, layer) in lesson.meta.layers.iter().enumerate() {
        let k = i + 1;
        if let Some(reason) = layer.skip_reason() {
            println!("  layer {k} ({}): skipped, {reason}", layer.name);
            apply_fixes(&dir, k, layer)?;
            continue;
        }
        let run = run_lesson(scratch, lesson, &target_dir(scratch))?;
        let expected = snapshot::name_for(&lesson.snapshots(), &format!("layer-{k}"), "host", kprobes);
        let as_documented = snapshot::matches(&lesson.snapshots(), &expected, &run.transcript);
        let earlier = lesson.meta.layers[..i].iter().find(|l| run.transcript.contains(&l.symptom));
        let verdict = if !as_documented && !bless {
            "✗ differs from its snapshot (diff above)".to_string()
        } else if !run.transcript.contains(&layer.symptom) {
            format!("✗ the transcript lacks the symptom {:?}", layer.symptom)
        } else if let Some(earlier) = earlier {
            format!("✗ still shows an earlier layer's symptom {:?}", earlier.symptom)
        } else {
            "✓ fails as documented".to_string()
        };
        ok &= verdict.starts_with('✓');
        println!("  layer {k} ({}): {verdict}", layer.name);
        apply_fixes(&dir, k, layer)?;
    }

    let solution = lesson.dir.join("solution");
    for file in files_under(&solution)? {
        let relative = file.strip_prefix(&solution)?;
        if std::fs::read(&file)? != std::fs::read(dir.join(relative)).unwrap_or_default() {
            println!("  ✗ the layer fixes in lesson.toml do not produce solution/{}", relative.display());
            ok = false;
        }
    }

    let run = run_lesson(scratch, lesson, &target_dir(scratch))?;
    let expected = snapshot::name_for(&lesson.snapshots(), "fixed", "host", kprobes);
    let passes = snapshot::matches(&lesson.snapshots(), &expected, &run.transcript);
    let fakes_fail = !run.transcript.contains("stopped  at") && run.transcript.contains("observed ");
    match (passes || bless, fakes_fail) {
        (true, true) => println!("  solution: ✓ passes"),
        (true, false) => {
            println!("  solution: ✗ its snapshot does not show the program observing anything");
            ok = false;
        }
        (false, _) => {
            println!("  solution: ✗ differs from the fixed snapshot (diff above)");
            ok = false;
        }
    }
    Ok(ok)
}

pub(crate) fn apply_fixes(dir: &Path, k: usize, layer: &Layer) -> Result<()> {
    for edit in &layer.fix {
        apply(dir, edit).with_context(|| format!("layer {k}'s fix to {}", edit.file))?;
    }
    Ok(())
}

/// Replaces the single occurrence of `edit.find`.
fn apply(dir: &Path, edit: &Edit) -> Result<()> {
    let path = dir.join(&edit.file);
    let text = std::fs::read_to_string(&path)?;
    match text.matches(edit.find.as_str()).count() {
        1 => Ok(std::fs::write(&path, text.replacen(&edit.find, &edit.replace, 1))?),
        0 => bail!("its text is not in the file"),
        n => bail!("its text is in the file {n} times"),
    }
}

pub(crate) fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.exists() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(files_under(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

/// Copies `from` to `to`, leaving out [`NOT_COPIED`] (relative to `top`).
pub fn copy_tree(top: &Path, from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        let relative = path.strip_prefix(top)?;
        if NOT_COPIED.iter().any(|skip| relative == Path::new(skip)) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(top, &path, &target)?;
        } else {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}
