//! `cargo xtask diagnose <FILE|->`: a BPF object, a `.bpf.c`, or a log or
//! error text, read against the kernels and the book's error index.
//!
//! Exit code 0: no error found; 1: at least one error finding; 2: input
//! diagnose cannot read (not an ELF object, a .c file or text; a BPF object
//! of the other byte order; source in another language; empty; too big).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use transcript::load_report::{Level, ReportLine};
use transcript::Line;

use crate::machine::host;
use crate::machine::kernel_btf::{self, KernelFacts};
use crate::machine::kernels::{self, Choice};
use crate::machine::load_object;
use crate::report::diagnose::{Compile, Input, KernelRef, Load, Report};
use crate::report::json;
use crate::usage_error::UsageError;
use crate::workbook::bpf_object::{self, NotBpf};
use crate::workbook::diagnosis;
use crate::workbook::error_index::{self, Finding, Severity};
use crate::workbook::kernel_lock;
use crate::workbook::source_rules;
use crate::workbook::switches::Switch;

/// Nothing diagnose reads is this big: BPF objects are kilobytes, logs megabytes.
pub const MAX_INPUT: u64 = 64 << 20;

/// `cargo xtask diagnose`.
#[derive(clap::Args, Debug)]
pub struct DiagnoseArgs {
    /// A .bpf.o, a .bpf.c, or a text file of libbpf or verifier output; `-` for standard input
    pub file: String,
    /// The kernel to check against: 5.10, 6.1, 6.12 or host (the default)
    #[arg(long)]
    pub kernel: Option<String>,
    /// One JSON object instead of text (schema in the book's "Diagnose your own program")
    #[arg(long)]
    pub json: bool,
}

pub fn diagnose(root: &Path, args: &DiagnoseArgs) -> Result<ExitCode> {
    let (file, json_output) = (args.file.as_str(), args.json);
    let choice = kernels::choice(args.kernel.as_deref().unwrap_or("host"))?;
    let bytes = read_input(file)?;
    let scratch = Scratch::new()?;
    let report = if bytes.starts_with(b"\x7fELF") {
        let path = if file == "-" {
            let path = scratch.0.join("stdin.bpf.o");
            std::fs::write(&path, &bytes)?;
            path
        } else {
            PathBuf::from(file)
        };
        let object = object_or_usage_error(file, &bytes)?;
        diagnose_object(root, file, "object", &path, &object, choice, None)?
    } else if file.ends_with(".c") {
        diagnose_source(root, file, choice, &scratch)?
    } else if let Some(language) = other_source_language(file) {
        return Err(UsageError(format!("{file} is {language}: BPF programs are compiled from C; give a .bpf.c, a .bpf.o or a log")).into());
    } else {
        let text = std::str::from_utf8(&bytes)
            .ok()
            .filter(|t| !t.contains('\0'))
            .ok_or_else(|| UsageError(format!("{}: neither a BPF object, a .c file nor text", name(file))))?;
        let mut findings = error_index::match_text(text);
        // The host's names: a pasted log most often comes from this machine.
        if choice == Choice::Host {
            if let Some(kernel) = kernel_btf::host() {
                diagnosis::suggest_names(text, kernel, &mut findings);
            }
        }
        if findings.is_empty() {
            findings.push(Finding::plain(
                "no-known-failure",
                Severity::Note,
                "no failure of the error index in this text",
                "give libbpf's whole log (print callback at Info or Debug), or the check's transcript",
            ));
        }
        Report::new(Input { path: file.to_string(), kind: "text" }, KernelRef { name: choice.name(), release: None }, findings)
    };
    if json_output {
        json::print(&report);
    } else {
        print!("{}", report.terminal());
    }
    Ok(if report.errors > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What a source file diagnose does not compile is (it would read it as a log).
fn other_source_language(file: &str) -> Option<&'static str> {
    let extension = Path::new(file).extension()?.to_str()?;
    Some(match extension {
        "cpp" | "cc" | "cxx" | "C" | "c++" => "C++ source",
        "h" | "hpp" => "a header",
        "rs" => "Rust source",
        "go" => "Go source",
        "py" => "Python source",
        _ => return None,
    })
}

fn name(file: &str) -> &str {
    if file == "-" {
        "standard input"
    } else {
        file
    }
}

/// The input's bytes; a short usage error for anything unreadable, empty or too big.
fn read_input(file: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().lock().take(MAX_INPUT + 1).read_to_end(&mut bytes)
    } else {
        if Path::new(file).is_dir() {
            return Err(UsageError(format!("{file} is a folder; give a .bpf.o, a .bpf.c or a log file")).into());
        }
        std::fs::File::open(file).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut bytes))
    };
    if let Err(error) = read {
        return Err(UsageError(format!("cannot read {}: {error}", name(file))).into());
    }
    if bytes.is_empty() {
        return Err(UsageError(format!("{} is empty", name(file))).into());
    }
    if bytes.len() as u64 > MAX_INPUT {
        return Err(UsageError(format!("{} is larger than {} MiB: not a BPF object, source or log", name(file), MAX_INPUT >> 20)).into());
    }
    Ok(bytes)
}

