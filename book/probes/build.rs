//! Compiles the BPF objects the kernel probes load, and one host object that is not BPF.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (source, extra flags): every object is built the usual way except where a probe needs otherwise.
const OBJECTS: [(&str, &[&str]); 6] = [
    ("src/bpf/tracepoints.bpf.c", &["-O2"]),
    ("src/bpf/core_read.bpf.c", &["-O2"]),
    ("src/bpf/missing_field.bpf.c", &["-O2"]),
    ("src/bpf/percpu_too_big.bpf.c", &["-O2"]),
    ("src/bpf/unoptimised.bpf.c", &["-O0"]),
    ("src/bpf/xdp_pass.bpf.c", &["-O2"]),
];

fn main() {
    let clang = env::var_os("CLANG").unwrap_or_else(|| "clang".into());
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let headers = env::var("DEP_BPF_INCLUDE").expect("libbpf-sys exports its headers");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the target arch");
    // The clang probes compile at run time with the same include paths.
    println!("cargo:rustc-env=BPF_INCLUDE={headers}");

    for (source, flags) in OBJECTS {
        let object = out.join(Path::new(source).file_name().unwrap()).with_extension("o");
        run(Command::new(&clang)
            .args(["-g", "-target", "bpf"])
            .args(flags)
            .arg(format!("-I../../vmlinux/{arch}"))
            .arg(format!("-I{headers}"))
            .args(["-c", source, "-o"])
            .arg(object));
        println!("cargo:rerun-if-changed={source}");
    }
    run(Command::new(&clang).args(["-c", "-x", "c", "/dev/null", "-o"]).arg(out.join("host.o")));
    println!("cargo:rerun-if-env-changed=CLANG");
}

fn run(command: &mut Command) {
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(_) => std::process::exit(1), // clang has printed its diagnostics
        Err(error) => panic!("cannot run {command:?}: {error}"),
    }
}
