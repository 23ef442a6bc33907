//! `room agenda` as the instructor runs it: the book's agenda is its output
//! with no room, a room's folder gives the measured minutes, and what is not
//! a room ends in one line of error, not a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use workshop_room::agenda::{agenda, Measured, ESTIMATES};
use workshop_room::record::{Entry, Record};

fn workshop_chapter() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/workshop.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rows of the chapter's table whose header starts with `header`, each as its cells.
fn table(chapter: &str, header: &str) -> Vec<Vec<String>> {
    let rows: Vec<&str> = chapter.lines().skip_while(|l| !l.starts_with(header)).skip(2).take_while(|l| l.starts_with('|')).collect();
    assert!(!rows.is_empty(), "the workshop chapter has no table starting {header:?}");
    rows.iter().map(|row| row.trim_matches('|').split(" | ").map(|cell| cell.trim().to_string()).collect()).collect()
}

#[test]
fn the_books_agenda_is_what_room_agenda_prints_with_no_room() {
    let chapter = workshop_chapter();
    let book: Vec<Vec<String>> = table(&chapter, "| clock | minutes | part |").into_iter().map(|cells| cells[..3].to_vec()).collect();
    let printed: Vec<Vec<String>> =
        agenda(&Measured::new(), 3).parts.iter().map(|p| vec![p.clock(), p.minutes.to_string(), p.name.clone()]).collect();
    assert_eq!(
        book, printed,
        "book/src/workshop.md's agenda differs from `room agenda` with no room: copy the command's clock, minutes and parts"
    );
    let floors: Vec<Vec<String>> = table(&chapter, "| lesson | layers | floor |");
    let estimates: Vec<Vec<String>> = ESTIMATES
        .iter()
        .map(|e| vec![e.lesson.to_string(), e.layers.to_string(), format!("{} s", e.floor_seconds), format!("{} min", e.minutes())])
        .collect();
    assert_eq!(floors, estimates, "book/src/workshop.md's floors differ from tools/room/src/agenda.rs's");
    for said in
        [format!("{} minutes by the measure below", ESTIMATES[3].minutes()), format!("{} minutes by the same", ESTIMATES[4].minutes())]
    {
        assert!(chapter.replace('\n', " ").contains(&said), "the workshop chapter should say {said:?}");
    }
}

fn room(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_room")).args(args).current_dir(cwd).output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("room-agenda-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn line(name: &str, seq: u64, lesson: Option<&str>, state: &str, at: u64) -> String {
    let record = Record { id: format!("id-{name}"), seq, lesson: lesson.map(str::to_string), state: state.into(), ..Record::joined(name) };
    serde_json::to_string(&Entry { key: format!("key-{name}"), checked_at: at, record }).unwrap()
}

#[test]
fn a_rooms_folder_times_the_lessons_it_measured_and_estimates_the_rest() {
    let dir = scratch("folder");
    let state = dir.join(".room-server");
    std::fs::create_dir_all(&state).unwrap();
    // Four learners join at 0 and pass 01 after 9, 12, 23 and 31 minutes; a fifth applies the solution.
    let mut journal: Vec<String> = Vec::new();
    for (name, minutes) in [("ada", 9), ("bo", 12), ("cy", 23), ("di", 31)] {
        journal.extend([
            line(name, 1, None, "joined", 0),
            line(name, 2, Some("01"), "failing", 60),
            line(name, 3, Some("01"), "passed", minutes * 60),
        ]);
    }
    let applied = Record {
        id: "id-eve".into(),
        seq: 2,
        lesson: Some("01".into()),
        state: "passed".into(),
        solution_applied: true,
        ..Record::joined("eve")
    };
    journal.push(line("eve", 1, None, "joined", 0));
    journal.push(serde_json::to_string(&Entry { key: "key-eve".into(), checked_at: 300, record: applied }).unwrap());
    std::fs::write(state.join("records.jsonl"), journal.join("\n") + "\n").unwrap();
    // With no --from, the room kept where it was started.
    let output = room(&["agenda"], &dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("Lesson minutes from the room in .room-server (5 learners)"), "{stdout}");
    // The median of 9, 12, 23 and 31 is 12 (the lower middle), 15 rounded up to 5.
    assert!(stdout.contains("| 0:25 | 15 | Lesson 01 | measured, 4 learners, median 12 minutes |"), "{stdout}");
    assert!(stdout.contains("| 0:40 | 5 | Checkpoint 1 | fixed |"), "{stdout}");
    assert!(stdout.contains("| 1:50 | 30 | Lesson 03 | estimate: floor 18 s × 100 |"), "{stdout}");
    assert!(stdout.contains("| 2:45 | 15 | Slack | what is left of 180 minutes |"), "{stdout}");
    // Fewer than asked for: the estimate, and why.
    let strict = room(&["agenda", "--from", ".room-server/records.jsonl", "--min-learners", "5"], &dir);
    assert!(String::from_utf8_lossy(&strict.stdout)
        .contains("| 0:25 | 20 | Lesson 01 | estimate: floor 12 s × 100; measured over only 4 learners |"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn with_no_room_the_agenda_is_the_estimates() {
    let dir = scratch("none");
    let output = room(&["agenda"], &dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.starts_with("No room kept in .room-server to measure from: every lesson's minutes are estimates"), "{stdout}");
    assert!(stdout.contains("| 2:50 | 10 | Slack | what is left of 180 minutes |"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_or_corrupt_room_is_one_line_of_error_and_a_failure() {
    let dir = scratch("bad");
    std::fs::write(dir.join("status.json"), "{\"schema\": 2, \"lessons\": [").unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    for (from, said) in [
        ("nowhere.json", "error: cannot read nowhere.json: "),
        ("empty", "error: cannot read empty/records.jsonl: "),
        ("status.json", "error: status.json is neither a room's records.jsonl nor a status.json saved from its page\n"),
    ] {
        let output = room(&["agenda", "--from", from], &dir);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{from}: {stderr}");
        assert!(stderr.starts_with(said) && stderr.lines().count() == 1, "{from}: {stderr}");
        assert!(output.stdout.is_empty(), "{from}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
