//! `cargo xtask setup`: install what the lessons need (asking first), mount
//! tracefs, then check lesson 01 so the learner sees a first real failure.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{bail, Result};

use crate::machine::host::{self, Status};

/// The clang the snapshots were made with, where the archive has it (Debian 12
/// does); otherwise the distribution's default clang.
const PREFERRED_CLANG: [&str; 2] = ["clang-19", "llvm-19"];

fn archive_has(package: &str) -> bool {
    Command::new("apt-cache").args(["show", "--quiet=2", package]).output().is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// Debian and Ubuntu packages for each doctor finding that a package fixes.
fn packages_for(finding: &str) -> Vec<&'static str> {
    match finding {
        "clang" if archive_has(PREFERRED_CLANG[0]) => PREFERRED_CLANG.to_vec(),
        "clang" => vec!["clang", "llvm"],
        "libraries" => vec!["pkg-config", "libelf-dev", "zlib1g-dev"],
        _ => vec![],
    }
}

pub fn setup(root: &Path, yes: bool) -> Result<ExitCode> {
    let findings = crate::machine::findings();
    let mut packages: Vec<&str> = findings
        .iter()
        .filter(|f| f.status == Status::Problem)
        .flat_map(|f| packages_for(f.name))
        .collect();
    packages.dedup();

    if !packages.is_empty() {
        println!("the lessons need these packages: {}", packages.join(" "));
        if !yes && !confirm("install them with apt-get?")? {
            bail!("nothing installed; run `cargo xtask setup --yes` to install without asking");
        }
        let sudo: &[&str] = if host::is_root() { &[] } else { &["sudo"] };
        let apt = |args: &[&str]| -> Result<()> {
            let mut command: Vec<&str> = sudo.to_vec();
            command.push("apt-get");
            command.extend_from_slice(args);
            let status = Command::new(command[0]).args(&command[1..]).env("DEBIAN_FRONTEND", "noninteractive").status()?;
            anyhow::ensure!(status.success(), "`{}` failed", command.join(" "));
            Ok(())
        };
        apt(&["update", "-q"])?;
        let mut install = vec!["install", "-y", "-q"];
        install.extend(&packages);
        apt(&install)?;
    }

    if !host::tracefs_mounted() {
        if host::is_root() {
            host::mount_tracefs()?;
            println!("mounted tracefs at {}", host::TRACEFS);
        } else {
            println!("tracefs is not mounted; run: sudo mount -t tracefs tracefs {}", host::TRACEFS);
        }
    }

    println!("\nsetup done; now lesson 01, which starts broken on purpose:\n");
    crate::commands::check::check(root, "01", false, None)
}

fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
