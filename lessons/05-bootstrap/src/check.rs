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

    let mut object = MaybeUninit::uninit();
    let skel = start(lesson, &mut object, Duration::ZERO)?;
    let events = RefCell::new(Vec::new());
    let ring = ring_buffer(&skel, &events)?;
    lesson.note("child", format!("{} exits with code {SHOWN_CODE}", script.shown()));
    let child = script.run(SHOWN_CODE, Duration::ZERO)?;
    wait_for(&ring, &events, |e| e.kind == event_kind::EVENT_EXIT && e.pid == child)?;
    let seen: Vec<event> = events.take().into_iter().filter(|e| e.pid == child).collect();
    lesson.note("session", HEADER);
    for event in &seen {
        lesson.note("session", script.masked(event, child));
    }
    for finding in script.judge_first(&seen) {
        lesson.observed(finding);
    }
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
    wait_for(&ring, &events, |e| e.kind == event_kind::EVENT_EXIT && e.pid == long)?;
    let seen = events.take();
    let execs = seen.iter().filter(|e| e.kind == event_kind::EVENT_EXEC).count();
    let short_seen = seen.iter().any(|e| e.pid == short);
    let long_exit = seen.iter().find(|e| e.kind == event_kind::EVENT_EXIT && e.pid == long);
    lesson.observed(match execs {
        0 => "no exec events".to_string(),
        n => format!("{} exec events, where --duration allows none", if n == 1 { "an" } else { "some" }),
    });
    lesson.observed(if short_seen { "the short-lived child, which --duration drops" } else { "the short-lived child dropped" });
    lesson.observed(match long_exit {
        None => "no exit of the long-lived child".to_string(),
        Some(e) if e.exit_code != u32::from(code) => "the long-lived child's exit, without its random exit code".to_string(),
        Some(e) if e.duration_ns < FILTER.as_nanos() as u64 => {
            format!("the long-lived child's exit, with a lifetime under {ms} ms")
        }
        Some(_) => "the long-lived child's exit, with its random exit code".to_string(),
    });
    Ok(())
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

    /// The script's path as the transcript shows it, the same in every run.
    fn shown(&self) -> String {
        self.path.display().to_string().replace(&self.random, "XXXXXXXX")
    }

    /// The line `bootstrap` prints for `event`, with what changes between runs
    /// named instead: the time, the pids, the random folder, the lifetime.
    fn masked(&self, event: &event, child: i32) -> String {
        let loader = std::process::id() as i32;
        let id = |pid: i32| match pid {
            _ if pid == child => "CHILD".to_string(),
            _ if pid == loader => "LOADER".to_string(),
            _ => pid.to_string(),
        };
        let lifetime = format!("({}ms)", event.duration_ns / 1_000_000);
        let mut line = line("HH:MM:SS", event, &id(event.pid), &id(event.ppid))
            .replace(&self.random, "XXXXXXXX")
            .replace(&lifetime, "(Nms)");
        if event.kind == event_kind::EVENT_EXEC && text(&event.filename).is_empty() {
            line.push_str("\"\""); // so that an empty filename shows
        }
        line
    }

    /// What the first run shows about the child, which must be everything right.
    fn judge_first(&self, seen: &[event]) -> Vec<String> {
        let loader = std::process::id() as i32;
        let exec = seen.iter().find(|e| e.kind == event_kind::EVENT_EXEC);
        let exit = seen.iter().find(|e| e.kind == event_kind::EVENT_EXIT);
        let mut findings = Vec::new();
        match exec {
            None => findings.push("no exec event for the child".to_string()),
            Some(e) => {
                let filename = text(&e.filename);
                if filename != self.path.display().to_string() {
                    findings.push(format!("the child's exec with filename {:?}, not its path", filename.replace(&self.random, "XXXXXXXX")));
                }
                if e.ppid != loader {
                    findings.push(format!("the child's exec with parent {}, not this loader", e.ppid));
                }
            }
        }
        match exit {
            None => findings.push("no exit event for the child".to_string()),
            Some(e) => {
                if e.exit_code != u32::from(SHOWN_CODE) {
                    findings.push(format!("the child's exit with exit code {}, not {SHOWN_CODE}", e.exit_code));
                }
                if e.ppid != loader {
                    findings.push(format!("the child's exit with parent {}, not this loader", e.ppid));
                }
                if e.duration_ns == 0 {
                    findings.push("the child's exit with a lifetime of 0".to_string());
                }
            }
        }
        if findings.is_empty() {
            findings.push(format!(
                "the child's exec and exit: its path, its parent (this loader), exit code {SHOWN_CODE}, a lifetime"
            ));
        }
        findings
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
