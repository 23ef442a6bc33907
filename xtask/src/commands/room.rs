//! `cargo xtask room`: the instructor's live view of a workshop. `room serve`
//! runs the `workshop-room` crate's server, whose state survives a restart;
//! `room agenda` times the workshop from its medians; `room join` links a
//! learner's workbook to it, after which every check queues a status record
//! and sends it in the background. Records carry where a learner is, never
//! code or files.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
pub use workshop_room::cli::{AgendaArgs, ServeArgs};
use workshop_room::page;

use crate::commands::doctor;
use crate::machine::interrupt;
use crate::machine::room::{self as client, Credentials, SEND_TIMEOUT};
use crate::usage_error::UsageError;
use crate::workbook::room::{self, Membership, Record, RECORD_LIMIT};

/// Where `room serve` keeps the room unless told: the workbook's `.room-server/` (git-ignored).
pub fn default_state(root: &Path) -> PathBuf {
    root.join(".room-server")
}

/// `cargo xtask room join`.
#[derive(clap::Args, Debug)]
pub struct JoinArgs {
    /// The room's address (http:// or https://), as `room serve` printed it
    #[arg(required_unless_present = "offline")]
    pub url: Option<String>,
    /// Your name on the instructor's page (a label: rename freely)
    #[arg(long)]
    pub name: String,
    /// The learners' token, as `room serve` printed it
    #[arg(long, required_unless_present = "offline")]
    pub token: Option<String>,
    /// No room to reach: keep each check's record for `room export`
    #[arg(long, conflicts_with_all = ["url", "token"])]
    pub offline: bool,
}

/// `cargo xtask room export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The file to write (default: room-NAME-ID.json in the workbook)
    #[arg(long, value_name = "FILE")]
    pub to: Option<PathBuf>,
}

/// `cargo xtask room import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    pub files: Vec<PathBuf>,
    /// The room's address
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:7878/")]
    pub room: String,
    /// The instructor's token
    #[arg(long)]
    pub token: String,
}

/// `room serve`: the room's page, until Ctrl-C; the same server as the `room` program's.
pub fn serve(root: &Path, args: &ServeArgs) -> Result<ExitCode> {
    if let Some(mistake) = args.mistake() {
        return Err(UsageError(mistake).into());
    }
    workshop_room::cli::serve(&args.options(default_state(root)), &interrupt::requested)?;
    Ok(ExitCode::SUCCESS)
}

/// `room agenda`: the agenda, timed by the room kept here (or `--from`'s) where it measured a lesson.
pub fn agenda(root: &Path, args: &AgendaArgs) -> Result<ExitCode> {
    print!("{}", workshop_room::cli::agenda(args, &default_state(root))?);
    Ok(ExitCode::SUCCESS)
}

/// `room join`: with a room, contacts it once; `--offline`, only keeps records for `room export`.
pub fn join(root: &Path, args: &JoinArgs) -> Result<ExitCode> {
    // `--offline` is the absence of a url and token; clap makes sure of it.
    let (url, name, token) = (args.url.as_deref(), args.name.as_str(), args.token.as_deref());
    if let Some(url) = url {
        client::check_url(url).map_err(|e| UsageError(e.to_string()))?;
    }
    if !room::valid_name(name) {
        return Err(UsageError(format!("--name wants one line of at most {} characters", room::NAME_LIMIT)).into());
    }
    let name = name.trim();
    let (url, token) = (url.map(str::to_string), token.map(str::to_string));
    let mut membership = match room::membership(root) {
        Some(old) => old.rejoin(url.clone(), token.clone(), name),
        None => Membership::new(url.clone(), token.clone(), name)?,
    };
    let problems = doctor::problems(root);
    let caught_up = membership.delivered == membership.seq;
    let seq = membership.seq + 1;
    let record = Record { id: membership.id.clone(), seq, machine: problems.clone(), ..Record::joined(name) };
    if let (Some(url), Some(token)) = (&url, &token) {
        // Once, in the foreground, so a wrong address or token shows now rather than never.
        let who = Credentials { token, key: &membership.key };
        client::post(url, "record", &who, 0, &serde_json::to_string(&record)?, SEND_TIMEOUT)?;
        if caught_up {
            membership.delivered = seq;
        }
    }
    room::save(root, &membership)?;
    room::enqueue(root, record)?;
    match &url {
        Some(url) => {
            println!("joined the room at {url} as {name}");
            println!("each check now sends it your lesson, layer, attempts and minutes on it, and how it passed: no code, no files");
            if !caught_up {
                // Records from before, for a room that has not had them.
                client::run_detached(&["room", "send"], b"")?;
            }
        }
        None => {
            println!("joined no room, offline, as {name}: each check keeps its record here");
            println!("at the end: cargo xtask room export, and hand the file it writes to the instructor");
        }
    }
    if !problems.is_empty() {
        println!("the room sees what doctor found: {}", problems.join("; "));
    }
    println!("leave it: cargo xtask room leave");
    Ok(ExitCode::SUCCESS)
}

