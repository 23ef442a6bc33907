//! `cargo xtask dev test`: the maintainers' one test command, which CI runs. It
//! installs what the tests need (asking once), then runs the tooling's tests,
//! the book's tests and the self-test of every lesson on every kernel. Tests
//! that need root are `#[ignore]`d with their reason, so that a plain `cargo
//! test` passes anywhere without claiming them: as root this runs them too;
//! otherwise it names each one it skipped and why. At the end it says how long
//! each step took, and each test binary.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use regex::Regex;

use crate::commands::verify_args::VerifyArgs;
use crate::commands::{book, matrix, setup};
use crate::machine::{host, packages};

/// The tooling's packages, formatted and linted here. The lessons are the
/// learner's to format: their layer fixes find text as it is written.
const TOOLING: &[&str] =
    &["xtask", "transcript", "harness", "bpf-build", "load-object", "copy-tree", "workshop-room", "book-builder", "probes"];

/// What a full run leaves under `target/` from a fresh clone (the tooling,
/// its test fixtures, each lesson's states and the kernels' boot files),
/// rounded up: without it the run fails late, as some write that ran out of space.
const NEEDS_GIB: u64 = 6;

/// `cargo xtask dev test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Install without asking
    #[arg(long)]
    pub yes: bool,
}

pub fn test(root: &Path, args: &TestArgs) -> Result<ExitCode> {
    let yes = args.yes;
    let mut needs = packages::for_lessons();
    needs.extend(packages::for_vm());
    needs.extend(packages::for_tests());
    setup::install_missing(&needs, yes, "dev test")?;
    if !host::tracefs_mounted() && host::is_root() {
        host::mount_tracefs()?;
    }
    let disk = host::check_disk(root, NEEDS_GIB, "dev test");
    if disk.status == host::Status::Problem {
        anyhow::bail!("{}", disk.detail.clone() + &disk.fix.map(|fix| format!("; {fix}")).unwrap_or_default());
    }
    let started = Instant::now();
    let mut report = Report::default();
    let outcome = run_steps(root, &mut report);
    report.print(started.elapsed());
    outcome
}

fn run_steps(root: &Path, report: &mut Report) -> Result<ExitCode> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // Every build here gets the `CLANG` the lessons' and the book's builds get:
    // build scripts that compile BPF rerun whenever it changes, so a build
    // without it would redo them, and the next with it again.
    let clang = host::clang_for_builds();
    let manifest = root.join("Cargo.toml");
    // Style and lints first: they take seconds, and name the file at fault.
    let mut fmt_args = vec!["fmt", "--check"];
    let mut clippy_args = vec!["clippy", "--all-targets"];
    for package in TOOLING {
        fmt_args.extend(["--package", package]);
        clippy_args.extend(["--package", package]);
    }
    clippy_args.extend(["--", "-D", "warnings"]);
    for (name, args) in [("cargo fmt --check", fmt_args), ("cargo clippy", clippy_args)] {
        println!("+ cargo {}", args.join(" "));
        let passed = report.step(name, |_| {
            let mut command = Command::new(&cargo);
            command.arg(args[0]).arg("--manifest-path").arg(&manifest).args(&args[1..]).env("CLANG", &clang);
            Ok(command.status().context("running cargo")?.success())
        })?;
        if !passed {
            return Ok(ExitCode::FAILURE);
        }
    }

    // The tooling's tests, as a bare `cargo test` runs them (default-members),
    // with the ignored ones too where this is root.
    let include_ignored = host::is_root();
    println!("+ cargo test{}", if include_ignored { " -- --include-ignored" } else { "" });
    let passed = report.step("cargo test", |report| {
        let mut cargo_test = Command::new(&cargo);
        cargo_test.env("CLANG", &clang);
        let color = if std::io::stdout().is_terminal() { "always" } else { "never" };
        cargo_test.args(["--color", color, "test", "--manifest-path"]).arg(&manifest).args(["--", "--color", color]);
        if include_ignored {
            cargo_test.arg("--include-ignored");
        }
        run_and_read(cargo_test, &mut report.tests)
    })?;
    if !passed {
        return Ok(ExitCode::FAILURE);
    }

    println!("+ cargo xtask dev test-book");
    let passed =
        report.step("cargo xtask dev test-book", |report| run_and_read(book::test_command(root, include_ignored), &mut report.tests))?;
    if !passed {
        return Ok(ExitCode::FAILURE);
    }

    println!("+ cargo xtask dev verify --kernels all --timings");
    let mut outcome = ExitCode::FAILURE;
    report.step("cargo xtask dev verify --kernels all", |_| {
        let matrix = VerifyArgs { kernels: vec!["all".to_string()], timings: true, ..Default::default() };
        outcome = matrix::verify(root, &matrix, matrix::Record::Enforced)?;
        Ok(outcome == ExitCode::SUCCESS)
    })?;
    Ok(outcome)
}

