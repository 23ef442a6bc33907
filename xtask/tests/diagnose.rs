//! `cargo xtask diagnose` on the workbook's own failures: every lesson layer
//! is named by its cause (the transcripts alone are checked, with the probes',
//! in `workbook::error_index`); bad input exits 2 in one line; the book's
//! examples are real output. The object cases load BPF
//! programs, so these tests run as root, as CI does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn workbook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn diagnose(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("diagnose")
        .args(args)
        .current_dir(workbook())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running xtask diagnose");
    let mut input = child.stdin.take().unwrap();
    // A writer that stops early (diagnose caps its read) must not fail the test.
    let _ = input.write_all(stdin.unwrap_or_default());
    drop(input);
    child.wait_with_output().unwrap()
}

fn report(args: &[&str]) -> Value {
    let output = diagnose(&[args, &["--json"]].concat(), None);
    assert!(output.status.code().is_some_and(|c| c < 2), "diagnose {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("diagnose {args:?} printed no JSON: {e}"))
}

fn causes(report: &Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["cause"].as_str().unwrap().to_string()).collect()
}

/// The causes that name `who` (`lesson 01 layer 2`, `probe raw-tp-wrong-name`) as where they are shown.
fn causes_shown_by(report: &Value, who: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reproduced_by"].as_array().unwrap().iter().any(|r| r == who))
        .map(|f| f["cause"].as_str().unwrap().to_string())
        .collect()
}

/// Diagnose names every kernel a relocation resolves on, from the Debian
/// kernels' cache: fetched once here (`cargo xtask kernels`) if need be.
fn cache_the_kernels() {
    static FETCHED: std::sync::Once = std::sync::Once::new();
    FETCHED.call_once(|| {
        let output = Command::new(env!("CARGO_BIN_EXE_xtask")).arg("kernels").current_dir(workbook()).output().unwrap();
        assert!(output.status.success(), "cargo xtask kernels: {}", String::from_utf8_lossy(&output.stderr));
    });
}

