//! The room's HTTP server (tiny_http): learners post records with their
//! token, the instructor reads the pages with theirs. Every accepted record
//! is journaled before the learner hears so, and a restart replays the
//! journal. Plain threads and std networking: it runs wherever Rust does.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use tiny_http::{Header, Method, Request, Response};

use crate::page;
use crate::record::{now, Entry, Export, Record, AGE_HEADER, KEY_HEADER, RECORD_LIMIT};
use crate::state::{Refused, Room, Settings, Store, Tokens};

/// Request handlers; tiny_http reads and writes each connection on its own thread.
const WORKERS: usize = 4;
/// An export holds one learner's every record; a day's checks fit well within this.
const IMPORT_LIMIT: u64 = 8 << 20;

/// `--listen`'s address and port; the error says what is wanted.
pub fn listen_address(listen: &str) -> Result<SocketAddr> {
    listen.parse().map_err(|_| anyhow::anyhow!("--listen wants an address and port, e.g. 0.0.0.0:7878, not {listen:?}"))
}

/// The room and the disk it is kept on, changed together under one lock.
pub struct Kept {
    pub room: Room,
    store: Store,
}

/// What a room's journal held when the server started, read before it
/// listened: learners who retry reach a restarted room at once.
#[derive(Debug, Clone, Copy)]
pub struct Reloaded {
    pub records: u64,
    pub learners: usize,
}

/// A running room server.
pub struct Server {
    http: Arc<tiny_http::Server>,
    pub kept: Arc<Mutex<Kept>>,
    pub tokens: Tokens,
    pub address: SocketAddr,
    /// What the room held when it started: what its journal replayed.
    pub reloaded: Reloaded,
    workers: Vec<JoinHandle<()>>,
}

/// What `room serve` was asked for.
pub struct ServeOptions {
    pub listen: String,
    /// Where the room is kept; a restart with the same folder reloads it.
    pub state: PathBuf,
    pub learners_token: Option<String>,
    pub instructor_token: Option<String>,
    pub settings: Settings,
    /// Print each new record as a line of JSON on stdout.
    pub echo: bool,
}

impl Server {
    pub fn start(options: &ServeOptions) -> Result<Server> {
        let address = listen_address(&options.listen)?;
        let (store, tokens, room) =
            Store::open(&options.state, options.learners_token.clone(), options.instructor_token.clone(), options.settings)?;
        let http = tiny_http::Server::http(address).map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
        let address = http.server_addr().to_ip().context("the server listens on no IP address")?;
        let http = Arc::new(http);
        let reloaded = Reloaded { records: room.received, learners: room.learners().count() };
        let kept = Arc::new(Mutex::new(Kept { room, store }));
        let shared_tokens = Arc::new(tokens.clone());
        let echo = options.echo;
        let workers = (0..WORKERS)
            .map(|_| {
                let (http, kept, tokens) = (http.clone(), kept.clone(), shared_tokens.clone());
                std::thread::spawn(move || {
                    for request in http.incoming_requests() {
                        handle(request, &kept, &tokens, echo);
                    }
                })
            })
            .collect();
        Ok(Server { http, kept, tokens, address, reloaded, workers })
    }

    /// Distinct records accepted so far, since the room first started.
    pub fn received(&self) -> u64 {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).room.received
    }

    /// Learners seen so far.
    pub fn learners(&self) -> usize {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).room.learners().count()
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

/// Who a request's token says it comes from.
#[derive(PartialEq, Eq)]
enum Holder {
    Nobody,
    Learner,
    Instructor,
}

fn handle(mut request: Request, kept: &Mutex<Kept>, tokens: &Tokens, echo: bool) {
    let url = request.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let holder = holder(&request, query, tokens);
    let html = "text/html; charset=utf-8";
    let lock = || kept.lock().unwrap_or_else(|e| e.into_inner());
    let (status, kind, body) = match (request.method(), path) {
        (Method::Post, "/record") if holder != Holder::Learner => (401, "text/plain", "records need the learners' token\n".to_string()),
        (Method::Post, "/record") => match take_record(&mut request, &mut lock(), echo) {
            Ok(true) => (204, "text/plain", String::new()),
            Ok(false) => (200, "text/plain", "had it already\n".to_string()),
            Err((status, why)) => (status, "text/plain", why),
        },
        (Method::Post, "/import") if holder != Holder::Instructor => (401, "text/plain", "an import needs the instructor's token\n".into()),
        (Method::Post, "/import") => match take_import(&mut request, &mut lock(), echo) {
            Ok(json) => (200, "application/json", json),
            Err((status, why)) => (status, "text/plain", why),
        },
        (Method::Get, "/" | "/status.json" | "/projector") if holder != Holder::Instructor => (401, html, page::refused()),
        (Method::Get, "/") => (200, html, page::page(&lock().room, now(), &tokens.instructor)),
        (Method::Get, "/projector") => (200, html, page::projector(&lock().room, now())),
        (Method::Get, "/status.json") => {
            let kept = lock();
            (200, "application/json", serde_json::to_string(&page::status(&kept.room, now())).expect("the status serializes"))
        }
        _ => (404, "text/plain", "no such page\n".to_string()),
    };
    let header = Header::from_bytes("Content-Type", kind).expect("a valid header");
    let _ = request.respond(Response::from_string(body).with_status_code(status).with_header(header));
}

