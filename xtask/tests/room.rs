//! The room, end to end with the built checker: `room serve` in its own
//! process, learners joining with `room join`, records sent the way a check
//! sends them, the room restarted, and the instructor's pages read and
//! photographed in headless Chromium.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const TOKEN: &str = "roomtesttoken";
const INSTRUCTOR: &str = "instructortesttoken";

struct Room {
    child: Child,
    lines: Receiver<String>,
    url: String,
    address: String,
}

/// `room serve` on `listen`, kept in `state`.
fn serve(listen: &str, state: &Path, extra: &[&str]) -> Room {
    let state = state.to_str().unwrap();
    let mut args = vec!["room", "serve", "--listen", listen, "--state", state, "--token", TOKEN, "--instructor-token", INSTRUCTOR];
    args.extend(extra);
    let (child, lines) = spawn_job(&workbook(), &args, &[]);
    let mut seen = Vec::new();
    assert!(wait_for_line(&lines, "room open on", Duration::from_secs(30), &mut seen), "{seen:?}");
    let opened = seen.iter().find(|l| l.contains("room open on")).unwrap();
    let address = opened.split_whitespace().nth(3).unwrap().to_string();
    Room { child, lines, url: format!("http://{address}/"), address }
}

fn close(mut room: Room) {
    ctrl_c(&room.child);
    assert_eq!(wait_exit(&mut room.child, Duration::from_secs(10)), Some(0));
}

