//! The workshop's three-hour agenda, made from each lesson's minutes: the
//! median time to pass that a room measured, where it measured one, and the
//! floor × factor estimate elsewhere. The book's agenda is this module's
//! output with no measurements (a test compares them), so a room's medians
//! reach the agenda by running `room agenda`, not by editing numbers by hand.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use serde::Deserialize;

use crate::page::count;
use crate::state::{Room, Settings, JOURNAL};

/// The agenda's length, in minutes.
pub const LENGTH: u64 = 180;
/// What a person adds to the machine's floor. Not measured: the book says how it was chosen.
pub const FACTOR: u64 = 100;
/// The least slack the agenda keeps, whatever the lessons take.
const LEAST_SLACK: u64 = 5;

/// A lesson's estimate, for as long as no room has measured it.
pub struct Estimate {
    pub lesson: &'static str,
    pub layers: usize,
    /// The machine's part of the reference path (`dev verify NN --kernels host --timings`),
    /// measured on a busy two-core machine: its time per checked state × (layers + 1).
    pub floor_seconds: u64,
}

impl Estimate {
    /// The floor × the factor, rounded up to 5 minutes.
    pub fn minutes(&self) -> u64 {
        (self.floor_seconds * FACTOR).div_ceil(5 * 60) * 5
    }
}

/// Lessons 01 to 03 are the core, 04 optional, 05 the first for fast finishers.
pub const ESTIMATES: [Estimate; 5] = [
    Estimate { lesson: "01", layers: 2, floor_seconds: 12 },
    Estimate { lesson: "02", layers: 4, floor_seconds: 22 },
    Estimate { lesson: "03", layers: 2, floor_seconds: 18 },
    Estimate { lesson: "04", layers: 4, floor_seconds: 14 },
    Estimate { lesson: "05", layers: 4, floor_seconds: 40 },
];

/// A lesson's median minutes to pass with one's own fix, and over how many learners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Median {
    pub learners: usize,
    pub minutes: u64,
}

/// What a room measured: lesson → its median.
pub type Measured = BTreeMap<String, Median>;

/// Each lesson's median as the room's page shows it.
pub fn measured(room: &Room) -> Measured {
    room.counts().into_iter().filter_map(|c| Some((c.lesson, Median { learners: c.solved, minutes: c.median_minutes_to_pass? }))).collect()
}

/// Where a number in the agenda comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The agenda's own: buffer, checkpoints, debriefs, break.
    Fixed,
    /// The slack: what the rest leaves of the 180 minutes.
    Rest,
    Measured(Median),
    /// The floor × the factor; `too_few` is a median over fewer learners than asked for.
    Estimate {
        floor_seconds: u64,
        too_few: Option<usize>,
    },
}

impl Source {
    pub fn label(&self) -> String {
        match self {
            Source::Fixed => "fixed".into(),
            Source::Rest => format!("what is left of {LENGTH} minutes"),
            Source::Measured(m) => {
                format!("measured, {}, median {}", count(m.learners, "learner", "learners"), count(m.minutes as usize, "minute", "minutes"))
            }
            Source::Estimate { floor_seconds, too_few } => {
                let estimate = format!("estimate: floor {floor_seconds} s × {FACTOR}");
                match too_few {
                    Some(n) => format!("{estimate}; measured over only {}", count(*n, "learner", "learners")),
                    None => estimate,
                }
            }
        }
    }
}

/// A lesson's minutes for the agenda: the room's median, rounded up to 5,
/// when at least `least` learners passed it with their own fix; the estimate otherwise.
pub fn lesson_minutes(estimate: &Estimate, measured: &Measured, least: usize) -> (u64, Source) {
    match measured.get(estimate.lesson) {
        Some(m) if m.learners >= least.max(1) => (m.minutes.div_ceil(5).max(1) * 5, Source::Measured(*m)),
        other => (estimate.minutes(), Source::Estimate { floor_seconds: estimate.floor_seconds, too_few: other.map(|m| m.learners) }),
    }
}

