//! Compiles the BPF objects the kernel probes load, and one host object that is not BPF.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// (source, object, flags): every object is built the usual way except where a probe needs otherwise.
const OBJECTS: &[(&str, &str, &[&str])] = &[
    ("tracepoints", "tracepoints", USUAL),
    ("tracepoints", "tracepoints_without_g", &["-O2"]),
    ("core_read", "core_read", USUAL),
    ("kernel_read", "kernel_read", USUAL),
    ("direct_loads", "direct_loads", USUAL),
    ("missing_field", "missing_field", USUAL),
    ("percpu_too_big", "percpu_too_big", USUAL),
    ("unoptimised", "unoptimised", &["-g", "-O0"]),
    ("unoptimised_minimal", "unoptimised_minimal", &["-g", "-O0"]),
    ("counter", "counter", USUAL),
    ("size_mismatch", "size_mismatch", USUAL),
    ("toolbox", "toolbox", USUAL),
    ("direct_read", "direct_read", USUAL),
    ("btf_pointer", "btf_pointer", USUAL),
    ("flavors", "flavors", USUAL),
    ("user_reads", "user_reads", USUAL),
    ("xdp_pass", "xdp_pass", USUAL),
];

const USUAL: &[&str] = &["-g", "-O2"];

fn main() {
    // The lessons' clang search ($CLANG, then the newest clang-N): clang-19 puts no `clang` on PATH.
    let clang = bpf_build::clang();
    // The clang probes compile at run time with the same clang.
    println!("cargo:rustc-env=PROBES_CLANG={}", clang.display());
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let headers = env::var("DEP_BPF_INCLUDE").expect("libbpf-sys exports its headers");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the target arch");
    // The clang probes compile at run time with the same include paths.
    println!("cargo:rustc-env=BPF_INCLUDE={headers}");

    for (source, object, flags) in OBJECTS {
        let source = format!("src/bpf/{source}.bpf.c");
        run(Command::new(&clang)
            .args(["-target", "bpf"])
            .args(*flags)
            .arg(format!("-I../../vmlinux/{arch}"))
            .arg(format!("-I{headers}"))
            .args(["-c", &source, "-o"])
            .arg(out.join(format!("{object}.bpf.o"))));
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
