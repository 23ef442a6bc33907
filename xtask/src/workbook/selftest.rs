//! The self-test's states of a lesson, built once and run on each kernel: each
//! broken layer K (the fixes of layers before K applied), the solution (every
//! fix applied, which must reproduce `solution/`), and each other learner's
//! fix or fake laid over the solution. Each state is built once, in a scratch
//! copy (or taken from [`kept_build`] when an earlier run built the same
//! inputs), and the same binary runs on the host right after its build and on
//! every kernel under qemu later; [`crate::workbook::judge`] judges each run.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use crate::machine::cargo;
use crate::machine::host;
use crate::machine::kernels::{self, Kernel};
use crate::machine::runner;
use crate::machine::vm;
use crate::machine::vm_pool::{Finished, Queue};
use crate::workbook::cases::{self, Case};
use crate::workbook::kept_build::{self, Kept};
use crate::workbook::lessons::Lesson;
use crate::workbook::portability;
use crate::workbook::run::{self, Run};
use crate::workbook::scratch;
use crate::workbook::source_rules::{self, Source};

/// A kernel the self-test runs on.
pub enum Target {
    Host,
    Vm(Kernel),
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Host => "host",
            Target::Vm(kernel) => kernel.series.name,
        }
    }

    /// Whether it is one of Debian's arm64 kernels, whose binaries are cross-built.
    pub fn arm64(&self) -> bool {
        matches!(self, Target::Vm(kernel) if kernel.series.arch == "arm64")
    }

    pub fn kprobes(&self) -> bool {
        match self {
            Target::Host => host::kprobes_available(),
            Target::Vm(kernel) => kernel.kprobes(),
        }
    }

    /// Whether fentry programs run there: the probe's answer on the host; on
    /// Debian's kernels, the ftrace direct calls their trampolines attach through.
    pub fn fentry(&self) -> Result<(), String> {
        match self {
            Target::Host => crate::machine::fentry::support(),
            Target::Vm(kernel) if kernel.has("DYNAMIC_FTRACE_WITH_DIRECT_CALLS") => Ok(()),
            Target::Vm(_) => Err("CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS is unset".to_string()),
        }
    }

    /// The kernel's version, which a case's `min_kernel` is compared with.
    pub fn release(&self) -> Option<(u32, u32)> {
        match self {
            Target::Host => kernels::major_minor(&kernels::host_release()),
            Target::Vm(kernel) => kernels::major_minor(&kernel.manifest.release),
        }
    }

    /// What the judge needs to know of the kernel.
    pub fn facts(&self) -> KernelFacts<'static> {
        KernelFacts { name: self.name(), host: matches!(self, Target::Host), kprobes: self.kprobes(), release: self.release() }
    }

    pub fn describe(&self) -> String {
        match self {
            Target::Host => {
                let (major, minor) = kernels::major_minor(&kernels::host_release()).unwrap_or_default();
                format!("Linux {major}.{minor}, the machine that ran the matrix, natively")
            }
            Target::Vm(kernel) => {
                let qemu = if kernel.series.arch == "arm64" { "qemu-system-aarch64" } else { "qemu" };
                format!("Debian's {} {} ({}), under {qemu}", kernel.manifest.package, kernel.manifest.version, kernel.series.release)
            }
        }
    }
}

/// A kernel as the judge sees it: its name (`host`, `6.1`), which picks its
/// snapshots and notes, whether it has kprobes, and its version.
#[derive(Debug, Clone, Copy)]
pub struct KernelFacts<'a> {
    pub name: &'a str,
    /// The machine the self-test runs on, natively, rather than a kernel under qemu.
    pub host: bool,
    pub kprobes: bool,
    pub release: Option<(u32, u32)>,
}

/// A broken layer, the solution, or another learner's fix or fake.
pub struct State {
    /// The snapshot's name, `layer-K` or `fixed`; for a case, `fake-<name>`,
    /// which has no snapshot: a case is judged against `fixed`.
    pub name: String,
    pub label: String,
    /// K, for a broken layer.
    pub layer: Option<usize>,
    pub case: Option<Case>,
    pub artifact: Artifact,
}

