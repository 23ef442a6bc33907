//! `cargo xtask verify --kernels …`: the matrix. Each lesson's broken layers,
//! its solution, and its alternatives and fakes are built once, on this
//! machine, and the same binaries run on every chosen kernel: the host's own,
//! and Debian's under qemu. Each layer and solution run is judged against the
//! lesson's snapshot for that kernel; each alternative must pass and each fake
//! fail, as `check` would judge them there. The outcomes are printed as a
//! table, and the layers' and solution's are checked against the book's
//! compatibility page, which only `--bless` rewrites.
//!
//! One boot per kernel runs every lesson's states in turn (a boot costs 5 to
//! 10 s under TCG), and the kernels boot side by side, one per CPU. What a
//! boot runs is a list of (binary, environment, expected snapshot) runs, so
//! any state added to a lesson's row runs on every kernel with the rest.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::machine::cargo::{self, Build};
use crate::machine::host;
use crate::machine::kernels::{self, Choice, Kernel};
use crate::machine::runner;
use crate::machine::vm;
use crate::report::compatibility::{self, Cell, Mark};
use crate::usage_error::UsageError;
use crate::workbook::cases::{self, Case};
use crate::workbook::kernel_lock;
use crate::workbook::lessons::{self, Lesson};
use crate::workbook::portability;
use crate::workbook::run::{self, Run};
use crate::workbook::scratch;
use crate::workbook::snapshot;

/// A kernel the matrix runs on.
enum Target {
    Host,
    Vm(Kernel),
}

impl Target {
    fn name(&self) -> &'static str {
        match self {
            Target::Host => "host",
            Target::Vm(kernel) => kernel.series.name,
        }
    }

    fn kprobes(&self) -> bool {
        match self {
            Target::Host => host::kprobes_available(),
            Target::Vm(kernel) => kernel.kprobes(),
        }
    }

    /// The kernel's version, which a case's `min_kernel` is compared with.
    fn release(&self) -> Option<(u32, u32)> {
        match self {
            Target::Host => kernels::major_minor(&kernels::host_release()),
            Target::Vm(kernel) => kernels::major_minor(&kernel.manifest.release),
        }
    }

    fn describe(&self) -> String {
        match self {
            Target::Host => {
                let (major, minor) = kernels::major_minor(&kernels::host_release()).unwrap_or_default();
                format!("Linux {major}.{minor}, the machine that ran the matrix, natively")
            }
            Target::Vm(kernel) => {
                format!("Debian's {} {} ({}), under qemu", kernel.manifest.package, kernel.manifest.version, kernel.series.release)
            }
        }
    }
}

/// A broken layer, the solution, or another learner's fix or fake.
struct State {
    /// The snapshot's name, `layer-K` or `fixed`; for a case, `fake-<name>`,
    /// which has no snapshot: a case is judged against `fixed`.
    name: String,
    label: String,
    layer: Option<usize>,
    case: Option<Case>,
    artifact: Artifact,
}

enum Artifact {
    /// No kernel of this run can run it (a kprobe layer, with no kprobes anywhere).
    NotBuilt,
    /// A failed build: the same on every kernel.
    Failed {
        transcript: String,
        log: String,
    },
    Built {
        compile: String,
        job: vm::Job,
    },
}

/// What one state did on one kernel.
enum Outcome {
    Ran(Run),
    Skipped(String),
    NotRun(String),
    /// The guest hung or crashed before the state's binary finished.
    GuestFailed(String),
}

/// One lesson's row of the matrix.
struct LessonRuns {
    lesson: Lesson,
    states: Vec<State>,
    /// `outcomes[state][target]`.
    outcomes: Vec<Vec<Option<Outcome>>>,
    /// Problems found while building: fixes that do not add up to solution/.
    problems: Vec<String>,
}

#[derive(Default)]
struct Timings {
    /// (lesson, states built, seconds)
    builds: Vec<(String, usize, f64)>,
    host_runs: usize,
    host_seconds: f64,
    /// (kernel, runs, seconds of each boot)
    boots: Vec<(String, usize, Vec<f64>)>,
    boots_wall: f64,
}

