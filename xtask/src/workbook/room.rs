//! The room: which instructor a learner joined (`.room.toml`, git-ignored,
//! beside `.progress.toml`), every record their checks made
//! (`.room-records.jsonl`, the queue the sender drains), and the room the
//! instructor's server keeps: each learner's latest records, reloaded from
//! its journal on restart. A record holds where the learner is, never code or files.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::machine::lock;
use crate::machine::room::{self as http, Credentials, SEND_TIMEOUT};
use crate::workbook::files::{current_files, differing, solution_files};
use crate::workbook::lessons::Lesson;
use crate::workbook::progress::State;

/// Records are small; anything bigger is not a record.
pub const RECORD_LIMIT: u64 = 8192;

/// Longest name a learner may give; the instructor's page has one line per learner.
pub const NAME_LIMIT: usize = 40;

/// How long a sender whose room is down keeps trying, and how often.
const RETRY_FOR: Duration = Duration::from_secs(30 * 60);
const RETRY_EVERY: Duration = Duration::from_secs(20);

/// Everything `room join` saved, and what each check since has added.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Membership {
    /// The room's address; none for a learner who only exports (`room join --offline`).
    pub url: Option<String>,
    pub token: Option<String>,
    /// A label on the instructor's page; the learner is `id`.
    pub name: String,
    pub id: String,
    /// Proves to the room that records for `id` come from this workbook.
    pub key: String,
    /// The last record's number; records are numbered from 1.
    #[serde(default)]
    pub seq: u64,
    /// Every record up to this number has reached the room.
    #[serde(default)]
    pub delivered: u64,
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

/// Every record this workbook made, one JSON object a line, oldest first.
pub fn records_path(root: &Path) -> PathBuf {
    root.join(".room-records.jsonl")
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

/// 16 random bytes, in hex: tokens, learner ids and keys.
pub fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 16];
    // The operating system's generator, on Linux, macOS and Windows alike: the room server runs on the instructor's laptop.
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the system's random generator failed: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Membership {
    /// A new learner: a fresh id and key. Rejoining keeps the old ones (see `rejoin`).
    pub fn new(url: Option<String>, token: Option<String>, name: &str) -> Result<Membership> {
        Ok(Membership {
            url,
            token,
            name: name.to_string(),
            id: random_hex()?,
            key: random_hex()?,
            seq: 0,
            delivered: 0,
            lessons: BTreeMap::new(),
        })
    }

    /// The same learner in another room, or under another name: the id, key and records stay.
    pub fn rejoin(self, url: Option<String>, token: Option<String>, name: &str) -> Membership {
        let moved = url != self.url;
        Membership {
            name: name.to_string(),
            // A new room has had none of the records; an offline learner's wait in the queue.
            delivered: if moved { 0 } else { self.delivered },
            url,
            token,
            ..self
        }
    }

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

/// The room log: what became of the last delivery (nobody waits for the sender to say).
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

