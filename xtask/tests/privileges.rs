//! The learner who is not root, for real: users made for the test, each with
//! a copy of the workbook they own and the Rust toolchain they can read. One
//! has passwordless sudo, the other neither root nor sudo. tracefs is left
//! root-only (mode 700), as stock Debian and Ubuntu mount it. Needs root, to
//! make the users: `cargo xtask dev test` runs it as root, a plain `cargo test`
//! lists it as ignored. What it changes on the machine is undone when it ends,
//! even by a panic, and at its next start when it was killed.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

const SUDO_USER: &str = "wbsudo";
const PLAIN_USER: &str = "wbplain";
const SUDOERS: &str = "/etc/sudoers.d/workbook-test";
const TRACEFS: &str = "/sys/kernel/tracing";

/// Fails the test, saying why, where this machine cannot run it.
fn require_what_it_needs() {
    assert!(is_root(), "this test creates users, which needs root: run it as root (as `cargo xtask dev test` does)");
    for (tool, package) in [("useradd", "passwd"), ("runuser", "util-linux"), ("sudo", "sudo"), ("visudo", "sudo")] {
        let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].iter().any(|d| Path::new(d).join(tool).exists());
        assert!(found, "this test needs {tool} (package {package}; `cargo xtask dev test` installs it)");
    }
    assert!(Path::new(TRACEFS).join("events").is_dir(), "this test needs tracefs mounted at {TRACEFS}");
}