fn scratch(name: &str) -> PathBuf {
    let dir = workbook().join("target/xtask-tests/diagnose").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = scratch("bad-input");
    let empty = dir.join("empty.bpf.o");
    std::fs::write(&empty, b"").unwrap();
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let garbage_file = dir.join("garbage.bin");
    std::fs::write(&garbage_file, &garbage).unwrap();
    let damaged = dir.join("damaged.bpf.o");
    std::fs::write(&damaged, b"\x7fELF\x02\x01\x01\0 this is not the rest of an ELF header").unwrap();
    let huge = dir.join("huge.log");
    std::fs::File::create(&huge).unwrap().set_len(65 << 20).unwrap();
    let host_program = std::env::current_exe().unwrap();
    // An ELF header alone: 64-bit, big-endian, relocatable, machine BPF (247), no sections.
    let mut big_endian_header = b"\x7fELF\x02\x02\x01".to_vec();
    big_endian_header.resize(16, 0);
    big_endian_header.extend([0, 1, 0, 247, 0, 0, 0, 1]);
    big_endian_header.resize(52, 0);
    big_endian_header.extend([0, 64, 0, 0, 0, 0, 0, 64, 0, 0, 0, 0]);
    let big_endian = dir.join("big-endian.bpf.o");
    std::fs::write(&big_endian, &big_endian_header).unwrap();
    let cpp = dir.join("probe.bpf.cpp");
    std::fs::write(&cpp, "#include \"vmlinux.h\"\nSEC(\"tp/syscalls/sys_enter_openat\") int f(void *ctx) { return 0; }\n").unwrap();

    // (what, arguments, standard input, what the error says)
    type Case<'a> = (&'a str, Vec<String>, Option<&'a [u8]>, &'a str);
    let cases: Vec<Case> = vec![
        ("empty file", vec![empty.display().to_string()], None, "is empty"),
        ("not an ELF", vec![garbage_file.display().to_string()], None, "neither a BPF object"),
        ("an ELF, not BPF", vec![host_program.display().to_string()], None, "not BPF: compile it with clang -target bpf"),
        ("a damaged ELF", vec![damaged.display().to_string()], None, "damaged"),
        (
            "a big-endian BPF object",
            vec![big_endian.display().to_string()],
            None,
            "big-endian BPF object and this machine is little-endian",
        ),
        ("C++ source", vec![cpp.display().to_string()], None, "is C++ source: BPF programs are compiled from C"),
        ("a huge file", vec![huge.display().to_string()], None, "larger than 64 MiB"),
        ("a missing path", vec!["no/such/file.bpf.o".into()], None, "cannot read no/such/file.bpf.o"),
        ("a folder", vec![dir.display().to_string()], None, "is a folder"),
        ("garbage on stdin", vec!["-".into()], Some(&garbage), "standard input: neither"),
        ("nothing on stdin", vec!["-".into()], Some(b""), "standard input is empty"),
        ("an unknown kernel", vec!["--kernel".into(), "4.19".into(), "-".into()], Some(b"x"), "not a kernel this workbook knows"),
    ];
    for (what, args, stdin, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = diagnose(&args, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{what}: exit code; stderr: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: one line, got: {stderr}");
        assert!(stderr.starts_with("error: ") && stderr.contains(expected), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    }
}

/// A lesson's BPF sources as they are at `layer` (1-based): the fixes of every earlier layer applied.
fn sources_at_layer(lesson: &Path, layers: &[toml::Value], layer: usize, into: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(lesson.join("src/bpf")).unwrap() {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(lesson).unwrap().to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(&path).unwrap();
        for earlier in &layers[..layer - 1] {
            for fix in earlier.get("fix").and_then(|f| f.as_array()).into_iter().flatten() {
                if fix["file"].as_str() == Some(relative.as_str()) {
                    let (find, replace) = (fix["find"].as_str().unwrap(), fix["replace"].as_str().unwrap());
                    assert!(text.contains(find.trim_matches('\n')), "{relative}: a fix of an earlier layer no longer applies");
                    text = text.replacen(find.trim_matches('\n'), replace.trim_matches('\n'), 1);
                }
            }
        }
        let copy = into.join(path.file_name().unwrap());
        std::fs::write(&copy, text).unwrap();
        if relative.ends_with(".bpf.c") {
            out.push(copy);
        }
    }
    out
}

#[test]
fn every_lesson_layer_is_named_by_its_cause() {
    cache_the_kernels();
    let mut courses: Vec<PathBuf> = std::fs::read_dir(workbook().join("course"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("lesson.toml").exists())
        .collect();
    courses.sort();
    assert!(!courses.is_empty());
    for course in courses {
        let folder = course.file_name().unwrap().to_string_lossy().into_owned();
        let lesson = workbook().join("lessons").join(&folder);
        let number = &folder[..2];
        let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(course.join("lesson.toml")).unwrap()).unwrap();
        let layers = manifest["layer"].as_array().unwrap().clone();
        for layer in 1..=layers.len() {
            let who = format!("lesson {number} layer {layer}");
            let mut named_first = false;
            let mut cases = Vec::new();
            // Its transcripts, on every x86_64 kernel that has one. arm64 fails some
            // layers otherwise, for reasons the book gives; the error index's own
            // test names the cause of those transcripts.
            for entry in std::fs::read_dir(course.join("snapshots")).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                if name.ends_with("-arm64.snap") {
                    continue;
                }
                if name == format!("layer-{layer}.snap") || name.starts_with(&format!("layer-{layer}@")) {
                    cases.push(format!("course/{folder}/snapshots/{name}"));
                }
            }
            // Its BPF program, compiled as the lessons compile it, on this machine's kernel.
            let dir = scratch(&format!("{folder}-layer-{layer}"));
            for source in sources_at_layer(&lesson, &layers, layer, &dir) {
                cases.push(source.display().to_string());
            }
            for case in &cases {
                let report = report(&[case]);
                let found = causes(&report);
                let shown = causes_shown_by(&report, &who);
                named_first |= found.first().is_some_and(|first| shown.contains(first));
                let transcript_failed = case.ends_with(".snap") && found.iter().any(|c| c != "no-known-failure");
                assert!(!transcript_failed || !shown.is_empty(), "{who}: {case} shows {found:?}, none of them its cause");
            }
            assert!(named_first, "{who}: no transcript or object of it is diagnosed first as its cause ({cases:?})");
        }
    }
}

#[test]
fn standard_input_takes_a_pasted_log() {
    let log = b"libbpf: prog 'handle': failed to attach to raw tracepoint 'sys_enter_execve': -ENOENT\nError: No such file or directory (os error 2)\n";
    let output = diagnose(&["-", "--json"], Some(log));
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["schema"], 1);
    assert_eq!(report["input"]["kind"], "text");
    assert_eq!(causes(&report)[0], "raw-tp-wrong-name");
    let finding = &report["findings"][0];
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["index"]["link"], "errors.html#failed-to-attach-to-raw-tracepoint");
    assert!(finding["see"].as_array().unwrap().iter().any(|s| s == "probes.html#raw-tp-wrong-name"));
}

