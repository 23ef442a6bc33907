//! Passes libbpf's header folder to diagnose, which compiles a `.bpf.c` the way the lessons do.

fn main() {
    let headers = std::env::var("DEP_BPF_INCLUDE").expect("libbpf-sys exports its headers");
    println!("cargo:rustc-env=BPF_INCLUDE={headers}");
}
