//! `room serve` and `room agenda`, the same in the `room` program and in
//! `cargo xtask room`: their flags, the lines they print, and serve's loop
//! until the caller says stop.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::agenda::{self, Measured};
use crate::page::count;
use crate::server::{listen_address, ServeOptions, Server};
use crate::state::{Settings, JOURNAL};

/// Where `room serve` listens unless told otherwise: this machine only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// `room serve`'s flags.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address and port to listen on; 0.0.0.0:7878 lets the room's laptops reach it
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Where the room is kept, and reloaded from after a restart (default: .room-server/ at the workbook's top; the room program: in the current folder)
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// The learners' token (they post records with it); kept in the state folder, new if none
    #[arg(long)]
    pub token: Option<String>,
    /// The instructor's token (it reads the page and status.json); kept in the state folder, new if none
    #[arg(long)]
    pub instructor_token: Option<String>,
    /// A failing learner with no progress for this many minutes is stuck
    #[arg(long, value_name = "MINUTES", default_value_t = 10)]
    pub stuck_after: u64,
    /// A learner with no check for this many minutes is idle
    #[arg(long, value_name = "MINUTES", default_value_t = 5)]
    pub idle_after: u64,
    /// Print each record received as one line of JSON on stdout
    #[arg(long)]
    pub json: bool,
}

impl ServeArgs {
    /// What the user got wrong in the flags, in one line, before anything starts.
    pub fn mistake(&self) -> Option<String> {
        if let Err(error) = listen_address(&self.listen) {
            return Some(error.to_string());
        }
        for (flag, token) in [("--token", &self.token), ("--instructor-token", &self.instructor_token)] {
            if let Some(t) = token {
                if t.len() < 8 || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Some(format!("{flag} wants at least 8 letters or digits"));
                }
            }
        }
        None
    }

    pub fn options(&self, default_state: PathBuf) -> ServeOptions {
        ServeOptions {
            listen: self.listen.clone(),
            state: self.state.clone().unwrap_or(default_state),
            learners_token: self.token.clone(),
            instructor_token: self.instructor_token.clone(),
            settings: Settings { stuck_after: self.stuck_after, idle_after: self.idle_after },
            echo: self.json,
        }
    }
}

/// Serves the room until `stop()` says so, printing where to find it, then what it kept.
pub fn serve(options: &ServeOptions, stop: &dyn Fn() -> bool) -> Result<()> {
    let json = options.echo;
    let server = Server::start(options)?;
    let (address, tokens) = (server.address, &server.tokens);
    let port = address.port();
    // Listening on every address: the instructor's page is on this machine, learners use its network address.
    let (here, learners) = if address.ip().is_unspecified() {
        (format!("http://127.0.0.1:{port}"), format!("http://THIS-MACHINE:{port}"))
    } else {
        (format!("http://{address}"), format!("http://{address}"))
    };
    let (received, known) = (server.reloaded.records, server.reloaded.learners);
    let banner = [
        format!("room open on {address} (Ctrl-C closes it; it is kept in {})", options.state.display()),
        if known > 0 {
            format!("reloaded:   {} from {}", count(received as usize, "record", "records"), count(known, "learner", "learners"))
        } else {
            "reloaded:   nothing, a new room".to_string()
        },
        format!("learners:   cargo xtask room join {learners}/ --name THEIR-NAME --token {}", tokens.learners),
        format!("your page:  {here}/?token={}", tokens.instructor),
        format!("projector:  {here}/projector?token={}", tokens.instructor),
        format!("as JSON:    {here}/status.json?token={}", tokens.instructor),
        format!(
            "stuck:      failing with no progress for {}; idle: no check for {}",
            count(options.settings.stuck_after as usize, "minute", "minutes"),
            count(options.settings.idle_after as usize, "minute", "minutes")
        ),
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
        eprintln!("note: only this machine can reach it; for a room of laptops: room serve --listen 0.0.0.0:{port}");
    } else if address.ip().is_unspecified() {
        eprintln!(
            "note: THIS-MACHINE is this machine's address on the room's network \
             (`ip -brief address` on Linux, `ipconfig getifaddr en0` on macOS, `ipconfig` on Windows)"
        );
    }
    while !stop() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let medians = medians(&server.kept.lock().unwrap_or_else(|e| e.into_inner()).room);
    eprintln!(
        "room closed: {} from {}, kept in {}",
        count(server.received() as usize, "record", "records"),
        count(server.learners(), "learner", "learners"),
        options.state.display()
    );
    if !medians.is_empty() {
        for line in medians {
            eprintln!("{line}");
        }
        eprintln!("the agenda with these medians: room agenda --from {}", options.state.display());
    }
    server.stop();
    Ok(())
}

/// One line a lesson: its median time to pass, as the room measured it.
pub fn medians(room: &crate::state::Room) -> Vec<String> {
    room.counts()
        .iter()
        .filter_map(|lesson| {
            let minutes = lesson.median_minutes_to_pass?;
            Some(format!(
                "lesson {}: median {} from starting it to the first pass with their own fix, over {}",
                lesson.lesson,
                count(minutes as usize, "minute", "minutes"),
                count(lesson.solved, "learner", "learners")
            ))
        })
        .collect()
}

/// `room agenda`'s flags.
#[derive(clap::Args, Debug, Clone)]
pub struct AgendaArgs {
    /// A room's folder (as `room serve --state` keeps it), its records.jsonl, or a status.json saved from its page (default: the room's folder, if it has one)
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// A lesson's measured median replaces its estimate once at least this many learners passed it with their own fix
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub min_learners: usize,
}

/// The agenda `room agenda` prints: where its minutes come from, the table and its notes.
pub fn agenda(args: &AgendaArgs, default_state: &Path) -> Result<String> {
    let least = args.min_learners.max(1);
    let from = args.from.clone().or_else(|| default_state.join(JOURNAL).is_file().then(|| default_state.to_path_buf()));
    let (measured, whence) = match from {
        Some(path) => {
            let reading = agenda::read(&path)?;
            let mut whence = format!(
                "Lesson minutes from the room in {} ({}): its median where at least {} passed with their own fix, the estimate elsewhere.",
                path.display(),
                count(reading.learners, "learner", "learners"),
                count(least, "learner", "learners")
            );
            if reading.unread > 0 {
                whence += &format!(" {} skipped: not records.", count(reading.unread, "line", "lines"));
            }
            (reading.measured, whence)
        }
        None => (
            Measured::new(),
            format!(
                "No room kept in {} to measure from: every lesson's minutes are estimates (--from FILE reads a room).",
                default_state.display()
            ),
        ),
    };
    Ok(format!("{whence}\n\n{}", agenda::agenda(&measured, least).markdown()))
}
