//! The room the instructor's server keeps: each learner's latest records,
//! the counts, and a journal on disk that a restart replays, so stopping the
//! room loses nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::record::{random_hex, valid_name, Entry, Record, NAME_LIMIT};

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
    /// Every record's number → when its check ended (the room's clock), its lesson, and whether it passed with the learner's own fix.
    timeline: BTreeMap<u64, (u64, Option<String>, bool)>,
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
    /// Learners who passed it with their own fix, timed from when they started it (see `Room::solve_times`).
    pub solved: usize,
    /// Their median minutes from the first check to the first such pass.
    pub median_minutes_to_pass: Option<u64>,
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
            timeline: BTreeMap::new(),
        });
        if learner.key != key {
            return Err(Refused::NotTheirs);
        }
        if !learner.seqs.insert(record.seq) {
            self.repeated += 1;
            return Ok(false);
        }
        self.received += 1;
        // A pass with the solution applied (a checkpoint) is no solve time.
        let solved = record.passed() && !record.solution_applied;
        learner.timeline.insert(record.seq, (checked_at, record.lesson.clone(), solved));
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
        for (number, mut seconds) in self.solve_times() {
            if let Some(count) = lessons.get_mut(&number) {
                seconds.sort_unstable();
                count.solved = seconds.len();
                // The lower middle for an even count: a median that some learner really took.
                count.median_minutes_to_pass = seconds.get((seconds.len() - 1) / 2).map(|s| s / 60);
            }
        }
        lessons.into_values().collect()
    }

    /// Lesson → each learner's seconds from starting it to their first pass with their own fix.
    /// A learner starts a lesson when the record before their first check of it
    /// ended (joining, or the lesson before), or at that first check if it is
    /// their first record: whoever passes at the first check took time too.
    pub fn solve_times(&self) -> BTreeMap<String, Vec<u64>> {
        let mut times: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for learner in self.learners.values() {
            // In the learner's own order, whatever order the records came in (a queue, an import).
            let mut started: BTreeMap<&str, u64> = BTreeMap::new();
            let mut done: BTreeSet<&str> = BTreeSet::new();
            let mut before: Option<u64> = None;
            for (at, lesson, solved) in learner.timeline.values() {
                if let Some(lesson) = lesson.as_deref() {
                    let start = *started.entry(lesson).or_insert(before.unwrap_or(*at).min(*at));
                    if *solved && done.insert(lesson) {
                        times.entry(lesson.to_string()).or_default().push(at.saturating_sub(start));
                    }
                }
                before = Some(*at);
            }
        }
        times
    }

    /// The room a journal's text describes, and how many of its lines were not records.
    pub fn replay(journal: &str, settings: Settings) -> (Room, usize) {
        let mut room = Room::new(settings);
        let mut unread = 0;
        for line in journal.lines().filter(|l| !l.trim().is_empty()) {
            // A line torn by a crash mid-write is the only kind the room itself leaves.
            match serde_json::from_str::<Entry>(line) {
                Ok(entry) => {
                    let _ = room.accept(entry.record, &entry.key, entry.checked_at);
                }
                Err(_) => unread += 1,
            }
        }
        (room, unread)
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

/// The journal's name in the room's folder: one accepted record a line.
pub const JOURNAL: &str = "records.jsonl";

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
        let journal_path = dir.join(JOURNAL);
        let (room, _) = Room::replay(&std::fs::read_to_string(&journal_path).unwrap_or_default(), settings);
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
    fn the_median_time_to_pass_counts_own_fixes_from_the_start_of_the_lesson() {
        let mut room = Room::default();
        // ada: first check at 0, passes at 600 (10 min); the pass came first, from a queue.
        accept(&mut room, record("ada", 2, "01", "passed", 0), 600);
        accept(&mut room, record("ada", 1, "01", "failing", 0), 0);
        // bo: 20 min; cy: 40 min; di applied the solution, so is not timed; eve has not passed.
        for (name, minutes) in [("bo", 20), ("cy", 40)] {
            accept(&mut room, record(name, 1, "01", "failing", 0), 1000);
            accept(&mut room, record(name, 2, "01", "passed", 0), 1000 + minutes * 60);
        }
        accept(&mut room, record("di", 1, "01", "failing", 0), 0);
        accept(&mut room, Record { solution_applied: true, ..record("di", 2, "01", "passed", 0) }, 300);
        accept(&mut room, record("eve", 1, "01", "failing", 0), 0);
        let counts = room.counts();
        assert_eq!((counts[0].solved, counts[0].median_minutes_to_pass), (3, Some(20)));
        // fay joined at 0 and passed 02 at her first check of it, at 900: 15 minutes, not 0.
        accept(&mut room, Record { id: "id-fay".into(), seq: 1, ..Record::joined("fay") }, 0);
        accept(&mut room, record("fay", 2, "02", "passed", 0), 900);
        assert_eq!(room.solve_times()["02"], [900]);
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
