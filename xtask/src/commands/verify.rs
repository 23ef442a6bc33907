//! `cargo xtask verify`: the workbook's self-test. In a scratch copy, never in
//! the learner's files, every lesson must fail layer by layer exactly as its
//! snapshots say, the layer fixes must add up to `solution/`, and the solution
//! must pass.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::machine::host;
use crate::workbook::cases;
use crate::workbook::lessons::{self, Lesson};
use crate::workbook::run::run_lesson;
use crate::workbook::scratch::{apply_fixes, files_under, scratch_copy, target_dir};
use crate::workbook::snapshot;

pub fn verify(root: &Path, wanted: &[String], bless: bool) -> Result<ExitCode> {
    let lessons =
        if wanted.is_empty() { lessons::all(root)? } else { wanted.iter().map(|w| lessons::find(root, w)).collect::<Result<_>>()? };
    for lesson in &lessons {
        let problems = lesson.meta.needs.problems_here();
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
        let earlier = lesson.meta.layers[..i].iter().find(|l| l.shows(&run.transcript));
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

    let solution = lesson.solution();
    for file in files_under(&solution)? {
        let relative = file.strip_prefix(&solution)?;
        if std::fs::read(&file)? != std::fs::read(dir.join(relative)).unwrap_or_default() {
            println!("  ✗ the layer fixes in lesson.toml do not produce course/{}/solution/{}", lesson.dir_name, relative.display());
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

    // Other learners' fixes must pass and fakes must fail, judged as `check` judges.
    let fixed = snapshot::name_for(&lesson.snapshots(), "fixed", "host", kprobes);
    let release = crate::machine::kernels::major_minor(&crate::machine::kernels::host_release());
    for case in cases::all(lesson)? {
        let replaced = case.lay_over(&dir)?;
        let run = run_lesson(scratch, lesson, &target_dir(scratch));
        cases::restore(replaced)?;
        let run = run?;
        let passes = snapshot::same_as_stored(&lesson.snapshots(), &fixed, &run.transcript);
        match case.judge(passes, &run.transcript, release) {
            Ok(outcome) if passes => println!("  {}: ✓ {outcome}", case.label()),
            Ok(outcome) => println!("  {}: ✓ {outcome} ({})", case.label(), crate::commands::matrix::summary(&run.transcript)),
            Err(why) => {
                println!("  {}: ✗ {why} ({}); its transcript:", case.label(), case.about);
                run.transcript.lines().for_each(|l| println!("      {l}"));
                ok = false;
            }
        }
    }
    Ok(ok)
}
