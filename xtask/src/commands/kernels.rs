//! `cargo xtask kernels`: fetch the pinned Debian kernels into the cache once,
//! and list every kernel; `cargo xtask dev update-kernels` pins the newest builds first.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::machine::kernels::{self, Pin};
use crate::workbook::kernel_lock::{self, LOCK};

/// `cargo xtask kernels`.
#[derive(clap::Args, Debug, Default)]
pub struct KernelsArgs {
    /// Only list; fetch nothing
    #[arg(long)]
    pub list: bool,
}

/// `cargo xtask dev update-kernels`: pin the newest builds in Debian's archive
/// (of `only`, or of every pinned series when it is empty), then fetch them.
pub fn update(root: &Path, only: &[String]) -> Result<ExitCode> {
    let changed = update_lock(root, only)?;
    if changed.iter().any(|series| series.arch == "amd64") {
        println!(
            "\nthe compatibility page was measured on the old builds: run `cargo xtask dev verify --kernels all --bless`, \
             then commit {LOCK}, book/compatibility.json and book/src/compatibility.md together\n"
        );
    } else if changed.is_empty() {
        println!("\n{LOCK} already pins the newest builds\n");
    } else {
        println!("\nregenerate vmlinux/aarch64/vmlinux.h from the new arm64 build: cargo xtask dev vmlinux --kernel 6.12-arm64\n");
    }
    kernels(root, &KernelsArgs::default())
}

pub fn kernels(root: &Path, args: &KernelsArgs) -> Result<ExitCode> {
    let list_only = args.list;
    let mut failed = false;
    for series in kernels::SERIES {
        let kernel = kernel_lock::pin(root, series).and_then(|pin| {
            if list_only {
                kernels::cached(series, &pin)
            } else {
                kernels::ensure(series, &pin).map(Some)
            }
        });
        match kernel {
            Ok(Some(k)) => {
                println!("{:<5} {:<21} {} {}   cached, verified", series.name, series.release, k.manifest.package, k.manifest.version)
            }
            Ok(None) => println!("{:<5} {:<21} not fetched yet (cargo xtask kernels)", series.name, series.release),
            Err(error) => {
                failed = true;
                println!("{:<5} {:<21} FAILED: {error:#}", series.name, series.release);
            }
        }
    }
    let (major, minor) = kernels::major_minor(&kernels::host_release()).unwrap_or_default();
    println!("{:<5} {:<21} the running kernel, Linux {major}.{minor} (needs root or sudo)", "host", "this machine");
    println!("\ncache: {}", kernels::cache_dir()?.display());
    println!("use one: cargo xtask check NN --kernel 6.1");
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Pins the newest build of each series; returns the series whose pin changed.
fn update_lock(root: &Path, only: &[String]) -> Result<Vec<&'static kernels::Series>> {
    let mut pins: Vec<(&str, Pin)> = Vec::new();
    let mut changed = Vec::new();
    let chosen: Vec<&'static kernels::Series> = if only.is_empty() {
        kernels::pinned_series().collect()
    } else {
        only.iter().map(|name| kernels::pinned(name)).collect::<Result<_>>()?
    };
    for series in chosen {
        let newest = kernels::newest(series)?;
        let old = kernel_lock::pin(root, series).ok();
        match &old {
            Some(old) if *old == newest => println!("{:<5} {}   unchanged", series.name, newest.describe()),
            Some(old) => println!("{:<5} {} → {}", series.name, old.describe(), newest.describe()),
            None => println!("{:<5} {}   newly pinned", series.name, newest.describe()),
        }
        if old.as_ref() != Some(&newest) {
            changed.push(series);
        }
        pins.push((series.name, newest));
    }
    if !changed.is_empty() {
        kernel_lock::write(root, &pins)?;
        println!("{LOCK} updated");
    }
    Ok(changed)
}