/// One part of the agenda: when it starts (minutes from the start), how long it takes, what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub start: u64,
    pub minutes: u64,
    pub name: String,
    pub source: Source,
}

impl Part {
    /// `1:05`.
    pub fn clock(&self) -> String {
        format!("{}:{:02}", self.start / 60, self.start % 60)
    }
}

/// The agenda, and what it says beside the table: what moved out, what is optional.
#[derive(Debug)]
pub struct Agenda {
    pub parts: Vec<Part>,
    pub notes: Vec<String>,
}

/// Each core lesson's debrief: the last one ends the core, and takes longer.
const DEBRIEFS: [u64; 3] = [5, 5, 10];
const CHECKPOINT: u64 = 5;
const FIXED: [(&str, u64); 2] = [("Buffer for machines", 15), ("What CO-RE is", 10)];
const BREAK: u64 = 10;
const WRAP_UP: (&str, u64) = ("Myths and wrap-up", 10);

/// The agenda with `measured`'s medians (each over at least `least` learners) and the estimates elsewhere.
/// A core lesson that does not fit moves to take-home, the last first, and the notes say so.
pub fn agenda(measured: &Measured, least: usize) -> Agenda {
    let core: Vec<(&Estimate, u64, Source)> = ESTIMATES[..3]
        .iter()
        .map(|e| {
            let (minutes, source) = lesson_minutes(e, measured, least);
            (e, minutes, source)
        })
        .collect();
    let fixed: u64 = FIXED.iter().map(|f| f.1).sum::<u64>() + BREAK + WRAP_UP.1 + LEAST_SLACK;
    let needs = |kept: usize| fixed + core[..kept].iter().zip(DEBRIEFS).map(|(c, debrief)| c.1 + CHECKPOINT + debrief).sum::<u64>();
    let mut kept = core.len();
    while kept > 1 && needs(kept) > LENGTH {
        kept -= 1;
    }
    let mut parts = Vec::new();
    let mut add = |name: String, minutes: u64, source: Source| {
        let start = parts.last().map_or(0, |p: &Part| p.start + p.minutes);
        parts.push(Part { start, minutes, name, source });
    };
    for (name, minutes) in FIXED {
        add(name.into(), minutes, Source::Fixed);
    }
    for (i, ((estimate, minutes, source), debrief)) in core[..kept].iter().zip(DEBRIEFS).enumerate() {
        add(format!("Lesson {}", estimate.lesson), *minutes, source.clone());
        add(format!("Checkpoint {}", i + 1), CHECKPOINT, Source::Fixed);
        add(format!("Debrief {}", i + 1), debrief, Source::Fixed);
        // Between lessons 02 and 03, or after the last lesson kept.
        if i + 1 == kept.min(2) {
            add("Break".into(), BREAK, Source::Fixed);
        }
    }
    add(WRAP_UP.0.into(), WRAP_UP.1, Source::Fixed);
    let used = needs(kept) - LEAST_SLACK;
    add("Slack".into(), LENGTH.saturating_sub(used).max(LEAST_SLACK), Source::Rest);

    let mut notes = Vec::new();
    for (estimate, minutes, source) in &core[kept..] {
        notes.push(format!(
            "Lesson {} moves to take-home: its {} ({}) do not fit in {LENGTH} minutes beside the buffer, the \
             checkpoints, the debriefs, the break and {LEAST_SLACK} minutes of slack.",
            estimate.lesson,
            count(*minutes as usize, "minute", "minutes"),
            source.label()
        ));
    }
    let slack = parts.last().map_or(0, |p| p.minutes);
    if let Some((estimate, minutes, _)) = core.get(kept).filter(|c| c.1 <= slack) {
        notes.push(format!(
            "The slack, {}, can still start lesson {} ({}) in the room if the checkpoints come early.",
            count(slack as usize, "minute", "minutes"),
            estimate.lesson,
            count(*minutes as usize, "minute", "minutes")
        ));
    }
    if used + LEAST_SLACK > LENGTH {
        notes.push(format!(
            "Even lesson 01 alone does not fit: this agenda runs {} over {LENGTH}.",
            count((used + LEAST_SLACK - LENGTH) as usize, "minute", "minutes")
        ));
    }
    let (four, four_source) = lesson_minutes(&ESTIMATES[3], measured, least);
    notes.push(format!(
        "Lesson 04 is optional: {} ({}), in the room if the checkpoints come early, otherwise take-home.",
        count(four as usize, "minute", "minutes"),
        four_source.label()
    ));
    let (five, five_source) = lesson_minutes(&ESTIMATES[4], measured, least);
    notes.push(format!(
        "Lesson 05 ({}, {}) and lessons 06 to 09 are for fast finishers.",
        count(five as usize, "minute", "minutes"),
        five_source.label()
    ));
    Agenda { parts, notes }
}

