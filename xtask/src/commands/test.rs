//! `cargo xtask dev test`: the maintainers' one test command, which CI runs. It
//! installs what the tests need (asking once), then runs the tooling's tests,
//! the book's tests and the self-test of every lesson on every kernel.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::commands::verify_args::VerifyArgs;
use crate::commands::{book, matrix, setup};
use crate::machine::{host, packages};

/// `cargo xtask dev test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Install without asking
    #[arg(long)]
    pub yes: bool,
}

pub fn test(root: &Path, args: &TestArgs) -> Result<ExitCode> {
    let yes = args.yes;
    let mut needs = packages::for_lessons();
    needs.extend(packages::for_vm());
    needs.extend(packages::for_tests());
    setup::install_missing(&needs, yes, "dev test")?;
    if !host::tracefs_mounted() && host::is_root() {
        host::mount_tracefs()?;
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Style and lints first: they take seconds, and name the file at fault.
    let manifest = root.join("Cargo.toml");
    let tooling = ["xtask", "transcript", "harness", "bpf-build", "load-object", "book-builder", "probes"];
    // The lessons are the learner's to format: their layer fixes find text as it is written.
    let mut fmt_args = vec!["fmt", "--check"];
    let mut clippy_args = vec!["clippy", "--all-targets"];
    for package in tooling {
        fmt_args.extend(["--package", package]);
        clippy_args.extend(["--package", package]);
    }
    clippy_args.extend(["--", "-D", "warnings"]);
    for args in [fmt_args, clippy_args] {
        println!("+ cargo {}", args.join(" "));
        let mut command = Command::new(&cargo);
        command.arg(args[0]).arg("--manifest-path").arg(&manifest).args(&args[1..]);
        if !command.status().context("running cargo")?.success() {
            return Ok(ExitCode::FAILURE);
        }
    }

    // The tooling's unit tests, as a bare `cargo test` runs them (default-members).
    println!("+ cargo test");
    let mut cargo_test = Command::new(cargo);
    cargo_test.arg("test").arg("--manifest-path").arg(root.join("Cargo.toml"));
    if !cargo_test.status().context("running cargo test")?.success() {
        return Ok(ExitCode::FAILURE);
    }

    println!("+ cargo xtask dev test-book");
    if book::test(root)? != ExitCode::SUCCESS {
        return Ok(ExitCode::FAILURE);
    }

    println!("+ cargo xtask dev verify --kernels all --timings");
    let matrix = VerifyArgs { kernels: vec!["all".to_string()], timings: true, ..Default::default() };
    matrix::verify(root, &matrix)
}
