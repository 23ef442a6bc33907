//! The probes that need another kernel, declared in `book/probes/vm.toml`, run
//! as part of the matrix, in the same pool of boots as the lessons. Each
//! declared run boots its Debian kernel under qemu, with the kernel
//! parameters it names, runs `probes <name>` there, and
//! compares the transcript with `book/probes/snapshots/<name>@<kernel>.snap`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::machine::cargo::{self, Build};
use crate::machine::kernels::Kernel;
use crate::machine::runner::Output;
use crate::machine::vm;
use crate::machine::vm_pool::{self, Finished, Queue};
use crate::workbook::snapshot::{self, OnMismatch};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    run: Vec<ProbeRun>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeRun {
    probe: String,
    /// A Debian kernel the matrix knows: 5.10, 6.1 or 6.12.
    kernel: String,
    /// Added to the kernel's command line, such as `lockdown=confidentiality`.
    #[serde(default)]
    parameters: String,
}

/// The declared probe runs for `kernels`, built and queued: one queue per
/// kernel and command line, each run tagged with its place in [`Probes::runs`].
pub struct Probes<'k> {
    runs: Vec<ProbeRun>,
    pub queues: Vec<Queue<'k, usize>>,
}

/// Builds the probes and queues the declared runs whose kernel is among
/// `kernels`, for [`crate::machine::vm_pool::run_all`] to run beside the lessons.
pub fn queue<'k>(root: &Path, kernels: &[&'k Kernel]) -> Result<Probes<'k>> {
    let file = root.join("book/probes/vm.toml");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let declared: Declared = toml::from_str(&text).with_context(|| format!("reading {}", file.display()))?;
    let runs: Vec<ProbeRun> = declared.run.into_iter().filter(|run| kernels.iter().any(|k| k.series.name == run.kernel)).collect();
    if runs.is_empty() {
        return Ok(Probes { runs, queues: Vec::new() });
    }

    println!("probes on other kernels: building them");
    let probes_dir = root.join("book/probes");
    let (binary, objects) = match cargo::build(root, "probes", &probes_dir, &root.join("target"))? {
        Build::Built { binary, object: Some(object), .. } => {
            let out_dir = object.parent().context("an object outside any folder")?;
            (binary, objects_in(out_dir)?)
        }
        Build::Built { object: None, .. } => bail!("the probes' build left no BPF object"),
        Build::Failed { lines, .. } => bail!("the probes do not build:\n{}", lines.join("\n")),
    };
    // The probes open their objects by the build's path, in the guest too.
    let files: Vec<(PathBuf, PathBuf)> = objects.iter().map(|o| (o.clone(), o.clone())).collect();
    // One boot per kernel and command line.
    let mut queues: Vec<Queue<'k, usize>> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let job = vm::Job { binary: binary.clone(), args: vec![run.probe.clone()], files: files.clone(), env: Vec::new() };
        match queues.iter_mut().find(|q| q.kernel.series.name == run.kernel && q.parameters == run.parameters) {
            Some(queue) => queue.runs.push((i, job)),
            None => {
                let kernel = kernels.iter().find(|k| k.series.name == run.kernel).expect("filtered above");
                queues.push(Queue { kernel, parameters: run.parameters.clone(), runs: vec![(i, job)] });
            }
        }
    }
    Ok(Probes { runs, queues })
}

/// Compares each probe run's transcript with `book/probes/snapshots/<name>@<kernel>.snap`,
/// prints a line for each, and returns how many did not match.
pub fn judge(root: &Path, probes: &Probes, finished: Vec<Finished<usize>>, on_mismatch: OnMismatch) -> Result<usize> {
    let snapshots = root.join("book/probes/snapshots");
    let mut results: Vec<(usize, Result<Output, String>)> = finished.into_iter().flat_map(|f| f.results).collect();
    results.sort_by_key(|(i, _)| *i);
    let mut failed = 0;
    for (i, output) in results {
        let run = &probes.runs[i];
        let name = format!("{}@{}", run.probe, run.kernel);
        let label = if run.parameters.is_empty() { String::new() } else { format!(" with {}", run.parameters) };
        match output {
            Ok(output) if snapshot::matches(&snapshots, &name, &output.transcript_lines().join("\n"), on_mismatch)? => {
                println!("  ✓ probe {} on {}{label}", run.probe, run.kernel);
            }
            Ok(_) => {
                failed += 1;
                println!("  ✗ probe {} on {}{label}: differs from {name}.snap (diff above)", run.probe, run.kernel);
            }
            Err(why) => {
                failed += 1;
                println!("  ✗ probe {} on {}{label}: {why}", run.probe, run.kernel);
            }
        }
    }
    Ok(failed)
}

/// Runs the declared probes whose kernel is among `kernels` on their own,
/// prints a line for each, and returns how many did not match their snapshot.
pub fn verify(root: &Path, kernels: &[&Kernel], on_mismatch: OnMismatch) -> Result<usize> {
    let mut probes = queue(root, kernels)?;
    let queues = std::mem::take(&mut probes.queues);
    let finished = vm_pool::run_all(queues, &root.join("target/xtask/matrix/vm/probes")).queues;
    judge(root, &probes, finished, on_mismatch)
}

/// The BPF objects the probes' build script wrote.
fn objects_in(out_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut objects = Vec::new();
    for entry in std::fs::read_dir(out_dir)? {
        let path = entry?.path();
        if path.to_string_lossy().ends_with(".bpf.o") {
            objects.push(path);
        }
    }
    objects.sort();
    Ok(objects)
}