pub enum Artifact {
    /// No kernel of this run can run it (a kprobe layer, with no kprobes anywhere).
    NotBuilt,
    /// A failed build: the same on every kernel.
    Failed { transcript: String, log: String, sources: Vec<Source> },
    Built {
        compile: String,
        job: vm::Job,
        /// The C sources it was built from: the next state's edits change the scratch copy's.
        sources: Vec<Source>,
    },
}

/// What one state did on one kernel.
pub enum Outcome {
    Ran(Run),
    Skipped(String),
    NotRun(String),
    /// The guest hung or crashed before the state's binary finished.
    GuestFailed(String),
}

/// One lesson's row of the matrix.
pub struct LessonRuns {
    pub lesson: Lesson,
    pub states: Vec<State>,
    /// `outcomes[state][target]`; None until the state ran there.
    pub outcomes: Vec<Vec<Option<Outcome>>>,
    /// Problems found while building: fixes that do not add up to solution/.
    pub problems: Vec<String>,
}

#[derive(Default)]
pub struct Timings {
    /// (lesson, states built, seconds)
    pub builds: Vec<(String, usize, f64)>,
    /// States whose build was kept from an earlier run with the same inputs.
    pub reused: usize,
    pub host_runs: usize,
    pub host_seconds: f64,
    /// (kernel, runs, seconds of each boot)
    pub boots: Vec<(String, usize, Vec<f64>)>,
    pub boots_wall: f64,
    /// How many boots the pool ran side by side.
    pub boots_side_by_side: usize,
    /// (lesson, seconds of guest time its runs took, their boots' time shared by the runs)
    pub guest_seconds: Vec<(String, f64)>,
    /// The same for the book's probes that ran in the same pool.
    pub probes_guest_seconds: f64,
}

