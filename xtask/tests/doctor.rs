//! `doctor --deep` loads, attaches and observes lesson 01's solution as a check
//! would, and names what blocks it where BPF is refused.

mod common;

use common::*;

#[test]
#[ignore = "needs root: loads BPF programs"]
fn deep_doctor_works_here_and_names_a_user_namespace_that_blocks_bpf() {
    require_root();
    let _serial = serial();
    let root = scratch("doctor-deep", false);
    let here = run(&root, &["doctor", "--deep"]);
    assert!(here.stdout.contains("observed N of N openat calls by this process"), "{}", here.stdout);
    assert!(here.stdout.contains("ok       deep         lesson 01's solution loaded, attached and saw its events here"), "{}", here.stdout);
    assert_eq!(
        read(&root, "src/main.rs"),
        std::fs::read_to_string(workbook().join(LESSON).join("src/main.rs")).unwrap(),
        "the learner's file changed"
    );

    // Root inside a new user namespace is not root to the kernel: bpf() is refused.
    let blocked = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", env!("CARGO_BIN_EXE_xtask"), "doctor", "--deep"])
        .env("WORKBOOK_ROOT", &root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&blocked.stdout);
    assert_eq!(blocked.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("load     FAILED  EPERM"), "{stdout}");
    assert!(stdout.contains("PROBLEM  deep         BPF does not work here: a user namespace"), "{stdout}");
}
