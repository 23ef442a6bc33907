//! Building a lesson's package with cargo (its JSON messages read with `cargo_metadata`), and turning a failed build into the few lines that matter.

use crate::machine::distro::{self, Package};
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::{Message, PackageId};
use transcript::{Line, Stage};

use crate::machine::host;
use crate::machine::interrupt;

pub enum Build {
    Built {
        binary: PathBuf,
        /// rustc's warnings about the lesson's own code, rendered as rustc prints them.
        warnings: Vec<String>,
        /// The `.bpf.o` the build script left in its OUT_DIR.
        object: Option<PathBuf>,
    },
    Failed {
        /// Transcript lines: what failed and its first diagnostic.
        lines: Vec<String>,
        /// Everything the compilers said, for the learner's log file.
        output: String,
    },
}

/// A package's files, each with a digest of its content. Cargo sees a change
/// by mtime alone, so a file put back with an older one (`cp -p`, `tar x`, an
/// editor's backup) would leave the last build in place. A file whose content
/// differs from the last build's, yet is no newer than that build, is touched,
/// so cargo rebuilds what it feeds. Contents are never changed.
struct Sources {
    /// (file, digest of its content), by path.
    files: Vec<(PathBuf, String)>,
    /// `digest path` per line, for the last build; its mtime is that build's start.
    record: PathBuf,
}

impl Sources {
    fn read(dir: &Path, target_dir: &Path, package: &str) -> Result<Sources> {
        fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
            for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
                let entry = entry?;
                let name = entry.file_name();
                if entry.file_type()?.is_dir() {
                    if name != "target" && !name.to_string_lossy().starts_with('.') {
                        walk(&entry.path(), files)?;
                    }
                } else {
                    files.push(entry.path());
                }
            }
            Ok(())
        }
        let mut paths = Vec::new();
        walk(dir, &mut paths)?;
        paths.sort();
        // FNV-1a: a fingerprint, not a defence against anyone.
        let digest = |bytes: &[u8]| {
            let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
            format!("{hash:016x}")
        };
        let files = paths
            .into_iter()
            .map(|p| {
                let d = digest(&std::fs::read(&p).unwrap_or_default());
                (p, d)
            })
            .collect();
        Ok(Sources { files, record: target_dir.join("workbook/sources").join(package) })
    }

    fn freshen(&self) -> Result<()> {
        let last = std::fs::read_to_string(&self.record).unwrap_or_default();
        let built_at = std::fs::metadata(&self.record).and_then(|m| m.modified());
        let mut record = String::new();
        for (file, digest) in &self.files {
            let entry = format!("{digest} {}", file.display());
            let changed = !last.lines().any(|l| l == entry);
            let unseen = built_at.as_ref().is_ok_and(|&built| std::fs::metadata(file).and_then(|m| m.modified()).is_ok_and(|m| m <= built));
            if changed && unseen {
                let touched = std::fs::File::options().write(true).open(file).and_then(|f| f.set_modified(std::time::SystemTime::now()));
                touched.with_context(|| format!("updating the mtime of {}", file.display()))?;
            }
            record.push_str(&entry);
            record.push('\n');
        }
        if let Some(parent) = self.record.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&self.record, record).with_context(|| format!("writing {}", self.record.display()))
    }
}

/// `cargo build` of the `package` in `dir` inside the workbook at `root`, as the invoking user.
pub fn build(root: &Path, package: &str, dir: &Path, target_dir: &Path) -> Result<Build> {
    build_with(root, package, dir, target_dir, &[], None)
}

/// [`build`] for arm64, by Debian's rustc inside the cross root
/// ([`crate::machine::cross`]); the workbook at `root` and `target_dir` are
/// mounted into it at their own paths.
pub fn build_cross(root: &Path, package: &str, dir: &Path, target_dir: &Path, cross_root: &Path) -> Result<Build> {
    build_with(root, package, dir, target_dir, &[], Some(cross_root))
}

