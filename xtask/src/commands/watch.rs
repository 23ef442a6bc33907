//! `cargo xtask watch NN`: check the lesson again each time one of its files is
//! saved. File events come from inotify (through notify); where they never
//! arrive (network mounts, WSL's /mnt, some containers) the watcher notices
//! that files changed without an event and polls instead. `--poll` polls from
//! the start.
//!
//! Keys, as in rustlings' watch mode: `h` the next hint, `n` the next lesson
//! (once this one passes), `l` the list, `q` quit. On a terminal a key acts
//! at once; otherwise a line on stdin (`h` and Enter) does the same, and a
//! stdin that ends (`< /dev/null`) just leaves the keys out.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anstream::println;
use anyhow::Result;
use notify::{EventKind, RecursiveMode, Watcher};

use crate::machine::interrupt::{self, Interrupted};
use crate::report::terminal::{paint, DIM, WARN};
use crate::workbook::files::{self, Files};
use crate::workbook::lessons::{self, Lesson};
use crate::workbook::progress::{self, State};

/// Saves come in bursts (an editor writes a temp file, renames it, touches
/// another); the check waits until the folder has been quiet this long.
const DEBOUNCE: Duration = Duration::from_millis(300);
/// How often files are compared while events arrive: a safety net that also
/// detects events that never come.
const EVENT_MODE_SCAN: Duration = Duration::from_secs(1);
/// How often files are compared when polling.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

enum Source {
    Events { _watcher: notify::RecommendedWatcher, events: Receiver<notify::Result<notify::Event>> },
    Polling,
}

/// `cargo xtask watch`.
#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// Lesson number, e.g. 01
    pub lesson: String,
    /// Poll for changes instead of waiting for file events
    #[arg(long)]
    pub poll: bool,
}

pub fn watch(root: &Path, args: &WatchArgs) -> Result<ExitCode> {
    let mut lesson = lessons::find(root, &args.lesson)?;
    let mut source = if args.poll { Source::Polling } else { events(&lesson) };
    let terminal = std::io::stdout().is_terminal();
    // The terminal is put back as it was when this returns, however it returns.
    let (keys, _terminal) = keys::listen();

    let mut checked = files::current_files(&lesson.dir)?;
    if !run(root, &lesson, terminal, None)? {
        return Ok(stopped(&lesson));
    }
    footer(root, &lesson, &source);

    let mut seen = checked.clone();
    let mut last_scan = Instant::now();
    let mut quiet_since: Option<Instant> = None;
    let mut missing_events = MissingEvents::default();
    loop {
        if interrupt::requested() {
            return Ok(stopped(&lesson));
        }
        while let Ok(key) = keys.try_recv() {
            match key {
                'q' => return Ok(stopped(&lesson)),
                'h' => {
                    println!();
                    let args = crate::commands::hint::HintArgs { lesson: lesson.number.clone(), more: false, json: false, lang: None };
                    crate::commands::hint::hint(root, &args)?;
                }
                'l' => {
                    println!();
                    crate::commands::list::list(root, &Default::default())?;
                }
                'n' if progress::load(root).get(&lesson.number) == Some(&State::Passed) => {
                    let Some(next) = next_lesson(root)? else {
                        println!("\nevery lesson passes: nothing left to watch");
                        return Ok(stopped(&lesson));
                    };
                    lesson = next;
                    if !args.poll {
                        source = events(&lesson);
                    }
                    checked = files::current_files(&lesson.dir)?;
                    seen = checked.clone();
                    if !run(root, &lesson, terminal, None)? {
                        return Ok(stopped(&lesson));
                    }
                }
                'n' => println!("\nlesson {} does not pass yet: `n` moves on once it does", lesson.number),
                _ => continue,
            }
            footer(root, &lesson, &source);
        }
        let event_seen = match &source {
            Source::Events { events, .. } => wait_for_events(events, &lesson.dir),
            Source::Polling => {
                std::thread::sleep(Duration::from_millis(100));
                false
            }
        };
        if event_seen {
            quiet_since = Some(Instant::now());
            missing_events.event();
        }

        let interval = if matches!(source, Source::Polling) { POLL_INTERVAL } else { EVENT_MODE_SCAN };
        if last_scan.elapsed() >= interval {
            last_scan = Instant::now();
            let now = files::current_files(&lesson.dir)?;
            let changed = now != seen;
            if changed {
                seen = now;
                quiet_since = Some(Instant::now());
            }
            if matches!(source, Source::Events { .. }) && missing_events.scanned(changed, Instant::now(), EVENT_MODE_SCAN) {
                println!("{}", paint(WARN, "files change here without file events (a network mount or a WSL path?); polling instead"));
                source = Source::Polling;
            }
        }

        if quiet_since.is_some_and(|t| t.elapsed() >= DEBOUNCE) {
            quiet_since = None;
            let now = files::current_files(&lesson.dir)?;
            if now != checked {
                let changed = changed_names(&checked, &now);
                checked = now.clone();
                seen = now;
                if !run(root, &lesson, terminal, Some(&changed))? {
                    return Ok(stopped(&lesson));
                }
                footer(root, &lesson, &source);
            }
        }
    }
}

