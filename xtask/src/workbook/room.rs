//! The room: which instructor a learner joined (`.room.toml`, git-ignored,
//! beside `.progress.toml`), how long they have been on each lesson's current
//! layer, and the status record a check sends. A record holds where the
//! learner is, never code or files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::machine::lock;
use crate::machine::room::{self as http, SEND_TIMEOUT};
use crate::workbook::files::{current_files, differing, solution_files};
use crate::workbook::lessons::Lesson;
use crate::workbook::progress::State;

/// Records are small; anything bigger is not a record.
pub const RECORD_LIMIT: u64 = 4096;

/// Longest name a learner may give; the instructor's page has one line per learner.
pub const NAME_LIMIT: usize = 40;

/// Everything `room join` saved, and what each check since has added.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Membership {
    pub url: String,
    pub name: String,
    pub token: String,
    /// Lesson number → the learner's time on its current layer.
    #[serde(default)]
    pub lessons: BTreeMap<String, Stint>,
}

/// How long a lesson has shown the same state, and in how many checks.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stint {
    #[serde(flatten)]
    pub state: State,
    /// When a check first showed this state, in seconds since 1970 UTC.
    pub since: u64,
    /// Checks that showed it, this one included.
    pub attempts: u32,
}

/// Where the room file lives.
pub fn path(root: &Path) -> PathBuf {
    root.join(".room.toml")
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The room joined, if any; a file that does not parse counts as none.
pub fn membership(root: &Path) -> Option<Membership> {
    let text = std::fs::read_to_string(path(root)).ok()?;
    toml::from_str(&text).ok()
}

/// Writes the whole file and renames it into place, so a reader never sees half of it.
pub fn save(root: &Path, membership: &Membership) -> Result<()> {
    let temp = path(root).with_extension(format!("toml.{}", std::process::id()));
    std::fs::write(&temp, toml::to_string(membership)?).with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path(root)).with_context(|| format!("writing {}", path(root).display()))?;
    Ok(())
}

impl Membership {
    /// Counts one more check of `lesson` that showed `state` at `at`; a new state starts a new stint.
    pub fn count_check(&mut self, lesson: &str, state: &State, at: u64) -> &Stint {
        let stint = self.lessons.entry(lesson.to_string()).or_insert_with(|| Stint { state: state.clone(), since: at, attempts: 0 });
        if stint.state != *state {
            *stint = Stint { state: state.clone(), since: at, attempts: 0 };
        }
        stint.attempts += 1;
        stint
    }
}

/// A name is one short line of printable text.
pub fn valid_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty() && name.chars().count() <= NAME_LIMIT && !name.chars().any(char::is_control)
}

/// What one check tells the instructor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    /// The lesson checked, e.g. "02"; null for the record `room join` sends.
    pub lesson: Option<String>,
    pub title: Option<String>,
    /// "passed" or "failing"; "joined" before any check.
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
    /// When the check ended, in seconds since 1970 UTC.
    pub sent_at: u64,
}

impl Record {
    /// The first record, sent by `room join` before any check.
    pub fn joined(name: &str) -> Record {
        Record {
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
        }
    }

    pub fn passed(&self) -> bool {
        self.state == "passed"
    }

    /// How it passed, or where it is stuck, in a few words.
    pub fn describe(&self) -> String {
        let Some(lesson) = &self.lesson else { return "joined, no check yet".into() };
        if self.passed() {
            let how = match (self.solution_applied, self.kernel.as_str()) {
                (true, "host") => "with the solution applied".to_string(),
                (true, kernel) => format!("with the solution applied, on {kernel} under qemu"),
                (false, "host") => "on this machine's kernel".to_string(),
                (false, kernel) => format!("on {kernel} under qemu"),
            };
            return format!("{lesson} passed {how}");
        }
        let on = if self.kernel == "host" { String::new() } else { format!(" (on {} under qemu)", self.kernel) };
        match (self.layer, &self.layer_name) {
            (Some(k), Some(name)) => format!("{lesson} layer {k} of {}: {name}{on}", self.layers),
            _ => format!("{lesson} failing, at no known layer{on}"),
        }
    }
}

/// A record and where it goes: what a check hands to the detached `room send`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub url: String,
    pub token: String,
    pub record: Record,
}

impl Delivery {
    /// Posts the record now, waiting at most `timeout`.
    pub fn post(&self, timeout: std::time::Duration) -> Result<()> {
        http::post(&self.url, "record", &self.token, &serde_json::to_string(&self.record)?, timeout)
    }
}

/// The room log: what became of the last record (nobody waits for the sender to say).
pub fn log_path(root: &Path) -> PathBuf {
    root.join("target/workbook/logs/room.log")
}

fn log(root: &Path, line: &str) {
    let path = log_path(root);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(path, format!("{} {line}\n", now()));
}

/// `room send`: one delivery, posted now; its outcome goes to the room log.
pub fn deliver(root: &Path, delivery: &Delivery) {
    match delivery.post(SEND_TIMEOUT) {
        Ok(()) => log(root, &format!("sent {} to {}", delivery.record.describe(), delivery.url)),
        Err(error) => log(root, &format!("NOT sent ({error:#}): {}", delivery.record.describe())),
    }
}

/// After a check: counts it, and if the learner joined a room, sends the room
/// a record from a detached process. Never fails or slows the check; a problem
/// goes to the room log instead.
pub fn tell(root: &Path, lesson: &Lesson, state: &State, kernel: &str) {
    if membership(root).is_none() {
        return;
    }
    if let Err(error) = try_tell(root, lesson, state, kernel) {
        log(root, &format!("NOT sent: {error:#}"));
    }
}