fn header<'a>(request: &'a Request, name: &'static str) -> Option<&'a str> {
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str())
}

/// The token as `Authorization: Bearer …` (learners) or `?token=…` (the instructor's pages).
fn holder(request: &Request, query: &str, tokens: &Tokens) -> Holder {
    let bearer = header(request, "Authorization").and_then(|v| v.strip_prefix("Bearer "));
    let in_query = query.split('&').find_map(|pair| pair.strip_prefix("token="));
    let given: Vec<&str> = [bearer, in_query].into_iter().flatten().collect();
    if given.iter().any(|g| same(g, &tokens.instructor)) {
        Holder::Instructor
    } else if given.iter().any(|g| same(g, &tokens.learners)) {
        Holder::Learner
    } else {
        Holder::Nobody
    }
}

/// Compares in time independent of where they differ.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn read_body(request: &mut Request, limit: u64) -> std::result::Result<String, (u16, String)> {
    let mut body = String::new();
    if request.as_reader().take(limit + 1).read_to_string(&mut body).is_err() {
        return Err((400, "the body is not UTF-8 text\n".into()));
    }
    if body.len() as u64 > limit {
        return Err((413, format!("at most {limit} bytes\n")));
    }
    Ok(body)
}

/// Journals, then counts, one record: a learner hears "accepted" only once it is on disk.
fn keep(kept: &mut Kept, record: Record, key: &str, checked_at: u64, echo: bool) -> std::result::Result<bool, (u16, String)> {
    let refused = |refused| match refused {
        Refused::NotTheirs => (403, "this learner id belongs to another key\n".to_string()),
        Refused::Invalid(why) => (400, why),
    };
    if !kept.room.is_new(&record, key).map_err(refused)? {
        kept.room.accept(record, key, checked_at).map_err(refused)?;
        return Ok(false);
    }
    let entry = Entry { key: key.to_string(), checked_at, record };
    kept.store.append(&entry).map_err(|e| (503, format!("{e:#}\n")))?;
    if echo {
        println!("{}", serde_json::to_string(&entry.record).expect("records serialize"));
    }
    kept.room.accept(entry.record, key, checked_at).map_err(refused)
}

fn take_record(request: &mut Request, kept: &mut Kept, echo: bool) -> std::result::Result<bool, (u16, String)> {
    let key = header(request, KEY_HEADER).unwrap_or_default().to_string();
    let age: u64 = header(request, AGE_HEADER).and_then(|a| a.parse().ok()).unwrap_or(0);
    let body = read_body(request, RECORD_LIMIT)?;
    let record: Record = serde_json::from_str(&body).map_err(|e| (400, format!("not a status record: {e}\n")))?;
    keep(kept, record, &key, now().saturating_sub(age), echo)
}

fn take_import(request: &mut Request, kept: &mut Kept, echo: bool) -> std::result::Result<String, (u16, String)> {
    let body = read_body(request, IMPORT_LIMIT)?;
    let export: Export = serde_json::from_str(&body).map_err(|e| (400, format!("not a `room export` file: {e}\n")))?;
    let (mut new, mut repeated) = (0, 0);
    for record in export.records {
        if record.id != export.id {
            return Err((400, "an export holds one learner's records\n".into()));
        }
        // An export was made offline: its check times are the learner's clock's, no later than now.
        let checked_at = record.sent_at.min(now());
        if keep(kept, record, &export.key, checked_at, echo)? {
            new += 1;
        } else {
            repeated += 1;
        }
    }
    Ok(serde_json::json!({ "name": export.name, "new": new, "repeated": repeated }).to_string())
}