/// [`build`], going on with the package's dependencies after its own build
/// fails, so that they are all built, as they would be for a working lesson.
pub fn build_dependencies(root: &Path, package: &str, dir: &Path, target_dir: &Path) -> Result<Build> {
    build_with(root, package, dir, target_dir, &["--keep-going"], None)
}

fn build_with(root: &Path, package: &str, dir: &Path, target_dir: &Path, extra: &[&str], cross_root: Option<&Path>) -> Result<Build> {
    interrupt::check()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    if cross_root.is_none() {
        clean_if_moved(&cargo, root, package, target_dir)?;
    }
    std::fs::create_dir_all(target_dir)?;
    let sources = Sources::read(dir, target_dir, package)?;
    sources.freshen()?;
    let manifest = root.join("Cargo.toml");
    let manifest = manifest.to_string_lossy();
    let arguments = ["build", "--message-format=json", "--package", package, "--manifest-path", &*manifest];
    let mut command = match cross_root {
        None => {
            let mut command = Command::new(cargo);
            command.args(arguments).env("CLANG", host::clang_for_builds());
            command
        }
        Some(cross_root) => {
            let target = target_dir.to_string_lossy();
            let mut program: Vec<String> = crate::machine::cross::build_env().into_iter().map(|(n, v)| format!("{n}={v}")).collect();
            program.extend([format!("CARGO_TARGET_DIR={target}"), "RUST_BACKTRACE=0".into(), "cargo".into()]);
            program.extend(arguments.iter().map(|a| a.to_string()));
            program.extend(["--target".into(), crate::machine::cross::TARGET.into()]);
            let program: Vec<&str> = program.iter().map(String::as_str).collect();
            crate::machine::cross::in_root(cross_root, &[root, target_dir], &program)
        }
    };
    let mut child = command
        .args(extra)
        .env("CARGO_TARGET_DIR", target_dir)
        // A build script's panic should not bury clang's diagnostics under a backtrace.
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running cargo")?;

    let stderr = child.stderr.take().expect("stderr is piped");
    let progress = std::thread::spawn(move || relay_progress(stderr));
    // Dropped once cargo is done: the stopper wakes at once instead of at its next look.
    let (finished, cargo_done) = mpsc::channel::<()>();
    let stopper = {
        let pid = child.id();
        // Ctrl-C reaches cargo from the terminal; a `kill` of the checker alone does not.
        std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = cargo_done.recv_timeout(Duration::from_millis(50)) {
                if interrupt::requested() {
                    interrupt::signal_process(pid, libc::SIGTERM);
                    return;
                }
            }
        })
    };
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let messages: Vec<Message> = Message::parse_stream(stdout).map_while(Result::ok).collect();
    let stderr = progress.join().unwrap_or_default();
    let status = child.wait()?;
    drop(finished);
    let _ = stopper.join();
    interrupt::check()?;

    let marker = format!("/{}#", dir.file_name().unwrap_or_default().to_string_lossy());
    if !status.success() {
        let failed_packages: Vec<&str> = messages
            .iter()
            .filter_map(|m| match m {
                Message::CompilerMessage(m) if m.message.level == DiagnosticLevel::Error => Some(m.package_id.repr.as_str()),
                _ => None,
            })
            .collect();
        if let Some(problem) = machine_problem(&stderr, &failed_packages, package) {
            return Err(problem.into());
        }
        let rustc_errors: Vec<&str> = messages
            .iter()
            .filter_map(|m| match m {
                Message::CompilerMessage(m) if m.message.level == DiagnosticLevel::Error => m.message.rendered.as_deref(),
                _ => None,
            })
            .collect();
        let lines = failure_lines(&stderr, &rustc_errors, dir);
        let output = rustc_errors.iter().copied().chain([stderr.as_str()]).collect::<Vec<_>>().join("\n");
        return Ok(Build::Failed { lines, output });
    }

    let ours = |id: &PackageId| id.repr.contains(&marker);
    let binary = messages
        .iter()
        .find_map(|m| match m {
            Message::CompilerArtifact(artifact) if ours(&artifact.package_id) => artifact.executable.clone(),
            _ => None,
        })
        .map(PathBuf::from)
        .context("cargo built no executable for the lesson")?;
    let object = messages
        .iter()
        .find_map(|m| match m {
            Message::BuildScriptExecuted(script) if ours(&script.package_id) => Some(script.out_dir.clone()),
            _ => None,
        })
        .and_then(|out_dir| find_object(out_dir.as_std_path()));
    let warnings = messages
        .iter()
        .filter_map(|m| match m {
            // The closing "N warnings emitted" summary has no code span.
            Message::CompilerMessage(m)
                if ours(&m.package_id) && m.message.level == DiagnosticLevel::Warning && !m.message.spans.is_empty() =>
            {
                m.message.rendered.as_deref()
            }
            _ => None,
        })
        .map(|r| short_paths_all(r, dir))
        .collect();
    Ok(Build::Built { binary, warnings, object })
}

