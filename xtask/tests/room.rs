//! The room, end to end with the built checker: `room serve` in its own
//! process, learners joining with `room join`, records sent the way a check
//! sends them, and the instructor's page read in headless Chromium.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "roomtesttoken";

/// `room serve` on a free port; its address, and its output line by line.
fn serve(extra: &[&str]) -> (std::process::Child, Receiver<String>, String) {
    let mut args = vec!["room", "serve", "--listen", "127.0.0.1:0", "--token", TOKEN];
    args.extend(extra);
    let (child, lines) = spawn_job(&workbook(), &args, &[]);
    let mut seen = Vec::new();
    assert!(wait_for_line(&lines, "room open on", Duration::from_secs(30), &mut seen), "{seen:?}");
    let opened = seen.iter().find(|l| l.contains("room open on")).unwrap();
    let address = opened.split_whitespace().nth(3).unwrap();
    let url = format!("http://{address}/");
    (child, lines, url)
}

fn learner_home(name: &str) -> PathBuf {
    let dir = workbook().join("target/xtask-tests/room").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One record through `room send`, exactly as a check hands it over.
fn send(home: &Path, url: &str, record: Value) {
    let mut child = xtask(home, &["room", "send"]).stdin(Stdio::piped()).spawn().unwrap();
    let delivery = json!({ "url": url, "token": TOKEN, "record": record });
    child.stdin.take().unwrap().write_all(delivery.to_string().as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

fn record(name: &str, lesson: &str, state: &str, layer: Option<usize>, layer_name: Option<&str>, minutes: u64) -> Value {
    json!({
        "name": name, "lesson": lesson, "title": "a lesson", "state": state,
        "layer": layer, "layer_name": layer_name, "layers": 3, "attempts": minutes / 2 + 1,
        "minutes": minutes, "kernel": "host", "solution_applied": state == "passed", "sent_at": 0
    })
}

/// The text a reader sees in `<body>`, one table row a line.
fn visible_text(dom: &str) -> String {
    let body = dom.split_once("<body>").map_or(dom, |(_, b)| b);
    let rows = body.replace("</tr>", "\n").replace("</td>", " | ").replace("</th>", " | ").replace("</p>", "\n").replace("</h1>", "\n");
    book_builder::browser::text(&rows).lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_room_page_lists_the_longest_stuck_first_and_only_for_the_token() {
    let (mut server, _lines, url) = serve(&[]);

    // A wrong token is refused at join, and nothing is saved.
    let home = learner_home("wrong-token");
    let refused = run(&home, &["room", "join", &url, "--name", "eve", "--token", "not-the-token"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("refused the token"), "{}", refused.stderr);
    assert!(!home.join(".room.toml").exists());

    for (name, minutes, layer, layer_name, lesson, state) in [
        ("ada", 14, Some(2), Some("no tracepoint fires"), "02", "failing"),
        ("bo", 3, Some(1), Some("the field the kernel renamed"), "03", "failing"),
        ("cy", 0, None, None, "01", "passed"),
    ] {
        let home = learner_home(name);
        let joined = run(&home, &["room", "join", &url, "--name", name, "--token", TOKEN]);
        assert_eq!(joined.code, 0, "{}", joined.stderr);
        let saved = std::fs::read_to_string(home.join(".room.toml")).unwrap();
        assert!(saved.contains(&format!("name = \"{name}\"")), "{saved}");
        send(&home, &url, record(name, lesson, state, layer, layer_name, minutes));
        let log = std::fs::read_to_string(home.join("target/workbook/logs/room.log")).unwrap();
        assert!(log.contains(" sent "), "{log}");
    }

    let chromium = book_builder::browser::chromium().unwrap();
    let profile = workbook().join("target/xtask-tests/room/chromium");
    let _ = std::fs::remove_dir_all(&profile);
    let page = visible_text(&book_builder::browser::dump_url(&chromium, &format!("{url}?token={TOKEN}"), &profile).unwrap());
    eprintln!("the instructor's page, as Chromium shows it:\n{page}");
    let ada = page.find("ada | 02 layer 2 of 3: no tracepoint fires | 14 | 8 |").expect(&page);
    let bo = page.find("bo | 03 layer 1 of 3: the field the kernel renamed | 3 | 2 |").expect(&page);
    let cy = page.find("cy | 01 passed with the solution applied |").expect(&page);
    assert!(ada < bo && bo < cy, "not stuck longest first:\n{page}");
    assert!(page.contains("3 learners, 2 stuck; 6 records received"), "{page}");

    let _ = std::fs::remove_dir_all(&profile);
    let without = visible_text(&book_builder::browser::dump_url(&chromium, &url, &profile).unwrap());
    assert!(without.contains("needs the room's token") && !without.contains("ada"), "{without}");

    ctrl_c(&server);
    assert_eq!(wait_exit(&mut server, Duration::from_secs(10)), Some(0));
}

#[test]
fn each_check_of_a_joined_workbook_tells_the_room_where_it_is() {
    if !root_or_skip("each_check_of_a_joined_workbook_tells_the_room_where_it_is") {
        return;
    }
    let _serial = serial();
    let (mut server, lines, url) = serve(&["--json"]);
    let root = scratch("room-check", false);
    assert_eq!(run(&root, &["room", "join", &url, "--name", "ada", "--token", TOKEN]).code, 0);
    let next_record = || {
        let mut seen = Vec::new();
        assert!(wait_for_line(&lines, "\"name\":\"ada\"", Duration::from_secs(10), &mut seen), "no record came: {seen:?}");
        serde_json::from_str::<Value>(seen.last().unwrap()).unwrap()
    };
    assert_eq!(next_record()["state"], "joined");

    for attempt in 1..=2 {
        assert_eq!(run(&root, &["check", "01"]).code, 1);
        let record = next_record();
        assert_eq!((record["lesson"].as_str(), record["state"].as_str(), record["layer"].as_u64()), (Some("01"), Some("failing"), Some(1)));
        assert_eq!(record["attempts"], attempt);
        assert_eq!((record["kernel"].as_str(), record["solution_applied"].as_bool()), (Some("host"), Some(false)));
    }
    apply_solution(&root);
    assert_eq!(run(&root, &["check", "01"]).code, 0);
    let record = next_record();
    assert_eq!(
        (record["state"].as_str(), record["attempts"].as_u64(), record["solution_applied"].as_bool()),
        (Some("passed"), Some(1), Some(true))
    );
    let text = serde_json::to_string(&record).unwrap();
    assert!(!text.contains("fn main") && !text.contains("SEC("), "a record carries no code: {text}");

    // Once the learner leaves, a check sends nothing.
    assert_eq!(run(&root, &["room", "leave"]).code, 0);
    assert_eq!(run(&root, &["check", "01"]).code, 0);
    assert!(!wait_for_line(&lines, "\"name\":\"ada\"", Duration::from_secs(3), &mut Vec::new()), "a record came after leaving");

    // With the room gone, a check still passes; only the room log says the record was lost.
    assert_eq!(run(&root, &["room", "join", &url, "--name", "ada", "--token", TOKEN]).code, 0);
    ctrl_c(&server);
    assert_eq!(wait_exit(&mut server, Duration::from_secs(10)), Some(0));
    let log = root.join("target/workbook/logs/room.log");
    let _ = std::fs::remove_file(&log);
    let checked = run(&root, &["check", "01"]);
    assert_eq!(checked.code, 0, "{}", checked.stdout);
    assert!(!checked.stderr.contains("room"), "the check spoke of the room: {}", checked.stderr);
    let lost = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(eventually(Duration::from_secs(10), || lost().contains("NOT sent")), "{}", lost());
}

#[test]
fn join_refuses_a_room_it_cannot_reach_or_a_bad_address() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let home = learner_home("down");
    let refused = run(&home, &["room", "join", &format!("http://127.0.0.1:{port}/"), "--name", "ada", "--token", TOKEN]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("cannot reach the room"), "{}", refused.stderr);
    let bad = run(&home, &["room", "join", "localhost:7878", "--name", "ada", "--token", TOKEN]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("starts with http://"), "{}", bad.stderr);
}