impl Agenda {
    /// The table, in Markdown as the book has it (its last column the source, not what happens), then the notes.
    pub fn markdown(&self) -> String {
        let mut text = String::from("| clock | minutes | part | source |\n|---|---|---|---|\n");
        for part in &self.parts {
            text += &format!("| {} | {} | {} | {} |\n", part.clock(), part.minutes, part.name, part.source.label());
        }
        for note in &self.notes {
            text += &format!("\n{note}\n");
        }
        text
    }
}

/// What `room agenda` read: the medians, and how many learners the room had.
#[derive(Debug)]
pub struct Reading {
    pub measured: Measured,
    pub learners: usize,
    /// Lines of a journal that were not records (a crash mid-write tears the last one).
    pub unread: usize,
}

/// The fields of a saved `status.json` that the agenda needs.
#[derive(Deserialize)]
struct Status {
    lessons: Vec<StatusLesson>,
    #[serde(default)]
    learners: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct StatusLesson {
    lesson: String,
    #[serde(default)]
    solved: usize,
    median_minutes_to_pass: Option<u64>,
}

/// The medians in a room's text: its journal (`records.jsonl`) or a `status.json` saved from its page.
pub fn read_text(text: &str) -> Option<Reading> {
    if let Ok(status) = serde_json::from_str::<Status>(text) {
        let measured = status
            .lessons
            .into_iter()
            .filter_map(|l| Some((l.lesson, Median { learners: l.solved, minutes: l.median_minutes_to_pass? })))
            .collect();
        return Some(Reading { measured, learners: status.learners.len(), unread: 0 });
    }
    let (room, unread) = Room::replay(text, Settings::default());
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    // An empty journal is a room nobody posted to; one with no record in it is something else.
    if lines > 0 && unread == lines {
        return None;
    }
    Some(Reading { measured: measured(&room), learners: room.learners().count(), unread })
}

/// The medians kept at `path`: a room's folder, its journal, or a saved `status.json`.
pub fn read(path: &Path) -> Result<Reading> {
    let file = if path.is_dir() { path.join(JOURNAL) } else { path.to_path_buf() };
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    };
    match read_text(&text) {
        Some(reading) => Ok(reading),
        None => bail!("{} is neither a room's {JOURNAL} nor a status.json saved from its page", file.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Entry, Record};

    fn rows(agenda: &Agenda) -> Vec<(String, u64, String)> {
        agenda.parts.iter().map(|p| (p.clock(), p.minutes, p.name.clone())).collect()
    }

    #[test]
    fn the_estimates_are_the_floor_times_the_factor_rounded_up_to_5() {
        let minutes: Vec<u64> = ESTIMATES.iter().map(Estimate::minutes).collect();
        assert_eq!(minutes, [20, 40, 30, 25, 70]);
        // The factor is the median ratio of the estimates made by hand (25, 35, 30, 35, 40 minutes) to the floors.
        let mut ratios: Vec<u64> =
            ESTIMATES.iter().zip([25, 35, 30, 35, 40]).map(|(e, by_hand)| (by_hand * 60 * 10 / e.floor_seconds).div_ceil(10)).collect();
        ratios.sort_unstable();
        assert_eq!(ratios[2], FACTOR);
    }

    #[test]
    fn with_no_measurements_every_lesson_is_an_estimate_and_the_agenda_fills_180_minutes() {
        let agenda = agenda(&Measured::new(), 3);
        let last = agenda.parts.last().unwrap();
        assert_eq!(last.start + last.minutes, LENGTH);
        assert_eq!((last.name.as_str(), last.minutes), ("Slack", 10));
        let lessons: Vec<(String, String)> =
            agenda.parts.iter().filter(|p| p.name.starts_with("Lesson")).map(|p| (p.name.clone(), p.source.label())).collect();
        assert_eq!(
            lessons,
            [
                ("Lesson 01".to_string(), "estimate: floor 12 s × 100".to_string()),
                ("Lesson 02".into(), "estimate: floor 22 s × 100".into()),
                ("Lesson 03".into(), "estimate: floor 18 s × 100".into()),
            ]
        );
        assert!(agenda.notes.iter().all(|n| !n.contains("take-home:")), "{:?}", agenda.notes);
    }

    /// A journal line: `name`'s record `seq`, of `lesson` in `state`, checked at `at` seconds.
    fn line(name: &str, seq: u64, lesson: Option<&str>, state: &str, at: u64) -> String {
        let record = Record {
            id: format!("id-{name}"),
            seq,
            lesson: lesson.map(str::to_string),
            state: state.into(),
            layers: 2,
            ..Record::joined(name)
        };
        serde_json::to_string(&Entry { key: format!("key-{name}"), checked_at: at, record }).unwrap()
    }

    /// A room of learners who join at 0, each pass lesson 01 and 02 after the given minutes
    /// (02's counted from their pass of 01), with a failing check between.
    fn simulated(passes: &[(&str, u64, Option<u64>)]) -> String {
        let mut journal = Vec::new();
        for (name, one, two) in passes {
            journal.push(line(name, 1, None, "joined", 0));
            journal.push(line(name, 2, Some("01"), "failing", 60));
            journal.push(line(name, 3, Some("01"), "passed", one * 60));
            if let Some(two) = two {
                journal.push(line(name, 4, Some("02"), "failing", one * 60 + 60));
                journal.push(line(name, 5, Some("02"), "passed", (one + two) * 60));
            }
        }
        journal.join("\n") + "\n"
    }

    #[test]
    fn a_simulated_room_gives_each_lesson_its_median_rounded_up_to_5() {
        // Five learners pass 01 after 11, 14, 17, 25 and 40 minutes: median 17, so 20 in the agenda.
        // Three of them pass 02 after 30, 44 and 50 more: median 44, so 45; 03 nobody measured.
        let journal = simulated(&[("ada", 11, Some(30)), ("bo", 14, Some(44)), ("cy", 17, Some(50)), ("di", 25, None), ("eve", 40, None)]);
        let reading = read_text(&journal).unwrap();
        assert_eq!((reading.learners, reading.unread), (5, 0));
        assert_eq!(reading.measured["01"], Median { learners: 5, minutes: 17 });
        assert_eq!(reading.measured["02"], Median { learners: 3, minutes: 44 });
        let agenda = agenda(&reading.measured, 3);
        let part = |name: &str| agenda.parts.iter().find(|p| p.name == name).unwrap().clone();
        assert_eq!((part("Lesson 01").minutes, part("Lesson 01").source.label()), (20, "measured, 5 learners, median 17 minutes".into()));
        assert_eq!((part("Lesson 02").minutes, part("Lesson 02").source.label()), (45, "measured, 3 learners, median 44 minutes".into()));
        assert_eq!((part("Lesson 03").minutes, part("Lesson 03").source.label()), (30, "estimate: floor 18 s × 100".into()));
        // 02 takes 5 minutes more than its estimate: the slack gives them.
        assert_eq!((part("Slack").start, part("Slack").minutes), (175, 5));
        // Asked for more learners than passed 02, the agenda keeps 02's estimate, and says why.
        let strict = super::agenda(&reading.measured, 4);
        let two = strict.parts.iter().find(|p| p.name == "Lesson 02").unwrap();
        assert_eq!((two.minutes, two.source.label()), (40, "estimate: floor 22 s × 100; measured over only 3 learners".into()));
    }

    #[test]
    fn a_lesson_that_does_not_fit_moves_to_take_home_and_the_agenda_says_so() {
        let measured: Measured =
            [("02", 61), ("03", 52)].into_iter().map(|(lesson, minutes)| (lesson.to_string(), Median { learners: 20, minutes })).collect();
        let agenda = agenda(&measured, 3);
        assert_eq!(
            rows(&agenda),
            [
                ("0:00".to_string(), 15, "Buffer for machines".to_string()),
                ("0:15".into(), 10, "What CO-RE is".into()),
                ("0:25".into(), 20, "Lesson 01".into()),
                ("0:45".into(), 5, "Checkpoint 1".into()),
                ("0:50".into(), 5, "Debrief 1".into()),
                ("0:55".into(), 65, "Lesson 02".into()),
                ("2:00".into(), 5, "Checkpoint 2".into()),
                ("2:05".into(), 5, "Debrief 2".into()),
                ("2:10".into(), 10, "Break".into()),
                ("2:20".into(), 10, "Myths and wrap-up".into()),
                ("2:30".into(), 30, "Slack".into()),
            ]
        );
        assert!(agenda.notes[0].starts_with("Lesson 03 moves to take-home: its 55 minutes (measured, 20 learners, median 52 minutes)"));
        assert!(!agenda.notes.iter().any(|n| n.contains("can still start")), "03's 55 minutes do not fit in 30 of slack");
        // Five minutes over moves 03 out too, and leaves slack enough to start it.
        let close: Measured = [("02".to_string(), Median { learners: 5, minutes: 47 })].into();
        let agenda = super::agenda(&close, 3);
        assert_eq!(agenda.parts.last().unwrap().minutes, 45);
        assert_eq!(
            agenda.notes[1],
            "The slack, 45 minutes, can still start lesson 03 (30 minutes) in the room if the checkpoints come early."
        );
        // A first lesson longer than the day is kept, and the overrun said.
        let endless: Measured = [("01".to_string(), Median { learners: 9, minutes: 150 })].into();
        let agenda = super::agenda(&endless, 3);
        assert_eq!(agenda.parts.iter().filter(|p| p.name.starts_with("Lesson")).count(), 1);
        assert!(
            agenda.notes.iter().any(|n| n == "Even lesson 01 alone does not fit: this agenda runs 30 minutes over 180."),
            "{:?}",
            agenda.notes
        );
    }

    #[test]
    fn a_saved_status_json_gives_the_same_medians_as_the_journal() {
        let journal = simulated(&[("ada", 11, None), ("bo", 14, None), ("cy", 17, None)]);
        let (room, _) = Room::replay(&journal, Settings::default());
        let status = serde_json::to_string(&crate::page::status(&room, 10_000)).unwrap();
        let (from_status, from_journal) = (read_text(&status).unwrap(), read_text(&journal).unwrap());
        assert_eq!(from_status.measured, from_journal.measured);
        assert_eq!(from_status.learners, 3);
    }

    #[test]
    fn what_is_not_a_room_is_refused_with_one_line_and_a_torn_last_line_is_not() {
        assert!(read_text("not json\n").is_none());
        assert!(read_text("{\"lessons\": 3}").is_none());
        let torn = simulated(&[("ada", 11, None)]) + "{\"key\":";
        assert_eq!(read_text(&torn).unwrap().unread, 1);
        // A room nobody posted to measured nothing.
        assert!(read_text("").unwrap().measured.is_empty());
        let missing = std::env::temp_dir().join(format!("no-room-{}", std::process::id()));
        let error = read(&missing).unwrap_err().to_string();
        assert!(error.starts_with(&format!("cannot read {}: ", missing.display())) && !error.contains('\n'), "{error}");
    }
}
