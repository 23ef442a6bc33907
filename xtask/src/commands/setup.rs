//! `cargo xtask setup`: install what the lessons need (asking once), mount
//! tracefs, build every lesson's dependencies, fetch the older kernel's BTF
//! that portability checks relocate against, then check lesson 01 so the
//! learner sees a first real failure. `--vm` prepares the qemu route instead.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};

use crate::commands::check::{self, Outcome};
use crate::commands::kernels;
use crate::machine::cargo::{self, Build};
use crate::machine::distro::Manager;
use crate::machine::host;
use crate::machine::kernels::Choice;
use crate::machine::packages::{self, Need};
use crate::report::terminal;
use crate::workbook::{lessons, portability};

/// The kernel `setup --vm` checks lesson 01 on.
const VM_KERNEL: &str = "6.1";

/// `cargo xtask setup`.
#[derive(clap::Args, Debug, Default, Clone, Copy)]
pub struct SetupArgs {
    /// Install without asking
    #[arg(long)]
    pub yes: bool,
    /// Prepare lessons under qemu instead (no root needed later): qemu, busybox, Debian's kernels
    #[arg(long)]
    pub vm: bool,
}

pub fn setup(root: &Path, args: &SetupArgs) -> Result<ExitCode> {
    let SetupArgs { yes, vm } = *args;
    let mut needs = packages::for_lessons();
    let all = lessons::all(root)?;
    if vm {
        needs.extend(packages::for_vm());
    }
    let mut seen = std::collections::HashSet::new();
    needs.retain(|n| seen.insert(n.what));
    install_missing(&needs, yes, if vm { "setup --vm" } else { "setup" })?;

    if !vm && !host::tracefs_mounted() {
        if host::is_root() {
            host::mount_tracefs()?;
            println!("mounted tracefs at {}", host::TRACEFS);
        } else {
            println!("tracefs is not mounted; run: sudo mount -t tracefs tracefs {}", host::TRACEFS);
        }
    }
    prebuild(root)?;
    portability::prepare(root, &all).iter().for_each(|line| println!("{line}"));
    if vm && kernels::kernels(root, &Default::default())? != ExitCode::SUCCESS {
        bail!("fetching the kernels failed (above)");
    }

    println!("\nnow lesson 01, which starts broken on purpose:\n");
    let lesson = lessons::find(root, "01")?;
    let choice = if vm { crate::machine::kernels::choice(VM_KERNEL)? } else { Choice::Host };
    let outcome = check::check_lesson_on(root, &lesson, false, "setup", choice)?;
    let on = if vm { format!(" --kernel {VM_KERNEL}") } else { String::new() };
    match outcome {
        Outcome::CannotRun => {
            println!("\nsetup is not done: this machine cannot run the lessons yet (above)");
            Ok(ExitCode::FAILURE)
        }
        Outcome::Failing => {
            println!("\nsetup done. Lesson 01 failing is expected: that is your first exercise.");
            println!("read lessons/01-open-fails/README.md, then: cargo xtask check 01{on}");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Passed => {
            println!("\nsetup done (lesson 01 already passes here)");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// One question for everything missing (none with `yes`), then the
/// system's package manager. Where there is none the workbook knows, it
/// says what is missing and what each thing is for, and goes on.
pub fn install_missing(needs: &[Need], yes: bool, command: &str) -> Result<()> {
    let missing: Vec<&Need> = needs.iter().filter(|n| !n.present).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let whats: Vec<&str> = missing.iter().map(|n| n.what).collect();
    println!("missing: {}", whats.join(", "));
    let Some(manager) = Manager::detect() else {
        println!(
            "this system has none of apt-get, dnf, pacman or zypper, so setup cannot install them; install with its own package manager:"
        );
        for need in &missing {
            println!("  {}: {}", need.what, need.why);
        }
        println!("setup goes on with what is here");
        return Ok(());
    };
    let listed = packages::packages_for(&missing, manager);
    let sudo = packages::sudo_prefix(manager, &listed)?;
    let question = format!("install them with `{sudo}{}`?", manager.install_command(&listed));
    terminal::confirm(&question, yes, &format!("`cargo xtask {command} --yes` installs without asking"))?;
    packages::install(manager, &missing, sudo)
}

/// Builds every lesson once, so that a check compiles only the lesson's own
/// crate. The lessons start broken, so a lesson that fails to build is fine
/// here; a dependency that fails to build is this machine's problem (an error).
pub fn prebuild(root: &Path) -> Result<()> {
    let started = Instant::now();
    println!("building every lesson's dependencies (once; a few minutes the first time)");
    for lesson in lessons::all(root)? {
        println!("  lesson {}", lesson.dir_name);
        match cargo::build_dependencies(root, &lesson.package, &lesson.dir, &root.join("target"))? {
            Build::Built { .. } | Build::Failed { .. } => {}
        }
    }
    println!("built in {} s", started.elapsed().as_secs());
    Ok(())
}