/// Runs `command` with its output and errors shown as they come, in their
/// order (one pipe for both), and read into `tests`; true if it succeeded.
fn run_and_read(mut command: Command, tests: &mut TestLog) -> Result<bool> {
    let (reader, writer) = std::io::pipe().context("making a pipe")?;
    command.stdout(writer.try_clone()?).stderr(writer);
    let mut child = command.spawn().context("running cargo test")?;
    // The command holds the pipe's writing end: dropped, the reader sees the end.
    drop(command);
    for line in BufReader::new(reader).split(b'\n') {
        // A test may print bytes that are not UTF-8; shown as they are, read as far as they are text.
        let line = line.context("reading cargo test's output")?;
        let _ = std::io::stdout().write_all(&line).and_then(|()| std::io::stdout().write_all(b"\n"));
        let line = String::from_utf8_lossy(&line);
        tests.read(&line);
    }
    Ok(child.wait().context("waiting for cargo test")?.success())
}

#[derive(Default)]
struct Report {
    steps: Vec<Step>,
    /// The test binaries of the step running now, and every skipped test.
    tests: TestLog,
}

struct Step {
    name: &'static str,
    took: Duration,
    /// The processor time it used, its child processes' included.
    cpu: Duration,
    /// Each test binary the step ran, and how long it took.
    binaries: Vec<(String, Duration)>,
}

impl Report {
    /// Runs one step and notes how long it took, whether it passed or not.
    fn step(&mut self, name: &'static str, run: impl FnOnce(&mut Report) -> Result<bool>) -> Result<bool> {
        let (started, cpu_before) = (Instant::now(), host::processor_time());
        let passed = run(self);
        let binaries = std::mem::take(&mut self.tests.binaries);
        self.steps.push(Step { name, took: started.elapsed(), cpu: host::processor_time().saturating_sub(cpu_before), binaries });
        passed
    }

    fn print(&self, total: Duration) {
        let cpu: Duration = self.steps.iter().map(|step| step.cpu).sum();
        println!("\ntimings (wall, and processor time on every core):");
        println!("  {:<52} {}  {} cpu", "total", seconds(total), seconds(cpu));
        for step in &self.steps {
            println!("  {:<52} {}  {} cpu", step.name, seconds(step.took), seconds(step.cpu));
            let mut binaries = step.binaries.clone();
            binaries.sort_by_key(|(_, took)| std::cmp::Reverse(*took));
            // The slow ones; the rest add up to little.
            for (binary, took) in binaries.iter().filter(|(_, took)| *took >= Duration::from_secs(1)) {
                println!("    {binary:<50} {}", seconds(*took));
            }
        }
        for (test, reason) in &self.tests.skipped {
            println!("skipped ({reason}): {test}");
        }
    }
}

fn seconds(took: Duration) -> String {
    format!("{:>7.1} s", took.as_secs_f64())
}

/// What `cargo test`'s output says, line by line: how long each test binary
/// took, and which tests it ignored and why.
#[derive(Default)]
struct TestLog {
    /// The binary running now: its label (`tests/moved.rs`) and its name (`moved`).
    current: Option<(String, String)>,
    binaries: Vec<(String, Duration)>,
    /// `binary::test` and the reason its `#[ignore]` gives.
    skipped: Vec<(String, String)>,
}

