//! The self-check that `cargo xtask check 05` runs. This binary starts a child
//! of its own, a shell script at a random path that exits with the code it is
//! given, and the program must report it as it happened: its path, its
//! parent, its exit code and a lifetime. Loaded again as `bootstrap
//! --duration`, it must send no execs, drop a short-lived child and keep a
//! long-lived one, with that child's random exit code. The random path and
//! code make a program that sends constants fail.

use std::cell::RefCell;
use std::io::Write;
use std::mem::MaybeUninit;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use harness::Lesson;
use libbpf_rs::{RingBuffer, RingBufferBuilder};

use crate::types::{event, event_kind};
use crate::{line, parse, start, text, BootstrapSkel, HEADER};

/// The exit code of the first child, the one the transcript shows.
const SHOWN_CODE: u8 = 3;
/// `bootstrap --duration` for the second run, and how long its long-lived child lives.
const FILTER: Duration = Duration::from_millis(500);
const LONG_LIFE: Duration = Duration::from_millis(1000);
/// How long to wait for an event before calling it missing.
const PATIENCE: Duration = Duration::from_secs(10);

pub fn run(lesson: &mut Lesson) -> anyhow::Result<()> {
    let script = Script::create()?;
    let events = RefCell::new(Vec::new());

    let mut object = MaybeUninit::uninit();
    let skel = start(lesson, &mut object, Duration::ZERO)?;
    let ring = ring_buffer(&skel, &events)?;
    lesson.note("child", format!("{} exits with code {SHOWN_CODE}", script.shown()));
    let child = script.run(SHOWN_CODE, Duration::ZERO)?;
    wait_for(&ring, &events, |e| is_exit_of(e, child))?;
    let seen: Vec<event> = events.take().into_iter().filter(|e| e.pid == child).collect();
    lesson.note("session", HEADER);
    for event in &seen {
        lesson.note("session", script.session_line(event, child));
    }
    script.judge_child(&seen, child).report(lesson, "about the child");
    drop(ring);
    drop(skel); // detaches the programs

    let ms = FILTER.as_millis();
    lesson.note("filter", format!("bootstrap --duration {ms}: min_duration_ns set before load"));
    let mut object = MaybeUninit::uninit();
    let skel = start(lesson, &mut object, FILTER)?;
    let ring = ring_buffer(&skel, &events)?;
    let code = fastrand::u8(10..=250);
    lesson.note("child", format!("runs twice: exits at once, then after {} ms with a random code", LONG_LIFE.as_millis()));
    let short = script.run(SHOWN_CODE, Duration::ZERO)?;
    let long = script.run(code, LONG_LIFE)?;
    wait_for(&ring, &events, |e| is_exit_of(e, long))?;
    let seen = events.take();
    let long_exit = seen.iter().find(|e| is_exit_of(e, long));
    let mut facts = Facts::default();
    facts.check(!seen.iter().any(|e| e.kind == event_kind::EVENT_EXEC), "exec events, where --duration allows none");
    facts.check(!seen.iter().any(|e| e.pid == short), "the short-lived child, which --duration drops");
    facts.check(long_exit.is_some(), "no exit of the long-lived child");
    facts.check(long_exit.is_none_or(|e| e.exit_code == u32::from(code)), "the long-lived child's exit code is not its random one");
    facts.check(long_exit.is_none_or(|e| e.duration_ns >= FILTER.as_nanos() as u64), "the long-lived child's lifetime is too short");
    facts.report(lesson, "of the --duration run");
    Ok(())
}

fn is_exit_of(event: &event, pid: i32) -> bool {
    event.kind == event_kind::EVENT_EXIT && event.pid == pid
}

/// A ring buffer that collects every event into `events`.
fn ring_buffer<'a>(skel: &'a BootstrapSkel, events: &'a RefCell<Vec<event>>) -> anyhow::Result<RingBuffer<'a>> {
    let mut builder = RingBufferBuilder::new();
    builder.add(&skel.maps.events, |data| {
        events.borrow_mut().extend(parse(data));
        0
    })?;
    Ok(builder.build()?)
}

/// Polls until an event passes `wanted`, or [`PATIENCE`] runs out.
fn wait_for(ring: &RingBuffer, events: &RefCell<Vec<event>>, wanted: impl Fn(&event) -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline && !events.borrow().iter().any(&wanted) {
        ring.poll(Duration::from_millis(50))?;
    }
    Ok(())
}