/// A build that failed because of this machine (a missing tool, a dependency
/// that does not build, no network), not because of the code being built.
#[derive(Debug)]
pub struct MachineProblem {
    pub cause: String,
    pub fix: String,
}

impl std::fmt::Display for MachineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\nfix: {}", self.cause, self.fix)
    }
}

impl std::error::Error for MachineProblem {}

/// Why a failed build of `package` is this machine's fault, if it is: the
/// failure lies outside `package`'s own build script and code.
/// `failed_packages`: the package ids of rustc's errors.
pub fn machine_problem(stderr: &str, failed_packages: &[&str], package: &str) -> Option<MachineProblem> {
    let problem = |cause: String, fix: String| Some(MachineProblem { cause, fix });
    let setup = "   (or: cargo xtask setup, which installs everything the lessons need)";
    let install = |packages: &[Package]| format!("{}{setup}", distro::install_hint(packages));
    if let Some(line) = stderr.lines().find(|l| l.contains(bpf_build::NO_CLANG)) {
        let cause = line.trim().trim_start_matches("error: ");
        return problem(format!("cannot compile the BPF program: {cause}"), install(&[Package::Clang]));
    }
    if stderr.contains("linker `cc` not found") {
        return problem("cannot link: there is no C compiler (cc), which Rust uses as its linker".into(), install(&[Package::CCompiler]));
    }
    let failed_dependency = stderr
        .lines()
        .filter_map(|l| l.split("failed to run custom build command for `").nth(1))
        .filter_map(|rest| rest.split(' ').next())
        .find(|name| *name != package);
    if let Some(dependency) = failed_dependency {
        let needs = [
            ("make is required", "make", Package::Make),
            ("could not execute make", "make", Package::Make),
            ("a C compiler is required", "a C compiler (cc)", Package::CCompiler),
            ("failed to find tool", "a C compiler (cc)", Package::CCompiler),
            ("gelf.h: No such file", "libelf's headers", Package::LibelfHeaders),
            ("libelf.h: No such file", "libelf's headers", Package::LibelfHeaders),
            ("cannot find -lelf", "libelf", Package::LibelfHeaders),
            ("zlib.h: No such file", "zlib's headers", Package::ZlibHeaders),
            ("cannot find -lz", "zlib", Package::ZlibHeaders),
            ("pkg-config is required", "pkg-config", Package::PkgConfig),
        ];
        return match needs.iter().find(|(symptom, _, _)| stderr.contains(symptom)) {
            Some((_, what, package)) => {
                problem(format!("the dependency {dependency} cannot build: this machine lacks {what}"), install(&[*package]))
            }
            None => problem(
                format!("the dependency {dependency} failed to build (its output is in the log)"),
                "cargo xtask doctor   (it names what this machine lacks)".into(),
            ),
        };
    }
    let dependency_error = failed_packages
        .iter()
        // Not the workbook's own code (`path+file://…`): a crate from crates.io.
        .find_map(|id| id.strip_prefix("registry+")?.split('#').nth(1)?.split('@').next());
    if let Some(dependency) = dependency_error {
        return problem(
            format!("the dependency {dependency} does not compile with this Rust"),
            "rustup update   (the workspace's rust-version in Cargo.toml is the oldest that works)".into(),
        );
    }
    let download = ["failed to download", "failed to get `", "Unable to update registry", "failed to query replaced source"];
    if let Some(line) = stderr.lines().find(|l| download.iter().any(|d| l.contains(d))) {
        return problem(
            format!("cargo could not download the crates the lessons use: {}", line.trim().trim_start_matches("error: ")),
            "check the network connection (and proxy settings), then run the command again".into(),
        );
    }
    None
}