pub fn verify(root: &Path, wanted: &[String], wanted_kernels: &[String], bless: bool, timings: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let lessons =
        if wanted.is_empty() { lessons::all(root)? } else { wanted.iter().map(|w| lessons::find(root, w)).collect::<Result<_>>()? };
    let choices = kernels::choices(wanted_kernels)?;
    if choices.is_empty() {
        return Err(UsageError(format!("--kernels needs `all` or names from {}", kernels::names().join(", "))).into());
    }
    let uses_vm = choices.iter().any(|c| matches!(c, Choice::Debian(_)));
    let problems = if uses_vm { vm::preflight() } else { host::build_problems() };
    if !problems.is_empty() {
        eprintln!("the matrix cannot run on this machine yet:");
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
    for lesson in &lessons {
        println!("lesson {} · {}: building each state once", lesson.number, lesson.meta.title);
        let built = Instant::now();
        let mut lesson_runs = build_lesson(root, lesson, &targets, &mut timing)?;
        let count = lesson_runs.states.iter().filter(|s| !matches!(s.artifact, Artifact::NotBuilt)).count();
        let seconds = built.elapsed().as_secs_f64();
        timing.builds.push((lesson.number.clone(), count, seconds));
        fill_without_boot(&mut lesson_runs, &targets);
        runs.push(lesson_runs);
    }

    let booted = Instant::now();
    boot_all(&mut runs, &targets, &mut timing);
    crate::machine::interrupt::check()?;
    timing.boots_wall = booted.elapsed().as_secs_f64();

    let mut failed = 0;
    let mut results = Vec::new();
    for lesson_runs in &runs {
        let cells = judge_lesson(lesson_runs, &targets, bless)?;
        let unexpected = cells.iter().flatten().filter(|c| c.mark == Mark::Unexpected).count();
        let not_run = cells.iter().flatten().filter(|c| c.mark == Mark::NotRun).count();
        if unexpected + not_run > 0 || !lesson_runs.problems.is_empty() {
            failed += 1;
        }
        results.push((lesson_runs, cells));
    }

    println!();
    print_table(&results, &targets);
    // The page documents the lessons' own states; the cases are the self-test's.
    let record: Vec<compatibility::LessonRecord> = results
        .iter()
        .map(|(runs, cells)| {
            let own: Vec<usize> = (0..runs.states.len()).filter(|&s| runs.states[s].case.is_none()).collect();
            compatibility::LessonRecord {
                lesson: &runs.lesson,
                states: own.iter().map(|&s| (runs.states[s].name.clone(), runs.states[s].label.clone())).collect(),
                cells: own.iter().map(|&s| cells[s].clone()).collect(),
            }
        })
        .collect();
    let kernel_rows: Vec<(String, String)> = targets.iter().map(|t| (t.name().to_string(), t.describe())).collect();
    let measured = compatibility::merge(root, &kernel_rows, &record)?;
    let recorded = compatibility::load(root).unwrap_or_default();
    let page = format!("{} and {}", compatibility::RESULTS, compatibility::PAGE);
    let mut stale = false;
    let verdict = if bless {
        compatibility::write(root, &measured)?;
        format!("{page} rewritten")
    } else {
        let differences = compatibility::differences(&recorded, &measured);
        if differences.is_empty() {
            format!("{page} agree with this run")
        } else {
            stale = true;
            println!("\n{page} do not say what this run measured:");
            differences.iter().for_each(|d| println!("  {d}"));
            println!("if that is what the workbook should say now: cargo xtask verify --kernels all --bless, and commit both");
            format!("{page} are stale")
        }
    };
    let gaps = compatibility::staleness(root, if bless { &measured } else { &recorded })?;
    if !gaps.is_empty() {
        println!("\nthe compatibility page is not complete yet (a full run, --kernels all, fills it):");
        gaps.iter().for_each(|g| println!("  {g}"));
    }
    // The whole workbook's run also runs the probes that need another kernel.
    let vm_kernels: Vec<&Kernel> = targets.iter().filter_map(|t| if let Target::Vm(k) = t { Some(k) } else { None }).collect();
    let probes_failed = if wanted.is_empty() {
        println!();
        crate::commands::vm_probes::verify(root, &vm_kernels)?
    } else {
        0
    };

    let passed = runs.len() - failed;
    let probes = if probes_failed > 0 { format!(", {probes_failed} probe runs failed") } else { String::new() };
    println!("\nverify --kernels: {passed} passed, {failed} failed{probes}; {verdict}");
    if timings {
        print_timings(&timing, started.elapsed().as_secs_f64());
    }
    Ok(if failed == 0 && probes_failed == 0 && !stale { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `verify --kernels … --probes`: only the book's probes that need another
/// kernel (`book/probes/vm.toml`), on the chosen Debian kernels; no lesson runs.
pub fn verify_probes(root: &Path, wanted_kernels: &[String]) -> Result<ExitCode> {
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
    let failed = crate::commands::vm_probes::verify(root, &vm_kernels)?;
    println!("\nverify --kernels --probes: {failed} probe runs failed");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Builds every state of a lesson in a scratch copy, layer fixes applied one
/// by one, and runs each on this machine right after its build.
fn build_lesson(root: &Path, lesson: &Lesson, targets: &[Target], timing: &mut Timings) -> Result<LessonRuns> {
    let scratch = scratch::scratch_copy(root, lesson)?;
    let dir = lesson.dir_in(&scratch);
    let scratch_lesson = Lesson { dir: dir.clone(), ..lesson.clone() };
    let target_dir = scratch::target_dir(&scratch);
    let kept = root.join("target/xtask/matrix").join(&lesson.dir_name);
    if kept.exists() {
        std::fs::remove_dir_all(&kept)?;
    }
    let host = targets.iter().position(|t| matches!(t, Target::Host));
    let host_blocked: Vec<String> = lesson.meta.needs.problems_here().iter().map(|f| f.detail.clone()).collect();

    let mut runs = LessonRuns { lesson: lesson.clone(), states: Vec::new(), outcomes: Vec::new(), problems: Vec::new() };
    let count = lesson.meta.layers.len();
    for k in 1..=count + 1 {
        let layer = lesson.meta.layers.get(k - 1);
        let (name, label) = match layer {
            Some(layer) => (format!("layer-{k}"), format!("layer {k}: {}", layer.name)),
            None => ("fixed".to_string(), "solution".to_string()),
        };
        let needed = layer.is_none_or(|l| targets.iter().any(|t| l.skip_reason_on(t.kprobes()).is_none()));
        let artifact = if needed { build_state(&scratch, &scratch_lesson, &target_dir, &kept.join(&name))? } else { Artifact::NotBuilt };
        let skip = layer.and_then(|l| l.skip_reason());
        let outcomes = host_outcomes(targets, host, skip, &host_blocked, &artifact, timing)?;
        runs.states.push(State { name, label, layer: layer.map(|_| k), case: None, artifact });
        runs.outcomes.push(outcomes);
        if let Some(layer) = layer {
            scratch::apply_fixes(&dir, k, layer)?;
            if k == count {
                runs.problems.extend(solution_mismatches(lesson, &dir)?);
            }
        }
    }

    // Other learners' fixes and fakes, each laid over the solution in turn.
    for case in cases::all(lesson)? {
        let name = format!("{}-{}", case.kind.folder().trim_end_matches('s'), case.name);
        let replaced = case.lay_over(&dir)?;
        let artifact = build_state(&scratch, &scratch_lesson, &target_dir, &kept.join(&name));
        cases::restore(replaced)?;
        let artifact = artifact?;
        let outcomes = host_outcomes(targets, host, None, &host_blocked, &artifact, timing)?;
        runs.states.push(State { name, label: case.label(), layer: None, case: Some(case), artifact });
        runs.outcomes.push(outcomes);
    }
    Ok(runs)
}

/// A state's row of outcomes with the host's filled in, run right after its
/// build; the other kernels' cells stay empty for now.
fn host_outcomes(
    targets: &[Target],
    host: Option<usize>,
    skip: Option<String>,
    host_blocked: &[String],
    artifact: &Artifact,
    timing: &mut Timings,
) -> Result<Vec<Option<Outcome>>> {
    let mut outcomes: Vec<Option<Outcome>> = targets.iter().map(|_| None).collect();
    if let Some(h) = host {
        outcomes[h] = Some(if let Some(reason) = skip {
            Outcome::Skipped(reason)
        } else if !host_blocked.is_empty() {
            Outcome::NotRun(host_blocked.join("; "))
        } else {
            let started = Instant::now();
            let outcome = run_on_host(artifact)?;
            timing.host_seconds += started.elapsed().as_secs_f64();
            timing.host_runs += 1;
            outcome
        });
    }
    Ok(outcomes)
}

/// The files of `course/NN-name/solution/` that the layer fixes did not reproduce.
fn solution_mismatches(lesson: &Lesson, fixed_dir: &Path) -> Result<Vec<String>> {
    let solution = lesson.solution();
    let mut problems = Vec::new();
    for file in scratch::files_under(&solution)? {
        let relative = file.strip_prefix(&solution)?;
        if std::fs::read(&file)? != std::fs::read(fixed_dir.join(relative)).unwrap_or_default() {
            problems.push(format!(
                "the layer fixes in lesson.toml do not produce course/{}/solution/{}",
                lesson.dir_name,
                relative.display()
            ));
        }
    }
    Ok(problems)
}

/// Builds the scratch copy as it stands, and keeps the binary and its object
/// in `kept`: the next state's build overwrites both.
fn build_state(scratch: &Path, lesson: &Lesson, target_dir: &Path, kept: &Path) -> Result<Artifact> {
    match cargo::build(scratch, &lesson.package, &lesson.dir, target_dir)? {
        Build::Failed { lines, output } => Ok(Artifact::Failed { transcript: lines.join("\n"), log: output }),
        Build::Built { binary, object, .. } => {
            // The portability lines are the object's, so they are proven here, once.
            let mut compile = vec![run::compile_line(object.as_deref())?];
            compile.extend(portability::lines(lesson, &binary));
            let compile = compile.join("\n");
            std::fs::create_dir_all(kept)?;
            let copy = kept.join(binary.file_name().context("a binary without a name")?);
            std::fs::copy(&binary, &copy)?;
            let mut files = Vec::new();
            if let Some(object) = object {
                let object_copy = kept.join(object.file_name().context("an object without a name")?);
                std::fs::copy(&object, &object_copy)?;
                files.push((object_copy, object));
            }
            Ok(Artifact::Built { compile, job: vm::Job { binary: copy, files, args: Vec::new(), env: Vec::new() } })
        }
    }
}

fn run_on_host(artifact: &Artifact) -> Result<Outcome> {
    Ok(match artifact {
        Artifact::NotBuilt => Outcome::NotRun("not built".to_string()),
        Artifact::Failed { transcript, log } => Outcome::Ran(Run::not_built(transcript.clone(), log.clone())),
        Artifact::Built { compile, job } => {
            // The build-time object is in place: this state was the last one built.
            let output = runner::run_privileged(&job.binary)?;
            Outcome::Ran(Run::ran(vec![compile.clone()], output, Vec::new()))
        }
    })
}

/// Fills in what needs no boot: skipped layers, kernels too old for the
/// lesson, and failed builds (whose transcript is the same everywhere).
fn fill_without_boot(runs: &mut LessonRuns, targets: &[Target]) {
    let min = kernels::major_minor(&runs.lesson.meta.needs.min_kernel);
    for (s, state) in runs.states.iter().enumerate() {
        for (t, target) in targets.iter().enumerate() {
            let Target::Vm(kernel) = target else { continue };
            let layer = state.layer.map(|k| &runs.lesson.meta.layers[k - 1]);
            let too_old = min.is_some_and(|m| kernels::major_minor(&kernel.manifest.release).is_some_and(|r| r < m));
            runs.outcomes[s][t] = if let Some(reason) = layer.and_then(|l| l.skip_reason_on(target.kprobes())) {
                Some(Outcome::Skipped(reason))
            } else if too_old {
                Some(Outcome::Skipped(format!("the lesson needs Linux {} or newer", runs.lesson.meta.needs.min_kernel)))
            } else if let Artifact::Failed { transcript, log } = &state.artifact {
                Some(Outcome::Ran(Run::not_built(transcript.clone(), log.clone())))
            } else {
                None
            };
        }
    }
}

/// One run in a guest: the job (binary, files, environment), and the cell
/// its outcome fills, `outcomes[state][target]` of lesson `lesson`, judged
/// against that state's snapshot for the kernel.
struct GuestRun {
    lesson: usize,
    state: usize,
    job: vm::Job,
}

/// Every run a kernel's boot makes, lesson by lesson, state by state: the
/// built states whose cell nothing else has filled yet.
fn guest_runs(runs: &[LessonRuns], target: usize) -> Vec<GuestRun> {
    let mut list = Vec::new();
    for (l, lesson_runs) in runs.iter().enumerate() {
        for (s, state) in lesson_runs.states.iter().enumerate() {
            if let (None, Artifact::Built { job, .. }) = (&lesson_runs.outcomes[s][target], &state.artifact) {
                list.push(GuestRun { lesson: l, state: s, job: job.clone() });
            }
        }
    }
    list
}

/// What one kernel's runs gave back: each run's output or why there is none.
struct KernelOutcome {
    target: usize,
    results: Vec<(GuestRun, Result<runner::Output, String>)>,
    /// Seconds of each boot (more than one only when a guest failed part-way).
    boots: Vec<f64>,
}

/// Boots each kernel once and runs all of its runs in that one guest; the
/// kernels boot side by side, one per CPU, the longest list first. Should a
/// guest hang or crash, the run it was on is marked and the runs after it
/// get a fresh boot.
fn boot_all(runs: &mut [LessonRuns], targets: &[Target], timing: &mut Timings) {
    let mut lists: Vec<(usize, Vec<GuestRun>)> = (0..targets.len())
        .filter(|&t| matches!(targets[t], Target::Vm(_)))
        .map(|t| (t, guest_runs(runs, t)))
        .filter(|(_, list)| !list.is_empty())
        .collect();
    if lists.is_empty() {
        return;
    }
    // Workers pop from the end: the shortest list last.
    lists.sort_by_key(|(_, list)| list.len());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(lists.len());
    let total: usize = lists.iter().map(|(_, list)| list.len()).sum();
    println!("booting {} VMs, one per kernel, {workers} at a time: {total} runs", lists.len());
    let queue = Mutex::new(lists);
    let finished = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some((t, list)) = queue.lock().expect("queue lock").pop() else { break };
                let Target::Vm(kernel) = &targets[t] else { continue };
                let outcome = run_on_kernel(kernel, t, list);
                finished.lock().expect("results lock").push(outcome);
            });
        }
    });

    let mut finished = finished.into_inner().expect("results lock");
    finished.sort_by_key(|k| k.target);
    for outcome in finished {
        let kernel = targets[outcome.target].name().to_string();
        timing.boots.push((kernel, outcome.results.len(), outcome.boots));
        for (run, result) in outcome.results {
            let lesson_runs = &mut runs[run.lesson];
            let Artifact::Built { compile, .. } = &lesson_runs.states[run.state].artifact else { continue };
            lesson_runs.outcomes[run.state][outcome.target] = Some(match result {
                Ok(output) => Outcome::Ran(Run::ran(vec![compile.clone()], output, Vec::new())),
                Err(why) => Outcome::GuestFailed(why),
            });
        }
    }
}