fn fresh(relative: &str) -> PathBuf {
    let dir = workbook().join("target/xtask-tests/room").join(relative);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `room send` with one record on stdin, as a check hands it over; the room
/// must be up (a sender whose room is down stays to try again).
fn send(home: &Path, record: Value) {
    let mut child = xtask(home, &["room", "send"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(record.to_string().as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

fn record(lesson: &str, state: &str, layer: Option<usize>, layer_name: Option<&str>, minutes: u64) -> Value {
    json!({
        "name": "", "lesson": lesson, "title": "a lesson", "state": state,
        "layer": layer, "layer_name": layer_name, "layers": 3, "attempts": minutes / 2 + 1,
        "minutes": minutes, "kernel": "host", "solution_applied": state == "passed", "sent_at": now()
    })
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn status(url: &str) -> Value {
    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    let body = agent.get(format!("{url}status.json?token={INSTRUCTOR}")).call().unwrap().body_mut().read_to_string().unwrap();
    serde_json::from_str(&body).unwrap()
}

/// The text a reader sees in `<body>`, one table row a line.
fn visible_text(dom: &str) -> String {
    let body = dom.split_once("<body>").map_or(dom, |(_, b)| b);
    let rows = body.replace("</tr>", "\n").replace("</td>", " | ").replace("</th>", " | ").replace("</p>", "\n").replace("</h1>", "\n");
    book_builder::browser::text(&rows).lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

fn join(home: &Path, url: &str, name: &str) {
    let joined = run(home, &["room", "join", url, "--name", name, "--token", TOKEN]);
    assert_eq!(joined.code, 0, "{}", joined.stderr);
}

#[test]
fn the_room_page_lists_the_longest_stuck_first_and_only_for_the_instructor() {
    let room = serve("127.0.0.1:0", &fresh("page/state"), &[]);
    let url = room.url.clone();

    // A wrong token is refused at join, and nothing is saved; so is the instructor's.
    let home = fresh("page/wrong-token");
    for token in ["not-the-token", INSTRUCTOR] {
        let refused = run(&home, &["room", "join", &url, "--name", "eve", "--token", token]);
        assert_eq!(refused.code, 1, "{}", refused.stderr);
        assert!(refused.stderr.contains("refused the token"), "{}", refused.stderr);
        assert!(!home.join(".room.toml").exists());
    }

    for (name, minutes, layer, layer_name, lesson, state) in [
        ("ada", 14, Some(2), Some("no tracepoint fires"), "02", "failing"),
        ("bo", 3, Some(1), Some("the field the kernel renamed"), "03", "failing"),
        ("cy", 0, None, None, "01", "passed"),
    ] {
        let home = fresh(&format!("page/{name}"));
        join(&home, &url, name);
        let saved = std::fs::read_to_string(home.join(".room.toml")).unwrap();
        assert!(saved.contains(&format!("name = \"{name}\"")), "{saved}");
        send(&home, record(lesson, state, layer, layer_name, minutes));
        let log = std::fs::read_to_string(home.join("target/workbook/logs/room.log")).unwrap();
        assert!(log.contains(" sent "), "{log}");
    }
    // Joining sent doctor's findings before any check.
    let json = status(&url);
    assert_eq!(json["received"], 6);
    assert!(json["learners"].as_array().unwrap().iter().all(|l| l["machine"].is_array()));

    let chromium = book_builder::browser::chromium().unwrap();
    let profile = fresh("page/chromium");
    let page = visible_text(&book_builder::browser::dump_url(&chromium, &format!("{url}?token={INSTRUCTOR}"), &profile).unwrap());
    eprintln!("the instructor's page, as Chromium shows it:\n{page}");
    let ada = page.find("ada | stuck | 02 layer 2 of 3: no tracepoint fires | 14 | 8 |").expect(&page);
    let bo = page.find("bo | working | 03 layer 1 of 3: the field the kernel renamed | 3 | 2 |").expect(&page);
    let cy = page.find("cy | passed | 01 passed with the solution applied |").expect(&page);
    assert!(ada < bo && bo < cy, "not stuck longest first:\n{page}");
    assert!(page.contains("3 learners · 1 stuck · 1 working · 1 passed their last check"), "{page}");
    assert!(page.contains("6 records received"), "{page}");

    for token in ["", TOKEN] {
        let profile = fresh("page/chromium");
        let without = visible_text(&book_builder::browser::dump_url(&chromium, &format!("{url}?token={token}"), &profile).unwrap());
        assert!(without.contains("needs the instructor's token") && !without.contains("ada"), "{without}");
    }
    close(room);
}

#[test]
fn a_restarted_room_keeps_its_learners_and_gets_what_was_queued_while_it_was_down() {
    let state = fresh("restart/state");
    let room = serve("127.0.0.1:0", &state, &[]);
    let (url, address) = (room.url.clone(), room.address.clone());
    let home = fresh("restart/ada");
    join(&home, &url, "ada");
    send(&home, record("01", "failing", Some(1), Some("no BTF"), 0));
    assert_eq!(status(&url)["received"], 2);
    close(room);

    // The room is down. The first sender keeps the record queued and stays
    // to try again; the second finds it there, queues its record, and is quick.
    let spawn_send = |minutes| {
        let mut child = xtask(&home, &["room", "send"]).stdin(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(record("01", "failing", Some(1), Some("no BTF"), minutes).to_string().as_bytes()).unwrap();
        child
    };
    let mut retrier = spawn_send(1);
    let log = || std::fs::read_to_string(home.join("target/workbook/logs/room.log")).unwrap_or_default();
    assert!(eventually(Duration::from_secs(10), || log().contains("1 queued")), "{}", log());
    let started = std::time::Instant::now();
    assert!(spawn_send(2).wait().unwrap().success());
    assert!(started.elapsed() < Duration::from_secs(8), "a send waited {:?}", started.elapsed());
    assert!(log().contains("NOT sent") && log().contains("2 queued"), "{}", log());
    assert_eq!(retrier.try_wait().unwrap(), None, "nobody stayed to retry");

    // Back on the same address and folder: it has what it had, and the retrier delivers the rest.
    let room = serve(&address, &state, &[]);
    let json = status(&url);
    assert_eq!(json["received"], 2, "the restarted room lost what it had: {json}");
    assert!(eventually(Duration::from_secs(20), || status(&url)["received"] == 4), "the queue never arrived: {}", status(&url));
    assert_eq!(wait_exit(&mut retrier, Duration::from_secs(10)), Some(0));
    let json = status(&url);
    assert_eq!(json["learners"].as_array().unwrap().len(), 1);
    assert_eq!(json["learners"][0]["minutes"], 2, "the latest record is the last check's: {json}");
    close(room);
}

#[test]
fn an_offline_learner_exports_and_the_instructor_imports() {
    let home = fresh("offline/ada");
    let joined = run(&home, &["room", "join", "--offline", "--name", "ada"]);
    assert_eq!(joined.code, 0, "{}", joined.stderr);
    send(&home, record("01", "passed", None, None, 0));
    send(&home, record("02", "failing", Some(2), Some("no tracepoint fires"), 4));
    let file = home.join("ada.json");
    let exported = run(&home, &["room", "export", "--to", file.to_str().unwrap()]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(exported.stdout.contains("3 records in"), "{}", exported.stdout);

    let room = serve("127.0.0.1:0", &fresh("offline/state"), &[]);
    let refused = run(&home, &["room", "import", file.to_str().unwrap(), "--room", &room.url, "--token", TOKEN]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    let imported = run(&home, &["room", "import", file.to_str().unwrap(), "--room", &room.url, "--token", INSTRUCTOR]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(imported.stdout.contains("3 new, 0 the room had already"), "{}", imported.stdout);
    let again = run(&home, &["room", "import", file.to_str().unwrap(), "--room", &room.url, "--token", INSTRUCTOR]);
    assert!(again.stdout.contains("0 new, 3 the room had already"), "{}", again.stdout);
    let json = status(&room.url);
    assert_eq!(json["learners"][0]["summary"], "02 layer 2 of 3: no tracepoint fires");
    assert_eq!(json["lessons"][0]["passed"], 1);
    close(room);
}

/// Thirty learners in every state, posted as their senders would post them;
/// the page and the projector photographed. Leaves the PNGs in
/// target/xtask-tests/room/screens/ for a person to look at.
#[test]
fn thirty_learners_in_mixed_states_on_the_page_and_the_projector() {
    let room = serve("127.0.0.1:0", &fresh("thirty/state"), &["--stuck-after", "10", "--idle-after", "5"]);
    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    let names = [
        "Ada",
        "Bo",
        "Chen Jing",
        "Dmitri",
        "Eve",
        "Farah",
        "Gus",
        "Hana",
        "Ivo",
        "Jun",
        "Kai",
        "Lena",
        "Mo",
        "Nia",
        "Oskar",
        "Priya",
        "Quinn",
        "Rui",
        "Sven",
        "Tao",
        "Uma",
        "Vera",
        "Wei",
        "Xavi",
        "Yuki",
        "Zoe",
        "Alex",
        "Alex",
        "Bea",
        "Cem",
    ];
    // The lessons' own titles and layers, as their checks would send them.
    let title = |lesson: &str| match lesson {
        "01" => "Open fails: the missing BTF",
        "02" => "Attach: targets, links and kprobes",
        _ => "EINVAL at load: a field the kernel renamed",
    };
    let layers_01 = ["an open that fails in silence", "BTF required, but missing"];
    let layers_02 = [
        "ESRCH before anything loads",
        "attached, yet nothing counted",
        "attach ok, then nothing attached",
        "a kprobe with no function to attach to",
    ];
    for (n, name) in names.iter().enumerate() {
        let stuck_at = (n / 6) % 3;
        let (lesson, state, layer, layers, minutes, age, blocked, machine) = match n % 6 {
            0 => ("02", "failing", Some((stuck_at + 1, layers_02[stuck_at])), 4, 12 + n as u64, 30, None, vec![]),
            1 => ("01", "failing", Some((2, layers_01[1])), 2, 2, 20, None, vec![]),
            2 => (
                "03",
                "blocked",
                None,
                3,
                0,
                60,
                Some("Linux 5.10's BTF (the old layout) is not here; `cargo xtask kernels` fetches it"),
                vec![],
            ),
            3 => ("02", "failing", Some((2, layers_02[1])), 4, 0, 6 * 60, None, vec![]),
            4 => ("01", "passed", None, 2, 0, 40, None, vec![]),
            _ if n == 29 => ("", "joined", None, 0, 0, 10, None, vec!["privileges: not root, and sudo asks for a password".to_string()]),
            _ => ("02", "passed", None, 4, 0, 15, None, vec![]),
        };
        let mut records = vec![
            json!({ "id": format!("id{n:02}x"), "seq": 1, "name": name, "lesson": null, "title": null, "state": "joined",
            "layer": null, "layer_name": null, "layers": 0, "attempts": 0, "minutes": 0, "kernel": "host", "solution_applied": false, "sent_at": now(), "machine": machine }),
        ];
        if !lesson.is_empty() {
            for (seq, earlier) in (2..).zip(["01", "02"].iter().filter(|l| **l < lesson)) {
                records.push(json!({ "id": format!("id{n:02}x"), "seq": seq, "name": name, "lesson": earlier, "title": title(earlier), "state": "passed",
                    "layer": null, "layer_name": null, "layers": if *earlier == "01" { 2 } else { 4 }, "attempts": 1, "minutes": 0, "kernel": "host", "solution_applied": false, "sent_at": now() }));
            }
            let seq = records.len() + 1;
            records.push(json!({ "id": format!("id{n:02}x"), "seq": seq, "name": name, "lesson": lesson, "title": title(lesson), "state": state,
                "layer": layer.map(|l: (usize, &str)| l.0), "layer_name": layer.map(|l: (usize, &str)| l.1), "layers": layers, "attempts": minutes / 3 + 1,
                "minutes": minutes, "kernel": if n == 7 { "6.1" } else { "host" }, "solution_applied": false, "sent_at": now(), "blocked": blocked }));
        }
        for (i, body) in records.iter().enumerate() {
            let age = if i + 1 == records.len() { age } else { age + 60 };
            let response = agent
                .post(format!("{}record", room.url))
                .header("Authorization", format!("Bearer {TOKEN}"))
                .header("X-Learner-Key", format!("key{n}"))
                .header("X-Record-Age", age.to_string())
                .send(body.to_string().as_str())
                .unwrap();
            assert!(response.status().is_success(), "{name}: {}", response.status());
        }
    }
    let json = status(&room.url);
    let totals = &json["totals"];
    assert_eq!(
        (totals["learners"].as_u64(), totals["stuck"].as_u64(), totals["blocked"].as_u64()),
        (Some(30), Some(5), Some(6)),
        "{totals}"
    );
    assert_eq!((totals["passed"].as_u64(), totals["idle"].as_u64()), (Some(9), Some(5)), "{totals}");

    let chromium = book_builder::browser::chromium().unwrap();
    let screens = fresh("thirty/screens");
    let page_png = screens.join("room-page.png");
    let projector_png = screens.join("projector.png");
    book_builder::browser::screenshot(
        &chromium,
        &format!("{}?token={INSTRUCTOR}", room.url),
        &fresh("thirty/profile"),
        &page_png,
        (1400, 1900),
    )
    .unwrap();
    book_builder::browser::screenshot(
        &chromium,
        &format!("{}projector?token={INSTRUCTOR}", room.url),
        &fresh("thirty/profile"),
        &projector_png,
        (1600, 900),
    )
    .unwrap();
    for png in [&page_png, &projector_png] {
        let bytes = std::fs::read(png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "{} is {} bytes", png.display(), bytes.len());
    }
    let projector = visible_text(
        &book_builder::browser::dump_url(&chromium, &format!("{}projector?token={INSTRUCTOR}", room.url), &fresh("thirty/profile"))
            .unwrap(),
    );
    assert!(names.iter().all(|name| !projector.contains(name)), "a name on the projector:\n{projector}");
    assert!(projector.contains("30 learners · 5 stuck · 6 blocked by the machine"), "{projector}");
    let page = visible_text(
        &book_builder::browser::dump_url(&chromium, &format!("{}?token={INSTRUCTOR}", room.url), &fresh("thirty/profile")).unwrap(),
    );
    assert!(page.contains("Alex (id26) |") && page.contains("Alex (id27) |"), "two learners called Alex are two rows:\n{page}");
    assert!(page.contains("blocked by the machine | 03 blocked by the machine: Linux 5.10's BTF"), "{page}");
    assert!(page.contains("blocked by the machine | joined; the machine: privileges: not root"), "{page}");
    eprintln!("screenshots in {}", screens.display());
    close(room);
}

#[test]
#[ignore = "needs root: loads BPF programs"]
fn each_check_of_a_joined_workbook_tells_the_room_where_it_is() {
    require_root();
    let _serial = serial();
    let state = fresh("check/state");
    let room = serve("127.0.0.1:0", &state, &["--json"]);
    let (url, address) = (room.url.clone(), room.address.clone());
    let root = scratch("room-check", false);
    assert_eq!(run(&root, &["room", "join", &url, "--name", "ada", "--token", TOKEN]).code, 0);
    let next_record = |lines: &Receiver<String>| {
        let mut seen = Vec::new();
        // A queued record waits for its sender's next try, at most 5 s.
        assert!(wait_for_line(lines, "\"name\":\"ada\"", Duration::from_secs(20), &mut seen), "no record came: {seen:?}");
        serde_json::from_str::<Value>(seen.last().unwrap()).unwrap()
    };
    assert_eq!(next_record(&room.lines)["state"], "joined");

    for attempt in 1..=2 {
        assert_eq!(run(&root, &["check", "01"]).code, 1);
        let record = next_record(&room.lines);
        assert_eq!((record["lesson"].as_str(), record["state"].as_str(), record["layer"].as_u64()), (Some("01"), Some("failing"), Some(1)));
        assert_eq!(record["attempts"], attempt);
        assert_eq!((record["kernel"].as_str(), record["solution_applied"].as_bool()), (Some("host"), Some(false)));
    }
    apply_solution(&root);
    assert_eq!(run(&root, &["check", "01"]).code, 0);
    let record = next_record(&room.lines);
    assert_eq!(
        (record["state"].as_str(), record["attempts"].as_u64(), record["solution_applied"].as_bool()),
        (Some("passed"), Some(1), Some(true))
    );
    let text = serde_json::to_string(&record).unwrap();
    assert!(!text.contains("fn main") && !text.contains("SEC("), "a record carries no code: {text}");

    // With the room gone, a check still passes, as fast; the room log says the record waits.
    close(room);
    let log = root.join("target/workbook/logs/room.log");
    let _ = std::fs::remove_file(&log);
    let checked = run(&root, &["check", "01"]);
    assert_eq!(checked.code, 0, "{}", checked.stdout);
    assert!(!checked.stderr.contains("room"), "the check spoke of the room: {}", checked.stderr);
    let lost = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(eventually(Duration::from_secs(10), || lost().contains("NOT sent")), "{}", lost());
    // Back on the same address: the check's sender delivers the queued record itself.
    let room = serve(&address, &state, &["--json"]);
    let record = next_record(&room.lines);
    assert_eq!((record["state"].as_str(), record["seq"].as_u64()), (Some("passed"), Some(5)));

    // Once the learner leaves, a check sends nothing.
    assert_eq!(run(&root, &["room", "leave"]).code, 0);
    assert_eq!(run(&root, &["check", "01"]).code, 0);
    assert!(!wait_for_line(&room.lines, "\"name\":\"ada\"", Duration::from_secs(3), &mut Vec::new()), "a record came after leaving");
    close(room);
}

#[test]
fn a_check_the_machine_cannot_run_shows_as_blocked_with_the_reason() {
    let room = serve("127.0.0.1:0", &fresh("blocked/state"), &["--json"]);
    let root = scratch("room-blocked", false);
    join(&root, &room.url, "ada");
    // No PATH: no compiler, no qemu. The check stops before building, as on a bare machine.
    let checked = xtask(&root, &["check", "01", "--kernel", "6.1"]).env("PATH", "/nonexistent").output().unwrap();
    assert_eq!(checked.status.code(), Some(1), "{}", String::from_utf8_lossy(&checked.stderr));
    let mut seen = Vec::new();
    assert!(wait_for_line(&room.lines, "\"state\":\"blocked\"", Duration::from_secs(20), &mut seen), "no blocked record: {seen:?}");
    let record: Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!((record["lesson"].as_str(), record["kernel"].as_str()), (Some("01"), Some("6.1")));
    assert!(record["blocked"].as_str().unwrap().contains("missing"), "{record}");
    let json = status(&room.url);
    assert_eq!(json["learners"][0]["standing"], "blocked", "{json}");
    assert_eq!(json["totals"]["stuck"], 0);
    close(room);
}

#[test]
fn join_refuses_a_room_it_cannot_reach_or_a_bad_address() {
    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let home = fresh("down");
    let refused = run(&home, &["room", "join", &format!("http://127.0.0.1:{port}/"), "--name", "ada", "--token", TOKEN]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("cannot reach the room"), "{}", refused.stderr);
    let bad = run(&home, &["room", "join", "localhost:7878", "--name", "ada", "--token", TOKEN]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("starts with http:// or https://"), "{}", bad.stderr);
}

/// A process killed when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The room behind a TLS endpoint, as a venue's HTTPS relay puts it: socat
/// ends TLS with a certificate made for the test and passes the bytes on. The
/// learner's client trusts it the way Linux's TLS clients do, through
/// `SSL_CERT_FILE`; without that it refuses the room, in one short line.
#[test]
fn a_room_behind_a_tls_relay_gets_the_learners_records() {
    for tool in ["socat", "openssl"] {
        let found = std::process::Command::new(tool).arg("-h").output().is_ok();
        assert!(found, "{tool} is not installed: `cargo xtask dev test` installs it");
    }
    let dir = fresh("tls");
    // A certificate authority of the test's own, and the relay's certificate signed by it.
    std::fs::write(dir.join("leaf.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").unwrap();
    let openssl = |args: &str| {
        let made = std::process::Command::new("openssl").args(args.split(' ')).current_dir(&dir).output().unwrap();
        assert!(made.status.success(), "openssl {args}: {}", String::from_utf8_lossy(&made.stderr));
    };
    openssl("req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=workbook-test-ca -keyout ca.key -out ca.pem");
    openssl("req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout key.pem -out relay.csr");
    openssl("x509 -req -in relay.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile leaf.ext -out cert.pem");
    let (ca, cert, key) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));

    let room = serve("127.0.0.1:0", &dir.join("state"), &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,verify=0,cert={},key={}", cert.display(), key.display());
    let _relay = Killed(
        std::process::Command::new("socat")
            .args([listen, format!("TCP:{}", room.address)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(eventually(Duration::from_secs(10), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()), "the relay never listened");
    let url = format!("https://127.0.0.1:{port}/");

    let home = fresh("tls/ada");
    let untrusted = run(&home, &["room", "join", &url, "--name", "ada", "--token", TOKEN]);
    assert_eq!(untrusted.code, 1, "{}", untrusted.stderr);
    assert!(untrusted.stderr.contains("cannot reach the room") && untrusted.stderr.lines().count() <= 3, "{}", untrusted.stderr);

    let trusting = |args: &[&str]| Ran::from(xtask(&home, args).env("SSL_CERT_FILE", &ca).output().unwrap());
    let joined = trusting(&["room", "join", &url, "--name", "ada", "--token", TOKEN]);
    assert_eq!(joined.code, 0, "{}", joined.stderr);
    let mut sender = xtask(&home, &["room", "send"]).env("SSL_CERT_FILE", &ca).stdin(Stdio::piped()).spawn().unwrap();
    sender
        .stdin
        .take()
        .unwrap()
        .write_all(record("02", "failing", Some(2), Some("no tracepoint fires"), 3).to_string().as_bytes())
        .unwrap();
    assert!(sender.wait().unwrap().success());
    let json = status(&room.url);
    assert_eq!(json["received"], 2, "the join and the check's record came through the relay: {json}");
    assert_eq!(json["learners"][0]["summary"], "02 layer 2 of 3: no tracepoint fires", "{json}");
    close(room);
}
