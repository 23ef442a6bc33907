//! `cargo xtask room`: the instructor's live view of a workshop. `room serve`
//! runs a small HTTP server (tiny_http); `room join` links a learner's
//! workbook to it, after which every check sends a status record in the
//! background. Records carry where a learner is, never code or files.

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use tiny_http::{Header, Method, Request, Response};

use crate::machine::interrupt;
use crate::machine::room::{self as client, SEND_TIMEOUT};
use crate::report::room as page;
use crate::usage_error::UsageError;
use crate::workbook::room::{self, Delivery, Membership, Record, Room, RECORD_LIMIT};

/// Where `room serve` listens unless told otherwise: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";
/// Request handlers; tiny_http reads and writes each connection on its own thread.
const WORKERS: usize = 4;

/// A running room server.
pub struct Server {
    http: Arc<tiny_http::Server>,
    pub room: Arc<Mutex<Room>>,
    pub address: SocketAddr,
    workers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts serving on `listen`; `echo` prints each accepted record as a line of JSON on stdout.
    pub fn start(listen: &str, token: String, echo: bool) -> Result<Server> {
        let address: SocketAddr =
            listen.parse().map_err(|_| UsageError(format!("--listen wants an address and port, e.g. 0.0.0.0:7878, not {listen:?}")))?;
        let http = tiny_http::Server::http(address).map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
        let address = http.server_addr().to_ip().context("the server listens on no IP address")?;
        let http = Arc::new(http);
        let room = Arc::new(Mutex::new(Room::default()));
        let token = Arc::new(token);
        let workers = (0..WORKERS)
            .map(|_| {
                let (http, room, token) = (http.clone(), room.clone(), token.clone());
                std::thread::spawn(move || {
                    for request in http.incoming_requests() {
                        handle(request, &room, &token, echo);
                    }
                })
            })
            .collect();
        Ok(Server { http, room, address, workers })
    }

    /// Records accepted so far.
    pub fn received(&self) -> u64 {
        self.room.lock().unwrap_or_else(|e| e.into_inner()).received
    }

    /// Learners seen so far.
    pub fn learners(&self) -> usize {
        let room = self.room.lock().unwrap_or_else(|e| e.into_inner());
        room.stuck_first(0).len()
    }

    pub fn stop(self) {
        for _ in 0..WORKERS {
            self.http.unblock();
        }
        self.workers.into_iter().for_each(|w| {
            let _ = w.join();
        });
    }
}

fn handle(mut request: Request, room: &Mutex<Room>, token: &str, echo: bool) {
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let authorized = holds_token(&request, query, token);
    let html = ("text/html; charset=utf-8", String::new());
    let (status, (kind, body)) = match (request.method(), path) {
        (_, _) if !authorized && matches!(path, "/" | "/status.json" | "/record") => (401, (html.0, page::refused())),
        (Method::Post, "/record") => match read_record(&mut request) {
            Ok(record) => {
                let mut room = room.lock().unwrap_or_else(|e| e.into_inner());
                if echo {
                    println!("{}", serde_json::to_string(&record).expect("records serialize"));
                }
                room.accept(record, room::now());
                (204, ("text/plain", String::new()))
            }
            Err((status, why)) => (status, ("text/plain", why)),
        },
        (Method::Get, "/") => {
            let room = room.lock().unwrap_or_else(|e| e.into_inner());
            (200, (html.0, page::page(&room, room::now(), token)))
        }
        (Method::Get, "/status.json") => {
            let room = room.lock().unwrap_or_else(|e| e.into_inner());
            let json = serde_json::to_string(&page::status(&room, room::now())).expect("the status serializes");
            (200, ("application/json", json))
        }
        _ => (404, ("text/plain", "no such page\n".to_string())),
    };
    let header = Header::from_bytes("Content-Type", kind).expect("a valid header");
    let _ = request.respond(Response::from_string(body).with_status_code(status).with_header(header));
}

/// The token as `Authorization: Bearer …` (learners) or `?token=…` (the instructor's page).
fn holds_token(request: &Request, query: &str, token: &str) -> bool {
    let bearer = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(str::to_string));
    let in_query = query.split('&').find_map(|pair| pair.strip_prefix("token=")).map(str::to_string);
    [bearer, in_query].into_iter().flatten().any(|given| same(&given, token))
}

