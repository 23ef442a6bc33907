//! `cargo xtask book`: builds the mdBook in book/ with the book-builder
//! package, so that xtask, and with it `cargo xtask check`, never compiles mdBook.
//! `cargo xtask dev test-book` and `dev update-po` are the maintainers' side of it.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

/// `cargo xtask book`: what to build and how to show it.
#[derive(clap::Args, Debug, Default)]
pub struct BookArgs {
    /// Serve it on http://127.0.0.1:3000/, or where --listen says
    #[arg(long)]
    pub serve: bool,
    /// The port for --serve
    #[arg(long, requires = "serve", conflicts_with = "listen")]
    pub port: Option<u16>,
    /// Address and port for --serve; 0.0.0.0:3000 serves it to the room's laptops
    #[arg(long, value_name = "ADDR", requires = "serve")]
    pub listen: Option<String>,
    /// Also write the offline book: every edition in one .tar.gz, in book/offline/, that opens from disk with search
    #[arg(long, conflicts_with = "lang")]
    pub bundle: bool,
    /// Open it in a browser
    #[arg(long)]
    pub open: bool,
    /// Build only this edition: `en`, or a translation in book/po/ (e.g. `zh-CN`)
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

pub fn book(root: &Path, args: &BookArgs) -> Result<ExitCode> {
    let mut builder = Vec::new();
    builder.extend(args.serve.then(|| "--serve".to_string()));
    builder.extend(args.open.then(|| "--open".to_string()));
    builder.extend(args.bundle.then(|| "--bundle".to_string()));
    builder.extend(args.listen.as_ref().map(|listen| format!("--listen={listen}")));
    builder.extend(args.lang.as_ref().map(|lang| format!("--lang={lang}")));
    builder.extend(args.port.map(|port| format!("--port={port}")));
    run_builder(root, &builder)
}

/// `cargo xtask dev update-po`: after changing the English, regenerate
/// book/po/messages.pot and merge it into each translation.
pub fn update_po(root: &Path) -> Result<ExitCode> {
    run_builder(root, &["--update-po".to_string()])
}

/// `cargo xtask dev test-book`: unit tests, the README transcripts, the built
/// book read in Chromium, and the probes that reproduce the messages the book
/// quotes outside the lessons.
pub fn test(root: &Path) -> Result<ExitCode> {
    status(test_command(root, crate::machine::host::is_root()))
}

fn run_builder(root: &Path, args: &[String]) -> Result<ExitCode> {
    let mut command = cargo();
    command.args(["run", "--quiet", "--package", "book-builder", "--manifest-path"]).arg(root.join("Cargo.toml"));
    command.arg("--").args(args);
    status(command)
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn status(mut command: Command) -> Result<ExitCode> {
    let status = command.status().context("running cargo")?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What `dev test-book` runs; the probes load BPF, so they are `#[ignore]`d
/// and run only with `include_ignored` (as root).
pub fn test_command(root: &Path, include_ignored: bool) -> Command {
    let mut command = cargo();
    command.args(["test", "--package", "book-builder", "--package", "probes", "--manifest-path"]).arg(root.join("Cargo.toml"));
    command.env("CLANG", crate::machine::host::clang_for_builds());
    if include_ignored {
        command.args(["--", "--include-ignored"]);
    }
    command
}
