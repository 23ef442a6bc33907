//! `cargo xtask test`: the maintainers' one test command, which CI runs. It
//! installs what the tests need (asking once), then runs the tooling's tests,
//! the book's tests and the self-test of every lesson on every kernel.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::commands::{book, matrix, setup};
use crate::machine::{host, packages};

pub fn test(root: &Path, yes: bool) -> Result<ExitCode> {
    let mut needs = packages::for_lessons();
    needs.extend(packages::for_vm());
    needs.extend(packages::for_tests());
    setup::install_missing(&needs, yes, "test")?;
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
    // As a learner's shell would have them: this process set insta's for itself.
    for name in ["INSTA_WORKSPACE_ROOT", "INSTA_UPDATE", "INSTA_CARGO_INSTA", "INSTA_OUTPUT"] {
        cargo_test.env_remove(name);
    }
    if !cargo_test.status().context("running cargo test")?.success() {
        return Ok(ExitCode::FAILURE);
    }

    println!("+ cargo xtask book --test");
    if book::book(root, book::Options { test: true, ..Default::default() })? != ExitCode::SUCCESS {
        return Ok(ExitCode::FAILURE);
    }

    println!("+ cargo xtask verify --kernels all --timings");
    matrix::verify(root, &[], &["all".to_string()], false, true)
}
