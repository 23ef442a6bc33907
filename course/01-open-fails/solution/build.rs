//! Compiles the BPF program with an explicit clang command, so the flags are in plain sight.

use std::env;
use std::path::PathBuf;
use std::process::{exit, Command};

const SOURCE: &str = "src/bpf/open_fails.bpf.c";

fn main() {
    let clang = bpf_build::clang(); // $CLANG, else the newest clang on PATH
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let libbpf_headers = env::var_os("DEP_BPF_INCLUDE").expect("libbpf-sys exports its headers");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the target arch");

    let status = Command::new(&clang)
        .args(["-g", "-O2", "-target", "bpf"]) // -g: emit .BTF and .BTF.ext
        .arg(format!("-I../../vmlinux/{arch}"))
        .arg("-I")
        .arg(&libbpf_headers)
        .args(["-c", SOURCE, "-o"])
        .arg(out_dir.join("open_fails.bpf.o"))
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(_) => exit(1), // clang has printed its diagnostics
        Err(error) => {
            eprintln!("cannot run {}: {error}", clang.to_string_lossy());
            exit(1);
        }
    }
    println!("cargo:rerun-if-changed={SOURCE}");
}
