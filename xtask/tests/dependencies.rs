//! xtask builds with nothing but Rust and a C compiler: no crate in its tree
//! links a system library, so `cargo xtask setup` runs on a bare machine
//! before it has installed anything.

use std::process::Command;

/// `-sys` crates that are bindings only, or build bundled sources with the C
/// compiler alone; each needs no system library.
const SELF_CONTAINED_SYS: &[&str] = &[
    // The kernel's syscall numbers and structs, as Rust constants.
    "linux-raw-sys",
    // inotify's syscalls, for `watch`, through libc.
    "inotify-sys",
];

#[test]
fn no_crate_under_xtask_needs_a_system_library() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["tree", "--package", "xtask", "--edges", "normal,build", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(crates.contains(&"xtask"), "cargo tree listed no xtask:\n{tree}");
    // pkg-config is how a -sys crate finds a system library; libbpf-rs and the harness bring libbpf, libelf and zlib.
    let forbidden = ["pkg-config", "libbpf-sys", "libbpf-rs", "harness", "libz-sys", "libelf-sys", "cmake", "bindgen"];
    let mut offenders: Vec<&str> = crates
        .iter()
        .copied()
        .filter(|name| forbidden.contains(name) || (name.ends_with("-sys") && !SELF_CONTAINED_SYS.contains(name)))
        .collect();
    offenders.sort();
    offenders.dedup();
    assert!(offenders.is_empty(), "xtask's dependency tree needs system libraries through: {offenders:?}");
}
