//! What must hold on a real kernel, for a room full of learners: no BPF
//! program of the workbook stays loaded after any way a run can end, two runs
//! at once do not trip over each other, and watch re-checks on save. These
//! load BPF, so they need root: `cargo xtask dev test` runs them as root, a plain
//! `cargo test` lists them as ignored.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

/// Lesson 01's solution, changed to hang after attaching: a loader waiting
/// for an event that never comes.
fn make_it_hang(root: &std::path::Path) {
    apply_solution(root);
    let main = read(root, "src/main.rs");
    let attach = "let _link = lesson.stage(Stage::Attach, || prog.attach())?;";
    assert!(main.contains(attach));
    let hanging = main.replace(attach, &format!("{attach}\n        std::thread::sleep(std::time::Duration::from_secs(3600));"));
    write(root, "src/main.rs", &hanging);
}

/// Starts `args` in scratch `root` as a foreground job, and waits until the
/// lesson's program is attached (which proves the test can see it).
fn start_and_wait_until_loaded(root: &std::path::Path, args: &[&str], before: &[String]) -> std::process::Child {
    let (mut child, lines) = spawn_job(root, args, &[("WORKBOOK_TIMEOUT", "120")]);
    let loaded = eventually(Duration::from_secs(180), || held().iter().any(|h| h.starts_with("link") && !before.contains(h)));
    if !loaded {
        let _ = child.kill();
        let output: Vec<String> = lines.try_iter().collect();
        panic!("{args:?} never loaded {PROGRAM}:\n{}", output.join("\n"));
    }
    child
}