/// Runs `list` on `kernel` in one boot (one per [`vm::JOBS_PER_BOOT`] runs),
/// or in one more after each run that took the guest down.
fn run_on_kernel(kernel: &Kernel, target: usize, mut list: Vec<GuestRun>) -> KernelOutcome {
    let name = kernel.series.name;
    let work = crate::workbook::root().join("target/xtask/matrix/vm").join(name);
    let mut outcome = KernelOutcome { target, results: Vec::new(), boots: Vec::new() };
    while !list.is_empty() {
        let jobs: Vec<vm::Job> = list.iter().take(vm::JOBS_PER_BOOT).map(|run| run.job.clone()).collect();
        let boot = match vm::boot(kernel, &jobs, &work) {
            Ok(boot) => boot,
            Err(error) => {
                println!("  {name}: ✗ {error:#}");
                let why = format!("{error:#}");
                outcome.results.extend(list.drain(..).map(|run| (run, Err(why.clone()))));
                break;
            }
        };
        outcome.boots.push(boot.seconds);
        let done = boot.outputs.iter().take_while(|o| o.is_some()).count();
        println!(
            "  {name}: {done} of {} runs in {:.1} s{}",
            jobs.len(),
            boot.seconds,
            boot.failure.as_ref().map(|f| format!(" ✗ {f}")).unwrap_or_default()
        );
        let mut outputs = boot.outputs.into_iter();
        for run in list.drain(..done) {
            outcome.results.push((run, Ok(outputs.next().flatten().expect("counted as done"))));
        }
        if done < jobs.len() {
            // The run the guest was on when it failed; the rest boot again.
            let why = boot.failure.unwrap_or_else(|| "the guest sent no transcript".to_string());
            outcome.results.push((list.remove(0), Err(why)));
        }
    }
    outcome
}

