//! `cargo xtask dev corpus`: `diagnose` on programs no rule was written for.
//! - `--deb libbpf-tools_….deb`: every BPF object Debian's libbpf-tools
//!   binaries embed (their skeletons carry the ELF), diagnosed unchanged;
//! - `--bcc PATH`: bcc's libbpf-tools at a pinned commit, broken the way a
//!   migrating BCC user breaks them (edits kept in `xtask/corpus/`), each
//!   compiled with bcc's own vmlinux.h and headers, then diagnosed and scored.
//!
//! The checkout is read in place and never copied into the workbook.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::machine::{deb, host, load_object};

#[derive(clap::Args)]
pub struct CorpusArgs {
    /// Debian's libbpf-tools package: diagnose every object its binaries embed
    #[arg(long, conflicts_with = "bcc")]
    pub deb: Option<PathBuf>,
    /// A bcc checkout (at the commit xtask/corpus/bcc-breakages.toml pins): break, compile, diagnose, score
    #[arg(long)]
    pub bcc: Option<PathBuf>,
    /// One JSON document instead of the table
    #[arg(long)]
    pub json: bool,
}

/// The breakages, as kept in the repository.
#[derive(Deserialize)]
struct Breakages {
    /// The bcc commit whose sources the edits were written against.
    commit: String,
    breakage: Vec<Breakage>,
}

#[derive(Deserialize)]
struct Breakage {
    tool: String,
    /// What a migrating user did.
    what: String,
    /// The cause (an error index id) a right diagnosis names.
    expected: String,
    edit: Vec<Edit>,
}

/// One find/replace in the tool's `.bpf.c`; the text must be there.
#[derive(Deserialize)]
struct Edit {
    find: String,
    replace: String,
}

pub fn corpus(root: &Path, args: &CorpusArgs) -> Result<ExitCode> {
    match (&args.deb, &args.bcc) {
        (Some(deb), None) => debian_objects(root, deb, args.json),
        (None, Some(bcc)) => breakages(root, bcc, args.json),
        _ => bail!("give --deb <libbpf-tools .deb> or --bcc <bcc checkout>"),
    }
}

fn scratch(root: &Path, name: &str) -> Result<PathBuf> {
    let dir = root.join("target/xtask-corpus").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// `cargo xtask diagnose --json` on `input` (a path, or `-` with `stdin`).
fn diagnose(input: &str, stdin: Option<&[u8]>) -> Result<Value> {
    // A maintainer measuring another build's diagnose (before a change) names it here.
    let program = std::env::var_os("XTASK_CORPUS_DIAGNOSE").map(PathBuf::from).map_or_else(std::env::current_exe, Ok)?;
    let mut child = Command::new(program)
        .args(["diagnose", "--json", input])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running diagnose")?;
    let mut pipe = child.stdin.take().context("diagnose's standard input")?;
    let _ = std::io::Write::write_all(&mut pipe, stdin.unwrap_or_default());
    drop(pipe);
    let output = child.wait_with_output()?;
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("diagnose {input} printed no JSON: {}", String::from_utf8_lossy(&output.stderr).trim()))
}

/// The findings of a diagnose report, as (severity, cause, summary).
fn findings(report: &Value) -> Vec<(String, String, String)> {
    let text = |f: &Value, k: &str| f[k].as_str().unwrap_or_default().to_string();
    report["findings"].as_array().into_iter().flatten().map(|f| (text(f, "severity"), text(f, "cause"), text(f, "summary"))).collect()
}

/// The BPF objects inside a host binary: each ELF header whose machine is
/// EM_BPF, cut where its section header table ends (a skeleton embeds the
/// object whole, and the section headers come last).
pub fn embedded_objects(binary: &[u8]) -> Vec<&[u8]> {
    const EM_BPF: u16 = 247;
    let mut objects = Vec::new();
    let mut at = 0;
    while let Some(found) = binary[at..].windows(4).position(|w| w == b"\x7fELF") {
        let start = at + found;
        at = start + 1;
        let Some(header) = binary.get(start..start + 64) else { break };
        // 64-bit, little-endian.
        if header[4] != 2 || header[5] != 1 || u16::from_le_bytes([header[18], header[19]]) != EM_BPF {
            continue;
        }
        let table = u64::from_le_bytes(header[40..48].try_into().unwrap()) as usize;
        let (entry, count) = (u16::from_le_bytes([header[58], header[59]]) as usize, u16::from_le_bytes([header[60], header[61]]) as usize);
        let end = start.saturating_add(table).saturating_add(entry * count);
        if let Some(object) = binary.get(start..end) {
            objects.push(object);
            at = end;
        }
    }
    objects
}

