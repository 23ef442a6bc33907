//! What a learner's check tells the room: the record, the export file that
//! carries a learner's records by hand, and the line the room journals. The
//! learner's checker writes these and the room reads them, so both take them
//! from here.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// Records are small; anything bigger is not a record.
pub const RECORD_LIMIT: u64 = 8192;

/// Longest name a learner may give; the instructor's page has one line per learner.
pub const NAME_LIMIT: usize = 40;

/// The learner's key, which only they and the room know.
pub const KEY_HEADER: &str = "X-Learner-Key";
/// Seconds between the check and this delivery of its record.
pub const AGE_HEADER: &str = "X-Record-Age";

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 16 random bytes, in hex: tokens, learner ids and keys.
pub fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    // The operating system's generator, on Linux, macOS and Windows alike: the room server runs on the instructor's laptop.
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the system's random generator failed: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A name is one short line of printable text.
pub fn valid_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty() && name.chars().count() <= NAME_LIMIT && !name.chars().any(char::is_control)
}

/// What one check, or joining, tells the instructor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    /// The learner, whatever their name; empty until the record is queued.
    #[serde(default)]
    pub id: String,
    /// The record's number among the learner's records, from 1; 0 until queued.
    #[serde(default)]
    pub seq: u64,
    pub name: String,
    /// The lesson checked, e.g. "02"; null for the record `room join` sends.
    pub lesson: Option<String>,
    pub title: Option<String>,
    /// "passed", "failing", "blocked" (the machine cannot run the check), or "joined".
    pub state: String,
    /// The layer being failed, 1-based, when the transcript shows a known one.
    pub layer: Option<usize>,
    pub layer_name: Option<String>,
    pub layers: usize,
    /// Checks that have shown this state in a row, this one included.
    pub attempts: u32,
    /// Minutes since a check first showed this state.
    pub minutes: u64,
    /// Where the check ran: "host", or the Debian kernel it booted under qemu ("6.1").
    pub kernel: String,
    /// The lesson's files were exactly its solution's (`solution --apply`).
    pub solution_applied: bool,
    /// When the check ended, in seconds since 1970 UTC, by the learner's clock.
    pub sent_at: u64,
    /// Why the machine, not the learner, stopped the check ("blocked").
    #[serde(default)]
    pub blocked: Option<String>,
    /// What `doctor` found wrong with the machine, sent on joining.
    #[serde(default)]
    pub machine: Vec<String>,
}

impl Record {
    /// The first record, sent by `room join` before any check.
    pub fn joined(name: &str) -> Record {
        Record {
            id: String::new(),
            seq: 0,
            name: name.to_string(),
            lesson: None,
            title: None,
            state: "joined".into(),
            layer: None,
            layer_name: None,
            layers: 0,
            attempts: 0,
            minutes: 0,
            kernel: "host".into(),
            solution_applied: false,
            sent_at: now(),
            blocked: None,
            machine: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.state == "passed"
    }

    /// How it passed, or where it is, in a few words.
    pub fn describe(&self) -> String {
        let Some(lesson) = &self.lesson else {
            return match self.machine.first() {
                Some(problem) => format!("joined; the machine: {problem}"),
                None => "joined, no check yet".into(),
            };
        };
        let on = if self.kernel == "host" { String::new() } else { format!(" (on {} under qemu)", self.kernel) };
        if self.passed() {
            let how = match (self.solution_applied, self.kernel.as_str()) {
                (true, "host") => "with the solution applied".to_string(),
                (true, kernel) => format!("with the solution applied, on {kernel} under qemu"),
                (false, "host") => "on this machine's kernel".to_string(),
                (false, kernel) => format!("on {kernel} under qemu"),
            };
            return format!("{lesson} passed {how}");
        }
        if let Some(reason) = &self.blocked {
            return format!("{lesson} blocked by the machine: {reason}{on}");
        }
        match (self.layer, &self.layer_name) {
            (Some(k), Some(name)) => format!("{lesson} layer {k} of {}: {name}{on}", self.layers),
            _ => format!("{lesson} failing, at no known layer{on}"),
        }
    }
}

/// What `room export` writes and `room import` reads: one learner's every record.
#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    pub schema: u32,
    pub id: String,
    pub key: String,
    pub name: String,
    pub records: Vec<Record>,
}

/// One line of the server's journal: an accepted record, and what it came with.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub checked_at: u64,
    pub record: Record,
}