/// Every record this workbook has made, oldest first; a torn last line is skipped.
pub fn history(root: &Path) -> Vec<Record> {
    std::fs::read_to_string(records_path(root)).unwrap_or_default().lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

/// Numbers `record` as the learner's next one and appends it to the queue. Fast: no network.
pub fn enqueue(root: &Path, mut record: Record) -> Result<Option<Membership>> {
    // The progress lock also guards the room files' read-modify-write.
    let _held = lock::progress(root)?;
    let Some(mut membership) = membership(root) else { return Ok(None) };
    membership.seq += 1;
    record.id = membership.id.clone();
    record.seq = membership.seq;
    record.name = membership.name.clone();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(records_path(root))?;
    file.write_all(format!("{}\n", serde_json::to_string(&record)?).as_bytes())?;
    save(root, &membership)?;
    Ok(Some(membership))
}

/// What one pass of the sender did.
#[derive(Debug, PartialEq, Eq)]
pub struct Flushed {
    pub sent: usize,
    pub waiting: usize,
}

/// Posts every queued record, oldest first, and stops at the first the room
/// does not take: order is kept, and nothing is lost, only delayed.
pub fn flush(root: &Path) -> Result<Flushed> {
    let _sending = lock::room_sender(root)?;
    let Some(membership) = membership(root) else { return Ok(Flushed { sent: 0, waiting: 0 }) };
    let (Some(url), Some(token)) = (&membership.url, &membership.token) else {
        return Ok(Flushed { sent: 0, waiting: 0 });
    };
    let pending: Vec<Record> = history(root).into_iter().filter(|r| r.seq > membership.delivered).collect();
    let who = Credentials { token, key: &membership.key };
    for (sent, record) in pending.iter().enumerate() {
        let age = now().saturating_sub(record.sent_at);
        if let Err(error) = http::post(url, "record", &who, age, &serde_json::to_string(record)?, SEND_TIMEOUT) {
            log(root, &format!("NOT sent ({error:#}); {} queued, sent when the room answers", pending.len() - sent));
            return Ok(Flushed { sent, waiting: pending.len() - sent });
        }
        let _held = lock::progress(root)?;
        if let Some(mut now_saved) = self::membership(root) {
            if now_saved.id == membership.id && now_saved.url == membership.url {
                now_saved.delivered = now_saved.delivered.max(record.seq);
                save(root, &now_saved)?;
            }
        }
    }
    if let Some(last) = pending.last() {
        log(root, &format!("sent {} to {url}", last.describe()));
    }
    Ok(Flushed { sent: pending.len(), waiting: 0 })
}

/// `room send`: drains the queue; while the room is down, one sender keeps
/// trying every so often, for a while, so records arrive without another check.
pub fn deliver(root: &Path) {
    let sent_all = |root: &Path| match flush(root) {
        Ok(Flushed { waiting, .. }) => waiting == 0,
        Err(error) => {
            log(root, &format!("NOT sent: {error:#}"));
            false
        }
    };
    if sent_all(root) {
        return;
    }
    // One retrier is enough; the others leave the queue to it.
    let Ok(Some(_retrying)) = lock::try_room_retrier(root) else { return };
    let started = std::time::Instant::now();
    while started.elapsed() < RETRY_FOR {
        std::thread::sleep(RETRY_EVERY);
        if sent_all(root) {
            return;
        }
    }
}

/// After a check: counts it, queues its record and, if the learner joined a
/// room, sends the queue from a detached process. Never fails or slows the
/// check; a problem goes to the room log instead.
pub fn tell(root: &Path, lesson: &Lesson, state: &State, kernel: &str, blocked: Option<String>) {
    if membership(root).is_none() {
        return;
    }
    if let Err(error) = try_tell(root, lesson, state, kernel, blocked) {
        log(root, &format!("NOT queued: {error:#}"));
    }
}

fn try_tell(root: &Path, lesson: &Lesson, state: &State, kernel: &str, blocked: Option<String>) -> Result<()> {
    let at = now();
    let stint = {
        let _held = lock::progress(root)?;
        let Some(mut membership) = membership(root) else { return Ok(()) };
        let stint = membership.count_check(&lesson.number, state, at).clone();
        save(root, &membership)?;
        stint
    };
    let solution_applied = matches!(
        (current_files(&lesson.dir), solution_files(lesson)),
        (Ok(current), Ok(solution)) if differing(&current, &solution).is_empty()
    );
    let (state_name, layer) = match state {
        State::Passed => ("passed", None),
        State::Failing { .. } if blocked.is_some() => ("blocked", None),
        State::Failing { layer } => ("failing", *layer),
    };
    let record = Record {
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
        blocked,
        ..Record::joined("")
    };
    if let Some(Membership { url: Some(_), .. }) = enqueue(root, record)? {
        http::run_detached(&["room", "send"], b"")?;
    }
    Ok(())
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

pub fn export(root: &Path) -> Result<Export> {
    let Some(membership) = membership(root) else {
        bail!("not in a room: `cargo xtask room join --offline --name YOUR-NAME` first, then check as usual");
    };
    Ok(Export { schema: 1, id: membership.id, key: membership.key, name: membership.name, records: history(root) })
}

/// Limits the room puts on itself.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Settings {
    /// A failing learner with no progress for this many minutes is stuck.
    pub stuck_after: u64,
    /// A learner with no check for this many minutes is idle.
    pub idle_after: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { stuck_after: 10, idle_after: 5 }
    }
}

/// Every learner's latest records, kept by the instructor's server.
#[derive(Debug, Default)]
pub struct Room {
    learners: BTreeMap<String, Learner>,
    /// Distinct records accepted, since the room's first start.
    pub received: u64,
    /// Records that came again (a retry whose answer was lost, an import) and were not counted twice.
    pub repeated: u64,
    pub settings: Settings,
}

