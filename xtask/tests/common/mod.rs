//! Helpers for the tests that run the built checker on a scratch copy of the workbook.

#![allow(dead_code)] // each test file uses its own share of these

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

pub const LESSON: &str = "lessons/01-open-fails";
/// Lesson 01's author data: `lesson.toml`, `solution/`, `snapshots/`, `cases.toml`.
pub const COURSE: &str = "course/01-open-fails";
/// The BPF program and map lesson 01 loads, as the kernel lists them.
pub const PROGRAM: &str = "count_openat";
pub const MAP: &str = "openat_count";

pub fn workbook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A fresh copy of the workbook (lessons as shipped), its own git history if
/// `with_git`. Copies share one target folder, so tests that build take [`serial`].
pub fn scratch(name: &str, with_git: bool) -> PathBuf {
    let base = workbook().join("target/xtask-tests");
    let dir = base.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    copy_workbook(&dir);
    std::fs::create_dir_all(base.join("target")).unwrap();
    std::os::unix::fs::symlink(base.join("target"), dir.join("target")).unwrap();
    if with_git {
        git(&dir, &["init", "-q"]);
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "the workbook as shipped"]);
    }
    dir
}

/// The workbook as shipped, copied to `to`: no build, no progress, no git.
pub fn copy_workbook(to: &Path) {
    copy_tree::copy_tree(&workbook(), to, NOT_COPIED).unwrap();
}

/// Copies the folder `from` to `to`, leaving out what [`scratch`] leaves out.
pub fn copy_folder(from: &Path, to: &Path) {
    copy_tree::copy_tree(from, to, NOT_COPIED).unwrap();
}

/// What a copy of the workbook leaves out: builds, history, a learner's state.
const NOT_COPIED: &[&str] =
    &["target", ".git", ".progress.toml", ".room.toml", ".room-records.jsonl", ".room-server", ".backups", "book/build"];

pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=test", "-c", "user.email=test@example.com"])
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// The checker, pointed at `root`, with no terminal to ask questions on.
pub fn xtask(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args).env("WORKBOOK_ROOT", root).env("NO_COLOR", "1").stdin(Stdio::null());
    command
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Ran {
    fn from(Output { status, stdout, stderr }: Output) -> Ran {
        Ran {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

pub fn run(root: &Path, args: &[&str]) -> Ran {
    let ran = Ran::from(xtask(root, args).output().unwrap());
    assert!(!ran.stderr.contains("panicked"), "xtask {args:?} panicked:\n{}", ran.stderr);
    ran
}

pub fn read(root: &Path, relative: &str) -> String {
    std::fs::read_to_string(root.join(LESSON).join(relative)).unwrap()
}

pub fn write(root: &Path, relative: &str, text: &str) {
    std::fs::write(root.join(LESSON).join(relative), text).unwrap();
}

/// A file of lesson 01's author data, e.g. `solution/build.rs`.
pub fn read_course(root: &Path, relative: &str) -> String {
    std::fs::read_to_string(root.join(COURSE).join(relative)).unwrap()
}

/// Writes the lesson's solution over its files.
pub fn apply_solution(root: &Path) {
    for file in ["build.rs", "src/main.rs"] {
        write(root, file, &read_course(root, &format!("solution/{file}")));
    }
}

/// Called first by each test marked `#[ignore = "needs root: …"]`, which a
/// plain `cargo test` leaves out and `cargo xtask dev test` runs as root. Once
/// such a test runs (asked for with `--ignored`), a machine that cannot run it
/// fails it, saying why, rather than letting it pass without proving anything.
pub fn require_root() {
    assert!(is_root(), "this test loads BPF programs, which needs root: run it as root (as `cargo xtask dev test` does)");
    assert!(
        Command::new("bpftool").arg("version").output().is_ok(),
        "this test lists the kernel's BPF programs with bpftool, which is missing (`cargo xtask setup` installs it)"
    );
}

pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Tests that build lessons share a target folder and watch the kernel's
/// program list: one at a time.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn bpftool(object: &str) -> Vec<serde_json::Value> {
    let output = Command::new("bpftool").args([object, "show", "--json"]).output().unwrap();
    assert!(output.status.success(), "bpftool {object} show failed");
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    list.as_array().cloned().unwrap_or_default()
}

/// Ids of the loaded BPF programs named `name`, from the kernel via bpftool.
pub fn programs(name: &str) -> Vec<u64> {
    bpftool("prog").iter().filter(|p| p["name"] == name).filter_map(|p| p["id"].as_u64()).collect()
}

/// What of lesson 01 the kernel holds: its programs, their links, its map.
pub fn held() -> Vec<String> {
    let programs = programs(PROGRAM);
    let mut held: Vec<String> = programs.iter().map(|id| format!("program {id}")).collect();
    for link in bpftool("link") {
        if link["prog_id"].as_u64().is_some_and(|id| programs.contains(&id)) {
            held.push(format!("link {}", link["id"]));
        }
    }
    for map in bpftool("map") {
        if map["name"] == MAP {
            held.push(format!("map {}", map["id"]));
        }
    }
    held
}

/// Polls `condition` every 100 ms for up to `limit`.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    condition()
}

/// Asserts that the kernel holds nothing of lesson 01 beyond `before` (from
/// [`held`]), allowing it a moment to drop what a just-exited process held.
pub fn assert_none_left(before: &[String], after_what: &str) {
    let left = || held().into_iter().filter(|h| !before.contains(h)).collect::<Vec<_>>();
    assert!(eventually(Duration::from_secs(5), || left().is_empty()), "after {after_what}, still loaded: {:?}", left());
}

/// The checker started in its own process group, the way a shell starts a
/// foreground job; stdout arrives line by line on the returned channel.
pub fn spawn_job(root: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Child, Receiver<String>) {
    let mut command = xtask(root, args);
    command.envs(envs.iter().copied()).process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let (sender, lines) = mpsc::channel();
    for stream in [Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, Box::new(child.stderr.take().unwrap())] {
        let sender = sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
    }
    (child, lines)
}

/// Waits for a line containing `text`; returns every line read meanwhile.
pub fn wait_for_line(lines: &Receiver<String>, text: &str, limit: Duration, seen: &mut Vec<String>) -> bool {
    let deadline = Instant::now() + limit;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(text);
                seen.push(line);
                if found {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group.
pub fn ctrl_c(child: &Child) {
    // SAFETY: kill(2) on the child's own process group.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGINT) };
}

/// Waits up to `limit` for `child` to exit; its exit code, or None if it did not.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}
