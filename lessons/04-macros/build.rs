//! Compiles the BPF program with libbpf-cargo, which passes the usual flags
//! (`-g -O2 -target bpf -D__TARGET_ARCH_<arch>`) and brings libbpf's headers.

use std::env;
use std::path::PathBuf;
use std::process::exit;

use libbpf_cargo::SkeletonBuilder;

const SOURCE: &str = "src/bpf/macros.bpf.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the target arch");

    // Only the object, no skeleton: the loader opens it with libbpf at run
    // time, where a bad map definition fails with libbpf's own message.
    let built = SkeletonBuilder::new()
        .source(SOURCE)
        .clang(env::var_os("CLANG").unwrap_or_else(|| "clang".into()))
        .clang_args([format!("-I../../vmlinux/{arch}")])
        .obj(out_dir.join("macros.bpf.o"))
        .build();
    if let Err(error) = built {
        // One cause a line; the last is clang's output, exactly as clang wrote it.
        for cause in error.chain() {
            eprintln!("{cause}");
        }
        exit(1);
    }
}