/// Judges every cell of a lesson; prints what is wrong, and with `bless`
/// writes the snapshots. Kernels are judged host first, then newest to
/// oldest, so a kernel-specific snapshot is written only where a kernel's
/// transcript differs from the default one.
fn judge_lesson(runs: &LessonRuns, targets: &[Target], bless: bool) -> Result<Vec<Vec<Cell>>> {
    let lesson = &runs.lesson;
    for problem in &runs.problems {
        println!("lesson {}: ✗ {problem}", lesson.number);
    }
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&t| (!matches!(targets[t], Target::Host), std::cmp::Reverse(t)));

    // The snapshots this run has written: any other is from an earlier run.
    let mut blessed = bless.then(BTreeSet::new);
    let mut cells = Vec::new();
    for (s, state) in runs.states.iter().enumerate() {
        let mut row: Vec<Cell> = targets.iter().map(|_| Cell { mark: Mark::NotRun, outcome: String::new() }).collect();
        for &t in &order {
            let kernel = targets[t].name();
            let cell = match &runs.outcomes[s][t] {
                None => Cell { mark: Mark::NotRun, outcome: "not run".to_string() },
                Some(Outcome::Skipped(reason)) => {
                    let short = reason.split(" (").next().unwrap_or(reason);
                    Cell { mark: Mark::Skipped, outcome: format!("skipped: {short}") }
                }
                Some(Outcome::NotRun(reason)) => Cell { mark: Mark::NotRun, outcome: format!("not run: {reason}") },
                Some(Outcome::GuestFailed(reason)) => {
                    println!("lesson {} {} on {kernel}: ✗ {reason}", lesson.number, state.label);
                    Cell { mark: Mark::Unexpected, outcome: "guest failed".to_string() }
                }
                Some(Outcome::Ran(run)) => {
                    let target = &targets[t];
                    let verdict =
                        judge(lesson, state, target.name(), target.kprobes(), target.release(), &run.transcript, blessed.as_mut())?;
                    if let Err(why) = &verdict {
                        println!("lesson {} {} on {kernel}: ✗ {why}", lesson.number, state.label);
                        save_log(lesson, state, kernel, run);
                    }
                    let mark = if verdict.is_ok() { Mark::AsDocumented } else { Mark::Unexpected };
                    Cell { mark, outcome: summary(&run.transcript) }
                }
            };
            row[t] = cell;
        }
        cells.push(row);
    }
    Ok(cells)
}

