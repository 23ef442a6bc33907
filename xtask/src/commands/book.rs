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
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    if test {
        // Unit tests, the README transcripts, the built book read in Chromium, and
        // the probes that reproduce the messages the book quotes outside the lessons.
        command.args(["test", "--package", "book-builder", "--package", "probes", "--manifest-path"]).arg(root.join("Cargo.toml"));
        command.env("CLANG", crate::machine::host::clang().map(|c| c.path).unwrap_or_else(|| "clang".into()));
    } else {
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
    }
    let status = command.status().context("running cargo")?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
