//! The room's server is meant for the instructor's own laptop, whatever it
//! runs. What is checked here, without a Windows or macOS machine: the
//! crate's dependency tree as cargo resolves it for Windows and for macOS
//! holds no crate that only builds on Unix (or on Linux), and its code calls
//! no platform-specific API. A type-check against the real Windows and macOS
//! standard libraries is the maintainer command `.ci/room-cross`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Crates that build only on Unix: any of them in the tree breaks a Windows build.
const UNIX_ONLY: &[&str] = &["nix", "rustix", "termios", "signal-hook", "signal-hook-registry", "users", "uzers", "daemonize", "xattr"];
/// Crates that build only on Linux, or need libbpf: any of them breaks a macOS build too.
const LINUX_ONLY: &[&str] = &["libbpf-rs", "libbpf-sys", "libbpf-cargo", "inotify", "inotify-sys", "procfs", "caps", "perf-event-open-sys"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The names of every crate `package` needs to build for `target`: its normal dependencies, transitively.
fn tree(package: &str, target: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", target, "--manifest-path"])
        .arg(workspace().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(output.status.success(), "cargo metadata for {target}: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let name_of =
        |id: &str| metadata["packages"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap()["name"].as_str().unwrap().to_string();
    let nodes = metadata["resolve"]["nodes"].as_array().unwrap();
    let start = metadata["packages"].as_array().unwrap().iter().find(|p| p["name"] == package).unwrap()["id"].as_str().unwrap().to_string();
    let (mut seen, mut names, mut todo) = (BTreeSet::new(), BTreeSet::new(), vec![start]);
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        names.insert(name_of(&id));
        let node = nodes.iter().find(|n| n["id"] == id.as_str()).unwrap();
        for dep in node["deps"].as_array().unwrap() {
            // A normal dependency for this target; build scripts and proc macros run on the building machine.
            let normal = dep["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null());
            if normal {
                todo.push(dep["pkg"].as_str().unwrap().to_string());
            }
        }
    }
    names
}

fn banned<'a>(names: &BTreeSet<String>, lists: &[&'a [&'a str]]) -> Vec<&'a str> {
    lists.iter().flat_map(|l| l.iter()).copied().filter(|c| names.contains(*c)).collect()
}

#[test]
fn the_dependency_tree_for_windows_and_macos_holds_nothing_unix_or_linux_only() {
    let windows = tree("workshop-room", "x86_64-pc-windows-gnu");
    eprintln!("for x86_64-pc-windows-gnu: {}", windows.iter().cloned().collect::<Vec<_>>().join(" "));
    assert_eq!(banned(&windows, &[UNIX_ONLY, LINUX_ONLY]), Vec::<&str>::new());
    // The filter really selects Windows: Ctrl-C goes through the console API there.
    assert!(windows.contains("windows-sys"), "{windows:?}");
    assert!(windows.contains("tiny_http") && windows.contains("getrandom"), "{windows:?}");

    let macos = tree("workshop-room", "aarch64-apple-darwin");
    eprintln!("for aarch64-apple-darwin: {}", macos.iter().cloned().collect::<Vec<_>>().join(" "));
    assert_eq!(banned(&macos, &[LINUX_ONLY]), Vec::<&str>::new());
    assert!(!macos.contains("windows-sys"), "{macos:?}");

    // The same question of the checker finds what it should: it is for Linux, with a terminal.
    let checker = tree("xtask", "x86_64-pc-windows-gnu");
    assert!(!banned(&checker, &[UNIX_ONLY]).is_empty(), "the check would pass anything: {checker:?}");
}

#[test]
fn the_code_calls_no_platform_specific_api() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for unportable in ["cfg(unix)", "cfg(target_os", "cfg(windows)", "std::os::", "libc::", "nix::", "rustix::"] {
            assert!(!text.contains(unportable), "{} uses {unportable}", path.display());
        }
    }
    // Nor does it reach into the checker: the dependency points one way.
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("xtask"), "{manifest}");
}