/// Cargo names a workspace member's build by its path inside the workspace,
/// so once the workbook folder has moved (or was copied with its target
/// folder), cargo calls the old build fresh, and a loader that opens its
/// `.bpf.o` by the OUT_DIR path compiled into it looks in the old place. Each
/// package's build records where its target folder was; a package built
/// elsewhere, or before this record existed, is cleaned first.
fn clean_if_moved(cargo: &std::ffi::OsStr, root: &Path, package: &str, target_dir: &Path) -> Result<()> {
    let records = target_dir.join("xtask-built-in");
    std::fs::create_dir_all(&records).with_context(|| format!("creating {}", records.display()))?;
    let here = target_dir.canonicalize()?.display().to_string();
    let record = records.join(package);
    let built_before = target_dir.join("debug").exists();
    if std::fs::read_to_string(&record).is_ok_and(|there| there == here) || !built_before {
        return Ok(std::fs::write(&record, &here)?);
    }
    let output = Command::new(cargo)
        .args(["clean", "--quiet", "--package", package, "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir)
        .output()
        .context("running cargo clean")?;
    anyhow::ensure!(output.status.success(), "cargo clean --package {package} failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    Ok(std::fs::write(&record, &here)?)
}

/// Shows cargo's progress while a build runs, so a long first build never sits
/// silent: on a terminal one line rewritten in place (indicatif) with the time
/// so far, otherwise a plain line every half minute. Returns all of stderr.
fn relay_progress(stderr: impl std::io::Read) -> String {
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    // Shown from cargo's first `Compiling`: a build with nothing to do shows nothing.
    let mut line: Option<indicatif::ProgressBar> = None;
    let latest = Arc::new(Mutex::new(String::new()));
    // Dropped when cargo's output ends, which ends the notes at once.
    let (done, build_over) = mpsc::channel::<()>();
    let notes = (!terminal).then(|| {
        let latest = latest.clone();
        std::thread::spawn(move || plain_notes(&latest, &build_over))
    });
    let mut all = String::new();
    for text in BufReader::new(stderr).lines().map_while(Result::ok) {
        let trimmed = text.trim_start();
        if trimmed.starts_with("Compiling") || trimmed.starts_with("Building") {
            let current: String = trimmed.chars().take(60).collect();
            if terminal {
                line.get_or_insert_with(|| building_line(started)).set_message(current);
            } else {
                *latest.lock().unwrap_or_else(|e| e.into_inner()) = current;
            }
        }
        all.push_str(&text);
        all.push('\n');
    }
    drop(done);
    if let Some(notes) = notes {
        let _ = notes.join();
    }
    if let Some(line) = line {
        line.finish_and_clear();
    }
    all
}

/// `  Compiling libbpf-sys v1.5.0 · 12 s`: what cargo builds now, with the
/// seconds since `started` once there are two.
fn building_line(started: Instant) -> indicatif::ProgressBar {
    let seconds = |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
        let elapsed = state.elapsed().as_secs();
        if elapsed >= 2 {
            let _ = write!(out, " · {elapsed} s");
        }
    };
    let style = indicatif::ProgressStyle::with_template("  {msg}{seconds}").expect("a valid template").with_key("seconds", seconds);
    let line = indicatif::ProgressBar::new_spinner().with_style(style).with_elapsed(started.elapsed());
    line.enable_steady_tick(Duration::from_millis(200));
    line
}

/// Where no line can be rewritten: a note every half minute after the first ten seconds.
fn plain_notes(latest: &Mutex<String>, build_over: &mpsc::Receiver<()>) {
    let started = Instant::now();
    let mut next_note = Duration::from_secs(10);
    while let Err(RecvTimeoutError::Timeout) = build_over.recv_timeout(Duration::from_millis(200)) {
        let elapsed = started.elapsed();
        let current = latest.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if !current.is_empty() && elapsed >= next_note {
            eprintln!("  still building after {} s: {current}", elapsed.as_secs());
            next_note += Duration::from_secs(30);
        }
    }
}

fn find_object(out_dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(out_dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).find(|p| p.to_string_lossy().ends_with(".bpf.o"))
}

/// The compile section of a transcript for a failed build: clang's first
/// error (from the build script) or rustc's, never cargo's wall of text.
pub fn failure_lines(stderr: &str, rustc_errors: &[&str], lesson_dir: &Path) -> Vec<String> {
    let build_script: Vec<&str> = stderr.lines().skip_while(|l| l.trim() != "--- stderr").skip(1).map(without_indent).collect();
    let clang_errors: Vec<&str> = build_script.iter().copied().filter(|l| is_diagnostic(l, "error")).collect();

    let lines = if let Some(first) = clang_errors.first() {
        let count = build_script
            .iter()
            .find_map(|l| l.trim().strip_suffix(" generated.").and_then(|s| s.split(' ').next()))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(clang_errors.len());
        vec![
            Line::failed(Stage::Compile, format!("clang: {count} {}", plural(count, "error"))),
            Line::detail(short_paths(first, lesson_dir)),
        ]
    } else if let Some(first) = rustc_errors.first() {
        let mut lines =
            vec![Line::failed(Stage::Compile, format!("rustc: {} {}", rustc_errors.len(), plural(rustc_errors.len(), "error")))];
        lines.push(Line::detail(first.lines().next().unwrap_or_default()));
        if let Some(at) = first.lines().find(|l| l.trim_start().starts_with("-->")) {
            lines.push(Line::detail(short_paths(at.trim_start(), lesson_dir)));
        }
        lines
    } else {
        let mut lines = vec![Line::Failed { stage: Stage::Compile, detail: None }];
        let tail: Vec<&str> = build_script.iter().rev().filter(|l| !l.trim().is_empty()).take(5).copied().collect();
        let tail = if tail.is_empty() { stderr.lines().rev().filter(|l| !l.trim().is_empty()).take(5).collect() } else { tail };
        lines.extend(tail.into_iter().rev().map(|l| Line::detail(short_paths(l.trim(), lesson_dir))));
        lines
    };
    lines.iter().chain([&Line::Stopped(Stage::Compile)]).map(Line::to_string).collect()
}

/// A build-script line without cargo's indent, nor the indent and `N: ` cause
/// number that anyhow's `{:?}` puts before each line of clang's stderr.
fn without_indent(line: &str) -> &str {
    let line = line.trim_start();
    match line.split_once(": ") {
        Some((number, rest)) if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => line,
    }
}

/// `file:line:col: error: …` (also `fatal error`).
fn is_diagnostic(line: &str, kind: &str) -> bool {
    let Some((location, rest)) = line.split_once(": ") else { return false };
    let rest = rest.trim_start_matches("fatal ");
    rest.starts_with(&format!("{kind}:")) && location.matches(':').count() >= 2
}

/// Paths inside the lesson become relative; other absolute paths keep their
/// last two parts (`bpf/bpf_helper_defs.h`), since temp folders differ per run.
fn short_paths(line: &str, lesson_dir: &Path) -> String {
    let lesson = format!("{}/", lesson_dir.display());
    line.split(' ')
        .map(|word| {
            if let Some(inside) = word.strip_prefix(&lesson) {
                inside.to_string()
            } else if word.starts_with('/') {
                let parts: Vec<&str> = word.rsplitn(3, '/').collect();
                format!("{}/{}", parts.get(1).unwrap_or(&""), parts[0])
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every line of a rendered diagnostic with [`short_paths`] applied.
fn short_paths_all(rendered: &str, lesson_dir: &Path) -> String {
    let line = |l: &str| if l.trim_start().starts_with("-->") { short_paths(l, lesson_dir) } else { l.to_string() };
    rendered.lines().map(line).collect::<Vec<_>>().join("\n")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLANG_FAILURE: &str = "\
   Compiling macros v0.1.0 (/w/lessons/04-macros)
error: failed to run custom build command for `macros v0.1.0 (/w/lessons/04-macros)`

Caused by:
  process didn't exit successfully: `/w/target/debug/build/x/build-script-build` (exit status: 1)
  --- stderr
  Error: failed to build `src/bpf/macros.bpf.c`
  In file included from src/bpf/macros.bpf.c:3:
  /tmp/.tmpAbC/bpf/bpf_helper_defs.h:78:90: error: unknown type name '__u64'
     78 | static long (* const bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *) 2;
  /tmp/.tmpAbC/bpf/bpf_helper_defs.h:99:1: error: unknown type name '__u32'
  20 errors generated.
";

    #[test]
    fn clang_failures_show_the_first_error_and_the_count() {
        assert_eq!(
            failure_lines(CLANG_FAILURE, &[], Path::new("/w/lessons/04-macros")),
            [
                "compile  FAILED  clang: 20 errors",
                "         bpf/bpf_helper_defs.h:78:90: error: unknown type name '__u64'",
                "stopped  at compile",
            ]
        );
    }

    #[test]
    fn fatal_errors_count_as_errors() {
        let stderr = "  --- stderr\n  src/bpf/x.bpf.c:3:10: fatal error: 'vmlinux.h' file not found\n  1 error generated.\n";
        assert_eq!(
            failure_lines(stderr, &[], Path::new("/w/lessons/01-open-fails"))[..2],
            ["compile  FAILED  clang: 1 error", "         src/bpf/x.bpf.c:3:10: fatal error: 'vmlinux.h' file not found"]
        );
    }

    /// What `SkeletonBuilder::build_and_generate(..).expect(..)` prints: anyhow's
    /// `{:?}`, with clang's stderr as a numbered, indented cause.
    const EXPECT_FAILURE: &str = "\
  --- stderr

  thread 'main' panicked at build.rs:9:10:
  compiling the BPF program: failed to build `src/bpf/einval.bpf.c`

  Caused by:
      0: failed to compile /tmp/.tmpQ/einval.bpf.o from src/bpf/einval.bpf.c
      1: src/bpf/einval.bpf.c:41:2: error: Looks like the BPF stack limit is exceeded.
         1 error generated.
  note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";

    #[test]
    fn numbered_anyhow_causes_still_yield_clangs_error() {
        assert_eq!(
            failure_lines(EXPECT_FAILURE, &[], Path::new("/w/lessons/03-einval")),
            [
                "compile  FAILED  clang: 1 error",
                "         src/bpf/einval.bpf.c:41:2: error: Looks like the BPF stack limit is exceeded.",
                "stopped  at compile",
            ]
        );
    }

    #[test]
    fn rustc_failures_show_the_headline_and_where() {
        let rendered = "error[E0599]: no method named `attach` found\n  --> /w/lessons/01-open-fails/src/main.rs:23:57\n   |\n";
        assert_eq!(
            failure_lines("error: could not compile", &[rendered], Path::new("/w/lessons/01-open-fails")),
            [
                "compile  FAILED  rustc: 1 error",
                "         error[E0599]: no method named `attach` found",
                "         --> src/main.rs:23:57",
                "stopped  at compile",
            ]
        );
    }

    #[test]
    fn warnings_are_not_errors() {
        assert!(!is_diagnostic("src/x.c:1:2: warning: unused", "error"));
        assert!(is_diagnostic("src/x.c:1:2: error: bad", "error"));
        assert!(!is_diagnostic("Error: failed to build", "error"));
    }

    /// What a build of lesson 01 printed on a minimal Debian 12 with Rust and gcc only.
    const NO_MAKE: &str = "\
error: failed to run custom build command for `libbpf-sys v1.7.0+v1.7.0`

Caused by:
  process didn't exit successfully: `/w/target/debug/build/libbpf-sys-11f35c6ed7e10a71/build-script-build` (exit status: 101)
  --- stderr

  thread 'main' (8886) panicked at /r/libbpf-sys-1.7.0+v1.7.0/build.rs:113:9:
  make is required to compile libbpf-sys with the selected set of features
  note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
";

    /// The same with make and pkg-config, without libelf-dev.
    const NO_LIBELF: &str = "\
error: failed to run custom build command for `libbpf-sys v1.7.0+v1.7.0`
  --- stderr
  Package libelf was not found in the pkg-config search path.
  libbpf_internal.h:20:10: fatal error: libelf.h: No such file or directory
  make: *** [Makefile:137: /w/target/debug/build/libbpf-sys-5/out/obj/staticobjs/btf.o] Error 1
  thread 'main' (9801) panicked at /r/libbpf-sys-1.7.0+v1.7.0/build.rs:434:5:
  make failed
";

    /// The same with every library, without clang: the lesson's own build script speaks.
    const NO_CLANG: &str = "\
error: failed to run custom build command for `open-fails v0.1.0 (/w/lessons/01-open-fails)`
  --- stderr
  error: no clang found (none on PATH): install clang and llvm (on Debian and Ubuntu: clang-19 and llvm-19), or run `cargo xtask setup`, which installs it with this system's package manager
";

    #[test]
    fn a_missing_tool_is_the_machines_problem_with_its_package() {
        let cause = |stderr| machine_problem(stderr, &[], "open-fails").map(|p| (p.cause, p.fix));
        let (cause_text, fix) = cause(NO_MAKE).unwrap();
        assert_eq!(cause_text, "the dependency libbpf-sys cannot build: this machine lacks make");
        assert!(fix.starts_with(&distro::install_hint(&[Package::Make])), "{fix}");
        let (cause_text, fix) = cause(NO_LIBELF).unwrap();
        assert_eq!(cause_text, "the dependency libbpf-sys cannot build: this machine lacks libelf's headers");
        assert!(fix.starts_with(&distro::install_hint(&[Package::LibelfHeaders])), "{fix}");
        let (cause_text, fix) = cause(NO_CLANG).unwrap();
        assert!(cause_text.starts_with("cannot compile the BPF program: no clang found (none on PATH)"), "{cause_text}");
        assert!(fix.starts_with(&distro::install_hint(&[Package::Clang])), "{fix}");
    }

    #[test]
    fn the_lessons_own_failures_are_not_the_machines() {
        assert!(machine_problem(CLANG_FAILURE, &[], "macros").is_none());
        assert!(machine_problem(EXPECT_FAILURE, &[], "einval").is_none());
        let lesson_error = "path+file:///w/lessons/01-open-fails#open-fails@0.1.0";
        assert!(machine_problem("error: could not compile `open-fails`", &[lesson_error], "open-fails").is_none());
        let dependency_error = "registry+https://github.com/rust-lang/crates.io-index#notify-types@2.3.0";
        let problem = machine_problem("error: could not compile `notify-types`", &[dependency_error], "open-fails").unwrap();
        assert_eq!(problem.cause, "the dependency notify-types does not compile with this Rust");
    }
}
