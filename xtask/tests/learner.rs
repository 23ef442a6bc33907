//! reset, restore, solution and `--json`, run as a learner would run them, on
//! scratch copies of the workbook. None of these load BPF, so they need no root.

mod common;

use common::*;
use serde_json::Value;

const CHANGE: &str = "\n// my attempt, worth keeping\n";

/// The backup folder a command reported, e.g. `.backups/01-20251128T032000Z`.
fn saved_in(stdout: &str) -> std::path::PathBuf {
    let line = stdout.lines().find(|l| l.contains(" in .backups/")).unwrap_or_else(|| panic!("no backup named in:\n{stdout}"));
    let folder = line.split(" in ").nth(1).unwrap().trim_end_matches('/');
    std::path::PathBuf::from(folder)
}

/// The files below `dir`, relative to it, sorted.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            found.extend(walk(&path).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            found.push(name);
        }
    }
    found.sort();
    found
}

#[test]
fn reset_saves_the_learners_files_first_and_restore_brings_them_back() {
    let root = scratch("reset", true);
    let start = read(&root, "src/main.rs");
    write(&root, "src/main.rs", &format!("{start}{CHANGE}"));
    write(&root, "src/notes.rs", "// my notes\n");
    // An edit by mistake to the author's data, outside the lesson folder: reset neither sees nor touches it.
    let cases = format!("{}# a learner's mistake\n", read_course(&root, "cases.toml"));
    std::fs::write(root.join(COURSE).join("cases.toml"), &cases).unwrap();
    std::fs::write(root.join(".progress.toml"), "[lessons.01]\nstate = \"failing\"\nlayer = 2\n").unwrap();

    // No terminal and no --yes: nothing happens, and the message says what to do.
    let refused = run(&root, &["reset", "01"]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("cargo xtask reset 01 --yes"), "{}", refused.stderr);
    assert!(read(&root, "src/main.rs").ends_with(CHANGE));
    assert!(!root.join(".backups").exists());

    let reset = run(&root, &["reset", "01", "--yes"]);
    assert_eq!(reset.code, 0, "{}{}", reset.stdout, reset.stderr);
    assert_eq!(read(&root, "src/main.rs"), start);
    let backup = root.join(saved_in(&reset.stdout));
    assert!(std::fs::read_to_string(backup.join("src/main.rs")).unwrap().ends_with(CHANGE));
    assert_eq!(std::fs::read_to_string(backup.join("src/notes.rs")).unwrap(), "// my notes\n");
    assert!(reset.stdout.contains("changed since the start: src/main.rs\n"), "{}", reset.stdout);
    assert!(!reset.stdout.contains("no longer lead"), "the author's data is not the lesson's start:\n{}", reset.stdout);
    let saved: Vec<String> = walk(&backup);
    assert_eq!(
        saved,
        ["Cargo.toml", "build.rs", "src/bpf/open_fails.bpf.c", "src/main.rs", "src/notes.rs"],
        "only the learner's files are saved"
    );
    assert_eq!(read_course(&root, "cases.toml"), cases, "reset leaves the author's data alone");
    assert!(root.join(LESSON).join("src/notes.rs").exists(), "a file the start does not have is left alone");
    let list: Value = serde_json::from_str(&run(&root, &["list", "--json"]).stdout).unwrap();
    assert_eq!(list["lessons"][0]["state"], "not-started", "reset forgets the lesson's state");

    // A second reset has nothing to do and makes no backup.
    let again = run(&root, &["reset", "01", "--yes"]);
    assert!(again.stdout.contains("at its starting files already"), "{}", again.stdout);
    assert_eq!(std::fs::read_dir(root.join(".backups")).unwrap().count(), 1);

    let restored = run(&root, &["restore", "01", "--yes"]);
    assert_eq!(restored.code, 0, "{}{}", restored.stdout, restored.stderr);
    assert!(read(&root, "src/main.rs").ends_with(CHANGE));
    // Restoring saved the files it replaced too, so it can be undone the same way.
    let before_restore = root.join(saved_in(&restored.stdout));
    assert_eq!(std::fs::read_to_string(before_restore.join("src/main.rs")).unwrap(), start);
}

#[test]
fn reset_finds_the_starting_files_behind_a_learners_own_commits() {
    let root = scratch("reset-commits", true);
    let start_build = read(&root, "build.rs");
    apply_solution(&root);
    git(&root, &["commit", "-q", "-a", "-m", "my fix"]);

    let reset = run(&root, &["reset", "01", "--yes"]);
    assert_eq!(reset.code, 0, "{}{}", reset.stdout, reset.stderr);
    assert!(reset.stdout.contains("your commits changed the lesson"), "{}", reset.stdout);
    assert_eq!(read(&root, "build.rs"), start_build);
    let backup = root.join(saved_in(&reset.stdout));
    assert_eq!(std::fs::read_to_string(backup.join("build.rs")).unwrap(), read_course(&root, "solution/build.rs"));
}

