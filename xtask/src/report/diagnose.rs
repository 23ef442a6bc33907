//! What `cargo xtask diagnose` prints: a short text for the terminal, or one
//! JSON object (`--json`, schema 1, described in the book's "Diagnose your
//! own program" page).

use std::fmt::Write;

use serde::Serialize;
use transcript::{Line, Stage};

use crate::workbook::diagnosis::ObjectReport;
use crate::workbook::error_index::{Evidence, Finding, Severity};

pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    pub input: Input,
    pub kernel: KernelRef,
    pub compile: Option<Compile>,
    pub object: Option<ObjectReport>,
    pub load: Option<Load>,
    pub findings: Vec<Finding>,
    pub errors: usize,
    pub warnings: usize,
}

#[derive(Debug, Serialize)]
pub struct Input {
    /// As given; `-` for standard input.
    pub path: String,
    /// `object`, `source` or `text`.
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct KernelRef {
    /// `host`, `5.10`, `6.1` or `6.12`.
    pub name: &'static str,
    /// Its `uname -r`, when its BTF was at hand.
    pub release: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Compile {
    pub ok: bool,
    /// clang's first error line.
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Load {
    /// Whether the real open and load ran (it needs root).
    pub ran: bool,
    /// `open` or `load` when one failed.
    pub failed_at: Option<String>,
    pub errno: Option<String>,
    /// Why it did not run, or what it checked (relocations only, on another kernel's BTF).
    pub note: Option<String>,
    /// libbpf's warnings, in order.
    pub log: Vec<String>,
}

impl Report {
    pub fn new(input: Input, kernel: KernelRef, mut findings: Vec<Finding>) -> Report {
        findings.sort_by_key(|f| f.severity);
        // The object's check and its real load both note a placeholder target: once is enough.
        let mut noted = std::collections::BTreeSet::new();
        findings.retain(|f| {
            f.severity != Severity::Note || noted.insert((f.cause, f.summary.split(' ').next().unwrap_or_default().to_string()))
        });
        let count = |s| findings.iter().filter(|f| f.severity == s).count();
        Report {
            schema: SCHEMA,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            input,
            kernel,
            compile: None,
            object: None,
            load: None,
            findings,
        }
    }

    pub fn terminal(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "diagnose {} ({}) on kernel {}", self.input.path, self.input.kind, self.kernel.name);
        if let Some(compile) = &self.compile {
            match &compile.error {
                None => line(&mut out, Line::ok(Stage::Compile)),
                Some(error) => line(&mut out, Line::failed(Stage::Compile, error)),
            }
        }
        if let Some(object) = &self.object {
            let present = |yes| if yes { "present" } else { "missing" };
            let text = format!(
                ".BTF {}, .BTF.ext {}, {} program{}, {} CO-RE relocation{}{}",
                present(object.btf),
                present(object.btf_ext),
                object.programs.len(),
                plural(object.programs.len()),
                object.relocations.iter().map(|r| r.count).sum::<usize>(),
                plural(object.relocations.iter().map(|r| r.count).sum::<usize>()),
                if object.legacy_maps { ", a legacy maps section" } else { "" }
            );
            line(&mut out, Line::new("object", &text));
            for program in &object.programs {
                let target = match (&program.target, program.checked_in) {
                    (Some(target), Some(checked_in)) => format!("{target} {} ({checked_in})", program.target_status),
                    (Some(target), None) => format!("{target} {}", program.target_status),
                    (None, _) => "no kernel target to check".to_string(),
                };
                line(&mut out, Line::new("program", &format!("{} SEC(\"{}\"): {}, {target}", program.name, program.section, program.kind)));
            }
            for relocation in &object.relocations {
                let kernels: Vec<String> =
                    relocation.resolves.iter().map(|(k, ok)| format!("{k} {}", if *ok { "yes" } else { "no" })).collect();
                let count = if relocation.count > 1 { format!(" ×{}", relocation.count) } else { String::new() };
                let guarded = if relocation.guarded { ", guarded by an existence check" } else { "" };
                let text = format!("{} ({}{count}{guarded}): {}", relocation.access, relocation.kind, kernels.join(", "));
                line(&mut out, Line::new("core", &text));
            }
        }
        if let Some(load) = &self.load {
            match (&load.failed_at, &load.errno, load.ran) {
                (_, _, false) => {
                    line(&mut out, Line::Skipped { label: LOAD.into(), reason: load.note.clone().unwrap_or_default() });
                }
                (Some(stage), errno, true) => {
                    let errno = errno.as_deref().unwrap_or("an error");
                    let log = Evidence::read(&load.log.join("\n"));
                    let relocation_failed = log.says("failed to resolve CO-RE relocation") || log.says("<invalid CO-RE relocation>");
                    match &load.note {
                        // Relocated for another kernel, refused by this one's verifier: only that kernel's verifier can judge it.
                        Some(note) if stage == "load" && !relocation_failed => {
                            let text = format!(
                                "not judged here: the host's verifier refused the code relocated for another kernel ({errno}); {note}"
                            );
                            line(&mut out, Line::new(LOAD, &text));
                            // diagnose runs no VM; `check --kernel` runs a lesson's program under qemu on that kernel.
                            let proof = format!(
                                "only kernel {0}'s verifier can judge it: load the object on a machine running {0} (cargo xtask check NN --kernel {0} does so under qemu for a lesson's own program; diagnose does not start a VM)",
                                self.kernel.name
                            );
                            line(&mut out, Line::detail(proof));
                        }
                        _ => {
                            line(&mut out, Line::new(LOAD, &format!("FAILED at {stage} with {errno}")));
                            out.push_str(&failed_load_lines(&load.log));
                        }
                    }
                }
                (None, _, true) => {
                    line(&mut out, Line::new(LOAD, &format!("ok{}", load.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default())));
                }
            }
        }
        for finding in &self.findings {
            let severity = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            };
            out.push('\n');
            line(&mut out, Line::new(severity, &format!("{}: {}", finding.cause, finding.summary)));
            if let Some(evidence) = &finding.evidence {
                line(&mut out, Line::detail(format!("in: {evidence}")));
            }
            line(&mut out, Line::detail(format!("fix: {}", finding.fix)));
            let mut see = Vec::new();
            if let Some(index) = &finding.index {
                see.push(format!("error index \"{}\" ({})", index.entry, index.link));
            }
            see.extend(finding.see.iter().filter(|s| !s.starts_with("errors.html")).cloned());
            if !see.is_empty() {
                line(&mut out, Line::detail(format!("see: {}", see.join(", "))));
            }
            if !finding.reproduced_by.is_empty() {
                line(&mut out, Line::detail(format!("shown by: {}", finding.reproduced_by.join(", "))));
            }
        }
        let _ = writeln!(out, "\n{} error{}, {} warning{}", self.errors, plural(self.errors), self.warnings, plural(self.warnings));
        out
    }
}

/// libbpf's first lines of a failed load and, when the verifier spoke, its
/// last words: the instruction it stopped at, why, and the source line.
fn failed_load_lines(log: &[String]) -> String {
    let mut out = String::new();
    let libbpf = log.iter().filter(|l| l.starts_with("libbpf: ") && !l.contains("PROG LOAD LOG"));
    let evidence = Evidence::read(&log.join("\n"));
    let Some(last) = evidence.verifier_last_words() else {
        for text in libbpf.take(3) {
            line(&mut out, Line::detail(text.as_str()));
        }
        return out;
    };
    for text in libbpf.take(1) {
        line(&mut out, Line::detail(text.as_str()));
    }
    if let Some((code, place)) = last.source {
        line(&mut out, Line::detail(format!("at {place}: {code}")));
    }
    for text in last.instruction.into_iter().chain(last.verdict) {
        line(&mut out, Line::detail(format!("verifier: {text}")));
    }
    out
}

/// The label of the line about the real load.
const LOAD: &str = Stage::Load.as_str();

/// Appends one line and its newline.
fn line(out: &mut String, line: Line) {
    let _ = writeln!(out, "{line}");
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    //! The `--json` layout, pinned: the book's "Diagnose your own program"
    //! page documents every field; a change here needs a new `SCHEMA`.

    use std::collections::BTreeMap;

    use super::*;
    use crate::workbook::diagnosis::{ProgramReport, RelocationReport};
    use crate::workbook::error_index::Finding;

    fn keys(value: &serde_json::Value) -> Vec<&str> {
        let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        keys
    }

    fn failed_load(note: Option<&str>, log: &[&str]) -> String {
        let mut report = Report::new(Input { path: "x.bpf.o".into(), kind: "object" }, KernelRef { name: "6.1", release: None }, vec![]);
        let log = log.iter().map(|l| l.to_string()).collect();
        report.load =
            Some(Load { ran: true, failed_at: Some("load".into()), errno: Some("EACCES".into()), note: note.map(String::from), log });
        report.terminal()
    }

    #[test]
    fn a_failed_load_shows_the_verifiers_last_words_and_its_source_line() {
        let log = [
            "libbpf: prog 'count': BPF program load failed: -EACCES",
            "libbpf: prog 'count': -- BEGIN PROG LOAD LOG --",
            "; *count += 1; @ count.bpf.c:12",
            "8: (79) r1 = *(u64 *)(r0 +0)",
            "R0 invalid mem access 'map_value_or_null'",
            "processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0",
            "-- END PROG LOAD LOG --",
            "libbpf: prog 'count': failed to load: -EACCES",
        ];
        let shown = failed_load(None, &log);
        assert!(shown.contains("load     FAILED at load with EACCES\n         libbpf: prog 'count': BPF program load failed: -EACCES\n         at count.bpf.c:12: *count += 1;\n         verifier: 8: (79) r1 = *(u64 *)(r0 +0)\n         verifier: R0 invalid mem access 'map_value_or_null'\n"), "{shown}");
        // Relocated for another kernel and refused by the host's verifier: not that kernel's verdict.
        let other = failed_load(Some("relocated against kernel 6.1's BTF; only relocations are judged"), &log);
        assert!(
            other.contains("load     not judged here: the host's verifier refused the code relocated for another kernel (EACCES)"),
            "{other}"
        );
        assert!(!other.contains("FAILED"), "{other}");
        assert!(other.contains("diagnose does not start a VM"), "{other}");
    }

    #[test]
    fn the_json_layout_is_the_documented_one() {
        let finding = Finding::of("legacy-maps", Severity::Error).evidence("a line");
        let mut report = Report::new(
            Input { path: "x.bpf.o".into(), kind: "object" },
            KernelRef { name: "host", release: Some("6.18.0".into()) },
            vec![finding],
        );
        report.load = Some(Load { ran: true, failed_at: Some("open".into()), errno: Some("EOPNOTSUPP".into()), note: None, log: vec![] });
        report.compile = Some(Compile { ok: true, error: None });
        let program = ProgramReport {
            name: "p".into(),
            section: "tp/a/b".into(),
            kind: "tracepoint",
            target: Some("a/b".into()),
            target_status: "found",
            checked_in: Some("tracefs"),
        };
        let relocation = RelocationReport {
            access: "struct t.f".into(),
            kind: "byte_off",
            section: "tp/a/b".into(),
            count: 1,
            resolves: BTreeMap::from([("host", true)]),
            missing: None,
            guarded: false,
        };
        report.object = Some(ObjectReport {
            btf: true,
            btf_ext: true,
            legacy_maps: false,
            programs: vec![program],
            relocations: vec![relocation],
            switches: vec![],
        });
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(keys(&json), ["compile", "errors", "findings", "input", "kernel", "load", "object", "schema", "warnings"]);
        assert_eq!(json["schema"], 1);
        assert_eq!(keys(&json["input"]), ["kind", "path"]);
        assert_eq!(keys(&json["kernel"]), ["name", "release"]);
        assert_eq!(keys(&json["compile"]), ["error", "ok"]);
        assert_eq!(keys(&json["load"]), ["errno", "failed_at", "log", "note", "ran"]);
        assert_eq!(keys(&json["object"]), ["btf", "btf_ext", "legacy_maps", "programs", "relocations"]);
        assert_eq!(keys(&json["object"]["programs"][0]), ["checked_in", "name", "section", "target", "target_status", "type"]);
        assert_eq!(keys(&json["object"]["relocations"][0]), ["access", "count", "guarded", "kind", "missing", "resolves", "section"]);
        let finding = &json["findings"][0];
        assert_eq!(keys(finding), ["cause", "evidence", "fix", "index", "reproduced_by", "see", "severity", "summary"]);
        assert_eq!(finding["severity"], "error");
        assert_eq!(keys(&finding["index"]), ["entry", "link", "stage"]);
        assert_eq!((json["errors"].as_u64(), json["warnings"].as_u64()), (Some(1), Some(0)));
    }
}
