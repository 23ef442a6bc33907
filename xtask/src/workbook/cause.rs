//! The cause of a failing check, found by diagnose's own rules: the object's
//! static checks (section names, relocations, maps) against this kernel, and
//! the error index on the transcript and libbpf's log. `check`, `hint` and
//! `diagnose` so name the same cause for the same evidence. Only the causes
//! are given, in the learner's terms: the fixes stay with the hints.

use std::path::Path;

use crate::machine::kernel_btf;
use crate::workbook::error_index::{self, Finding, Severity};
use crate::workbook::source_rules::{self, Source};
use crate::workbook::{bpf_object, diagnosis};

/// Causes that only say a stage failed: the layer's own words say more.
const GENERIC: &[&str] = &["program-load-failed", "verifier-rejected", "no-known-failure", "stage-unknown", "compile-failed"];

/// At most this many causes are named: the first is nearly always the one.
const SHOWN: usize = 2;

/// The error findings diagnose's rules make of this failing run, most
/// specific first: what the code itself shows, then the object, then the
/// transcript and the log.
pub fn of_failure(sources: &[Source], object: Option<&Path>, on_host: bool, transcript: &str, log: &str) -> Vec<Finding> {
    let mut found: Vec<Finding> = source_rules::findings(sources, log);
    if let Some(path) = object.filter(|_| on_host) {
        if let Ok(object) = std::fs::read(path).map_err(|_| ()).and_then(|bytes| bpf_object::read(&bytes).map_err(|_| ())) {
            let (_, findings) = diagnosis::diagnose_object(&object, path, kernel_btf::host(), "host", &[]);
            found.extend(findings);
        }
    }
    found.extend(error_index::match_text(&format!("{transcript}\n{log}")));
    let mut causes: Vec<Finding> = Vec::new();
    for finding in found {
        let specific = finding.severity == Severity::Error && !GENERIC.contains(&finding.cause);
        if specific && !causes.iter().any(|c| c.cause == finding.cause) {
            causes.push(finding);
        }
    }
    causes.truncate(SHOWN);
    causes
}