/// Keeps the full transcript and libbpf log of a run that went wrong.
fn save_log(lesson: &Lesson, state: &State, kernel: &str, run: &Run) {
    let path = crate::workbook::root().join("target/xtask/matrix/logs").join(format!("{}-{}@{kernel}.log", lesson.number, state.name));
    let text = format!("{}\n\n--- libbpf log ---\n{}", run.transcript, run.log);
    if std::fs::create_dir_all(path.parent().expect("a parent")).is_ok() && std::fs::write(&path, text).is_ok() {
        println!("    transcript and libbpf log: {}", path.strip_prefix(crate::workbook::root()).unwrap_or(&path).display());
    }
}

/// Ok when the run on `kernel` is what the lesson documents; Err says why not.
fn judge(
    lesson: &Lesson,
    state: &State,
    kernel: &str,
    kprobes: bool,
    release: Option<(u32, u32)>,
    transcript: &str,
    bless: Option<&mut BTreeSet<String>>,
) -> Result<Result<(), String>> {
    let dir = lesson.snapshots();
    if let Some(case) = &state.case {
        // As `check` judges: equal to what the solution shows on this kernel, or not.
        let passes = snapshot::same_as_stored(&dir, &snapshot::name_for(&dir, "fixed", kernel, kprobes), transcript);
        return Ok(case.judge(passes, transcript, release).map(|_| ()));
    }
    let as_documented = if let Some(written) = bless {
        let variant = (kprobes && has_kprobe_layer(lesson)).then(|| format!("{}@kprobes", state.name));
        bless_snapshot(&dir, &state.name, variant.as_deref(), kernel, transcript, written)?;
        true
    } else {
        snapshot::matches(&dir, &snapshot::name_for(&dir, &state.name, kernel, kprobes), transcript)
    };
    if !as_documented {
        return Ok(Err("differs from its snapshot (diff above)".to_string()));
    }
    if lesson.meta.kernel_notes.get(kernel).is_some_and(|n| n.contains_key(&state.name)) {
        // The lesson explains why this kernel differs; its snapshot is the whole expectation.
        return Ok(Ok(()));
    }
    let Some(k) = state.layer else {
        let works = !transcript.contains("stopped  at") && transcript.contains("observed ");
        return Ok(if works { Ok(()) } else { Err("the solution does not work: its transcript shows nothing observed".to_string()) });
    };
    let layer = &lesson.meta.layers[k - 1];
    let earlier = lesson.meta.layers[..k - 1].iter().find(|l| l.shows(transcript));
    Ok(if let Some(earlier) = earlier {
        Err(format!(
            "still shows an earlier layer's symptom {:?}; if this kernel really differs, explain it in lesson.toml under [kernel_notes.\"{kernel}\"]",
            earlier.symptom
        ))
    } else if transcript.contains(&layer.symptom) {
        Ok(())
    } else {
        Err(format!(
            "the transcript lacks the symptom {:?}; if this kernel really differs, explain it in lesson.toml under [kernel_notes.\"{kernel}\"]",
            layer.symptom
        ))
    })
}

