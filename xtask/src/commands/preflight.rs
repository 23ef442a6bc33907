//! `cargo xtask preflight`: what an attendee runs the week before a workshop.
//! Setup, doctor's deep probe, the offline book and, with `--vm`, qemu and
//! Debian's kernels; then a short report to send the instructor.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::commands::book;
use crate::commands::doctor::{self, DoctorArgs};
use crate::commands::setup::{self, SetupArgs};
use crate::machine::host::Status;
use crate::report::json::Machine;

/// How one step of the pre-flight went, in a few words.
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub said: String,
}

fn step(name: &'static str, outcome: Result<ExitCode>, ok: &str) -> Step {
    match outcome {
        Ok(code) if code == ExitCode::SUCCESS => Step { name, ok: true, said: ok.to_string() },
        Ok(_) => Step { name, ok: false, said: "FAILED (its output is above)".into() },
        Err(error) => Step { name, ok: false, said: format!("FAILED: {error:#}") },
    }
}

/// `cargo xtask preflight`.
#[derive(clap::Args, Debug)]
pub struct PreflightArgs {
    /// Install without asking
    #[arg(long)]
    pub yes: bool,
    /// Also prepare the qemu route the fast-finisher steps use (up to 234 MB of kernels)
    #[arg(long)]
    pub vm: bool,
}

pub fn preflight(root: &Path, args: &PreflightArgs) -> Result<ExitCode> {
    let (yes, vm) = (args.yes, args.vm);
    let mut steps = vec![step("setup", setup::setup(root, &SetupArgs { yes, vm: false }), "done")];
    if vm {
        steps.push(step(
            "vm",
            setup::setup(root, &SetupArgs { yes, vm: true }),
            "qemu and Debian's kernels here, lesson 01 checked under qemu",
        ));
    }
    steps.push(match doctor::findings(root, &DoctorArgs { fix: false, deep: true, json: false }) {
        Ok(findings) => {
            let problems: Vec<String> =
                findings.iter().filter(|f| f.status == Status::Problem).map(|f| format!("{}: {}", f.name, f.detail)).collect();
            let said = if problems.is_empty() { "ready: builds, loads, attaches and observes here".into() } else { problems.join("; ") };
            Step { name: "doctor", ok: problems.is_empty(), said }
        }
        Err(error) => Step { name: "doctor", ok: false, said: format!("FAILED: {error:#}") },
    });
    let bundle = book::BookArgs { bundle: true, ..Default::default() };
    steps.push(step("book", book::book(root, &bundle), "offline in book/offline/, with the handout"));
    print!("{}", report(&Machine::this(), &steps, vm));
    Ok(if steps.iter().all(|s| s.ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The lines to send the instructor.
pub fn report(machine: &Machine, steps: &[Step], vm: bool) -> String {
    let known = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
    let mut out = String::from("\n--- pre-flight report: send these lines to the instructor ---\n");
    out.push_str(&format!(
        "machine  {} ({}), Linux {}, {}\n",
        known(&machine.host),
        known(&machine.user),
        known(&machine.kernel),
        std::env::consts::ARCH
    ));
    for step in steps {
        out.push_str(&format!("{:<8} {}{}\n", step.name, if step.ok { "ok: " } else { "" }, step.said));
    }
    if !vm {
        out.push_str("vm       not prepared (the fast-finisher steps need it: cargo xtask preflight --vm)\n");
    }
    let ready = steps.iter().all(|s| s.ok);
    out.push_str(if ready { "verdict  ready for the workshop\n" } else { "verdict  NOT ready: fix what is above, or bring this report\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_each_step_and_a_verdict() {
        let machine = Machine { host: Some("pc-01".into()), user: Some("ada".into()), kernel: None };
        let steps = [
            Step { name: "setup", ok: true, said: "done".into() },
            Step { name: "doctor", ok: false, said: "kernel BTF: /sys/kernel/btf/vmlinux is missing".into() },
        ];
        let text = report(&machine, &steps, false);
        assert!(text.contains("machine  pc-01 (ada), Linux ?, "), "{text}");
        assert!(text.contains("setup    ok: done\ndoctor   kernel BTF: /sys/kernel/btf/vmlinux is missing\n"), "{text}");
        assert!(
            text.contains("vm       not prepared") && text.ends_with("verdict  NOT ready: fix what is above, or bring this report\n"),
            "{text}"
        );
        let ready = report(&machine, &steps[..1], true);
        assert!(!ready.contains("vm       not prepared") && ready.ends_with("verdict  ready for the workshop\n"), "{ready}");
    }
}