#[test]
fn reset_without_git_refuses_clearly_and_changes_nothing() {
    let root = scratch("reset-no-git", false);
    write(&root, "src/main.rs", CHANGE);
    // The scratch copy sits inside the workbook's own checkout; git must not look above it.
    let refused = xtask(&root, &["reset", "01", "--yes"]).env("GIT_CEILING_DIRECTORIES", root.parent().unwrap()).output().unwrap();
    let refused = Ran::from(refused);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("reset reads a lesson's starting files from git"), "{}", refused.stderr);
    assert_eq!(read(&root, "src/main.rs"), CHANGE);
    assert!(!root.join(".backups").exists());
    // Bad input is a short usage error, not a failure of the tool.
    assert_eq!(run(&root, &["reset", "42", "--yes"]).code, 2);
    assert_eq!(run(&root, &["restore", "01", "--yes"]).code, 2, "no backups yet");
}

#[test]
fn solution_asks_before_the_lesson_passes_and_applies_only_after_a_backup() {
    let root = scratch("solution", false);
    let start = read(&root, "src/main.rs");
    let fixed_line = "+        libbpf_rs::set_print(Some((PrintLevel::Info, harness::libbpf_log)));";

    // Not passed, no terminal, no --yes: no diff, no change, a clear way forward.
    for args in [&["solution", "01"][..], &["solution", "01", "--apply"]] {
        let refused = run(&root, args);
        assert_ne!(refused.code, 0, "{args:?}");
        assert!(!refused.stdout.contains(fixed_line), "{args:?} showed the solution:\n{}", refused.stdout);
        assert!(refused.stderr.contains("does not pass yet") && refused.stderr.contains("--yes"), "{}", refused.stderr);
        assert_eq!(read(&root, "src/main.rs"), start);
    }

    let shown = run(&root, &["solution", "01", "--yes"]);
    assert_eq!(shown.code, 0);
    assert!(shown.stdout.contains("--- yours     src/main.rs") && shown.stdout.contains(fixed_line), "{}", shown.stdout);
    assert!(shown.stdout.contains("+        .args([\"-g\", \"-O2\", \"-target\", \"bpf\"])"), "{}", shown.stdout);
    assert_eq!(read(&root, "src/main.rs"), start, "showing changes nothing");

    // Once the lesson passes, the diff is shown without asking; writing it still asks.
    std::fs::write(root.join(".progress.toml"), "[lessons.01]\nstate = \"passed\"\n").unwrap();
    assert!(run(&root, &["solution", "01"]).stdout.contains(fixed_line));
    let refused = run(&root, &["solution", "01", "--apply"]);
    assert_ne!(refused.code, 0);
    assert_eq!(read(&root, "src/main.rs"), start);

    let applied = run(&root, &["solution", "01", "--apply", "--yes"]);
    assert_eq!(applied.code, 0, "{}{}", applied.stdout, applied.stderr);
    assert_eq!(read(&root, "src/main.rs"), read_course(&root, "solution/src/main.rs"));
    assert_eq!(read(&root, "build.rs"), read_course(&root, "solution/build.rs"));
    let backup = root.join(saved_in(&applied.stdout));
    assert_eq!(std::fs::read_to_string(backup.join("src/main.rs")).unwrap(), start);
    assert!(run(&root, &["solution", "01"]).stdout.contains("already match"));
}

