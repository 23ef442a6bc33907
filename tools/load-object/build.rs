//! Records libbpf's header folder, so `load-object --include-dir` can tell diagnose where it is.

fn main() {
    let headers = std::env::var("DEP_BPF_INCLUDE").expect("libbpf-sys exports its headers");
    println!("cargo:rustc-env=BPF_INCLUDE={headers}");
}