/// Builds every state of a lesson in a scratch copy, layer fixes applied one
/// by one, and runs each on the host (when it is a target) right after its
/// build; the cells that need no run at all are filled too.
/// `cases`: whether other learners' fixes and fakes are built and run too.
pub fn build_lesson(root: &Path, lesson: &Lesson, targets: &[Target], cases: bool, timing: &mut Timings) -> Result<LessonRuns> {
    let built = Instant::now();
    let scratch = scratch::scratch_copy(root, lesson)?;
    let dir = lesson.dir_in(&scratch);
    let scratch_lesson = Lesson { dir: dir.clone(), ..lesson.clone() };
    // arm64 kernels run binaries cross-built in the cross root, into a target folder of their own.
    let cross = if targets.iter().any(Target::arm64) { Some(crate::machine::cross::dir()?) } else { None };
    let target_dir = match cross {
        Some(_) => scratch::target_dir(&scratch).with_file_name("verify-target-arm64"),
        None => scratch::target_dir(&scratch),
    };
    // Each state's build is kept, and reused by the next run while its inputs are the same;
    // arm64's apart, so that each architecture's stay reusable while the other runs.
    let kept = root.join(if cross.is_some() { "target/xtask/matrix/arm64" } else { "target/xtask/matrix" }).join(&lesson.dir_name);
    let inputs = kept_build::Inputs::of(&scratch, cross.as_deref())?;
    let builder = Builder { scratch: &scratch, lesson: &scratch_lesson, target_dir: &target_dir, inputs: &inputs, cross: cross.as_deref() };
    let host = targets.iter().position(|t| matches!(t, Target::Host));
    let host_blocked: Vec<String> = lesson.meta.needs.problems_here().iter().map(|f| f.detail.clone()).collect();
    // A kernel without what the lesson needs skips every state, with the reason.
    let host_lacks = lesson.meta.needs.kernel_lacks(host::kprobes_available(), || Target::Host.fentry());

    let mut runs = LessonRuns { lesson: lesson.clone(), states: Vec::new(), outcomes: Vec::new(), problems: Vec::new() };
    let count = lesson.meta.layers.len();
    for k in 1..=count + 1 {
        let layer = lesson.meta.layers.get(k - 1);
        let (name, label) = match layer {
            Some(layer) => (format!("layer-{k}"), format!("layer {k}: {}", layer.name)),
            None => ("fixed".to_string(), "solution".to_string()),
        };
        let needed = layer.is_none_or(|l| targets.iter().any(|t| l.skip_reason_on(t.kprobes()).is_none()));
        let artifact = if needed { build_state(&builder, &kept.join(&name), timing)? } else { Artifact::NotBuilt };
        let skip = layer.and_then(|l| l.skip_reason()).or_else(|| host_lacks.clone());
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
    for case in if cases { cases::all(lesson)? } else { Vec::new() } {
        let name = format!("{}-{}", case.kind.folder().trim_end_matches('s'), case.name);
        let replaced = case.lay_over(&dir)?;
        let artifact = build_state(&builder, &kept.join(&name), timing);
        cases::restore(replaced)?;
        let artifact = artifact?;
        let outcomes = host_outcomes(targets, host, host_lacks.clone(), &host_blocked, &artifact, timing)?;
        runs.states.push(State { name, label: case.label(), layer: None, case: Some(case), artifact });
        runs.outcomes.push(outcomes);
    }

    if cases {
        // A full run saw every state the lesson has now: the others are gone from it.
        for entry in std::fs::read_dir(&kept).into_iter().flatten() {
            let path = entry?.path();
            if !runs.states.iter().any(|s| path.file_name().is_some_and(|n| *n == *s.name)) {
                std::fs::remove_dir_all(&path)?;
            }
        }
    }
    let count = runs.states.iter().filter(|s| !matches!(s.artifact, Artifact::NotBuilt)).count();
    timing.builds.push((lesson.number.clone(), count, built.elapsed().as_secs_f64()));
    fill_without_boot(&mut runs, targets);
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

/// Why a cross-built lesson's portability is not proven.
pub const CROSS_UNPROVEN: &str = "the check runs the loader on the build machine, which cannot run an arm64 build";

/// What every state of one lesson is built with.
#[derive(Clone, Copy)]
struct Builder<'a> {
    /// The workbook's scratch copy, and the lesson in it.
    scratch: &'a Path,
    lesson: &'a Lesson,
    target_dir: &'a Path,
    inputs: &'a kept_build::Inputs,
    /// The arm64 build root, when cross-building.
    cross: Option<&'a Path>,
}

/// Builds the scratch copy as it stands, or reuses the build kept in `kept`
/// when it was made from the same inputs, and keeps the binary and its object
/// in `kept`: the next state's build overwrites both where cargo leaves them.
fn build_state(builder: &Builder, kept: &Path, timing: &mut Timings) -> Result<Artifact> {
    let Builder { scratch, lesson, target_dir, inputs, cross } = *builder;
    let sources = source_rules::read(&lesson.dir.join("src"));
    let inputs = inputs.digest(&lesson.dir)?;
    let build = match kept_build::reuse(kept, &inputs)? {
        Some(build) => {
            timing.reused += 1;
            build
        }
        None => {
            let build = match cross {
                Some(cross) => cargo::build_cross(scratch, &lesson.package, &lesson.dir, target_dir, cross)?,
                None => cargo::build(scratch, &lesson.package, &lesson.dir, target_dir)?,
            };
            kept_build::keep(kept, &inputs, build)?
        }
    };
    match build {
        Kept::Failed { lines, output } => Ok(Artifact::Failed { transcript: lines.join("\n"), log: output, sources }),
        Kept::Built { binary, object } => {
            // The portability lines are the object's, so they are proven here, once.
            let mut compile = vec![run::compile_line(object.as_ref().map(|(copy, _)| copy.as_path()))?];
            // The portability proof runs the loader here, which an arm64 binary cannot: the transcript says so.
            compile.extend(match cross {
                None => portability::lines(lesson, &binary),
                Some(_) => portability::not_tried(lesson, CROSS_UNPROVEN),
            });
            let compile = compile.join("\n");
            let files = object.into_iter().collect();
            Ok(Artifact::Built { compile, job: vm::Job { binary, files, args: Vec::new(), env: Vec::new() }, sources })
        }
    }
}

fn run_on_host(artifact: &Artifact) -> Result<Outcome> {
    Ok(match artifact {
        Artifact::NotBuilt => Outcome::NotRun("not built".to_string()),
        Artifact::Failed { transcript, log, sources } => {
            Outcome::Ran(Run { sources: sources.clone(), ..Run::not_built(transcript.clone(), log.clone()) })
        }
        Artifact::Built { compile, job, sources } => {
            // The build-time object is in place: this state was the last one built.
            let output = runner::run_privileged(&job.binary)?;
            Outcome::Ran(Run { object: job.object(), sources: sources.clone(), ..Run::ran(vec![compile.clone()], output, Vec::new()) })
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
            let lacks = || runs.lesson.meta.needs.kernel_lacks(target.kprobes(), || target.fentry());
            runs.outcomes[s][t] = if let Some(reason) = layer.and_then(|l| l.skip_reason_on(target.kprobes())).or_else(lacks) {
                Some(Outcome::Skipped(reason))
            } else if too_old {
                Some(Outcome::Skipped(format!("the lesson needs Linux {} or newer", runs.lesson.meta.needs.min_kernel)))
            } else if let Artifact::Failed { transcript, log, sources } = &state.artifact {
                Some(Outcome::Ran(Run { sources: sources.clone(), ..Run::not_built(transcript.clone(), log.clone()) }))
            } else {
                None
            };
        }
    }
}

/// Where a run in a guest goes: `runs[lesson].outcomes[state][target]`.
pub struct Slot {
    lesson: usize,
    state: usize,
    target: usize,
}

/// What each kernel under qemu still has to run, kernel by kernel in the
/// targets' order, lesson by lesson, state by state: the built states whose
/// cell nothing else has filled yet. Kernels with nothing to run are left out.
pub fn guest_queues<'k>(runs: &[LessonRuns], targets: &'k [Target]) -> Vec<Queue<'k, Slot>> {
    let mut queues = Vec::new();
    for (t, target) in targets.iter().enumerate() {
        let Target::Vm(kernel) = target else { continue };
        let mut queue = Queue { kernel, parameters: String::new(), runs: Vec::new() };
        for (l, lesson_runs) in runs.iter().enumerate() {
            for (s, state) in lesson_runs.states.iter().enumerate() {
                if let (None, Artifact::Built { job, .. }) = (&lesson_runs.outcomes[s][t], &state.artifact) {
                    queue.runs.push((Slot { lesson: l, state: s, target: t }, job.clone()));
                }
            }
        }
        if !queue.runs.is_empty() {
            queues.push(queue);
        }
    }
    queues
}