/// Notices files that changed while no file event said so: then events do
/// not arrive here, and only polling sees saves.
#[derive(Default)]
struct MissingEvents {
    event_since_scan: bool,
    /// When a scan found a change that no event announced.
    unexplained_since: Option<Instant>,
}

impl MissingEvents {
    fn event(&mut self) {
        self.event_since_scan = true;
        self.unexplained_since = None;
    }

    /// After each scan; true once a change has gone a whole `interval` without an event.
    fn scanned(&mut self, changed: bool, now: Instant, interval: Duration) -> bool {
        if changed && !self.event_since_scan && self.unexplained_since.is_none() {
            self.unexplained_since = Some(now);
        }
        self.event_since_scan = false;
        self.unexplained_since.is_some_and(|since| now.duration_since(since) >= interval)
    }
}

/// An inotify watch on the lesson folder, or polling if there can be none
/// (e.g. the per-user limit on watches is used up by an editor).
fn events(lesson: &Lesson) -> Source {
    let (sender, events) = mpsc::channel();
    let watcher = notify::recommended_watcher(sender).and_then(|mut watcher| {
        watcher.watch(&lesson.dir, RecursiveMode::Recursive)?;
        Ok(watcher)
    });
    match watcher {
        Ok(watcher) => Source::Events { _watcher: watcher, events },
        Err(error) => {
            println!("{}", paint(WARN, format!("no file events here ({error}); polling instead")));
            Source::Polling
        }
    }
}

/// Waits up to 100 ms for events; true if one concerned a learner's file.
fn wait_for_events(events: &Receiver<notify::Result<notify::Event>>, dir: &Path) -> bool {
    let mut relevant = false;
    let mut timeout = Duration::from_millis(100);
    loop {
        match events.recv_timeout(timeout) {
            Ok(Ok(event)) => {
                relevant |= !matches!(event.kind, EventKind::Access(_))
                    && event.paths.iter().any(|p| p.strip_prefix(dir).is_ok_and(files::is_learners));
            }
            Ok(Err(_)) => {}
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return relevant,
        }
        // Drain what is already queued, without waiting again.
        timeout = Duration::ZERO;
    }
}

/// One check; false once the user pressed Ctrl-C.
fn run(root: &Path, lesson: &Lesson, terminal: bool, changed: Option<&str>) -> Result<bool> {
    if terminal {
        // Only the newest outcome stays on screen.
        print!("\x1b[2J\x1b[H");
        let _ = std::io::stdout().flush();
    } else if changed.is_some() {
        println!();
    }
    if let Some(changed) = changed {
        println!("{}", paint(DIM, format!("changed: {changed}")));
    }
    match crate::commands::check::check_lesson(root, lesson, false, "watch") {
        Ok(_) => Ok(true),
        Err(error) if error.downcast_ref::<Interrupted>().is_some() => Ok(false),
        Err(error) => {
            // The next save may well fix it: report and keep watching.
            anstream::eprintln!("error: {error:#}");
            Ok(!interrupt::requested())
        }
    }
}

