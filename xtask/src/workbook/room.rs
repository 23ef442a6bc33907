//! The learner's side of the room: which instructor a learner joined
//! (`.room.toml`, git-ignored, beside `.progress.toml`) and every record their
//! checks made (`.room-records.jsonl`, the queue the sender drains). The room
//! itself, which the instructor serves, is the `workshop-room` crate. A record
//! holds where the learner is, never code or files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub use workshop_room::record::{now, random_hex, valid_name, Export, Record, NAME_LIMIT, RECORD_LIMIT};

use crate::machine::lock;
use crate::machine::room::{self as http, Credentials, SEND_TIMEOUT};
use crate::workbook::files::{current_files, differing, solution_files};
use crate::workbook::lessons::Lesson;
use crate::workbook::progress::State;

/// How long a sender whose room is down keeps trying, and how often: a
/// restarted room is on the page within seconds, and a try at a room that is
/// down is one refused connection.
const RETRY_FOR: Duration = Duration::from_secs(30 * 60);
const RETRY_EVERY: Duration = Duration::from_secs(5);

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

pub fn export(root: &Path) -> Result<Export> {
    let Some(membership) = membership(root) else {
        bail!("not in a room: `cargo xtask room join --offline --name YOUR-NAME` first, then check as usual");
    };
    Ok(Export { schema: 1, id: membership.id, key: membership.key, name: membership.name, records: history(root) })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