/// The book's "Diagnose your own program" page includes these outputs.
#[test]
fn the_books_examples_are_real_output() {
    cache_the_kernels();
    let examples: [(&str, &[&str]); 3] = [
        ("lesson-03-layer-1", &["lessons/03-einval/src/bpf/einval.bpf.c"]),
        ("probe-tracefs-not-mounted", &["book/probes/snapshots/tracefs-not-mounted.snap"]),
        ("program-with-a-renamed-field", &["book/diagnose/procstat.bpf.c", "--kernel", "6.12"]),
    ];
    for (name, args) in examples {
        let output = diagnose(args, None);
        assert!(output.status.code() == Some(1), "{name}: the example shows a failure: {}", String::from_utf8_lossy(&output.stderr));
        let text = format!("$ cargo xtask diagnose {}\n{}", args.join(" "), String::from_utf8(output.stdout).unwrap());
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false, snapshot_path => "../../book/diagnose/snapshots" }, {
            insta::assert_snapshot!(name, text);
        });
    }
}

/// Findings that say no more than "it failed", or that diagnose cannot
/// tell: neither right nor wrong.
const NOT_A_CAUSE: [&str; 4] = ["no-known-failure", "stage-unknown", "program-load-failed", "verifier-rejected"];

/// Every log of the pasted-log corpus (`tests/data/logs`), diagnosed as it
/// would be pasted: a finding names the log's cause, or diagnose says it does
/// not know. Recall is reported; one wrong cause fails the test.
#[test]
fn pasted_logs_are_diagnosed_right_or_not_at_all() {
    let folder = workbook().join("xtask/tests/data/logs");
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(folder.join("expected.toml")).unwrap()).unwrap();
    let entries = manifest["log"].as_array().unwrap();
    let mut listed: Vec<&str> = entries.iter().map(|e| e["file"].as_str().unwrap()).collect();
    listed.sort();
    let mut present: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    present.sort();
    assert_eq!(listed, present, "expected.toml lists every log of the corpus, and only those");

    // A cause named is right or wrong; saying nothing is never wrong. Per
    // part of the corpus (written with the rules, after them): right, wrong, logs with a known cause.
    let mut tally = [[0usize; 3]; 2];
    let mut table = String::new();
    let mut mistakes = Vec::new();
    for entry in entries {
        let file = entry["file"].as_str().unwrap();
        let expected = entry["cause"].as_str().unwrap();
        let part = &mut tally[usize::from(entry.get("after_rules").and_then(|h| h.as_bool()).unwrap_or(false))];
        let report = report(&[folder.join(file).to_str().unwrap()]);
        let named: Vec<String> = causes(&report).into_iter().filter(|c| !NOT_A_CAUSE.contains(&c.as_str())).collect();
        part[2] += usize::from(expected != "unknown");
        let verdict = if named.is_empty() {
            "silent"
        } else if named.iter().all(|n| n == expected) {
            part[0] += 1;
            "right"
        } else {
            part[1] += 1;
            mistakes.push(format!("{file}: expected {expected}, diagnosed {named:?}"));
            "WRONG"
        };
        table.push_str(&format!("{verdict:<7} {file:<52} expected {expected:<26} named {named:?}\n"));
        if let Some(wanted) = entry.get("fix_has").and_then(|f| f.as_str()) {
            let fixes: Vec<&str> = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["cause"] == expected)
                .filter_map(|f| f["fix"].as_str())
                .collect();
            if !fixes.iter().any(|f| f.contains(wanted)) {
                mistakes.push(format!("{file}: the fix does not say {wanted:?}: {fixes:?}"));
            }
        }
    }
    println!("{table}");
    for (name, [right, wrong, with_cause]) in ["written with the rules", "written after them"].iter().zip(tally) {
        let precision = 100.0 * right as f64 / (right + wrong).max(1) as f64;
        let recall = 100.0 * right as f64 / with_cause.max(1) as f64;
        println!("{name}: {with_cause} logs with a known cause; {right} named right, {wrong} wrong: precision {precision:.0} %, recall {recall:.0} %");
    }
    assert!(mistakes.is_empty(), "precision below 100 %: {mistakes:#?}");
}