fn debian_objects(root: &Path, deb: &Path, as_json: bool) -> Result<ExitCode> {
    let dir = scratch(root, "debian")?;
    let binaries = dir.join("bin");
    std::fs::create_dir_all(&binaries)?;
    let names = deb::extract(deb, &binaries, usize::MAX, |p| p.starts_with("usr/sbin/") || p.starts_with("usr/bin/"))?;
    let mut reports = Vec::new();
    for name in &names {
        let binary = std::fs::read(binaries.join(name))?;
        for (i, object) in embedded_objects(&binary).into_iter().enumerate() {
            let file = if i == 0 { format!("{name}.bpf.o") } else { format!("{name}-{i}.bpf.o") };
            let path = dir.join(&file);
            std::fs::write(&path, object)?;
            let report = diagnose(&path.display().to_string(), None)?;
            let found = findings(&report);
            if !as_json {
                print_object(&file, &found);
            }
            let found: Vec<Value> = found.iter().map(|(s, c, m)| json!({"severity": s, "cause": c, "summary": m})).collect();
            reports.push(json!({"object": file, "findings": found}));
        }
    }
    if reports.is_empty() {
        bail!("{} holds no binary with an embedded BPF object", deb.display());
    }
    if as_json {
        println!("{}", serde_json::to_string_pretty(&json!({ "objects": reports }))?);
    } else {
        let with_error = reports.iter().filter(|r| r["findings"].as_array().unwrap().iter().any(|f| f["severity"] == "error")).count();
        println!("{with_error} of {} objects get an error finding", reports.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_object(file: &str, found: &[(String, String, String)]) {
    let count = |s: &str| found.iter().filter(|f| f.0 == s).count();
    println!("{file}: {} errors, {} warnings, {} notes", count("error"), count("warning"), count("note"));
    for (severity, cause, summary) in found.iter().filter(|f| f.0 != "note") {
        println!("  {severity:<7} {cause}: {summary}");
    }
}

/// How a diagnosis of one breakage compares with its expected cause.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Verdict {
    Right,
    Wrong,
    /// No error nor warning: diagnose says it does not know.
    Unknown,
}

/// The causes diagnose names, errors first (warnings when there is no error), against the expected one.
pub fn verdict(found: &[(String, String, String)], expected: &str) -> (Verdict, Vec<String>) {
    let of = |severity: &str| found.iter().filter(|f| f.0 == severity).map(|f| f.1.clone()).collect::<Vec<_>>();
    let mut named = of("error");
    if named.is_empty() {
        named = of("warning");
    }
    named.dedup();
    let verdict = if named.is_empty() {
        Verdict::Unknown
    } else if named.iter().any(|c| c == expected) {
        Verdict::Right
    } else {
        Verdict::Wrong
    };
    (verdict, named)
}

/// Applies `edits` to `source`; an edit whose text is gone is an error, not a silent no-op.
pub fn apply(source: &str, edits: &[(&str, &str)]) -> Result<String> {
    let mut out = source.to_string();
    for (find, replace) in edits {
        if !out.contains(find) {
            bail!("the text to replace is not in the source (the checkout is not at the pinned commit?): {find:?}");
        }
        out = out.replacen(find, replace, 1);
    }
    Ok(out)
}

fn compile(bcc: &Path, source: &Path, object: &Path, headers: &Path) -> Result<std::process::Output> {
    let tools = bcc.join("libbpf-tools");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x86",
        "aarch64" => "arm64",
        other => bail!("bcc's libbpf-tools has no vmlinux.h for {other} here"),
    };
    let target = if arch == "x86" { "x86" } else { "arm64" };
    let clang = host::clang().context("no clang on PATH (cargo xtask setup installs it)")?;
    Command::new(&clang.path)
        .args(["-g", "-O2", "-target", "bpf", &format!("-D__TARGET_ARCH_{target}")])
        .arg(format!("-I{}", tools.join(arch).display()))
        .arg(format!("-I{}", tools.display()))
        .arg(format!("-I{}", headers.display()))
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(object)
        .output()
        .context("running clang")
}

/// Compiles `source` (the tool's, perhaps broken), then diagnoses the object, or the compiler's output when it fails.
fn compile_and_diagnose(bcc: &Path, dir: &Path, name: &str, source: &str, headers: &Path) -> Result<Vec<(String, String, String)>> {
    let file = dir.join(format!("{name}.bpf.c"));
    std::fs::write(&file, source)?;
    let object = dir.join(format!("{name}.bpf.o"));
    let output = compile(bcc, &file, &object, headers)?;
    let report =
        if output.status.success() { diagnose(&object.display().to_string(), None)? } else { diagnose("-", Some(&output.stderr))? };
    Ok(findings(&report))
}

fn breakages(root: &Path, bcc: &Path, as_json: bool) -> Result<ExitCode> {
    let list_path = root.join("xtask/corpus/bcc-breakages.toml");
    let list: Breakages =
        toml::from_str(&std::fs::read_to_string(&list_path)?).with_context(|| format!("reading {}", list_path.display()))?;
    let head = Command::new("git").arg("-C").arg(bcc).args(["rev-parse", "HEAD"]).output().context("running git")?;
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    if head != list.commit {
        eprintln!(
            "note: {} is at {}, the breakages were written for {}",
            bcc.display(),
            if head.is_empty() { "?" } else { &head },
            list.commit
        );
    }
    let headers = load_object::include_dir(root)?;
    let dir = scratch(root, &format!("bcc-{}", std::process::id()))?;
    let read = |tool: &str| {
        let path = bcc.join("libbpf-tools").join(format!("{tool}.bpf.c"));
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    // Each tool unchanged first: an error there is a false one.
    let mut unchanged = BTreeMap::new();
    for tool in list.breakage.iter().map(|b| b.tool.as_str()).collect::<std::collections::BTreeSet<_>>() {
        let found = compile_and_diagnose(bcc, &dir, tool, &read(tool)?, &headers)?;
        let errors: Vec<String> = found.iter().filter(|f| f.0 == "error").map(|f| format!("{}: {}", f.1, f.2)).collect();
        unchanged.insert(tool.to_string(), errors);
    }
    let mut rows = Vec::new();
    for (i, breakage) in list.breakage.iter().enumerate() {
        let edits: Vec<(&str, &str)> = breakage.edit.iter().map(|e| (e.find.as_str(), e.replace.as_str())).collect();
        let source = apply(&read(&breakage.tool)?, &edits).with_context(|| format!("{}: {}", breakage.tool, breakage.what))?;
        let found = compile_and_diagnose(bcc, &dir, &format!("{}-{i}", breakage.tool), &source, &headers)?;
        let (verdict, named) = verdict(&found, &breakage.expected);
        rows.push((breakage, verdict, named));
    }
    let n = rows.len() as f64;
    let count = |v: Verdict| rows.iter().filter(|r| r.1 == v).count() as f64;
    let (right, wrong) = (count(Verdict::Right), count(Verdict::Wrong));
    let recall = (right + wrong) / n;
    let right_rate = right / n;
    let precision = if right + wrong > 0.0 { right / (right + wrong) } else { 1.0 };
    let false_errors = unchanged.values().filter(|e| !e.is_empty()).count();
    if as_json {
        let rows: Vec<Value> = rows
            .iter()
            .map(|(b, v, named)| json!({"tool": b.tool, "breakage": b.what, "expected": b.expected, "found": named, "verdict": format!("{v:?}").to_lowercase()}))
            .collect();
        let document = json!({"commit": list.commit, "unchanged": unchanged, "breakages": rows, "recall": recall, "right_cause": right_rate, "precision": precision});
        println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        println!("| tool | breakage | expected cause | found cause | verdict |");
        println!("|---|---|---|---|---|");
        for (b, v, named) in &rows {
            let found = if named.is_empty() { "(none)".to_string() } else { named.join(", ") };
            println!("| {} | {} | {} | {} | {} |", b.tool, b.what, b.expected, found, format!("{v:?}").to_lowercase());
        }
        println!();
        println!(
            "recall {:.0} % ({} of {n}), right cause {:.0} % ({right} of {n}), precision {:.0} % ({right} of {})",
            recall * 100.0,
            right + wrong,
            right_rate * 100.0,
            precision * 100.0,
            right + wrong
        );
        println!("unchanged tools with an error: {false_errors} of {}", unchanged.len());
        for (tool, errors) in unchanged.iter().filter(|(_, e)| !e.is_empty()) {
            for error in errors {
                println!("  {tool}: {error}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_whose_text_is_gone_fails_loudly() {
        assert_eq!(apply("a b c", &[("b", "x")]).unwrap(), "a x c");
        let error = apply("a b c", &[("nope", "x")]).unwrap_err().to_string();
        assert!(error.contains("not in the source"), "{error}");
    }

    #[test]
    fn an_embedded_object_is_cut_at_its_section_header_table() {
        let mut object = b"\x7fELF\x02\x01\x01".to_vec();
        object.resize(64, 0);
        object[18] = 247;
        object[40] = 64; // e_shoff
        object[58] = 64; // e_shentsize
        object[60] = 2; // e_shnum
        object.resize(64 + 128, 0xaa);
        let mut binary = b"\x7fELF\x02\x01\x01 host header, not BPF".to_vec();
        binary.extend(&object);
        binary.extend(b"trailing host data");
        assert_eq!(embedded_objects(&binary), vec![&object[..]]);
    }

    #[test]
    fn a_verdict_is_right_wrong_or_unknown() {
        let f = |s: &str, c: &str| (s.to_string(), c.to_string(), String::new());
        assert_eq!(verdict(&[f("error", "a"), f("error", "b")], "b").0, Verdict::Right);
        assert_eq!(verdict(&[f("error", "a"), f("warning", "b")], "b").0, Verdict::Wrong);
        assert_eq!(verdict(&[f("warning", "b")], "b").0, Verdict::Right);
        assert_eq!(verdict(&[f("note", "b")], "b").0, Verdict::Unknown);
    }
}