#[test]
#[ignore = "needs root: loads BPF programs"]
fn no_bpf_program_stays_loaded_after_pass_failure_timeout_or_ctrl_c() {
    require_root();
    let _one_at_a_time = serial();
    let root = scratch("no-programs-left", false);
    let before = held();

    // Failure: the lesson as shipped stops at open.
    let failed = run(&root, &["check", "01"]);
    assert_eq!(failed.code, 1, "{}{}", failed.stdout, failed.stderr);
    assert!(failed.stdout.contains("stopped  at open"), "{}", failed.stdout);
    assert_none_left(&before, "a failed check");

    // PASS.
    apply_solution(&root);
    let passed = run(&root, &["check", "01"]);
    assert_eq!(passed.code, 0, "{}{}", passed.stdout, passed.stderr);
    assert!(passed.stdout.contains("PASS"));
    assert_none_left(&before, "a passing check");

    // Timeout: the program is seen loaded while it hangs, and gone after.
    make_it_hang(&root);
    let (mut child, lines) = spawn_job(&root, &["check", "01"], &[("WORKBOOK_TIMEOUT", "4")]);
    let mut seen = Vec::new();
    let code = loop {
        for object in held() {
            if !before.contains(&object) && !seen.contains(&object) {
                seen.push(object);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output: Vec<String> = lines.try_iter().collect();
    for kind in ["program", "link", "map"] {
        assert!(seen.iter().any(|h| h.starts_with(kind)), "no {kind} seen while it hung: {seen:?}\n{}", output.join("\n"));
    }
    assert_eq!(code, Some(1), "{}", output.join("\n"));
    assert!(output.iter().any(|l| l == "timeout  stopped after 4 s"), "{}", output.join("\n"));
    assert!(output.iter().any(|l| l.contains("did not finish within 4 s")), "{}", output.join("\n"));
    assert_none_left(&before, "a timeout");

    // Ctrl-C during a check.
    let mut child = start_and_wait_until_loaded(&root, &["check", "01"], &before);
    ctrl_c(&child);
    let code = wait_exit(&mut child, Duration::from_secs(5));
    assert_none_left(&before, "Ctrl-C during check");
    assert_eq!(code, Some(130), "check did not stop promptly on Ctrl-C");

    // Ctrl-C during watch, while its check runs.
    let mut child = start_and_wait_until_loaded(&root, &["watch", "01"], &before);
    ctrl_c(&child);
    let code = wait_exit(&mut child, Duration::from_secs(5));
    assert_none_left(&before, "Ctrl-C during watch");
    assert_eq!(code, Some(0), "watch did not stop cleanly on Ctrl-C");

    // SIGTERM (an instructor's script, a closed session) during a check.
    let mut child = start_and_wait_until_loaded(&root, &["check", "01"], &before);
    // SAFETY: kill(2) of the child's own process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let code = wait_exit(&mut child, Duration::from_secs(5));
    assert_none_left(&before, "SIGTERM during check");
    assert_eq!(code, Some(130), "check did not stop promptly on SIGTERM");

    // SIGKILL of the checker itself: no chance to clean up, yet the kernel's
    // parent-death signal reaches `timeout`, which stops the loader.
    let mut child = start_and_wait_until_loaded(&root, &["check", "01"], &before);
    child.kill().unwrap();
    let _ = child.wait();
    assert_none_left(&before, "SIGKILL of the checker");
}

#[test]
#[ignore = "needs root: loads BPF programs"]
fn two_checks_at_once_both_finish_correctly_and_record_progress() {
    require_root();
    let _one_at_a_time = serial();
    let root = scratch("two-checks", false);
    apply_solution(&root);
    let spawn = || {
        xtask(&root, &["check", "01", "--json"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];

    let mut transcripts = Vec::new();
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        assert_eq!(report["outcome"], "passed");
        assert_eq!(report["lesson"]["state"], "passed");
        // Notes (what is attached, how often each program ran) are never compared: run counts differ.
        let compared: Vec<String> = report["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|line| line.as_str())
            .filter(|line| !line.starts_with("note"))
            .map(str::to_string)
            .collect();
        transcripts.push(compared);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    let waited = outputs.iter().filter(|o| String::from_utf8_lossy(&o.stderr).contains("waiting for another run of lesson 01")).count();
    assert_eq!(waited, 1, "exactly one check should have waited for the other");
    let progress: toml::Table = std::fs::read_to_string(root.join(".progress.toml")).unwrap().parse().unwrap();
    assert_eq!(progress["lessons"]["01"]["state"].as_str(), Some("passed"));
}

#[test]
#[ignore = "needs root: loads BPF programs"]
fn check_json_reports_a_real_failure() {
    require_root();
    let _one_at_a_time = serial();
    let root = scratch("check-json", false);
    let ran = run(&root, &["check", "01", "--json"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(ran.stdout.lines().count(), 1, "stdout holds the JSON object only:\n{}", ran.stdout);
    let report: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["schema"], 1);
    assert_eq!(report["outcome"], "failing");
    assert_eq!(report["stopped_at"], "open");
    assert_eq!(report["timed_out"], false);
    assert_eq!(report["lesson"]["layer"], 1);
    assert_eq!(report["lesson"]["layer_name"], "an open that fails in silence");
    assert_eq!(report["transcript"].as_array().unwrap().last().unwrap(), "stopped  at open");
    assert!(report["hint"].as_str().unwrap().contains("set_print"));
    assert!(report["lesson"]["checked_at"].as_u64().is_some());
}

/// A clang that does not run is found while cargo builds, and the check
/// says the machine cannot run the lesson, naming clang, as it did when it
/// looked before the build; not a build error, not a failing lesson.
#[test]
#[ignore = "needs root: lesson 01 needs root, and a check builds only past that"]
fn a_check_with_no_working_clang_cannot_run_and_names_clang() {
    require_root();
    let _one_at_a_time = serial();
    let root = scratch("no-clang", false);
    let ran = Ran::from(xtask(&root, &["check", "01", "--json"]).env("CLANG", "/nonexistent/clang").output().unwrap());
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let report: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["outcome"], "cannot-run", "{report}");
    let problems = report["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p["name"] == "clang"), "{report}");
    assert!(report["transcript"].as_array().unwrap().is_empty(), "{report}");
    let text = Ran::from(xtask(&root, &["check", "01"]).env("CLANG", "/nonexistent/clang").output().unwrap());
    assert!(text.stderr.contains("lesson 01 cannot run on this machine yet"), "{}", text.stderr);
    assert!(!text.stderr.contains("under qemu"), "qemu does not help a machine that cannot build:\n{}", text.stderr);
}

#[test]
#[ignore = "needs root: loads BPF programs"]
fn watch_rechecks_once_per_save_with_file_events_and_with_polling() {
    require_root();
    let _one_at_a_time = serial();
    for mode in [&["watch", "01"][..], &["watch", "01", "--poll"]] {
        let root = scratch("watch", false);
        let (mut child, lines) = spawn_job(&root, mode, &[]);
        let mut seen = Vec::new();
        let first = wait_for_line(&lines, "not yet: stopped at open", Duration::from_secs(180), &mut seen);
        assert!(first, "{mode:?}: no first outcome:\n{}", seen.join("\n"));
        assert!(wait_for_line(&lines, "watching lessons/01-open-fails", Duration::from_secs(5), &mut seen));

        // Two files saved together: one check, naming both.
        seen.clear();
        apply_solution(&root);
        let passed = wait_for_line(&lines, "PASS", Duration::from_secs(120), &mut seen);
        assert!(passed, "{mode:?}: no PASS after saving the fix:\n{}", seen.join("\n"));
        assert!(seen.iter().any(|l| l == "changed: build.rs, src/main.rs"), "{mode:?}:\n{}", seen.join("\n"));
        assert_eq!(seen.iter().filter(|l| l.starts_with("lesson 01 ·")).count(), 1, "{mode:?}: more than one check:\n{}", seen.join("\n"));

        // Saving without a change re-checks nothing.
        seen.clear();
        let main = root.join(LESSON).join("src/main.rs");
        std::fs::write(&main, std::fs::read(&main).unwrap()).unwrap();
        assert!(!wait_for_line(&lines, "lesson 01 ·", Duration::from_secs(3), &mut seen), "{mode:?}: re-checked an unchanged file");

        ctrl_c(&child);
        assert_eq!(wait_exit(&mut child, Duration::from_secs(5)), Some(0), "{mode:?}: watch did not exit cleanly");
        assert!(wait_for_line(&lines, "stopped watching lesson 01", Duration::from_secs(2), &mut seen));
    }
}

/// Lesson 03's solution works on this kernel. Its portability is proven
/// against Linux 5.10's BTF, which ships with the workbook: with an empty
/// kernel cache the solution passes. Without that file and without the
/// cache, the check says the portability is unproven, names the command that
/// fetches it, and gives no PASS and no hint.
#[test]
#[ignore = "needs root: loads BPF programs"]
fn check_03_passes_with_an_empty_cache_and_is_unproven_without_the_shipped_btf() {
    require_root();
    let _one_at_a_time = serial();
    let root = scratch("unproven", false);
    let lesson = root.join("lessons/03-einval");
    copy_folder(&root.join("course/03-einval/solution"), &lesson);
    let empty_cache = root.join("empty-cache");
    std::fs::create_dir_all(&empty_cache).unwrap();

    let offline = xtask(&root, &["check", "03"]).env("XDG_CACHE_HOME", &empty_cache).output().unwrap();
    let stdout = String::from_utf8_lossy(&offline.stdout);
    assert_eq!(offline.status.code(), Some(0), "the shipped BTF proves portability with nothing in the cache:\n{stdout}");
    assert!(stdout.contains("portable ok") && stdout.contains("PASS"), "{stdout}");

    let shipped = root.join("vmlinux").join(std::env::consts::ARCH).join("5.10.btf.xz");
    std::fs::remove_file(&shipped).unwrap();
    let other_cache = root.join("another-empty-cache");
    std::fs::create_dir_all(&other_cache).unwrap();
    let output = xtask(&root, &["check", "03"]).env("XDG_CACHE_HOME", &other_cache).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("portable not proven"), "{stdout}");
    assert!(stdout.contains("not proven:") && stdout.contains("cargo xtask setup"), "{stdout}");
    assert!(!stdout.contains("PASS"), "{stdout}");
    assert!(!stdout.contains("hint:"), "a machine without the BTF is not the learner's failure:\n{stdout}");
}

/// Cargo trusts mtimes, but a learner may put a file back with an old one
/// (`cp -p`, `tar x`, an editor's backup): the checker still judges the
/// program as it now is, not the last build.
#[test]
#[ignore = "needs root: loads BPF programs"]
fn a_file_put_back_with_an_old_mtime_is_still_rebuilt() {
    require_root();
    let _one_at_a_time = serial();
    let root = scratch("old-mtime", false);
    // Layer 2's fault is in build.rs (no -g): only a rebuilt build script shows it.
    let broken = read(&root, "build.rs");
    apply_solution(&root);
    let fixed = run(&root, &["check", "01"]);
    assert_eq!(fixed.code, 0, "{}", fixed.stdout);

    write(&root, "build.rs", &broken);
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options().write(true).open(root.join(LESSON).join("build.rs")).unwrap().set_modified(long_ago).unwrap();
    let again = run(&root, &["check", "01"]);
    assert_eq!(again.code, 1, "the broken build.rs, put back with a 2001 mtime, passed:\n{}", again.stdout);
    assert!(again.stdout.contains(".BTF missing"), "{}", again.stdout);
    assert_eq!(read(&root, "build.rs"), broken, "the file's content is the learner's, untouched");
}