#[test]
fn list_json_follows_the_progress_file_across_runs() {
    let root = scratch("list-json", false);
    let list = |root: &std::path::Path| -> Value {
        let ran = run(root, &["list", "--json"]);
        assert_eq!(ran.code, 0);
        assert_eq!(ran.stdout.lines().count(), 1, "one object, one line: {}", ran.stdout);
        serde_json::from_str(&ran.stdout).unwrap()
    };
    let fresh = list(&root);
    assert_eq!(fresh["schema"], 1);
    assert_eq!(fresh["lessons"][0]["state"], "not-started");
    assert_eq!(fresh["next"], "01");

    std::fs::write(root.join(".progress.toml"), "[lessons.01]\nstate = \"failing\"\nlayer = 2\nchecked_at = 1764300000\n").unwrap();
    let failing = list(&root);
    assert_eq!(failing["lessons"][0]["state"], "failing");
    assert_eq!(failing["lessons"][0]["layer"], 2);
    assert_eq!(failing["lessons"][0]["layer_name"], "BTF required, but missing");
    assert_eq!(failing["lessons"][0]["checked_at"], 1_764_300_000);

    std::fs::write(root.join(".progress.toml"), "[lessons.01]\nstate = \"passed\"\n").unwrap();
    let passed = list(&root);
    assert_eq!(passed["passed"], 1);
    assert_eq!(passed["next"], passed["lessons"].get(1).map_or(Value::Null, |l| l["number"].clone()));
    let every: String = fresh["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("[lessons.{}]\nstate = \"passed\"\n", l["number"].as_str().unwrap()))
        .collect();
    std::fs::write(root.join(".progress.toml"), every).unwrap();
    let all = list(&root);
    assert_eq!(all["passed"], all["total"]);
    assert_eq!(all["next"], Value::Null);
    assert!(run(&root, &["list"]).stdout.contains("every lesson passes"));

    // A pass of other files than the learner's now: still passed, and changed since.
    std::fs::write(root.join(".progress.toml"), "[lessons.01]\nstate = \"passed\"\nfiles = \"0000000000000000\"\n").unwrap();
    let changed = list(&root);
    assert_eq!(changed["lessons"][0]["state"], "passed");
    assert_eq!(changed["lessons"][0]["changed_since_passed"], true);
    assert_eq!(changed["lessons"][1]["changed_since_passed"], false);
    let text = run(&root, &["list"]);
    assert!(text.stdout.lines().any(|l| l.contains("01  Open fails") && l.ends_with("passed, changed since")), "{}", text.stdout);

    // A damaged progress file is moved aside with a warning, and the run goes on.
    std::fs::write(root.join(".progress.toml"), "\u{0}garbage[[").unwrap();
    let ran = run(&root, &["list", "--json"]);
    assert_eq!(ran.code, 0);
    let warning: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(warning.len(), 1, "{}", ran.stderr);
    assert!(warning[0].starts_with("warning: .progress.toml could not be read") && warning[0].contains("moved it to .progress.toml.bad"));
    assert_eq!(serde_json::from_str::<Value>(&ran.stdout).unwrap()["lessons"][0]["state"], "not-started");
    assert_eq!(std::fs::read_to_string(root.join(".progress.toml.bad")).unwrap(), "\u{0}garbage[[");
    assert!(run(&root, &["list"]).stderr.is_empty(), "warned once");

    let text = run(&root, &["list"]);
    assert!(text.stdout.contains("01  Open fails: the missing BTF") && text.stdout.contains("next: cargo xtask check 01"));
    assert!(!text.stdout.contains('\u{1b}'), "colour in piped output:\n{}", text.stdout);
}

/// The names and JSON types of an object's fields, recursively: what a script relies on.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::String(_) => "string".into(),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Null => "null".into(),
    }
}

#[test]
fn doctor_json_and_errors_keep_their_schema() {
    let root = scratch("doctor-json", false);
    let doctor = run(&root, &["doctor", "--json"]);
    let report: Value = serde_json::from_str(&doctor.stdout).unwrap();
    assert_eq!(doctor.code, if report["ready"] == true { 0 } else { 1 });
    let mut shape = shape(&report);
    // Whether a machine has a hostname or a fix differs from machine to machine; the names do not.
    for field in ["host", "user", "kernel"] {
        assert!(matches!(shape["machine"][field].as_str(), Some("string" | "null")));
        shape["machine"][field] = "string|null".into();
    }
    for finding in report["findings"].as_array().unwrap() {
        assert!(["ok", "problem", "note"].contains(&finding["status"].as_str().unwrap()), "{finding}");
    }
    shape["findings"][0]["fix"] = "string|null".into();
    assert_eq!(
        shape,
        serde_json::json!({
            "schema": "number",
            "command": "string",
            "machine": {"host": "string|null", "user": "string|null", "kernel": "string|null"},
            "ready": "bool",
            "findings": [{"name": "string", "status": "string", "detail": "string", "fix": "string|null"}],
        })
    );

    let error = run(&root, &["check", "99", "--json"]);
    assert_eq!(error.code, 2);
    let error: Value = serde_json::from_str(&error.stdout).unwrap();
    assert_eq!(error["schema"], 1);
    assert_eq!(error["command"], "check");
    assert_eq!(error["error"], "there is no lesson 99; lessons are 01 to 01".replace("01 to 01", &lesson_range(&root)));
}

fn lesson_range(root: &std::path::Path) -> String {
    let mut numbers: Vec<String> = std::fs::read_dir(root.join("lessons"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.split_once('-').map(|(n, _)| n.to_string()))
        .filter(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    numbers.sort();
    format!("{} to {}", numbers[0], numbers[numbers.len() - 1])
}
