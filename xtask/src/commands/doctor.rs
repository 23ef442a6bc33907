//! `cargo xtask doctor`: what this machine offers the lessons, and the exact fix for what it lacks.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::machine;
use crate::machine::host::{self, finding, Finding, Status, TRACEFS};
use crate::report::json;
use crate::report::terminal::{self as terminal, paint, BAD, DIM, GOOD, WARN};
use crate::workbook::{deep, lessons, portability};

/// `cargo xtask doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// Mount tracefs (needs root)
    #[arg(long)]
    pub fix: bool,
    /// Also build lesson 01's solution and load, attach and observe it, as a check would
    #[arg(long)]
    pub deep: bool,
    /// One JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn doctor(root: &Path, args: &DoctorArgs) -> Result<ExitCode> {
    let DoctorArgs { fix, json, .. } = *args;
    if fix && !host::tracefs_mounted() {
        if matches!(host::privileges(), host::Privileges::Root | host::Privileges::Sudo) {
            host::mount_tracefs()?;
            if !json {
                println!("mounted tracefs at {TRACEFS}");
            }
        } else {
            eprintln!("--fix mounts tracefs as root or through sudo without a password; run: sudo mount -t tracefs tracefs {TRACEFS}");
        }
    }
    let findings = findings(root, args)?;
    let problems = findings.iter().filter(|f| f.status == host::Status::Problem).count();
    if json {
        json::print(&json::DoctorReport::new(json::Machine::this(), &findings));
        return Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    for finding in &findings {
        let style = match finding.status {
            host::Status::Ok => GOOD,
            host::Status::Problem => BAD,
            host::Status::Note => WARN,
        };
        let text = finding.to_string();
        let (status, rest) = text.split_at(8);
        anstream::println!("{}{rest}", paint(style, status));
    }
    if problems == 0 {
        anstream::println!("\n{}", paint(GOOD, "ready: every lesson can run here"));
        Ok(ExitCode::SUCCESS)
    } else {
        anstream::println!("\n{}", paint(BAD, format!("{problems} problem{} to fix first", if problems == 1 { "" } else { "s" })));
        Ok(ExitCode::FAILURE)
    }
}

/// What `setup` and checking every lesson leave in `target/`, rounded up.
const LESSONS_NEED_GIB: u64 = 2;

/// Every finding, the deep probe's too with `--deep`; under `--json` the
/// probe's progress stays off the terminal. `--fix` is not for here.
pub fn findings(root: &Path, args: &DoctorArgs) -> Result<Vec<Finding>> {
    let mut findings = machine::findings();
    findings.push(host::check_disk(root, LESSONS_NEED_GIB, "building the lessons"));
    findings.push(kernel_finding(root)?);
    findings.extend(portability_finding(root)?);
    if args.deep {
        findings.push(deep_finding(root, args.json)?);
    }
    Ok(findings)
}

/// What doctor finds wrong with this machine, one "name: detail" a problem:
/// what `room join` tells the instructor. Quick: no deep probe.
pub fn problems(root: &Path) -> Vec<String> {
    let mut findings = machine::findings();
    findings.push(host::check_disk(root, LESSONS_NEED_GIB, "building the lessons"));
    findings.extend(kernel_finding(root).ok());
    findings.extend(portability_finding(root).ok().flatten());
    findings.into_iter().filter(|f| f.status == Status::Problem).map(|f| format!("{}: {}", f.name, f.detail)).collect()
}

/// Whether the BTF that lessons prove portability against is at hand: a
/// lesson whose proof cannot run here can never pass, so doctor is not ready.
fn portability_finding(root: &Path) -> Result<Option<Finding>> {
    let names: std::collections::BTreeSet<String> =
        lessons::all(root)?.iter().filter_map(|l| l.meta.portability.as_ref()).flat_map(|p| p.kernels.clone()).collect();
    if names.is_empty() {
        return Ok(None);
    }
    let missing: Vec<String> = names.iter().filter(|name| !portability::btf_at_hand(root, name)).cloned().collect();
    Ok(Some(if missing.is_empty() {
        host::finding(
            "portability",
            Status::Ok,
            format!("Linux {}'s BTF is at hand", names.into_iter().collect::<Vec<_>>().join(", ")),
            None,
        )
    } else {
        host::finding(
            "portability",
            Status::Problem,
            format!("Linux {}'s BTF is not at hand: lesson 03's portability check cannot run", missing.join(", ")),
            Some("cargo xtask kernels   (fetches the kernels it comes from)".into()),
        )
    }))
}

/// Each lesson's minimum kernel (`min_kernel` in its lesson.toml) against the running one.
fn kernel_finding(root: &Path) -> Result<Finding> {
    let release = host::kernel_release().unwrap_or_else(|| "unknown".into());
    let too_old: Vec<String> = lessons::all(root)?
        .iter()
        .filter(|l| host::older_than(&l.meta.needs.min_kernel).is_some())
        .map(|l| format!("{} (needs {})", l.number, l.meta.needs.min_kernel))
        .collect();
    Ok(if too_old.is_empty() {
        finding("kernel", Status::Ok, format!("{release}: new enough for every lesson"), None)
    } else {
        finding(
            "kernel",
            Status::Problem,
            format!("{release} is too old for lessons {}", too_old.join(", ")),
            Some("boot a newer kernel, or run those lessons on one under qemu: cargo xtask check NN --kernel 6.1".into()),
        )
    })
}

/// Loads, attaches and observes lesson 01's solution as a check would.
fn deep_finding(root: &Path, json: bool) -> Result<Finding> {
    if !json {
        eprintln!("deep: building lesson 01's solution and running it as a check would…");
    }
    let result = deep::probe(root)?;
    if !json {
        anstream::println!("{}", paint(DIM, "the probe's transcript:"));
        for line in terminal::transcript(&result.run.transcript).lines() {
            anstream::println!("  {line}");
        }
    }
    Ok(match result.blocker {
        None => finding("deep", Status::Ok, "lesson 01's solution loaded, attached and saw its events here", None),
        Some(blocker) => finding(
            "deep",
            Status::Problem,
            format!("BPF does not work here: {blocker}"),
            Some("run the lessons on a kernel under qemu instead: cargo xtask check NN --kernel 6.1".into()),
        ),
    })
}