fn has_kprobe_layer(lesson: &Lesson) -> bool {
    lesson.meta.layers.iter().any(|l| l.requires.as_deref() == Some("kprobes"))
}

/// Writes the transcript where a later run will look for it, as generally as
/// it holds: the host writes `<name>` (or `variant`, `<name>@kprobes`, when it
/// has kprobes and the lesson a kprobe layer). A kernel under qemu writes
/// nothing when `<name>` already fits, else `variant` when that is free,
/// fits, or left from an earlier run, else `<name>@<kernel>`. `written` holds
/// what this run has written.
fn bless_snapshot(
    dir: &Path,
    name: &str,
    variant: Option<&str>,
    kernel: &str,
    transcript: &str,
    written: &mut BTreeSet<String>,
) -> Result<()> {
    let specific = format!("{name}@{kernel}");
    let remove = |snapshot: &str| -> Result<()> {
        let path = dir.join(format!("{snapshot}.snap"));
        if path.exists() {
            std::fs::remove_file(&path)?;
            println!("  removed {}: a more general snapshot fits", path.display());
        }
        Ok(())
    };
    // INSTA_UPDATE=always: `matches` writes the snapshot when it differs.
    if kernel == "host" {
        snapshot::matches(dir, variant.unwrap_or(name), transcript);
        written.insert(variant.unwrap_or(name).to_string());
        return Ok(());
    }
    if snapshot::stored(dir, name).is_none() || snapshot::same_as_stored(dir, name, transcript) {
        snapshot::matches(dir, name, transcript);
        written.insert(name.to_string());
        if let Some(variant) = variant {
            remove(variant)?;
        }
        return remove(&specific);
    }
    match variant {
        Some(variant)
            if !written.contains(variant)
                || snapshot::stored(dir, variant).is_none()
                || snapshot::same_as_stored(dir, variant, transcript) =>
        {
            snapshot::matches(dir, variant, transcript);
            written.insert(variant.to_string());
            remove(&specific)
        }
        _ => {
            snapshot::matches(dir, &specific, transcript);
            Ok(())
        }
    }
}

