//! `cargo xtask dev verify [--kernels …]`: the workbook's self-test. Each lesson's
//! broken layers, its solution, and its alternatives and fakes are built once,
//! on this machine, and the same binaries run on every chosen kernel: the
//! host's own (plain `verify`), and Debian's under qemu. Each run is judged
//! against the lesson's snapshot for that kernel; each alternative must pass
//! and each fake fail, as `check` would judge them there. The outcomes are
//! printed as a table, and checked against the book's compatibility page,
//! which only `--bless` rewrites.
//!
//! The states and their judge are the workbook's ([`selftest`], [`judge`]),
//! the boots the machine's ([`vm_pool`]), the table and the record the report's.
//!
//! [`judge`]: crate::workbook::judge

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use crate::commands::verify_args::VerifyArgs;
use crate::commands::vm_probes;
use crate::machine::kernels::{self, Choice, Kernel};
use crate::machine::vm_pool::{self, Finished, Queue};
use crate::machine::{host, interrupt, vm};
use crate::report::matrix as report;
use crate::usage_error::UsageError;
use crate::workbook::kernel_lock;
use crate::workbook::lessons;
use crate::workbook::selftest::{self, Slot, Target, Timings};

/// Whether a compatibility record that disagrees with the run fails it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// `--kernels`, and CI: the book's page must say what was measured.
    Enforced,
    /// Plain `dev verify`, the lesson's own self-test: the record's state is reported, not judged.
    Reported,
}

/// What a run in the shared pool of boots is for: a lesson's state, or a probe.
enum Tag {
    State(Slot),
    Probe(usize),
}

/// The pool's results, parted into the lessons' and the probes' (each queue holds one kind).
fn split(finished: Vec<Finished<Tag>>) -> (Vec<Finished<Slot>>, Vec<Finished<usize>>) {
    let (mut states, mut probes) = (Vec::new(), Vec::new());
    for queue in finished {
        let (mut state_runs, mut probe_runs) = (Vec::new(), Vec::new());
        for (tag, result) in queue.results {
            match tag {
                Tag::State(slot) => state_runs.push((slot, result)),
                Tag::Probe(i) => probe_runs.push((i, result)),
            }
        }
        let (boots, shares) = (queue.boots, queue.shares);
        if probe_runs.is_empty() {
            states.push(Finished { results: state_runs, boots, shares });
        } else {
            probes.push(Finished { results: probe_runs, boots, shares });
        }
    }
    (states, probes)
}