fn try_tell(root: &Path, lesson: &Lesson, state: &State, kernel: &str) -> Result<()> {
    let at = now();
    let (membership, stint) = {
        // The progress lock also guards the room file's read-modify-write.
        let _held = lock::progress(root)?;
        let Some(mut membership) = membership(root) else { return Ok(()) };
        let stint = membership.count_check(&lesson.number, state, at).clone();
        save(root, &membership)?;
        (membership, stint)
    };
    let solution_applied = matches!(
        (current_files(&lesson.dir), solution_files(lesson)),
        (Ok(current), Ok(solution)) if differing(&current, &solution).is_empty()
    );
    let (state_name, layer) = match state {
        State::Passed => ("passed", None),
        State::Failing { layer } => ("failing", *layer),
    };
    let record = Record {
        name: membership.name.clone(),
        lesson: Some(lesson.number.clone()),
        title: Some(lesson.meta.title.clone()),
        state: state_name.into(),
        layer,
        layer_name: layer.and_then(|k| lesson.meta.layers.get(k.wrapping_sub(1))).map(|l| l.name.clone()),
        layers: lesson.meta.layers.len(),
        attempts: stint.attempts,
        minutes: at.saturating_sub(stint.since) / 60,
        kernel: kernel.to_string(),
        solution_applied,
        sent_at: at,
    };
    let delivery = Delivery { url: membership.url, token: membership.token, record };
    http::run_detached(&["room", "send"], serde_json::to_string(&delivery)?.as_bytes())
}

/// Every learner's latest record, kept by the instructor's server.
#[derive(Debug, Default)]
pub struct Room {
    learners: BTreeMap<String, Seen>,
    /// Records accepted since the server started.
    pub received: u64,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub record: Record,
    /// When the server received it, in seconds since 1970 UTC.
    pub received_at: u64,
}

impl Seen {
    /// Minutes on the current state as of `now`: the record's count plus the time since it came.
    pub fn minutes_at(&self, now: u64) -> u64 {
        self.record.minutes + now.saturating_sub(self.received_at) / 60
    }
}

impl Room {
    pub fn accept(&mut self, record: Record, at: u64) {
        self.received += 1;
        self.learners.insert(record.name.clone(), Seen { record, received_at: at });
    }

    /// Who has been stuck longest first; those whose last check passed come last, newest lesson first.
    pub fn stuck_first(&self, now: u64) -> Vec<&Seen> {
        let mut learners: Vec<&Seen> = self.learners.values().collect();
        learners.sort_by_key(|seen| {
            let stuck = !seen.record.passed() && seen.record.lesson.is_some();
            (
                !stuck,
                std::cmp::Reverse(if stuck { seen.minutes_at(now) } else { 0 }),
                std::cmp::Reverse(seen.record.lesson.clone()),
                seen.record.name.clone(),
            )
        });
        learners
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, lesson: &str, state: &str, minutes: u64) -> Record {
        Record {
            lesson: Some(lesson.into()),
            state: state.into(),
            layer: (state == "failing").then_some(2),
            layer_name: (state == "failing").then(|| "a layer".into()),
            layers: 3,
            minutes,
            ..Record::joined(name)
        }
    }

    #[test]
    fn a_stint_lasts_while_the_state_stays_the_same() {
        let mut room = Membership { url: "http://x/".into(), name: "ada".into(), token: "t".into(), lessons: BTreeMap::new() };
        let layer_2 = State::Failing { layer: Some(2) };
        assert_eq!(room.count_check("02", &layer_2, 100).attempts, 1);
        let stint = room.count_check("02", &layer_2, 400).clone();
        assert_eq!((stint.attempts, stint.since), (2, 100));
        let stint = room.count_check("02", &State::Failing { layer: Some(3) }, 500).clone();
        assert_eq!((stint.attempts, stint.since), (1, 500));
        assert_eq!(room.count_check("01", &State::Passed, 600).attempts, 1);
        let text = toml::to_string(&room).unwrap();
        assert_eq!(toml::from_str::<Membership>(&text).unwrap(), room);
    }

    #[test]
    fn the_room_lists_the_longest_stuck_first_and_the_passed_last() {
        let mut room = Room::default();
        room.accept(record("bo", "02", "passed", 0), 1000);
        room.accept(record("cy", "02", "failing", 3), 1000);
        room.accept(record("ada", "03", "failing", 12), 1000);
        room.accept(Record::joined("di"), 1000);
        room.accept(record("cy", "02", "failing", 4), 1060);
        let order: Vec<&str> = room.stuck_first(1600).iter().map(|s| s.record.name.as_str()).collect();
        assert_eq!(order, ["ada", "cy", "bo", "di"]);
        assert_eq!(room.received, 5);
        assert_eq!(room.stuck_first(1600)[1].minutes_at(1600), 13);
    }

    #[test]
    fn names_are_one_short_printable_line() {
        assert!(valid_name("Ada L."));
        assert!(!valid_name("  "));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name(&"x".repeat(NAME_LIMIT + 1)));
    }

    #[test]
    fn a_record_says_how_it_passed() {
        let mut r = record("ada", "03", "passed", 0);
        assert_eq!(r.describe(), "03 passed on this machine's kernel");
        r.kernel = "6.1".into();
        assert_eq!(r.describe(), "03 passed on 6.1 under qemu");
        r.solution_applied = true;
        assert_eq!(r.describe(), "03 passed with the solution applied, on 6.1 under qemu");
        assert_eq!(record("bo", "02", "failing", 0).describe(), "02 layer 2 of 3: a layer");
    }
}