pub fn leave(root: &Path) -> Result<ExitCode> {
    match std::fs::remove_file(room::path(root)) {
        Ok(()) => println!("left the room: checks send nothing now"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("not in a room: checks send nothing"),
        Err(e) => return Err(e).context("removing .room.toml"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `room send`, run detached by a check: queues the record on stdin, if
/// any, then sends the queue, retrying for a while if the room is down.
pub fn send(root: &Path) -> Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin().take(4 * RECORD_LIMIT).read_to_string(&mut text)?;
    if !text.trim().is_empty() {
        let record: Record = serde_json::from_str(&text).context("room send reads a record as a check writes it")?;
        if room::enqueue(root, record)?.is_none() {
            bail!("not in a room: `cargo xtask room join` first");
        }
    }
    room::deliver(root);
    Ok(ExitCode::SUCCESS)
}

/// `room export`: this workbook's every record, in a file for the instructor's `room import`.
pub fn export(root: &Path, args: &ExportArgs) -> Result<ExitCode> {
    let to = args.to.as_deref();
    let export = room::export(root)?;
    let safe: String = export.name.chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).collect();
    let to = to.map_or_else(|| root.join(format!("room-{safe}-{}.json", &export.id[..8])), Path::to_path_buf);
    std::fs::write(&to, serde_json::to_string_pretty(&export)?).with_context(|| format!("writing {}", to.display()))?;
    println!("{} in {}", page::count(export.records.len(), "record", "records"), to.display());
    println!("the instructor imports it: cargo xtask room import {} --room ROOM-ADDRESS --token INSTRUCTOR-TOKEN", to.display());
    Ok(ExitCode::SUCCESS)
}

/// `room import`: learners' export files into a running room, over the instructor's token.
pub fn import(args: &ImportArgs) -> Result<ExitCode> {
    let (files, url, token) = (&args.files, args.room.as_str(), args.token.as_str());
    client::check_url(url).map_err(|e| UsageError(e.to_string()))?;
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let mut response = crate::machine::http::agent(Some(std::time::Duration::from_secs(30)))
            .post(client::endpoint(url, "import"))
            .header("Authorization", format!("Bearer {token}"))
            .send(text.as_str())
            .with_context(|| format!("cannot reach the room at {url}"))?;
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        match status {
            200 => {
                let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                println!("{}: {} new, {} the room had already", file.display(), answer["new"], answer["repeated"]);
            }
            401 => bail!("the room at {url} refused the token: an import needs the instructor's"),
            _ => bail!("the room refused {}: {}", file.display(), body.trim()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::room::KEY_HEADER;
    use std::time::{Duration, Instant};
    use workshop_room::record::Export;
    use workshop_room::server::{ServeOptions, Server};
    use workshop_room::state::Settings;

    fn get(url: &str) -> (u16, String) {
        let mut response = crate::machine::http::agent(None).get(url).call().unwrap();
        (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
    }

    fn state_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("room-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn options(listen: &str, state: &Path) -> ServeOptions {
        ServeOptions {
            listen: listen.into(),
            state: state.to_path_buf(),
            learners_token: Some("learnerstoken".into()),
            instructor_token: Some("instructortoken".into()),
            settings: Settings::default(),
            echo: false,
        }
    }

    fn learner_record(n: u32, seq: u64) -> Record {
        Record {
            id: format!("learner-{n:03}"),
            seq,
            lesson: Some("02".into()),
            state: "failing".into(),
            layer: Some(2),
            layer_name: Some("wrong target".into()),
            layers: 3,
            attempts: seq as u32,
            ..Record::joined(&format!("learner {n:03}"))
        }
    }

    fn post(url: &str, token: &str, key: &str, record: &Record) -> Result<()> {
        client::post(url, "record", &Credentials { token, key }, 0, &serde_json::to_string(record)?, SEND_TIMEOUT)
    }

    /// 100 learners on loopback, each checking 20 times as fast as it can,
    /// and the room restarted halfway: every record arrives, once. A learner
    /// whose post fails retries it, as the queue does. Prints the rate,
    /// latencies and the counts around the restart (not asserted).
    #[test]
    fn a_hundred_learners_lose_no_record_across_a_restart() {
        const LEARNERS: u32 = 100;
        const CHECKS: u64 = 20;
        let state = state_dir("load");
        let server = Server::start(&options("127.0.0.1:0", &state)).unwrap();
        let address = server.address;
        let url = format!("http://{address}/");
        let started = Instant::now();
        let learners: Vec<_> = (0..LEARNERS)
            .map(|n| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let (mut latencies, mut retries) = (Vec::new(), 0);
                    for seq in 1..=CHECKS {
                        let sent = Instant::now();
                        while post(&url, "learnerstoken", &format!("key-{n}"), &learner_record(n, seq)).is_err() {
                            retries += 1;
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        latencies.push(sent.elapsed());
                    }
                    (latencies, retries)
                })
            })
            .collect();
        let total = u64::from(LEARNERS) * CHECKS;
        while server.received() < total / 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.stop();
        let journal = || std::fs::read_to_string(state.join("records.jsonl")).unwrap().lines().count();
        let before = journal();
        // The same folder and port, as an instructor's restart would have them.
        let server = Server::start(&options(&address.to_string(), &state)).unwrap();
        assert_eq!(server.reloaded.records as usize, before, "the restarted room did not reload every journaled record");
        let mut latencies = Vec::new();
        let mut retries = 0;
        for learner in learners {
            let (l, r) = learner.join().unwrap();
            latencies.extend(l);
            retries += r;
        }
        let elapsed = started.elapsed();
        assert_eq!(server.received(), total, "records lost or counted twice");
        assert_eq!(journal() as u64, total, "the journal holds each record once");
        {
            let kept = server.kept.lock().unwrap();
            assert_eq!(kept.room.learners().count(), LEARNERS as usize);
            assert!(kept.room.learners().all(|l| l.latest.seq == CHECKS), "a learner's latest record is not its last check");
        }
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        eprintln!(
            "room load: {total} records from {LEARNERS} learners in {:.2} s = {:.0} records/s; latency p50 {:?}, p99 {:?}, max {:?}",
            elapsed.as_secs_f64(),
            total as f64 / elapsed.as_secs_f64(),
            at(0.5),
            at(0.99),
            latencies.last().unwrap()
        );
        eprintln!(
            "room restart: {before} records journaled when it stopped, {} reloaded, {} after, {retries} posts retried while it was down",
            server.reloaded.records,
            server.received()
        );
        server.stop();
        let _ = std::fs::remove_dir_all(&state);
    }

    #[test]
    fn learners_post_and_only_the_instructor_reads() {
        let state = state_dir("tokens");
        let server = Server::start(&options("127.0.0.1:0", &state)).unwrap();
        let url = format!("http://{}/", server.address);
        let error = post(&url, "wrongtoken", "k", &learner_record(1, 1)).unwrap_err();
        assert!(error.to_string().contains("refused the token"), "{error}");
        // The instructor's token reads; it does not post as a learner.
        assert!(post(&url, "instructortoken", "k", &learner_record(1, 1)).is_err());
        assert_eq!(server.received(), 0);

        post(&url, "learnerstoken", "k", &learner_record(1, 1)).unwrap();
        // Someone else's id, with another key: refused.
        let error = post(&url, "learnerstoken", "not-k", &learner_record(1, 2)).unwrap_err();
        assert!(error.to_string().contains("another key"), "{error}");
        assert_eq!(server.received(), 1);

        for page in ["", "status.json", "projector"] {
            for token in ["wrongtoken", "learnerstoken"] {
                let (status, body) = get(&format!("{url}{page}?token={token}"));
                assert_eq!(status, 401, "{page} with {token}");
                assert!(!body.contains("learner 001"));
            }
        }
        let (status, body) = get(&format!("{url}?token=instructortoken"));
        assert_eq!(status, 200);
        assert!(body.contains("<td>learner 001</td><td>working</td><td>02 layer 2 of 3: wrong target</td>"), "{body}");
        let (status, json) = get(&format!("{url}status.json?token=instructortoken"));
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["learners"][0]["layer_name"], "wrong target");
        let (status, projector) = get(&format!("{url}projector?token=instructortoken"));
        assert_eq!(status, 200);
        assert!(projector.contains("1 learner · 1 working") && !projector.contains("learner 001"), "{projector}");
        server.stop();
        let _ = std::fs::remove_dir_all(&state);
    }

    #[test]
    fn an_import_adds_what_the_room_lacks_and_only_with_the_instructors_token() {
        let state = state_dir("import");
        let server = Server::start(&options("127.0.0.1:0", &state)).unwrap();
        let url = format!("http://{}/", server.address);
        post(&url, "learnerstoken", "k", &learner_record(7, 1)).unwrap();
        let export = Export {
            schema: 1,
            id: "learner-007".into(),
            key: "k".into(),
            name: "learner 007".into(),
            records: (1..=3).map(|s| learner_record(7, s)).collect(),
        };
        let file = state.join("export.json");
        std::fs::write(&file, serde_json::to_string(&export).unwrap()).unwrap();
        let as_one = |token: &str| ImportArgs { files: vec![file.clone()], room: url.clone(), token: token.into() };
        assert!(import(&as_one("learnerstoken")).is_err());
        import(&as_one("instructortoken")).unwrap();
        assert_eq!(server.received(), 3);
        let forged = Export { key: "other".into(), ..export };
        std::fs::write(&file, serde_json::to_string(&forged).unwrap()).unwrap();
        assert!(import(&as_one("instructortoken")).is_err());
        server.stop();
        let _ = std::fs::remove_dir_all(&state);
    }

    #[test]
    fn what_is_not_a_record_is_refused() {
        let state = state_dir("refused");
        let server = Server::start(&options("127.0.0.1:0", &state)).unwrap();
        let post = |body: String| {
            let url = format!("http://{}/record", server.address);
            let request =
                crate::machine::http::agent(None).post(url).header("Authorization", "Bearer learnerstoken").header(KEY_HEADER, "k");
            request.send(body.as_str()).unwrap().status().as_u16()
        };
        assert_eq!(post("{\"name\": \"ada\"}".into()), 400);
        assert_eq!(post("x".repeat(RECORD_LIMIT as usize + 1)), 413);
        let nameless = serde_json::to_string(&Record { id: "i".into(), seq: 1, ..Record::joined("\n") }).unwrap();
        assert_eq!(post(nameless), 400);
        let unnumbered = serde_json::to_string(&Record::joined("ada")).unwrap();
        assert_eq!(post(unnumbered), 400);
        assert_eq!(server.received(), 0);
        server.stop();
        let _ = std::fs::remove_dir_all(&state);
    }

    #[test]
    fn a_room_that_is_down_fails_the_send_quickly() {
        // A port nobody listens on: bind one, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let started = Instant::now();
        let error = post(&format!("http://127.0.0.1:{port}/"), "t", "k", &learner_record(1, 1)).unwrap_err();
        assert!(format!("{error:#}").contains("cannot reach the room"), "{error:#}");
        assert!(started.elapsed() <= SEND_TIMEOUT + Duration::from_secs(1));
    }
}
