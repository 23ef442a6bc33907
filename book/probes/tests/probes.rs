//! Every probe still fails exactly as its snapshot says, and every snapshot has a probe.
//! The kernel probes load BPF programs, so this test needs root: `cargo xtask
//! dev test-book` runs it as root, a plain `cargo test` lists it as ignored. Snapshots named
//! `<probe>@<kernel>` come from other kernels: `cargo xtask dev verify --kernels` runs those
//! (see `vm.toml`).

use std::os::unix::fs::MetadataExt;
use std::process::Command;

fn probes(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_probes")).args(args).output().expect("running probes");
    String::from_utf8(output.stdout).expect("transcripts are UTF-8")
}

#[test]
#[ignore = "needs root: the kernel probes load BPF programs"]
fn every_probe_matches_its_snapshot() {
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    assert!(root, "the probes load BPF programs: run this test as root");

    let names: Vec<String> = probes(&["list"]).lines().map(String::from).collect();
    for name in &names {
        insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
            insta::assert_snapshot!(name.as_str(), probes(&[name]));
        });
    }

    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots");
    for entry in std::fs::read_dir(folder).expect("the snapshots folder") {
        let file = entry.unwrap().file_name().into_string().unwrap();
        let stem = file.strip_suffix(".snap").unwrap_or(&file);
        let probe = stem.split('@').next().unwrap_or(stem);
        assert!(names.iter().any(|n| n == probe), "{file} belongs to no probe");
    }

    let vm_runs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/vm.toml")).expect("vm.toml");
    for line in vm_runs.lines().filter_map(|l| l.strip_prefix("probe = ")) {
        let probe = line.trim_matches('"');
        assert!(names.iter().any(|n| n == probe), "vm.toml runs `{probe}`, which is not a probe");
    }
}