/// Compares in time independent of where they differ.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn read_record(request: &mut Request) -> std::result::Result<Record, (u16, String)> {
    let mut body = String::new();
    let read = request.as_reader().take(RECORD_LIMIT + 1).read_to_string(&mut body);
    if read.is_err() {
        return Err((400, "the record is not UTF-8 text\n".into()));
    }
    if body.len() as u64 > RECORD_LIMIT {
        return Err((413, format!("a record is at most {RECORD_LIMIT} bytes\n")));
    }
    let record: Record = serde_json::from_str(&body).map_err(|e| (400, format!("not a status record: {e}\n")))?;
    if !room::valid_name(&record.name) {
        return Err((400, "a learner's name is one line of at most 40 characters\n".into()));
    }
    Ok(record)
}

/// A fresh token: 16 random bytes, in hex.
fn new_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

pub fn serve(listen: &str, token: Option<String>, json: bool) -> Result<ExitCode> {
    let token = match token {
        Some(t) if t.len() < 8 || !t.chars().all(|c| c.is_ascii_alphanumeric()) => {
            return Err(UsageError("--token wants at least 8 letters or digits".into()).into())
        }
        Some(t) => t,
        None => new_token()?,
    };
    let server = Server::start(listen, token.clone(), json)?;
    let address = server.address;
    let port = address.port();
    // Listening on every address: the instructor's page is on this machine, learners use its network address.
    let (here, learners) = if address.ip().is_unspecified() {
        (format!("http://127.0.0.1:{port}"), format!("http://THIS-MACHINE:{port}"))
    } else {
        (format!("http://{address}"), format!("http://{address}"))
    };
    let banner = [
        format!("room open on {address} (Ctrl-C closes it)"),
        format!("token:      {token}"),
        format!("learners:   cargo xtask room join {learners}/ --name THEIR-NAME --token {token}"),
        format!("your page:  {here}/?token={token}"),
        format!("as JSON:    {here}/status.json?token={token}"),
    ];
    for line in banner {
        // With --json, stdout carries only the records, one JSON object a line.
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    if address.ip().is_loopback() {
        eprintln!("note: only this machine can reach it; for a room of laptops: cargo xtask room serve --listen 0.0.0.0:{port}");
    } else if address.ip().is_unspecified() {
        eprintln!("note: THIS-MACHINE is this machine's address on the room's network (`ip -brief address` lists them)");
    }
    while !interrupt::requested() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    eprintln!("room closed: {} records from {} learners", server.received(), server.learners());
    server.stop();
    Ok(ExitCode::SUCCESS)
}

pub fn join(root: &Path, url: &str, name: &str, token: &str) -> Result<ExitCode> {
    client::check_url(url).map_err(|e| UsageError(e.to_string()))?;
    if !room::valid_name(name) {
        return Err(UsageError(format!("--name wants one line of at most {} characters", room::NAME_LIMIT)).into());
    }
    let name = name.trim();
    let delivery = Delivery { url: url.to_string(), token: token.to_string(), record: Record::joined(name) };
    // Once, in the foreground, so a wrong address or token shows now rather than never.
    delivery.post(SEND_TIMEOUT)?;
    let membership = Membership { url: url.to_string(), name: name.to_string(), token: token.to_string(), lessons: Default::default() };
    room::save(root, &membership)?;
    println!("joined the room at {url} as {name}");
    println!("each check now sends it your lesson, layer, attempts and minutes on it, and how it passed: no code, no files");
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

/// `room send`, run detached by a check: one record from stdin to the room.
pub fn send(root: &Path) -> Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin().take(4 * RECORD_LIMIT).read_to_string(&mut text)?;
    let delivery: Delivery = serde_json::from_str(&text).context("room send reads what a check writes")?;
    room::deliver(root, &delivery);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn get(url: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut response = agent.get(url).call().unwrap();
        (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
    }

    fn learner_record(name: &str, attempts: u32) -> Record {
        Record {
            lesson: Some("02".into()),
            state: "failing".into(),
            layer: Some(2),
            layer_name: Some("wrong target".into()),
            layers: 3,
            attempts,
            ..Record::joined(name)
        }
    }

    /// 100 learners on loopback, each checking 20 times as fast as it can: every
    /// record arrives. Prints the rate and latencies it measured (not asserted).
    #[test]
    fn a_hundred_learners_lose_no_record() {
        const LEARNERS: u32 = 100;
        const CHECKS: u32 = 20;
        let server = Server::start("127.0.0.1:0", "loadtesttoken".into(), false).unwrap();
        let url = format!("http://{}/", server.address);
        let started = Instant::now();
        let learners: Vec<_> = (0..LEARNERS)
            .map(|n| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut latencies = Vec::new();
                    for attempt in 1..=CHECKS {
                        let delivery = Delivery {
                            url: url.clone(),
                            token: "loadtesttoken".into(),
                            record: learner_record(&format!("learner {n:03}"), attempt),
                        };
                        let sent = Instant::now();
                        delivery.post(Duration::from_secs(30)).unwrap();
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies: Vec<Duration> = learners.into_iter().flat_map(|l| l.join().unwrap()).collect();
        let elapsed = started.elapsed();
        assert_eq!(server.received(), u64::from(LEARNERS * CHECKS), "records lost");
        {
            let room = server.room.lock().unwrap();
            let seen = room.stuck_first(room::now());
            assert_eq!(seen.len(), LEARNERS as usize);
            assert!(seen.iter().all(|s| s.record.attempts == CHECKS), "a learner's last record is not its last check");
        }
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        eprintln!(
            "room load: {} records from {LEARNERS} learners in {:.2} s = {:.0} records/s; latency p50 {:?}, p99 {:?}, max {:?}",
            latencies.len(),
            elapsed.as_secs_f64(),
            latencies.len() as f64 / elapsed.as_secs_f64(),
            at(0.5),
            at(0.99),
            latencies.last().unwrap()
        );
        server.stop();
    }

    #[test]
    fn a_wrong_token_is_refused_and_the_page_needs_the_right_one() {
        let server = Server::start("127.0.0.1:0", "righttoken".into(), false).unwrap();
        let url = format!("http://{}/", server.address);
        let wrong = Delivery { url: url.clone(), token: "wrongtoken".into(), record: learner_record("ada", 1) };
        let error = wrong.post(SEND_TIMEOUT).unwrap_err();
        assert!(error.to_string().contains("refused the token"), "{error}");
        assert_eq!(server.received(), 0);

        let (status, body) = get(&format!("{url}?token=wrongtoken"));
        assert_eq!(status, 401);
        assert!(!body.contains("ada") && body.contains("needs the room's token"));
        assert_eq!(get(&format!("{url}status.json")).0, 401);

        let right = Delivery { token: "righttoken".into(), ..wrong };
        right.post(SEND_TIMEOUT).unwrap();
        let (status, body) = get(&format!("{url}?token=righttoken"));
        assert_eq!(status, 200);
        assert!(body.contains("<td>ada</td><td>02 layer 2 of 3: wrong target</td>"), "{body}");
        let (status, json) = get(&format!("{url}status.json?token=righttoken"));
        assert_eq!(status, 200);
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["learners"][0]["layer_name"], "wrong target");
        server.stop();
    }

    #[test]
    fn what_is_not_a_record_is_refused() {
        let server = Server::start("127.0.0.1:0", "righttoken".into(), false).unwrap();
        let post = |body: String| {
            let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
            let url = format!("http://{}/record", server.address);
            agent.post(url).header("Authorization", "Bearer righttoken").send(body.as_str()).unwrap().status().as_u16()
        };
        assert_eq!(post("{\"name\": \"ada\"}".into()), 400);
        assert_eq!(post("x".repeat(RECORD_LIMIT as usize + 1)), 413);
        let nameless = serde_json::to_string(&Record::joined("\n")).unwrap();
        assert_eq!(post(nameless), 400);
        assert_eq!(server.received(), 0);
        server.stop();
    }

    #[test]
    fn a_room_that_is_down_fails_the_send_quickly() {
        // A port nobody listens on: bind one, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let delivery = Delivery { url: format!("http://127.0.0.1:{port}/"), token: "t".into(), record: Record::joined("ada") };
        let error = delivery.post(SEND_TIMEOUT).unwrap_err();
        assert!(format!("{error:#}").contains("cannot reach the room"), "{error:#}");
    }
}
