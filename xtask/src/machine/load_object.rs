//! The `load-object` tool (`tools/load-object`): diagnose's real open and
//! load, and libbpf's header folder. It links libbpf, so xtask builds it like
//! a lesson, after setup, instead of linking libbpf itself.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use transcript::load_report::ReportLine;

use crate::machine::cargo::{self, Build};

const PACKAGE: &str = "load-object";

/// Builds the tool into the workbook's target folder; the error says why it
/// did not build (on a machine without libbpf's build needs, setup fixes it).
/// Built once a process: a diagnose loads an object several times (once for
/// each `const volatile` switch), and each cargo call costs some 0.3 s.
pub fn build(root: &Path) -> Result<PathBuf> {
    static BUILT: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, binary)) = built.iter().find(|(r, _)| r == root) {
        return Ok(binary.clone());
    }
    let binary = build_now(root)?;
    built.push((root.to_path_buf(), binary.clone()));
    Ok(binary)
}

fn build_now(root: &Path) -> Result<PathBuf> {
    let dir = root.join("tools").join(PACKAGE);
    match cargo::build(root, PACKAGE, &dir, &root.join("target"))? {
        Build::Built { binary, .. } => Ok(binary),
        Build::Failed { lines, .. } => bail!("the load-object tool did not build: {}", lines.join(" ").trim()),
    }
}

/// libbpf's header folder (`bpf/bpf_helpers.h` lies inside it).
pub fn include_dir(root: &Path) -> Result<PathBuf> {
    let output = Command::new(build(root)?).arg("--include-dir").output().context("running load-object")?;
    Ok(PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

/// Opens and loads `object` (relocated against `btf` when given) and returns the report's lines.
pub fn load(root: &Path, object: &Path, btf: Option<&Path>) -> Result<Vec<ReportLine>> {
    let mut command = Command::new(build(root)?);
    command.arg(object);
    if let Some(btf) = btf {
        command.arg("--btf").arg(btf);
    }
    let output = command.output().context("running load-object")?;
    let lines: Vec<ReportLine> = String::from_utf8_lossy(&output.stdout).lines().filter_map(ReportLine::parse).collect();
    if !lines.iter().any(|l| matches!(l, ReportLine::Loaded | ReportLine::Failed { .. })) {
        bail!("load-object gave no outcome: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(lines)
}