/// Fills the cells the guests ran, from what [`crate::machine::vm_pool::run_all`] gave back for [`guest_queues`].
pub fn fill_from_guests(runs: &mut [LessonRuns], targets: &[Target], finished: Vec<Finished<Slot>>, timing: &mut Timings) {
    for kernel in finished {
        let Some((first, _)) = kernel.results.first() else { continue };
        timing.boots.push((targets[first.target].name().to_string(), kernel.results.len(), kernel.boots));
        for ((slot, result), share) in kernel.results.into_iter().zip(kernel.shares) {
            let lesson_runs = &mut runs[slot.lesson];
            let number = &lesson_runs.lesson.number;
            match timing.guest_seconds.iter_mut().find(|(lesson, _)| lesson == number) {
                Some((_, seconds)) => *seconds += share,
                None => timing.guest_seconds.push((number.clone(), share)),
            }
            let Artifact::Built { compile, job, sources } = &lesson_runs.states[slot.state].artifact else { continue };
            lesson_runs.outcomes[slot.state][slot.target] = Some(match result {
                Ok(output) => Outcome::Ran(Run {
                    object: job.object(),
                    sources: sources.clone(),
                    ..Run::ran(vec![compile.clone()], output, Vec::new())
                }),
                Err(why) => Outcome::GuestFailed(why),
            });
        }
    }
}