/// What a run got right, and what it got wrong, in words the same in every run.
#[derive(Default)]
struct Facts {
    right: usize,
    wrong: Vec<String>,
}

impl Facts {
    fn check(&mut self, holds: bool, otherwise: impl Into<String>) {
        if holds {
            self.right += 1;
        } else {
            self.wrong.push(otherwise.into());
        }
    }

    fn report(self, lesson: &mut Lesson, about: &str) {
        let total = self.right + self.wrong.len();
        lesson.observed(format!("{} of {total} facts {about} right", self.right));
        for wrong in self.wrong {
            lesson.note("wrong", wrong);
        }
    }
}

/// The child: a script in a fresh folder with a random name, which exits with
/// the code it reads from its input. Removed when dropped.
struct Script {
    folder: PathBuf,
    path: PathBuf,
    random: String,
}

impl Script {
    fn create() -> anyhow::Result<Script> {
        let random = format!("{:08x}", fastrand::u32(..));
        let folder = Path::new("/tmp").join(format!("bootstrap-check-{random}"));
        std::fs::create_dir(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let path = folder.join("child");
        std::fs::write(&path, "#!/bin/sh\nread code\nexit \"$code\"\n")?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
        Ok(Script { folder, path, random })
    }

    /// Runs the script, tells it `code` after `life`, and returns its pid once it has exited.
    fn run(&self, code: u8, life: Duration) -> anyhow::Result<i32> {
        let mut child = Command::new(&self.path)
            .stdin(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {}", self.path.display()))?;
        std::thread::sleep(life);
        writeln!(child.stdin.take().context("no pipe to the child")?, "{code}")?;
        let status = child.wait()?;
        ensure!(status.code() == Some(code.into()), "the child exited with {status}, not {code}");
        Ok(i32::try_from(child.id())?)
    }

    /// `text` with the random part of the script's folder named instead.
    fn masked(&self, text: &str) -> String {
        text.replace(&self.random, "XXXXXXXX")
    }

    /// The script's path as the transcript shows it, the same in every run.
    fn shown(&self) -> String {
        self.masked(&self.path.display().to_string())
    }

    /// The line `bootstrap` prints for `event`, with what changes between runs
    /// named instead: the time, the pids, the random folder, the lifetime.
    fn session_line(&self, event: &event, child: i32) -> String {
        let lifetime = format!("({}ms)", event.duration_ns / 1_000_000);
        let mut line = self.masked(&line("HH:MM:SS", event, &who(event.pid, child), &who(event.ppid, child)));
        line = line.replace(&lifetime, "(Nms)");
        if event.kind == event_kind::EVENT_EXEC && text(&event.filename).is_empty() {
            line.push_str("\"\""); // so that an empty filename shows
        }
        line
    }

    /// Whether the first run reported the child as it happened.
    fn judge_child(&self, seen: &[event], child: i32) -> Facts {
        let loader = i32::try_from(std::process::id()).unwrap_or_default();
        let exec = seen.iter().find(|e| e.kind == event_kind::EVENT_EXEC);
        let exit = seen.iter().find(|e| e.kind == event_kind::EVENT_EXIT);
        let mut facts = Facts::default();
        match exec {
            None => facts.check(false, "no exec event for the child"),
            Some(e) => {
                let filename = text(&e.filename);
                let path = self.path.display().to_string();
                facts.check(filename == path, format!("filename {:?}, not the child's path", self.masked(&filename)));
                facts.check(e.ppid == loader, format!("parent {} at exec, not this loader", who(e.ppid, child)));
            }
        }
        match exit {
            None => facts.check(false, "no exit event for the child"),
            Some(e) => {
                let code = u32::from(SHOWN_CODE);
                facts.check(e.exit_code == code, format!("exit code {}, not {code}", e.exit_code));
                facts.check(e.ppid == loader, format!("parent {} at exit, not this loader", who(e.ppid, child)));
                facts.check(e.duration_ns > 0, "a lifetime of 0");
            }
        }
        facts
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A pid as the transcript shows it: by its role when it is the child's or
/// this loader's, which change from run to run.
fn who(pid: i32, child: i32) -> String {
    match pid {
        _ if pid == child => "CHILD".to_string(),
        _ if u32::try_from(pid) == Ok(std::process::id()) => "LOADER".to_string(),
        _ => pid.to_string(),
    }
}