fn footer(root: &Path, lesson: &Lesson, source: &Source) {
    let how = match source {
        Source::Events { .. } => "",
        Source::Polling => " (polling)",
    };
    let states = progress::load(root);
    let total = lessons::all(root).map(|all| all.len()).unwrap_or_default();
    let passed = states.values().filter(|s| **s == State::Passed).count();
    println!("\n{}", paint(DIM, format!("{passed} of {total} lessons pass")));
    println!(
        "{}",
        paint(
            DIM,
            format!("watching lessons/{}{how}: save a file to check again · h hint · n next lesson · l list · q quit", lesson.dir_name)
        )
    );
}

/// The first lesson that does not pass yet.
fn next_lesson(root: &Path) -> Result<Option<Lesson>> {
    let states = progress::load(root);
    Ok(lessons::all(root)?.into_iter().find(|l| states.get(&l.number) != Some(&State::Passed)))
}

/// Keys from stdin, one char each, on a channel.
///
/// The terminal is set through rustix's termios, not crossterm: crossterm's
/// raw mode also turns off Ctrl-C's signal and the newline's carriage return,
/// which watch keeps (Ctrl-C stops it as it stops a check, and the check's
/// report prints as usual). Only line buffering and echo go.
mod keys {
    use std::io::{IsTerminal, Read};
    use std::sync::mpsc::{self, Receiver};

    use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};

    /// The terminal's settings before [`listen`], put back when dropped.
    pub struct Terminal {
        original: Option<Termios>,
    }

    impl Drop for Terminal {
        fn drop(&mut self) {
            if let Some(original) = &self.original {
                let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, original);
            }
        }
    }

    /// Starts reading stdin. On a terminal, turns off line buffering and echo
    /// until the returned [`Terminal`] is dropped.
    pub fn listen() -> (Receiver<char>, Terminal) {
        let (sender, keys) = mpsc::channel();
        let stdin = std::io::stdin();
        let terminal = Terminal { original: if stdin.is_terminal() { key_by_key() } else { None } };
        std::thread::spawn(move || {
            let mut byte = [0u8];
            while matches!(std::io::stdin().lock().read(&mut byte), Ok(1)) {
                let key = char::from(byte[0]).to_ascii_lowercase();
                if sender.send(key).is_err() {
                    return;
                }
            }
        });
        (keys, terminal)
    }

    /// Each key as it is typed, not echoed; the settings before, if it worked.
    fn key_by_key() -> Option<Termios> {
        let stdin = std::io::stdin();
        let original = termios::tcgetattr(&stdin).ok()?;
        let mut settings = original.clone();
        settings.local_modes.remove(LocalModes::ICANON | LocalModes::ECHO);
        settings.special_codes[SpecialCodeIndex::VMIN] = 1;
        settings.special_codes[SpecialCodeIndex::VTIME] = 0;
        termios::tcsetattr(&stdin, OptionalActions::Now, &settings).ok()?;
        Some(original)
    }
}

fn stopped(lesson: &Lesson) -> ExitCode {
    println!("\nstopped watching lesson {}; nothing it loaded stays in the kernel", lesson.number);
    ExitCode::SUCCESS
}

fn changed_names(before: &Files, after: &Files) -> String {
    let mut paths = files::differing(before, after);
    paths.extend(before.keys().filter(|p| !after.contains_key(*p)).cloned());
    files::names(&paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCAN: Duration = Duration::from_secs(1);

    #[test]
    fn changes_without_events_switch_to_polling_after_one_scan_interval() {
        let start = Instant::now();
        let mut missing = MissingEvents::default();
        assert!(!missing.scanned(false, start, SCAN));
        assert!(!missing.scanned(true, start + SCAN, SCAN), "one scan is not proof yet");
        assert!(missing.scanned(false, start + 2 * SCAN, SCAN));
    }

    #[test]
    fn changes_announced_by_events_never_switch() {
        let start = Instant::now();
        let mut missing = MissingEvents::default();
        for n in 1..10 {
            missing.event();
            assert!(!missing.scanned(true, start + n * SCAN, SCAN));
        }
        // An event that arrives just after the scan still counts.
        assert!(!missing.scanned(true, start + 10 * SCAN, SCAN));
        missing.event();
        assert!(!missing.scanned(false, start + 11 * SCAN, SCAN));
        assert!(!missing.scanned(false, start + 12 * SCAN, SCAN));
    }
}
