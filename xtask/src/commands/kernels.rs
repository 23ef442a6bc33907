//! `cargo xtask kernels`: fetch Debian's kernels into the cache once, and list every kernel.

use std::process::ExitCode;

use anyhow::Result;

use crate::machine::kernels;

/// `cargo xtask kernels`: fetch what is missing, then list every kernel.
pub fn kernels(list_only: bool) -> Result<ExitCode> {
    let mut failed = false;
    for series in kernels::SERIES {
        let kernel = if list_only { kernels::cached(series) } else { kernels::ensure(series).map(Some) };
        match kernel {
            Ok(Some(k)) => println!(
                "{:<5} {:<21} {} {}   cached, verified",
                series.name, series.release, k.manifest.package, k.manifest.version
            ),
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