/// A few words on what a transcript shows: `sees 5 of 5`, `stops at load`.
pub fn summary(transcript: &str) -> String {
    let mut parts = Vec::new();
    for line in transcript.lines() {
        if let Some(seen) = line.strip_prefix("observed ") {
            let words: Vec<&str> = seen.split_whitespace().collect();
            // `N` is a count chosen for the run, as the harness shows it.
            let number = |w: &str| w == "N" || w.parse::<u64>().is_ok();
            let counted = words.len() >= 3 && words[1] == "of" && number(words[0]);
            parts.push(if counted { format!("sees {} of {}", words[0], words[2]) } else { "sees it".to_string() });
        } else if line.starts_with("portable FAILED") {
            parts.push("does not relocate on an older kernel".to_string());
        } else if let Some(stage) = line.strip_prefix("stopped  at ") {
            parts.push(format!("stops at {stage}"));
        } else if line.starts_with("timeout ") {
            parts.push("times out".to_string());
        } else if line.starts_with("panic ") {
            parts.push("panics".to_string());
        } else if line.starts_with("error ") {
            parts.push("errors".to_string());
        }
    }
    // Many lines of one kind (a program that reports every event) read as one.
    parts.dedup();
    if parts.is_empty() {
        "prints nothing it should".to_string()
    } else {
        parts.join(", ")
    }
}

fn print_table(results: &[(&LessonRuns, Vec<Vec<Cell>>)], targets: &[Target]) {
    let mut rows: Vec<Vec<String>> =
        vec![["lesson", "state"].iter().map(|s| s.to_string()).chain(targets.iter().map(|t| t.name().to_string())).collect()];
    for (runs, cells) in results {
        for (s, state) in runs.states.iter().enumerate() {
            let lesson = if s == 0 { runs.lesson.number.clone() } else { String::new() };
            let mut row = vec![lesson, state.label.clone()];
            row.extend(cells[s].iter().map(|c| format!("{} {}", c.mark.symbol(), c.outcome)));
            rows.push(row);
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0).min(if c == 1 { 44 } else { 40 }))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(text, &w)| {
                let shown: String = text.chars().take(w).collect();
                format!("{shown:<w$}")
            })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    println!("\n✓ as the lesson documents   ✗ not as documented   – skipped   ? not run");
}

