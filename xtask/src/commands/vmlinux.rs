//! `cargo xtask dev vmlinux`: regenerate `vmlinux/<arch>/vmlinux.h` from the running kernel's BTF.

use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};

use crate::machine::host::KERNEL_BTF;

pub fn regenerate(root: &Path) -> Result<ExitCode> {
    if !Path::new(KERNEL_BTF).exists() {
        bail!("{KERNEL_BTF} is missing: this kernel has no BTF to generate vmlinux.h from");
    }
    let output = Command::new("bpftool")
        .args(["btf", "dump", "file", KERNEL_BTF, "format", "c"])
        .output()
        .context("bpftool is not installed (Debian: apt-get install bpftool; Ubuntu: linux-tools-common)")?;
    if !output.status.success() {
        bail!("bpftool failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    let dir = root.join("vmlinux").join(std::env::consts::ARCH);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("vmlinux.h");
    let temp = dir.join("vmlinux.h.new");
    std::fs::write(&temp, &output.stdout)?;
    std::fs::rename(&temp, &path)?;
    println!("wrote {} ({} KiB)", path.strip_prefix(root)?.display(), output.stdout.len() / 1024);
    Ok(ExitCode::SUCCESS)
}