#[derive(Debug, Clone)]
pub struct Learner {
    key: String,
    pub latest: Record,
    /// What doctor said when they joined.
    pub machine: Vec<String>,
    /// Each lesson's latest record.
    pub lessons: BTreeMap<String, Record>,
    /// When the latest check ended, by the room's clock (its delivery minus its age).
    pub checked_at: u64,
    seqs: BTreeSet<u64>,
}

/// Where a learner stands, for the page and the counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Stuck,
    Blocked,
    Working,
    Joined,
    Passed,
}

impl Standing {
    pub fn label(&self) -> &'static str {
        match self {
            Standing::Stuck => "stuck",
            Standing::Blocked => "blocked by the machine",
            Standing::Working => "working",
            Standing::Joined => "joined",
            Standing::Passed => "passed",
        }
    }
}

/// Why the room refused a record.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The learner's id is bound to another key: someone else's record.
    NotTheirs,
    Invalid(String),
}

/// One line of the server's journal: an accepted record, and what it came with.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub checked_at: u64,
    pub record: Record,
}

impl Learner {
    /// Minutes on the current state as of `now`: the record's count plus the time since the check.
    pub fn minutes_at(&self, now: u64) -> u64 {
        self.latest.minutes + now.saturating_sub(self.checked_at) / 60
    }

    pub fn standing(&self, now: u64, settings: &Settings) -> Standing {
        let record = &self.latest;
        match record.state.as_str() {
            "blocked" => Standing::Blocked,
            "passed" => Standing::Passed,
            _ if record.lesson.is_none() && !self.machine.is_empty() => Standing::Blocked,
            "failing" if self.minutes_at(now) >= settings.stuck_after => Standing::Stuck,
            "failing" => Standing::Working,
            _ => Standing::Joined,
        }
    }

    pub fn idle(&self, now: u64, settings: &Settings) -> bool {
        now.saturating_sub(self.checked_at) >= settings.idle_after * 60
    }

    /// What blocks them, when the machine does.
    pub fn blocked_by(&self) -> Option<&str> {
        self.latest.blocked.as_deref().or_else(|| self.latest.lesson.is_none().then(|| self.machine.first().map(String::as_str)).flatten())
    }
}

/// How many learners stand where, on one lesson.
#[derive(Debug, Default, Serialize)]
pub struct LessonCount {
    pub lesson: String,
    pub title: String,
    pub layers: usize,
    /// Learners whose latest check of it is this lesson.
    pub on_it: usize,
    pub passed: usize,
    pub blocked: usize,
    /// Layer number → its name and how many fail at it.
    pub at_layer: BTreeMap<usize, (String, usize)>,
    pub at_no_known_layer: usize,
}

impl Room {
    pub fn new(settings: Settings) -> Room {
        Room { settings, ..Room::default() }
    }

    /// Takes `record`, posted with `key`, whose check ended at `checked_at`.
    /// A record seen before is counted once; `Ok(false)` says it was a repeat.
    pub fn accept(&mut self, record: Record, key: &str, checked_at: u64) -> Result<bool, Refused> {
        self.is_new(&record, key)?;
        let learner = self.learners.entry(record.id.clone()).or_insert_with(|| Learner {
            key: key.to_string(),
            latest: record.clone(),
            machine: Vec::new(),
            lessons: BTreeMap::new(),
            checked_at,
            seqs: BTreeSet::new(),
        });
        if learner.key != key {
            return Err(Refused::NotTheirs);
        }
        if !learner.seqs.insert(record.seq) {
            self.repeated += 1;
            return Ok(false);
        }
        self.received += 1;
        if record.lesson.is_none() {
            learner.machine = record.machine.clone();
        }
        if let Some(lesson) = &record.lesson {
            let newer = learner.lessons.get(lesson).is_none_or(|old| old.seq < record.seq);
            if newer {
                learner.lessons.insert(lesson.clone(), record.clone());
            }
        }
        // A late record from the queue does not hide a newer one that came first.
        if record.seq >= learner.latest.seq {
            learner.checked_at = checked_at;
            learner.latest = record;
        }
        Ok(true)
    }