fn object_or_usage_error(file: &str, bytes: &[u8]) -> Result<bpf_object::BpfObject> {
    bpf_object::read(bytes).map_err(|why| {
        let file = name(file);
        UsageError(match why {
            NotBpf::NotElf => format!("{file} is not an ELF file"),
            NotBpf::OtherMachine(machine) => {
                format!("{file} is an ELF object for {machine}, not BPF: compile it with clang -target bpf (libbpf says LIBBPF_ERRNO__FORMAT, 4001)")
            }
            NotBpf::OtherEndian { big_endian } => {
                let (object, machine, target) = if big_endian { ("big", "little", "bpf") } else { ("little", "big", "bpfeb") };
                format!("{file} is a {object}-endian BPF object and this machine is {machine}-endian: libbpf refuses to load it (\"loading non-native endianness is unsupported\", LIBBPF_ERRNO__ENDIAN, 4003); compile with clang -target {target}")
            }
            NotBpf::Damaged(why) => format!("{file} is a damaged BPF object: {why}"),
        })
        .into()
    })
}

/// A private folder for compiled objects, removed when diagnose ends.
struct Scratch(PathBuf);

impl Scratch {
    /// One per diagnose run.
    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("workbook-diagnose-{}", std::process::id()))
    }

    fn new() -> Result<Scratch> {
        let dir = Scratch::dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Compiles a `.bpf.c` the way the lessons do, then diagnoses the object;
/// clang's errors are matched against the error index.
fn diagnose_source(root: &Path, file: &str, choice: Choice, scratch: &Scratch) -> Result<Report> {
    let clang = host::clang().context("clang is not installed (cargo xtask setup installs it)")?;
    // Named after the source, as libbpf names the object in its messages.
    let stem = Path::new(file).file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".c")).unwrap_or("source");
    let object_path = scratch.0.join(format!("{}.bpf.o", stem.trim_end_matches(".bpf")));
    let output = Command::new(&clang.path)
        .args(compile_flags(root)?)
        .args(["-c", file, "-o"])
        .arg(&object_path)
        .output()
        .with_context(|| format!("running {}", clang.path.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The rules that read code, as check applies them to a lesson's sources.
    let source = source_rules::Source {
        name: Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        text: std::fs::read_to_string(file).unwrap_or_default(),
    };
    let from_code = |log: &str| source_rules::findings(std::slice::from_ref(&source), log);
    if !output.status.success() {
        let first_error = stderr.lines().find(|l| l.contains("error: ")).map(String::from);
        let mut findings = from_code("");
        findings.extend(error_index::match_text(&stderr));
        if findings.is_empty() {
            findings.push(Finding::plain(
                "compile-failed",
                Severity::Error,
                "clang failed with an error the error index does not list",
                "read clang's first error",
            ));
        }
        let mut report =
            Report::new(Input { path: file.to_string(), kind: "source" }, KernelRef { name: choice.name(), release: None }, findings);
        report.compile = Some(Compile { ok: false, error: first_error });
        return Ok(report);
    }
    let bytes = std::fs::read(&object_path)?;
    let object = object_or_usage_error(file, &bytes)?;
    let report = diagnose_object(root, file, "source", &object_path, &object, choice, Some(Compile { ok: true, error: None }))?;
    let log = report.load.as_ref().map(|l| l.log.join("\n")).unwrap_or_default();
    let mut findings = from_code(&log);
    findings.extend(report.findings);
    let mut merged = Report::new(report.input, report.kernel, findings);
    (merged.object, merged.load) = (report.object, report.load);
    merged.compile = Some(Compile { ok: true, error: None });
    Ok(merged)
}

/// The lessons' flags: libbpf-cargo's (`-g -O2 -target bpf -D__TARGET_ARCH_<arch>`)
/// with the workbook's vmlinux.h and libbpf's headers on the include path.
pub fn compile_flags(root: &Path) -> Result<Vec<String>> {
    let arch = std::env::consts::ARCH;
    let (target_arch, _) = bpf_build::target_arch(arch).with_context(|| bpf_build::unsupported_arch(arch))?;
    let headers = load_object::include_dir(root)?;
    Ok(vec![
        "-g".into(),
        "-O2".into(),
        "-target".into(),
        "bpf".into(),
        format!("-D__TARGET_ARCH_{target_arch}"),
        format!("-I{}", root.join("vmlinux").join(arch).display()),
        format!("-I{}", headers.display()),
    ])
}

fn diagnose_object(
    root: &Path,
    file: &str,
    kind: &'static str,
    path: &Path,
    object: &bpf_object::BpfObject,
    choice: Choice,
    compile: Option<Compile>,
) -> Result<Report> {
    let pin = |choice: Choice| match choice {
        Choice::Host => Ok(None),
        Choice::Debian(series) => kernel_lock::pin(root, series).map(Some),
    };
    // The kernels are read side by side: each is a few megabytes of BTF to index.
    let names = kernels::names();
    let choices = names.iter().map(|name| kernels::choice(name)).collect::<Result<Vec<_>>>()?;
    let pins = choices.iter().map(|&c| pin(c)).collect::<Result<Vec<_>>>()?;
    let read = std::thread::scope(|scope| {
        let reads: Vec<_> = choices
            .iter()
            .zip(&pins)
            .map(|(&other, pin)| scope.spawn(move || kernel_btf::facts(other, pin.as_ref(), other == choice)))
            .collect();
        reads.into_iter().map(|read| read.join().expect("reading a kernel's BTF panicked")).collect::<Vec<_>>()
    });
    let (mut chosen, mut others, mut absent) = (None, Vec::new(), Vec::new());
    for ((name, other), facts) in names.iter().zip(&choices).zip(read) {
        match facts? {
            Some(facts) if *other == choice => chosen = Some(facts),
            None if *other == choice => {}
            Some(facts) => others.push(facts),
            None => absent.push(*name),
        }
    }
    let (object_report, mut findings) = diagnosis::diagnose_object(object, path, chosen, choice.name(), &others);
    if !absent.is_empty() && !object.relocations.is_empty() {
        findings.push(Finding::plain(
            "kernels-not-cached",
            Severity::Note,
            format!("relocations not checked on {}: no BTF at hand", absent.join(", ")),
            "cargo xtask kernels fetches the Debian kernels",
        ));
    }
    if chosen.is_none() {
        findings.push(
            Finding::of("no-kernel-btf", Severity::Warning)
                .summary(format!("no BTF for kernel {}: relocations and BTF targets are not checked on it", choice.name())),
        );
    }
    let before_load = findings.len();
    let load = real_load(root, path, chosen, &mut findings);
    diagnosis::weigh_load_findings(object, &load.log, &mut findings[before_load..]);
    let loaded = load.ran.then_some(load.failed_at.is_none());
    // The host's verifier judges only the host's relocations: a switch is tried there alone.
    let try_switches = loaded == Some(true) && chosen.is_some_and(|k| k.is_host());
    // A failed load has its own finding to fix first; what it left unverified comes after.
    for switch in object_report.switches.iter().filter(|_| loaded != Some(false)) {
        let reload = match switch.switch.value {
            Some(value) if try_switches => load_with(root, path, &switch.switch, value)?,
            _ => None,
        };
        let on_host = chosen.is_none_or(|k| k.is_host());
        findings.push(diagnosis::switch_finding(switch, loaded, reload.as_ref(), choice.name(), on_host));
    }
    let mut report = Report::new(
        Input { path: file.to_string(), kind },
        KernelRef { name: choice.name(), release: chosen.map(|k| k.release.clone()) },
        findings,
    );
    report.compile = compile;
    report.object = Some(object_report);
    report.load = Some(load);
    Ok(report)
}

/// Loads a copy of the object whose `switch` holds `value`, as a loader that
/// sets it before load does; `None` when the load did not run.
fn load_with(root: &Path, path: &Path, switch: &Switch, value: i64) -> Result<Option<diagnosis::Reload>> {
    let mut bytes = std::fs::read(path)?;
    let at = switch.file_offset as usize;
    let Some(target) = bytes.get_mut(at..at + switch.size) else { return Ok(None) };
    target.copy_from_slice(&value.to_le_bytes()[..switch.size]);
    // Under its own name, which libbpf's messages show.
    let dir = Scratch::dir().join("switch");
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join(path.file_name().unwrap_or_default());
    std::fs::write(&copy, &bytes)?;
    let Ok(report) = load_object::load(root, &copy, None) else { return Ok(None) };
    let failed = report.iter().find_map(|line| match line {
        ReportLine::Failed { stage, error } => Some((*stage, error.clone())),
        _ => None,
    });
    Ok(Some(match failed {
        None => diagnosis::Reload::Passed,
        Some((stage, error)) => {
            let text = load_text(stage, &error, &report);
            let cause = error_index::match_text(&text).into_iter().find(|f| f.severity == Severity::Error);
            // The log line the cause rests on says more than the cause's general summary.
            let why =
                cause.map(|f| format!("{}: {}", f.cause, f.evidence.unwrap_or(f.summary))).unwrap_or_else(|| format!("{stage}: {error}"));
            diagnosis::Reload::Failed(why)
        }
    }))
}

/// A transcript-like text of a failed load, so the stage is known to the rules.
fn load_text(stage: transcript::Stage, error: &str, report: &[ReportLine]) -> String {
    let errno = transcript::errno::from_message(error).and_then(transcript::errno::name);
    let mut text = format!("{}\n", Line::failed(stage, format!("{} ({error})", errno.as_deref().unwrap_or("?"))));
    for line in report {
        if let ReportLine::Log { text: log, .. } = line {
            text.push_str(log);
            text.push('\n');
        }
    }
    text
}

/// As root: a real open and load by the `load-object` tool, with libbpf's
/// log, its failure matched against the error index. On a Debian kernel,
/// libbpf relocates against that kernel's BTF and only the relocation result
/// counts: the verifier that runs is the host's.
fn real_load(root: &Path, path: &Path, chosen: Option<&KernelFacts>, findings: &mut Vec<Finding>) -> Load {
    if !host::is_root() {
        return Load { ran: false, failed_at: None, errno: None, note: Some("not root".into()), log: Vec::new() };
    }
    let other_kernel = chosen.filter(|k| !k.is_host());
    let report = match load_object::load(root, path, other_kernel.map(|k| k.btf_path.as_path())) {
        Ok(report) => report,
        Err(error) => {
            let note = format!("the real load did not run: {error:#} (cargo xtask setup installs what it needs)");
            return Load { ran: false, failed_at: None, errno: None, note: Some(note), log: Vec::new() };
        }
    };
    let warnings: Vec<String> = report
        .iter()
        .filter_map(|line| match line {
            ReportLine::Log { level: Level::Warn, text } => Some(transcript::redact::line(text)),
            _ => None,
        })
        .collect();
    let note = other_kernel.map(|k| format!("relocated against kernel {}'s BTF; only relocations are judged", k.name));
    let Some((stage, error)) = report.iter().find_map(|line| match line {
        ReportLine::Failed { stage, error } => Some((*stage, error.as_str())),
        _ => None,
    }) else {
        return Load { ran: true, failed_at: None, errno: None, note, log: warnings };
    };
    let errno = transcript::errno::from_message(error).and_then(transcript::errno::name);
    let text = load_text(stage, error, &report);
    for finding in error_index::match_text(&text) {
        let relocation_only = other_kernel.is_some() && finding.cause != "core-relocation";
        if relocation_only || findings.iter().any(|f| f.cause == finding.cause && f.severity == Severity::Error) {
            continue;
        }
        findings.push(finding);
    }
    Load { ran: true, failed_at: Some(stage.to_string()), errno, note, log: warnings }
}