fn sh(program: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(program).args(args).stdin(Stdio::null()).output().unwrap();
    assert!(output.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The users, their sudo rights and tracefs's mode, undone when dropped (a
/// panic included). tracefs's mode before is also kept in a file until then,
/// so that the next run puts it back after a run that was killed.
struct Users;

impl Users {
    fn create() -> Users {
        // A run that was killed left its changes: undo them first.
        Users::undo();
        let mode = std::fs::metadata(TRACEFS).unwrap().mode() & 0o7777;
        std::fs::create_dir_all(undo_record().parent().unwrap()).unwrap();
        std::fs::write(undo_record(), format!("{mode:o}\n")).unwrap();
        let users = Users;
        for user in [SUDO_USER, PLAIN_USER] {
            sh("useradd", &["--create-home", "--shell", "/bin/sh", user]);
        }
        std::fs::write(SUDOERS, format!("{SUDO_USER} ALL=(ALL) NOPASSWD: ALL\n")).unwrap();
        std::fs::set_permissions(SUDOERS, std::fs::Permissions::from_mode(0o440)).unwrap();
        sh("visudo", &["--check", "--file", SUDOERS]);
        // Stock Debian: only root can look inside tracefs.
        std::fs::set_permissions(TRACEFS, std::fs::Permissions::from_mode(0o700)).unwrap();
        users
    }

    /// Removes the users and the sudoers entry, and puts tracefs's mode back
    /// as the record says; each only if it is there.
    fn undo() {
        let _ = std::fs::remove_file(SUDOERS);
        for user in [SUDO_USER, PLAIN_USER] {
            let _ = Command::new("userdel").args(["--remove", user]).stderr(Stdio::null()).status();
        }
        if let Some(mode) = std::fs::read_to_string(undo_record()).ok().and_then(|m| u32::from_str_radix(m.trim(), 8).ok()) {
            // No unwrap: this runs while a panic unwinds, too.
            let _ = std::fs::set_permissions(TRACEFS, std::fs::Permissions::from_mode(mode));
            let _ = std::fs::remove_file(undo_record());
        }
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        Users::undo();
    }
}

/// tracefs's mode before the test changed it, while it is changed.
fn undo_record() -> PathBuf {
    workbook().join("target/xtask-tests/privileges-tracefs-mode")
}

/// A learner's home: the workbook copy they own, the toolchain and crates they read.
struct Learner {
    name: &'static str,
    home: PathBuf,
    uid: u32,
}

impl Learner {
    fn set_up(name: &'static str) -> Learner {
        let home = PathBuf::from(format!("/home/{name}"));
        let uid = std::fs::metadata(&home).unwrap().uid();
        // The toolchain, hard-linked where that works: root's own is behind /root (mode 700).
        let sysroot = String::from_utf8(sh("rustc", &["--print", "sysroot"]).stdout).unwrap();
        for part in ["bin", "lib", "libexec"] {
            let from = Path::new(sysroot.trim()).join(part);
            if from.exists() {
                copy_tree::link_tree(&from, &home.join("rust").join(part)).unwrap();
            }
        }
        // The crates the workbook uses, so the build needs no download.
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
        for part in ["registry/index", "registry/cache"] {
            if cargo_home.join(part).exists() {
                copy_tree::copy_tree(&cargo_home.join(part), &home.join(".cargo").join(part), &[]).unwrap();
            }
        }
        copy_workbook(&home.join("workbook"));
        std::fs::copy(env!("CARGO_BIN_EXE_xtask"), home.join("xtask")).unwrap();
        // Not rust/: its files are root's own, hard-linked.
        for owned in ["workbook", "xtask", ".cargo"] {
            sh("chown", &["-R", &format!("{name}:{name}"), home.join(owned).to_str().unwrap()]);
        }
        Learner { name, home, uid }
    }

    /// The checker as this user, from inside their workbook, with a learner's environment.
    fn xtask(&self, args: &[&str]) -> Ran {
        let home = self.home.display().to_string();
        let output = Command::new("runuser")
            .args(["-u", self.name, "--", "env", "-i"])
            .arg(format!("HOME={home}"))
            .arg(format!("USER={}", self.name))
            .arg(format!("PATH={home}/rust/bin:/usr/local/bin:/usr/bin:/bin"))
            .arg(format!("CARGO_HOME={home}/.cargo"))
            .arg("NO_COLOR=1")
            .arg(format!("{home}/xtask"))
            .args(args)
            .current_dir(self.home.join("workbook"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let ran = Ran::from(output);
        assert!(!ran.stderr.contains("panicked"), "xtask {args:?} as {} panicked:\n{}", self.name, ran.stderr);
        ran
    }

    /// Files under the workbook copy that belong to someone else.
    fn foreign_files(&self) -> Vec<PathBuf> {
        let mut foreign = Vec::new();
        let mut stack = vec![self.home.join("workbook")];
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.uid() != self.uid {
                foreign.push(path.clone());
            }
            if meta.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            }
        }
        foreign
    }
}

#[test]
#[ignore = "needs root: creates users, a sudoers entry, and changes tracefs's mode"]
fn a_sudo_user_checks_on_the_host_and_a_user_without_privileges_is_offered_the_vm() {
    require_what_it_needs();
    let _serial = serial();
    let _users = Users::create();

    // Neither root nor sudo: nothing is built, and the VM is offered.
    let plain = Learner::set_up(PLAIN_USER);
    let ran = plain.xtask(&["check", "01"]);
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("cannot run on this machine"), "{}", ran.stderr);
    assert!(ran.stderr.contains("cargo xtask check 01 --kernel 6.1"), "the VM is offered:\n{}", ran.stderr);
    assert!(!plain.home.join("workbook/target").exists(), "nothing was built");
    eprintln!("as {PLAIN_USER}, check 01 said:\n{}", ran.stderr.trim_end());

    // Passwordless sudo: pre-flight looks into tracefs through sudo, the build
    // runs as the learner, and only the loader runs as root.
    let learner = Learner::set_up(SUDO_USER);
    let ran = learner.xtask(&["check", "01"]);
    assert_eq!(ran.code, 1, "lesson 01 starts broken:\n{}{}", ran.stdout, ran.stderr);
    assert!(!ran.stderr.contains("PROBLEM"), "pre-flight saw what the loader will see:\n{}", ran.stderr);
    assert!(ran.stderr.contains("runs under sudo"), "{}", ran.stderr);
    assert!(ran.stdout.contains("layer 1 of"), "the first layer's failure, for real:\n{}", ran.stdout);

    let ran = learner.xtask(&["solution", "01", "--apply", "--yes"]);
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let ran = learner.xtask(&["check", "01"]);
    assert_eq!(ran.code, 0, "the solution loads and attaches through sudo:\n{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("PASS"), "{}", ran.stdout);
    eprintln!("as {SUDO_USER}, check 01 with the solution said:\n{}{}", ran.stderr, ran.stdout.trim_end());
    let list = learner.xtask(&["list"]);
    assert!(list.stdout.lines().any(|l| l.contains("01") && l.contains("passed")), "{}", list.stdout);

    let foreign = learner.foreign_files();
    assert!(foreign.is_empty(), "files in the learner's workbook that are not theirs: {foreign:?}");
}