    /// Whether `accept` would count `record` as new, or why it would refuse it.
    pub fn is_new(&self, record: &Record, key: &str) -> Result<bool, Refused> {
        if record.id.is_empty() || record.seq == 0 || key.is_empty() {
            return Err(Refused::Invalid("a record needs its learner id, number and key\n".into()));
        }
        if !valid_name(&record.name) {
            return Err(Refused::Invalid(format!("a learner's name is one line of at most {NAME_LIMIT} characters\n")));
        }
        match self.learners.get(&record.id) {
            Some(learner) if learner.key != key => Err(Refused::NotTheirs),
            Some(learner) => Ok(!learner.seqs.contains(&record.seq)),
            None => Ok(true),
        }
    }

    pub fn learners(&self) -> impl Iterator<Item = &Learner> {
        self.learners.values()
    }

    /// Stuck longest first, then blocked, working, joined, and passed last; by name within each.
    pub fn in_order(&self, now: u64) -> Vec<&Learner> {
        let mut learners: Vec<&Learner> = self.learners.values().collect();
        learners.sort_by_key(|l| {
            let standing = l.standing(now, &self.settings);
            let minutes = if standing == Standing::Stuck { l.minutes_at(now) } else { 0 };
            (standing, std::cmp::Reverse(minutes), l.latest.name.clone(), l.latest.id.clone())
        });
        learners
    }

    /// How many learners are where, lesson by lesson and layer by layer.
    pub fn counts(&self) -> Vec<LessonCount> {
        let mut lessons: BTreeMap<String, LessonCount> = BTreeMap::new();
        for learner in self.learners.values() {
            for (number, record) in &learner.lessons {
                let count =
                    lessons.entry(number.clone()).or_insert_with(|| LessonCount { lesson: number.clone(), ..LessonCount::default() });
                count.title = record.title.clone().unwrap_or_default();
                count.layers = count.layers.max(record.layers);
                if learner.latest.lesson.as_deref() == Some(number) {
                    count.on_it += 1;
                }
                match (record.state.as_str(), record.layer) {
                    ("passed", _) => count.passed += 1,
                    ("blocked", _) => count.blocked += 1,
                    (_, Some(k)) => count.at_layer.entry(k).or_insert_with(|| (record.layer_name.clone().unwrap_or_default(), 0)).1 += 1,
                    (_, None) => count.at_no_known_layer += 1,
                }
            }
        }
        lessons.into_values().collect()
    }

    /// Learners who share a name with another: their rows show a short id too.
    pub fn shared_names(&self) -> BTreeSet<String> {
        let mut seen = BTreeMap::<&str, usize>::new();
        for learner in self.learners.values() {
            *seen.entry(learner.latest.name.as_str()).or_default() += 1;
        }
        seen.into_iter().filter(|(_, n)| *n > 1).map(|(name, _)| name.to_string()).collect()
    }
}

/// The instructor's two tokens: the learners' (posts records) and their own (reads the page).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    pub learners: String,
    pub instructor: String,
}

/// The room's state on the instructor's disk: its tokens, and a journal of
/// every record accepted, appended before the learner hears "accepted".
pub struct Store {
    journal: std::fs::File,
}