pub fn verify(root: &Path, args: &VerifyArgs, record: Record) -> Result<ExitCode> {
    let (wanted, wanted_kernels, bless, timings) = (&args.lessons, &args.kernels, args.bless, args.timings);
    let started = Instant::now();
    let lessons =
        if wanted.is_empty() { lessons::all(root)? } else { wanted.iter().map(|w| lessons::find(root, w)).collect::<Result<_>>()? };
    let choices = if args.arm64() { kernels::arm64_choices(wanted_kernels)? } else { kernels::choices(wanted_kernels)? };
    if choices.is_empty() {
        return Err(UsageError(format!("--kernels needs `all` or names from {}", kernels::names().join(", "))).into());
    }
    let uses_vm = choices.iter().any(|c| matches!(c, Choice::Debian(_)));
    if args.arm64() {
        // The lessons are built in the cross root, made here the first time.
        crate::machine::cross::ensure_root(|question| {
            crate::report::terminal::confirm(question, args.yes, "`--yes` makes it without asking")
        })?;
    }
    let problems = if args.arm64() {
        Vec::new()
    } else if uses_vm {
        vm::preflight()
    } else {
        host::build_problems()
    };
    if !problems.is_empty() {
        eprintln!("the self-test cannot run on this machine yet:");
        problems.iter().for_each(|p| eprintln!("{p}"));
        return Ok(ExitCode::FAILURE);
    }
    let mut targets = Vec::new();
    for choice in &choices {
        match choice {
            Choice::Host => targets.push(Target::Host),
            Choice::Debian(series) => match kernel_lock::pin(root, series).and_then(|pin| kernels::ensure(series, &pin)) {
                Ok(kernel) => targets.push(Target::Vm(kernel)),
                Err(error) => {
                    eprintln!("error: {error:#}");
                    return Ok(ExitCode::FAILURE);
                }
            },
        }
    }
    for target in &targets {
        println!("kernel {:<5} {}", target.name(), target.describe());
    }

    let mut timing = Timings::default();
    let mut runs = Vec::new();
    let mut failed = 0;
    // Lessons none of these kernels can run: neither passed nor failed.
    let mut skipped = 0;
    for lesson in &lessons {
        println!("lesson {} · {}: building each state once", lesson.number, lesson.meta.title);
        match selftest::build_lesson(root, lesson, &targets, !args.layers_only, &mut timing) {
            Ok(lesson_runs) => runs.push(lesson_runs),
            // A lesson that cannot be set up (a layer fix that no longer applies) fails alone.
            Err(error) => {
                interrupt::check()?;
                println!("lesson {}: ✗ {error:#}", lesson.number);
                failed += 1;
            }
        }
    }

    // The whole workbook's run also runs the probes that need another kernel,
    // in the same pool of boots: their boots fill a CPU the lessons' last boots leave idle.
    let vm_kernels: Vec<&Kernel> = targets.iter().filter_map(|t| if let Target::Vm(k) = t { Some(k) } else { None }).collect();
    let mut probes = if wanted.is_empty() && !args.arm64() { Some(vm_probes::queue(root, &vm_kernels)?) } else { None };
    let mut queues: Vec<Queue<Tag>> = selftest::guest_queues(&runs, &targets).into_iter().map(|q| q.map(Tag::State)).collect();
    if let Some(probes) = &mut probes {
        queues.extend(std::mem::take(&mut probes.queues).into_iter().map(|q| q.map(Tag::Probe)));
    }
    let booted = Instant::now();
    let ran = vm_pool::run_all(queues, &root.join("target/xtask/matrix/vm"));
    timing.boots_side_by_side = ran.side_by_side;
    let (states, probe_runs) = split(ran.queues);
    timing.probes_guest_seconds = probe_runs.iter().flat_map(|f| &f.shares).sum();
    selftest::fill_from_guests(&mut runs, &targets, states, &mut timing);
    interrupt::check()?;
    timing.boots_wall = booted.elapsed().as_secs_f64();

    let mut results = Vec::new();
    for lesson_runs in &runs {
        let cells = report::cells(lesson_runs, &targets, bless)?;
        if !report::lesson_passed(lesson_runs, &cells) {
            failed += 1;
        } else if report::lesson_skipped(&cells) {
            skipped += 1;
        }
        results.push((lesson_runs, cells));
    }
    println!();
    report::print_table(&results, &targets);
    let (verdict, stale) = report::compare_with_record(root, &results, &targets, bless)?;

    let probes_failed = match &probes {
        Some(probes) => {
            println!();
            vm_probes::judge(root, probes, probe_runs, args.on_mismatch())?
        }
        None => 0,
    };

    let passed = lessons.len() - failed - skipped;
    let probes = if probes_failed > 0 { format!(", {probes_failed} probe runs failed") } else { String::new() };
    let skipped = if skipped > 0 { format!(", {skipped} skipped (no kernel of this run can run it)") } else { String::new() };
    println!("\nverify: {passed} passed, {failed} failed{skipped}{probes}; {verdict}");
    if timings {
        report::print_timings(&timing, started.elapsed().as_secs_f64());
    }
    let stale = stale && record == Record::Enforced;
    Ok(if failed == 0 && probes_failed == 0 && !stale { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `verify --kernels … --probes`: only the book's probes that need another
/// kernel (`book/probes/vm.toml`), on the chosen Debian kernels; no lesson runs.
pub fn verify_probes(root: &Path, args: &VerifyArgs) -> Result<ExitCode> {
    let wanted_kernels = &args.kernels;
    let choices = kernels::choices(wanted_kernels)?;
    if !choices.iter().any(|c| matches!(c, Choice::Debian(_))) {
        let names = kernels::names().join(", ");
        return Err(UsageError(format!("--probes needs Debian kernels: `all`, or names from {names}")).into());
    }
    let problems = vm::preflight();
    if !problems.is_empty() {
        eprintln!("the probes cannot run under qemu on this machine yet:");
        problems.iter().for_each(|p| eprintln!("{p}"));
        return Ok(ExitCode::FAILURE);
    }
    let mut chosen = Vec::new();
    for choice in &choices {
        if let Choice::Debian(series) = choice {
            chosen.push(kernel_lock::pin(root, series).and_then(|pin| kernels::ensure(series, &pin))?);
        }
    }
    let vm_kernels: Vec<&Kernel> = chosen.iter().collect();
    let failed = crate::commands::vm_probes::verify(root, &vm_kernels, args.on_mismatch())?;
    println!("\nverify --kernels --probes: {failed} probe runs failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
