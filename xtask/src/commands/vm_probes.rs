//! The probes that need another kernel, declared in `book/probes/vm.toml`, run
//! as part of the matrix. Each declared run boots its Debian kernel under qemu,
//! with the kernel parameters it names, runs `probes <name>` there, and
//! compares the transcript with `book/probes/snapshots/<name>@<kernel>.snap`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::machine::cargo::{self, Build};
use crate::machine::kernels::Kernel;
use crate::machine::vm;
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

/// Runs the declared probes whose kernel is among `kernels`, prints a line for
/// each, and returns how many did not match their snapshot.
pub fn verify(root: &Path, kernels: &[&Kernel], on_mismatch: OnMismatch) -> Result<usize> {
    let file = root.join("book/probes/vm.toml");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let declared: Declared = toml::from_str(&text).with_context(|| format!("reading {}", file.display()))?;
    // One boot per kernel and command line.
    let mut boots: BTreeMap<(&str, &str), Vec<&ProbeRun>> = BTreeMap::new();
    for run in &declared.run {
        if kernels.iter().any(|k| k.series.name == run.kernel) {
            boots.entry((run.kernel.as_str(), run.parameters.as_str())).or_default().push(run);
        }
    }
    if boots.is_empty() {
        return Ok(0);
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

    let snapshots = probes_dir.join("snapshots");
    let mut failed = 0;
    for ((kernel_name, parameters), runs) in boots {
        let kernel = kernels.iter().find(|k| k.series.name == kernel_name).expect("chosen above");
        let jobs: Vec<vm::Job> = runs
            .iter()
            .map(|run| vm::Job { binary: binary.clone(), args: vec![run.probe.clone()], files: files.clone(), env: Vec::new() })
            .collect();
        let label = if parameters.is_empty() { String::new() } else { format!(" with {parameters}") };
        let work = root.join("target/xtask/matrix/vm").join(format!("{kernel_name}-probes{}", label.replace([' ', '='], "-")));
        let boot = vm::boot_with(kernel, parameters, &jobs, &work)?;
        for (run, output) in runs.iter().zip(boot.outputs) {
            let name = format!("{}@{}", run.probe, run.kernel);
            match output {
                Some(output) if snapshot::matches(&snapshots, &name, &output.transcript_lines().join("\n"), on_mismatch)? => {
                    println!("  ✓ probe {} on {kernel_name}{label}", run.probe);
                }
                Some(_) => {
                    failed += 1;
                    println!("  ✗ probe {} on {kernel_name}{label}: differs from {name}.snap (diff above)", run.probe);
                }
                None => {
                    failed += 1;
                    let why = boot.failure.as_deref().unwrap_or("the guest sent no transcript");
                    println!("  ✗ probe {} on {kernel_name}{label}: {why}", run.probe);
                }
            }
        }
    }
    Ok(failed)
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