impl Store {
    /// Opens (or starts) the room kept in `dir`: its tokens, given ones first,
    /// and its records, replayed into a room with `settings`.
    pub fn open(dir: &Path, learners: Option<String>, instructor: Option<String>, settings: Settings) -> Result<(Store, Tokens, Room)> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tokens_path = dir.join("tokens.toml");
        let saved: Option<Tokens> = std::fs::read_to_string(&tokens_path).ok().and_then(|t| toml::from_str(&t).ok());
        let tokens = Tokens {
            learners: learners.or_else(|| saved.as_ref().map(|t| t.learners.clone())).map_or_else(random_hex, Ok)?,
            instructor: instructor.or_else(|| saved.as_ref().map(|t| t.instructor.clone())).map_or_else(random_hex, Ok)?,
        };
        anyhow::ensure!(tokens.learners != tokens.instructor, "the learners' and the instructor's tokens must differ");
        if saved.as_ref() != Some(&tokens) {
            std::fs::write(&tokens_path, toml::to_string(&tokens)?).with_context(|| format!("writing {}", tokens_path.display()))?;
        }
        let journal_path = dir.join("records.jsonl");
        let mut room = Room::new(settings);
        for line in std::fs::read_to_string(&journal_path).unwrap_or_default().lines() {
            // A line torn by a crash mid-write is the only kind that does not parse.
            if let Ok(entry) = serde_json::from_str::<Entry>(line) {
                let _ = room.accept(entry.record, &entry.key, entry.checked_at);
            }
        }
        let journal = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)
            .with_context(|| format!("opening {}", journal_path.display()))?;
        Ok((Store { journal }, tokens, room))
    }

    /// Writes one accepted record as one line, in one write.
    pub fn append(&mut self, entry: &Entry) -> Result<()> {
        self.journal.write_all(format!("{}\n", serde_json::to_string(entry)?).as_bytes()).context("writing the room's journal")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn record(name: &str, seq: u64, lesson: &str, state: &str, minutes: u64) -> Record {
        Record {
            id: format!("id-{name}"),
            seq,
            lesson: Some(lesson.into()),
            title: Some(format!("lesson {lesson}")),
            state: state.into(),
            layer: (state == "failing").then_some(2),
            layer_name: (state == "failing").then(|| "a layer".into()),
            layers: 3,
            minutes,
            ..Record::joined(name)
        }
    }

    fn accept(room: &mut Room, record: Record, at: u64) -> bool {
        let key = format!("key-{}", record.id);
        room.accept(record, &key, at).unwrap()
    }

    #[test]
    fn a_stint_lasts_while_the_state_stays_the_same() {
        let mut room = Membership::new(Some("http://x/".into()), Some("t".into()), "ada").unwrap();
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
    fn rejoining_keeps_the_learner_and_a_new_room_gets_every_record() {
        let mut first = Membership::new(Some("http://a/".into()), Some("t".into()), "ada").unwrap();
        (first.seq, first.delivered) = (7, 7);
        let renamed = first.clone().rejoin(Some("http://a/".into()), Some("t".into()), "Ada L.");
        assert_eq!(
            (renamed.id.as_str(), renamed.key.as_str(), renamed.delivered, renamed.name.as_str()),
            (first.id.as_str(), first.key.as_str(), 7, "Ada L.")
        );
        let moved = first.clone().rejoin(Some("https://b/".into()), Some("u".into()), "ada");
        assert_eq!((moved.id, moved.seq, moved.delivered), (first.id, 7, 0));
    }

    #[test]
    fn the_room_lists_the_longest_stuck_first_then_blocked_working_joined_passed() {
        let mut room = Room::new(Settings { stuck_after: 10, idle_after: 5 });
        accept(&mut room, record("bo", 1, "02", "passed", 0), 1000);
        accept(&mut room, record("cy", 1, "02", "failing", 3), 1000);
        accept(&mut room, record("ada", 1, "03", "failing", 12), 1000);
        accept(&mut room, Record { id: "id-di".into(), seq: 1, ..Record::joined("di") }, 1000);
        accept(&mut room, Record { id: "id-eve".into(), seq: 1, machine: vec!["no BTF".into()], ..Record::joined("eve") }, 1000);
        accept(
            &mut room,
            Record { state: "blocked".into(), blocked: Some("no 5.10 BTF".into()), ..record("fay", 1, "03", "failing", 30) },
            1000,
        );
        accept(&mut room, record("gus", 1, "01", "failing", 2), 1000);
        accept(&mut room, record("cy", 2, "02", "failing", 4), 1060);
        let order = |now| room.in_order(now).iter().map(|l| (l.latest.name.clone(), l.standing(now, &room.settings))).collect::<Vec<_>>();
        let at_1600 = order(1600);
        let names: Vec<&str> = at_1600.iter().map(|(n, _)| n.as_str()).collect();
        // ada: 12 + 10 minutes; cy: 4 + 9 = 13; gus: 2 + 10 = 12.
        assert_eq!(names, ["ada", "cy", "gus", "eve", "fay", "di", "bo"]);
        assert_eq!(at_1600[0].1, Standing::Stuck);
        assert_eq!(at_1600[3].1, Standing::Blocked);
        assert_eq!(room.received, 8);
        // Ten minutes earlier, cy (4 + 0) is working, not stuck.
        assert_eq!(order(1060).iter().find(|(n, _)| n == "cy").unwrap().1, Standing::Working);
        let cy = room.in_order(1600).into_iter().find(|l| l.latest.name == "cy").unwrap();
        assert!(cy.idle(1060 + 300, &room.settings) && !cy.idle(1060 + 299, &room.settings));
    }

    #[test]
    fn a_record_is_counted_once_and_only_its_learners_key_may_post_it() {
        let mut room = Room::default();
        assert!(accept(&mut room, record("ada", 1, "01", "failing", 0), 10));
        assert!(!accept(&mut room, record("ada", 1, "01", "failing", 0), 20), "a repeat is not new");
        assert_eq!((room.received, room.repeated), (1, 1));
        assert_eq!(room.accept(record("ada", 2, "01", "passed", 0), "someone else's key", 30), Err(Refused::NotTheirs));
        // Two learners called alex are two learners.
        let alex = |id: &str| Record { id: id.into(), ..record("alex", 1, "01", "failing", 0) };
        assert!(room.accept(alex("a1"), "k1", 10).unwrap() && room.accept(alex("a2"), "k2", 10).unwrap());
        assert_eq!(room.learners().count(), 3);
        assert_eq!(room.shared_names().into_iter().collect::<Vec<_>>(), ["alex"]);
        // A late record does not replace a newer latest.
        assert!(accept(&mut room, record("ada", 3, "02", "failing", 0), 40));
        assert!(accept(&mut room, record("ada", 2, "01", "passed", 0), 50));
        let ada = room.learners().find(|l| l.latest.name == "ada").unwrap();
        assert_eq!((ada.latest.seq, ada.lessons["01"].state.as_str()), (3, "passed"));
    }

    #[test]
    fn counts_go_by_lesson_and_layer() {
        let mut room = Room::default();
        accept(&mut room, record("a", 1, "01", "passed", 0), 0);
        accept(&mut room, record("a", 2, "02", "failing", 0), 0);
        accept(&mut room, record("b", 1, "01", "failing", 0), 0);
        accept(&mut room, record("c", 1, "01", "passed", 0), 0);
        accept(
            &mut room,
            Record { state: "blocked".into(), layer: None, blocked: Some("x".into()), ..record("d", 1, "03", "failing", 0) },
            0,
        );
        let counts = room.counts();
        let lesson = |n: &str| counts.iter().find(|c| c.lesson == n).unwrap();
        assert_eq!((lesson("01").passed, lesson("01").on_it, lesson("01").at_layer[&2].1), (2, 2, 1));
        assert_eq!((lesson("02").on_it, lesson("02").at_layer[&2].clone()), (1, ("a layer".to_string(), 1)));
        assert_eq!(lesson("03").blocked, 1);
    }

    #[test]
    fn the_store_reloads_every_record_and_keeps_its_tokens() {
        let dir = std::env::temp_dir().join(format!("room-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut store, tokens, mut room) = Store::open(&dir, None, None, Settings::default()).unwrap();
        assert_ne!(tokens.learners, tokens.instructor);
        for seq in 1..=3 {
            let record = record("ada", seq, "01", "failing", 0);
            assert!(room.accept(record.clone(), "k", 5).unwrap());
            store.append(&Entry { key: "k".into(), checked_at: 5, record }).unwrap();
        }
        drop(store);
        // A torn last line, as a crash mid-write leaves it.
        std::fs::OpenOptions::new().append(true).open(dir.join("records.jsonl")).unwrap().write_all(b"{\"key\":").unwrap();
        let (_, again, reloaded) = Store::open(&dir, None, None, Settings::default()).unwrap();
        assert_eq!(again, tokens);
        assert_eq!(reloaded.received, 3);
        assert_eq!(reloaded.learners().next().unwrap().latest.seq, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn names_are_one_short_printable_line() {
        assert!(valid_name("Ada L."));
        assert!(!valid_name("  "));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name(&"x".repeat(NAME_LIMIT + 1)));
    }

    #[test]
    fn a_record_says_how_it_passed_or_what_blocks_it() {
        let mut r = record("ada", 1, "03", "passed", 0);
        assert_eq!(r.describe(), "03 passed on this machine's kernel");
        r.kernel = "6.1".into();
        assert_eq!(r.describe(), "03 passed on 6.1 under qemu");
        r.solution_applied = true;
        assert_eq!(r.describe(), "03 passed with the solution applied, on 6.1 under qemu");
        assert_eq!(record("bo", 1, "02", "failing", 0).describe(), "02 layer 2 of 3: a layer");
        let blocked = Record {
            state: "blocked".into(),
            layer: None,
            blocked: Some("Linux 5.10's BTF is not here".into()),
            ..record("cy", 1, "03", "failing", 0)
        };
        assert_eq!(blocked.describe(), "03 blocked by the machine: Linux 5.10's BTF is not here");
    }
}
