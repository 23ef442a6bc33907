//! `cargo xtask book`: builds the mdBook in book/ with the book-builder
//! package, so that xtask, and with it `cargo xtask check`, never compiles mdBook.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

/// What `cargo xtask book` was asked for.
#[derive(Default)]
pub struct Options {
    pub serve: bool,
    pub port: Option<u16>,
    /// For --serve: the address and port, e.g. 0.0.0.0:3000 for a room.
    pub listen: Option<String>,
    /// Also write the offline book.
    pub bundle: bool,
    pub open: bool,
    pub test: bool,
    /// One edition only: `en` or a translation's language, e.g. `zh-CN`.
    pub lang: Option<String>,
    pub update_po: bool,
}

pub fn book(root: &Path, options: Options) -> Result<ExitCode> {
    let Options { serve, port, listen, bundle, open, test, lang, update_po } = options;
    let mut command = if test {
        test_command(root, crate::machine::host::is_root())
    } else {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command.args(["run", "--quiet", "--package", "book-builder", "--manifest-path"]).arg(root.join("Cargo.toml"));
        command.arg("--");
        command.args(serve.then_some("--serve")).args(open.then_some("--open")).args(update_po.then_some("--update-po"));
        command.args(bundle.then_some("--bundle"));
        if let Some(listen) = listen {
            command.arg(format!("--listen={listen}"));
        }
        if let Some(lang) = lang {
            command.arg(format!("--lang={lang}"));
        }
        if let Some(port) = port {
            command.arg(format!("--port={port}"));
        }
        command
    };
    let status = command.status().context("running cargo")?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `book --test`: the unit tests, the README transcripts, the built book read
/// in Chromium, and the probes that reproduce the messages the book quotes
/// outside the lessons; those load BPF, so they are `#[ignore]`d unless
/// `include_ignored` (as root).
pub fn test_command(root: &Path, include_ignored: bool) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["test", "--package", "book-builder", "--package", "probes", "--manifest-path"]).arg(root.join("Cargo.toml"));
    command.env("CLANG", crate::machine::host::clang().map(|c| c.path).unwrap_or_else(|| "clang".into()));
    if include_ignored {
        command.args(["--", "--include-ignored"]);
    }
    command
}