impl TestLog {
    fn read(&mut self, line: &str) {
        static COLOR: LazyLock<Regex> = LazyLock::new(|| Regex::new("\x1b\\[[0-9;]*m").expect("a valid pattern"));
        // `Running tests/moved.rs (target/debug/deps/moved-0123abcd)`, `Doc-tests transcript`.
        static RUNNING: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^\s*(?:Running (?<label>.+?) \(.*?(?<binary>[^/]+)-[0-9a-f]+\)|(?<doc>Doc-tests (?<crate>\S+)))\s*$")
                .expect("a valid pattern")
        });
        // `test name ... ignored, needs root: loads BPF programs`
        static IGNORED: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^test (?<test>\S+) \.\.\. ignored(?:, (?<reason>.+))?$").expect("a valid pattern"));
        static FINISHED: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^test result: .*; finished in (?<seconds>[0-9.]+)s$").expect("a valid pattern"));

        let line = COLOR.replace_all(line, "");
        let line = line.trim_end();
        if let Some(running) = RUNNING.captures(line) {
            self.current = Some(match (running.name("doc"), running.name("crate")) {
                (Some(doc), Some(name)) => (doc.as_str().to_string(), name.as_str().to_string()),
                _ if running["label"].starts_with("unittests") => {
                    (format!("{} unit tests", &running["binary"]), running["binary"].to_string())
                }
                _ => (running["label"].to_string(), running["binary"].to_string()),
            });
        } else if let Some(ignored) = IGNORED.captures(line) {
            let binary = self.current.as_ref().map_or("?", |(_, binary)| binary.as_str());
            let reason = ignored.name("reason").map_or("no reason given", |r| r.as_str());
            self.skipped.push((format!("{binary}::{}", &ignored["test"]), reason.to_string()));
        } else if let Some(finished) = FINISHED.captures(line) {
            if let (Some((label, _)), Ok(seconds)) = (self.current.take(), finished["seconds"].parse::<f64>()) {
                self.binaries.push((label, Duration::from_secs_f64(seconds)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test`'s output as a non-root maintainer sees it (cargo 1.95, coloured).
    const OUTPUT: &str = "\
   Compiling xtask v0.1.0 (/workbook/xtask)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 40.12s
     \x1b[1m\x1b[32mRunning\x1b[0m unittests src/main.rs (target/debug/deps/xtask-0a1b2c3d4e5f6789)

running 2 tests
test workbook::files::tests::stamps ... ok
test commands::test::tests::reads ... ok

test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 3.50s

     Running tests/kernel.rs (target/debug/deps/kernel-00ff00ff00ff00ff)

running 2 tests
test check_json_reports_a_real_failure ... \x1b[33mignored, needs root: loads BPF programs\x1b[0m
test plain ... ignored

test result: ok. 0 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests transcript

running 0 tests

test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.25s
";

    #[test]
    fn reads_each_binarys_time_and_each_ignored_test_with_its_reason() {
        let mut log = TestLog::default();
        for line in OUTPUT.lines() {
            log.read(line);
        }
        assert_eq!(
            log.binaries,
            [
                ("xtask unit tests".to_string(), Duration::from_millis(3500)),
                ("tests/kernel.rs".to_string(), Duration::ZERO),
                ("Doc-tests transcript".to_string(), Duration::from_millis(250)),
            ]
        );
        assert_eq!(
            log.skipped,
            [
                ("kernel::check_json_reports_a_real_failure".to_string(), "needs root: loads BPF programs".to_string()),
                ("kernel::plain".to_string(), "no reason given".to_string()),
            ]
        );
    }

    /// A test that cannot run everywhere says why in its `#[ignore]`: a bare
    /// one would be skipped with no reason to print.
    #[test]
    fn every_ignored_test_of_the_tooling_gives_its_reason() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let mut bare = Vec::new();
        for folder in ["xtask", "lessons/transcript", "lessons/harness", "tools", "book/builder", "book/probes"] {
            for file in crate::workbook::scratch::files_under(&root.join(folder)).unwrap() {
                if file.extension().is_some_and(|e| e == "rs") && !file.components().any(|c| c.as_os_str() == "target") {
                    let text = std::fs::read_to_string(&file).unwrap();
                    bare.extend(text.lines().filter(|l| l.trim() == "#[ignore]").map(|_| file.display().to_string()));
                }
            }
        }
        assert!(bare.is_empty(), "#[ignore] without a reason in {bare:?}");
    }
}
