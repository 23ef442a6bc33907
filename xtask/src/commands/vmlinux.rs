//! `cargo xtask dev vmlinux`: regenerate `vmlinux/<arch>/vmlinux.h` from the
//! running kernel's BTF, or (`--kernel 6.12-arm64`) from a pinned Debian
//! kernel's, so that an architecture this machine is not gets its header too.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

use crate::machine::host::KERNEL_BTF;
use crate::machine::{kernel_btf, kernels};
use crate::workbook::kernel_lock;

pub fn regenerate(root: &Path, kernel: Option<&str>) -> Result<ExitCode> {
    let (btf, arch) = match kernel {
        None => {
            if !Path::new(KERNEL_BTF).exists() {
                bail!("{KERNEL_BTF} is missing: this kernel has no BTF to generate vmlinux.h from");
            }
            (KERNEL_BTF.into(), std::env::consts::ARCH)
        }
        Some(name) => {
            let series = kernels::pinned(name)?;
            let kernel = kernels::ensure(series, &kernel_lock::pin(root, series)?)?;
            let btf = kernel.vmlinuz.with_file_name("vmlinux.btf");
            if !btf.exists() {
                kernel_btf::extract_btf(&kernel.vmlinuz, &btf).with_context(|| format!("extracting the BTF of kernel {name}"))?;
            }
            (btf, rust_arch(series.arch)?)
        }
    };
    let output = Command::new("bpftool")
        .args(["btf", "dump", "file"])
        .arg(&btf)
        .args(["format", "c"])
        .output()
        .context("bpftool is not installed (Debian: apt-get install bpftool; Ubuntu: linux-tools-common)")?;
    if !output.status.success() {
        bail!("bpftool failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let dir = root.join("vmlinux").join(arch);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("vmlinux.h");
    let temp = dir.join("vmlinux.h.new");
    std::fs::write(&temp, &output.stdout)?;
    std::fs::rename(&temp, &path)?;
    println!("wrote {} ({} KiB)", path.strip_prefix(root)?.display(), output.stdout.len() / 1024);
    Ok(ExitCode::SUCCESS)
}

/// Rust's name of a Debian architecture: the `vmlinux/` folder the lessons include.
fn rust_arch(debian: &str) -> Result<&'static str> {
    match debian {
        "amd64" => Ok("x86_64"),
        "arm64" => Ok("aarch64"),
        other => bail!("the workbook has no vmlinux folder for Debian's {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pinned_series_has_a_vmlinux_folder_the_lessons_build_with() {
        for series in kernels::pinned_series() {
            let arch = rust_arch(series.arch).unwrap();
            assert!(bpf_build::target_arch(arch).is_some(), "{}: {arch}", series.name);
        }
        assert!(rust_arch("riscv64").is_err());
    }
}