/// Debian's libbpf-tools (0.26.0+ds-1): every object its binaries embed,
/// diagnosed unchanged on this kernel. An error is allowed only where
/// `libbpf-tools-allowed.toml` says why it is true here; anything else is a
/// false error of diagnose.
#[test]
#[ignore = "fetches Debian's libbpf-tools package with apt-get download and diagnoses its 52 objects (root loads them): several minutes"]
fn debian_libbpf_tools_objects_get_only_true_errors() {
    let dir = scratch("libbpf-tools");
    let fetched = Command::new("apt-get").args(["download", "libbpf-tools"]).current_dir(&dir).output();
    let fetched = fetched.unwrap_or_else(|e| panic!("cannot run apt-get download libbpf-tools: {e}"));
    assert!(fetched.status.success(), "cannot fetch libbpf-tools: {}", String::from_utf8_lossy(&fetched.stderr));
    let deb = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "deb")).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dev", "corpus", "--json", "--deb"])
        .arg(&deb)
        .current_dir(workbook())
        .output()
        .unwrap();
    assert!(output.status.success(), "dev corpus --deb: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let allowed: toml::Value =
        toml::from_str(&std::fs::read_to_string(workbook().join("xtask/tests/data/libbpf-tools-allowed.toml")).unwrap()).unwrap();
    let allowed: Vec<(String, String)> = allowed["allowed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert!(a["why"].as_str().is_some_and(|w| !w.is_empty()), "an allowed error without its reason: {a}");
            (a["object"].as_str().unwrap().to_string(), a["cause"].as_str().unwrap().to_string())
        })
        .collect();
    let objects = report["objects"].as_array().unwrap();
    // 52 binaries; nine more names (ext4dist, xfsslower, killsnoop…) are symlinks to fsdist, fsslower and sigsnoop.
    assert_eq!(objects.len(), 52, "the package's binaries embed 52 BPF objects");
    let mut false_errors = Vec::new();
    for object in objects {
        let name = object["object"].as_str().unwrap();
        let findings = object["findings"].as_array().unwrap();
        let count = |s: &str| findings.iter().filter(|f| f["severity"] == s).count();
        println!("{name}: {} errors, {} warnings, {} notes", count("error"), count("warning"), count("note"));
        for finding in findings.iter().filter(|f| f["severity"] != "note") {
            println!(
                "  {} {}: {}",
                finding["severity"].as_str().unwrap(),
                finding["cause"].as_str().unwrap(),
                finding["summary"].as_str().unwrap()
            );
            let cause = finding["cause"].as_str().unwrap().to_string();
            if finding["severity"] == "error" && !allowed.contains(&(name.to_string(), cause.clone())) {
                false_errors.push(format!("{name}: {cause}: {}", finding["summary"].as_str().unwrap()));
            }
        }
    }
    assert!(false_errors.is_empty(), "errors on unchanged objects that no allowed entry explains:\n{}", false_errors.join("\n"));
}

/// A guard is decided per read, from the code: the same field read behind its
/// own existence check and without one, in one section, gives one guarded
/// read and one error.
#[test]
fn a_read_is_guarded_by_its_own_branch_not_by_its_section() {
    let program = workbook().join("xtask/tests/data/programs/guarded-and-unguarded.bpf.c");
    let report = report(&[program.to_str().unwrap(), "--kernel", "host"]);
    let reads: Vec<(bool, bool)> = report["object"]["relocations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["access"].as_str().unwrap().ends_with("task_struct___old.state") && r["kind"] == "byte_off")
        .map(|r| (r["guarded"].as_bool().unwrap(), !r["missing"].is_null()))
        .collect();
    assert_eq!(reads, [(true, false), (false, true)], "{report:#}");
    let errors: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "error").collect();
    assert_eq!(errors.len(), 1, "{report:#}");
    assert_eq!(errors[0]["cause"], "core-relocation");
}

/// A read behind a `const volatile` switch that is off in the object: the
/// load with the object's defaults passes, so it is no error; diagnose says
/// what that load did not verify, and, loading the object again with the
/// switch set, that this load fails.
#[test]
fn code_behind_a_const_volatile_switch_is_named_not_blamed() {
    let program = workbook().join("xtask/tests/data/programs/switch-guarded.bpf.c");
    let host = report(&[program.to_str().unwrap(), "--kernel", "host"]);
    let findings = host["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["severity"] != "error"), "{host:#}");
    let switch: Vec<&Value> = findings.iter().filter(|f| f["cause"] == "switch-not-exercised").collect();
    assert_eq!(switch.len(), 1, "{host:#}");
    let summary = switch[0]["summary"].as_str().unwrap();
    assert!(summary.starts_with("`show_state` is 0 in the object's read-only data"), "{summary}");
    assert!(summary.contains("CO-RE reads struct task_struct___old.state"), "{summary}");
    assert!(summary.contains("switch-guarded.bpf.c:20"), "the source line behind the switch: {summary}");
    // Linux 5.14 renamed the field: where it is gone, the code behind the switch fails.
    assert_eq!(switch[0]["severity"], "warning", "{summary}");
    assert!(summary.contains("with `show_state` set, that code's load fails with EINVAL"), "{summary}");
    if host["load"]["ran"] == true {
        let fix = switch[0]["fix"].as_str().unwrap();
        assert!(fix.starts_with("loaded again here with `show_state` = 1: that load fails (core-relocation: "), "{fix}");
    }
    // On 5.10 the field is there: a note that the code is not verified, nothing more.
    let old = report(&[program.to_str().unwrap(), "--kernel", "5.10"]);
    let switch: Vec<&Value> = old["findings"].as_array().unwrap().iter().filter(|f| f["cause"] == "switch-not-exercised").collect();
    assert_eq!(switch.len(), 1, "{old:#}");
    assert_eq!(switch[0]["severity"], "note");
}