fn print_timings(timing: &Timings, total: f64) {
    println!("\ntimings");
    println!("  total                 {total:6.1} s");
    let build_total: f64 = timing.builds.iter().map(|b| b.2).sum();
    let states: usize = timing.builds.iter().map(|b| b.1).sum();
    println!(
        "  builds and host runs  {build_total:6.1} s   {states} states built; {} host runs took {:.1} s",
        timing.host_runs, timing.host_seconds
    );
    for (lesson, count, seconds) in &timing.builds {
        println!("    lesson {lesson}           {seconds:6.1} s   {count} states");
    }
    if timing.boots.is_empty() {
        return;
    }
    let boots: usize = timing.boots.iter().map(|b| b.2.len()).sum();
    let runs: usize = timing.boots.iter().map(|b| b.1).sum();
    println!("  VM boots              {:6.1} s   {boots} boots, {runs} runs, kernels side by side", timing.boots_wall);
    for (kernel, count, seconds) in &timing.boots {
        let each: Vec<String> = seconds.iter().map(|s| format!("{s:.1} s")).collect();
        let reboots = if seconds.len() > count.div_ceil(vm::JOBS_PER_BOOT) { " (booted again after a guest failure)" } else { "" };
        println!("    {kernel:<5}               {:6.1} s   {count} runs{reboots}", seconds.iter().sum::<f64>());
        if seconds.len() > 1 {
            println!("                          boots: {}", each.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lesson 01 with its snapshots in a scratch course folder holding only `snapshots`.
    fn lesson_with(snapshots: &[(&str, &str)], notes: &[(&str, &str)]) -> (Lesson, State) {
        let mut lesson = lessons::find(&crate::workbook::root(), "01").unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-judge-{}-{}", std::process::id(), snapshots.len() + notes.len()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("snapshots")).unwrap();
        for (name, body) in snapshots {
            let text = format!("---\nsource: xtask/src/snapshot.rs\n---\n{body}\n");
            std::fs::write(dir.join("snapshots").join(format!("{name}.snap")), text).unwrap();
        }
        for (kernel, text) in notes {
            lesson.meta.kernel_notes.entry(kernel.to_string()).or_default().insert("layer-1".into(), text.to_string());
        }
        lesson.course = dir.clone();
        lesson.dir = dir;
        let state = State { name: "layer-1".into(), label: "layer 1".into(), layer: Some(1), case: None, artifact: Artifact::NotBuilt };
        (lesson, state)
    }

    const FAILS: &str = "open     FAILED  ENOENT (No such file or directory)\n         (libbpf logged nothing)\nstopped  at open";
    const WORKS: &str = "open     ok\nobserved 5 of 5 openat calls by this process";

    #[test]
    fn a_layer_passes_with_its_snapshot_and_symptom() {
        let (lesson, state) = lesson_with(&[("layer-1", FAILS)], &[]);
        assert_eq!(judge(&lesson, &state, "6.1", true, None, FAILS, None).unwrap(), Ok(()));
        let error = judge(&lesson, &state, "6.1", true, None, WORKS, None).unwrap().unwrap_err();
        assert!(error.contains("differs from its snapshot"), "{error}");
        std::fs::remove_dir_all(&lesson.dir).unwrap();
    }

    #[test]
    fn a_kernel_where_the_layer_works_needs_its_snapshot_and_a_note() {
        let (lesson, state) = lesson_with(&[("layer-1", FAILS), ("layer-1@5.10", WORKS)], &[]);
        // The per-kernel snapshot is chosen, but without a note a working broken layer is wrong.
        let error = judge(&lesson, &state, "5.10", true, None, WORKS, None).unwrap().unwrap_err();
        assert!(error.contains("kernel_notes.\"5.10\""), "{error}");
        // Other kernels still compare with the default snapshot.
        assert_eq!(judge(&lesson, &state, "6.12", true, None, FAILS, None).unwrap(), Ok(()));
        std::fs::remove_dir_all(&lesson.dir).unwrap();

        let (lesson, state) = lesson_with(&[("layer-1", FAILS), ("layer-1@5.10", WORKS)], &[("5.10", "why")]);
        assert_eq!(judge(&lesson, &state, "5.10", true, None, WORKS, None).unwrap(), Ok(()));
        std::fs::remove_dir_all(&lesson.dir).unwrap();
    }

    #[test]
    fn summaries_name_what_was_seen_and_where_it_stopped() {
        assert_eq!(summary("compile  ok\nopen     ok\nobserved 5 of 5 openat calls by this process"), "sees 5 of 5");
        assert_eq!(summary("open     FAILED  ENOENT\nstopped  at open"), "stops at open");
        assert_eq!(summary("observed 0 of 5 file opens\nattach   FAILED  ENOENT\nstopped  at attach"), "sees 0 of 5, stops at attach");
        assert_eq!(summary("compile  FAILED  clang: 2 errors\nstopped  at compile"), "stops at compile");
        assert_eq!(summary("observed the event"), "sees it");
        assert_eq!(summary("open     ok\ntimeout  stopped after 30 s"), "times out");
        assert_eq!(summary("compile  ok"), "prints nothing it should");
    }
}
