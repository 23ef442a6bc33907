//! Compiles the BPF program and generates its Rust skeleton with libbpf-cargo.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const SOURCE: &str = "src/bpf/bootstrap.bpf.c";

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the target arch");

    SkeletonBuilder::new()
        .source(SOURCE)
        .clang(env::var_os("CLANG").unwrap_or_else(|| "clang".into()))
        .clang_args([format!("-I../../vmlinux/{arch}")])
        .obj(out_dir.join("bootstrap.bpf.o"))
        .build_and_generate(out_dir.join("bootstrap.skel.rs"))
        .expect("compiling the BPF program"); // clang's diagnostics are in the error
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=CLANG");
}
