//! What a loader does to give its program something to see. Each run differs
//! (a count, a file name, a process chosen for it) and other processes do the
//! same things at the same time, so only a program that really watches this
//! process can report it: no constant passes for an observation.
//!
//! The helper processes are this binary again, started with [`CHILD_ARG`];
//! [`crate::run`] turns them into their role before a loader's body runs.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};

/// The first argument of a helper process, then its role.
const CHILD_ARG: &str = "--workbook-helper";

/// How long a program gets to see a change of the watched child's state.
const PATIENCE: Duration = Duration::from_secs(2);
/// How long a reading must stay the same to count.
const SETTLE: Duration = Duration::from_millis(50);

/// Values chosen for this run, and what the transcript shows instead, so that
/// transcripts stay comparable between runs.
static RUN_VALUES: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn remember(value: String, placeholder: &str) {
    RUN_VALUES.lock().unwrap_or_else(|e| e.into_inner()).push((value, placeholder.to_string()));
}

/// An observation with this run's values replaced by their placeholders. A
/// placeholder the loader wrote itself is marked, so it cannot pass for one.
pub(crate) fn normalize(text: &str) -> String {
    let values = RUN_VALUES.lock().unwrap_or_else(|e| e.into_inner());
    let mut text = text.to_string();
    for (_, placeholder) in values.iter() {
        text = replace_word(&text, placeholder, &format!("{placeholder}(typed)"));
    }
    for (value, placeholder) in values.iter() {
        text = replace_word(&text, value, placeholder);
    }
    text
}

/// How a count chosen for this run compares with what the program counted.
pub(crate) fn describe_count(seen: u64, expected: Count) -> String {
    format!("{seen} of {}", expected.0)
}

/// Any transcript line with this run's values replaced by their placeholders.
pub(crate) fn substitute(text: &str) -> String {
    let values = RUN_VALUES.lock().unwrap_or_else(|e| e.into_inner());
    values.iter().fold(text.to_string(), |text, (value, placeholder)| replace_word(&text, value, placeholder))
}

/// Replaces `word` where it is not part of a longer word or number.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let inside = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().last().or_else(|| out.chars().last());
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if inside(before) || inside(after) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Runs this binary as a helper process with `args`, and waits for it.
fn helper(args: &[&str]) -> Result<()> {
    // Inherited stdio: opening /dev/null here would be one more open by this process.
    let status = Command::new(std::env::current_exe()?).arg(CHILD_ARG).args(args).status().context("starting a helper process")?;
    ensure!(status.success(), "the helper process failed: {status}");
    Ok(())
}

/// A count chosen for this run. It cannot be printed: only the program's own
/// count, given to [`crate::Lesson::observed_count`], can show it.
pub type Count = Hidden<u64>;

/// A value chosen for this run that the loader may compare but not print.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hidden<T>(T);

impl<T: PartialEq> PartialEq<T> for Hidden<T> {
    fn eq(&self, other: &T) -> bool {
        self.0 == *other
    }
}

/// Never implemented: it turns `println!("{count}")` into an error that
/// says why, instead of rustc's bare "doesn't implement Display".
#[diagnostic::on_unimplemented(
    message = "the run's count cannot be printed: the number is the BPF program's to observe",
    label = "this count is hidden on purpose",
    note = "show what your program counted instead: `lesson.observed_count(seen, expected, ...)` prints both"
)]
pub trait PrintableByTheProgramOnly {}

impl<T: PrintableByTheProgramOnly> std::fmt::Display for Hidden<T> {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        unreachable!("no type implements PrintableByTheProgramOnly")
    }
}

/// A count from `range`, chosen for this run.
fn count_for_this_run(range: std::ops::Range<u64>) -> Count {
    let count = fastrand::u64(range);
    remember(count.to_string(), "N");
    Hidden(count)
}

/// Opens a file a number of times chosen for this run, after another process
/// has opened it too. Returns how many times this process opened it.
pub fn open_files() -> Result<Count> {
    workload_begins();
    let file = std::env::current_exe()?;
    let others = fastrand::u64(3..10).to_string();
    helper(&["open", &file.to_string_lossy(), &others])?;
    // Three digits: no small constant a loader might print can match.
    let count = count_for_this_run(100..1000);
    for _ in 0..count.0 {
        File::open(&file)?;
    }
    Ok(count)
}

/// Starts and joins a number of threads chosen for this run.
pub fn start_threads() -> Result<Count> {
    workload_begins();
    // Two digits: threads are slow to start under qemu's emulation.
    let count = count_for_this_run(10..100);
    for _ in 0..count.0 {
        std::thread::spawn(|| {}).join().ok().context("a thread panicked")?;
    }
    Ok(count)
}

/// A file with a name chosen for this run, which the transcript shows as
/// `/tmp/workbook-XXXXXXXXXXXX`; removed when dropped.
pub struct FreshFile {
    path: PathBuf,
}

impl Drop for FreshFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Another process makes a file whose name is chosen for this run and opens
/// it; then this process opens it once.
pub fn open_fresh_file() -> Result<FreshFile> {
    workload_begins();
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let name: String = (0..12).map(|_| char::from(LETTERS[fastrand::usize(..LETTERS.len())])).collect();
    let path = PathBuf::from(format!("/tmp/workbook-{name}"));
    remember(path.display().to_string(), "/tmp/workbook-XXXXXXXXXXXX");
    let fresh = FreshFile { path };
    helper(&["make", &fresh.path.to_string_lossy()])?;
    File::open(&fresh.path)?;
    Ok(fresh)
}

/// What the loader does to the watched child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Wakes it with one byte; it reads the byte and sleeps again (`S`).
    Sleep,
    /// Stops it with SIGSTOP (`T`).
    Stop,
}

impl Change {
    fn letter(self) -> char {
        match self {
            Change::Sleep => 'S',
            Change::Stop => 'T',
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::Sleep => "asleep",
            Change::Stop => "stopped",
        })
    }
}

/// A child process for a program to watch, asleep in `read` until changed.
pub struct SleepingChild {
    child: Child,
    to_child: ChildStdin,
}

impl SleepingChild {
    /// Starts the child and waits until it is about to sleep, so that its
    /// start-up is over before the program is attached.
    pub fn spawn() -> Result<SleepingChild> {
        let mut command = Command::new(std::env::current_exe()?);
        command.args([CHILD_ARG, "sleep"]).stdin(Stdio::piped()).stdout(Stdio::piped());
        // SAFETY: prctl is async-signal-safe. The child dies with the loader.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().context("starting the child process")?;
        let mut from_child = child.stdout.take().context("no pipe from the child")?;
        from_child.read_exact(&mut [0])?;
        let to_child = child.stdin.take().context("no pipe to the child")?;
        Ok(SleepingChild { child, to_child })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Puts the child into the state `change` names.
    pub fn make(&mut self, change: Change) -> Result<()> {
        match change {
            Change::Sleep => self.to_child.write_all(b"x")?,
            Change::Stop => {
                let pid = libc::pid_t::try_from(self.pid())?;
                // SAFETY: a plain syscall on our own child.
                ensure!(unsafe { libc::kill(pid, libc::SIGSTOP) } == 0, "cannot stop the child");
            }
        }
        Ok(())
    }

    /// Waits until `read` (the state the program recorded at the child's
    /// latest switch-out) agrees with /proc/<pid>/stat, in the state `change`
    /// set, or until patience runs out. Returns both, for the transcript.
    pub fn await_state(&self, change: Change, read: impl Fn() -> i64) -> StateSeen {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let seen = StateSeen { program: read(), kernel: self.proc_state() };
            if Instant::now() >= deadline {
                return seen;
            }
            if seen.kernel == Some(change.letter()) && seen.agrees() {
                // It must stay so: the child does nothing more, while this
                // process and others go on being switched out.
                std::thread::sleep(SETTLE);
                if read() == seen.program {
                    return seen;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The state letter of /proc/<pid>/stat (its third field).
    fn proc_state(&self) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        stat.rsplit_once(')')?.1.trim_start().chars().next()
    }
}

impl Drop for SleepingChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A task state as the program read it, and as the kernel shows it in /proc.
pub struct StateSeen {
    pub program: i64,
    pub kernel: Option<char>,
}

impl StateSeen {
    fn agrees(&self) -> bool {
        Some(state_letter(self.program)) == self.kernel
    }
}

impl fmt::Display for StateSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let read = describe_letter(state_letter(self.program));
        match self.kernel {
            _ if self.agrees() => write!(f, "state {read}, as /proc/PID/stat shows"),
            Some(kernel) => write!(f, "state {read}, but /proc/PID/stat shows {}", describe_letter(kernel)),
            None => write!(f, "state {read}, but /proc/PID/stat could not be read"),
        }
    }
}

/// The letter `ps` shows for a `task_struct` state value, as the kernel's
/// `task_state_index` finds it: the lowest seven bits, highest set bit.
fn state_letter(state: i64) -> char {
    const LETTERS: &[u8] = b"RSDTtXZP";
    let reported = (state & 0x7f) as u32;
    let index = if reported == 0 { 0 } else { 32 - reported.leading_zeros() } as usize;
    char::from(LETTERS[index.min(LETTERS.len() - 1)])
}

fn describe_letter(letter: char) -> String {
    let name = match letter {
        'R' => "running",
        'S' => "interruptible sleep",
        'D' => "uninterruptible sleep",
        'T' => "stopped",
        't' => "tracing stop",
        'X' => "dead",
        'Z' => "zombie",
        'P' => "parked",
        _ => "unknown",
    };
    format!("{letter} ({name})")
}

/// What the kernel reports as attached through this process's file
/// descriptors (`BPF_TASK_FD_QUERY`): one line per tracepoint, raw
/// tracepoint or kprobe that holds a BPF program.
pub fn attached() -> Vec<String> {
    let pid = std::process::id() as i32;
    let mut found = Vec::new();
    // Every descriptor number, rather than a listing of /proc/self/fd, which
    // would be one more open for the program to count.
    for fd in 0..1024 {
        let mut buf = [0 as std::os::raw::c_char; 256];
        let mut len = buf.len() as u32;
        let (mut prog_id, mut fd_type, mut offset, mut addr) = (0u32, 0u32, 0u64, 0u64);
        // SAFETY: every pointer is to a local of the type libbpf expects.
        let err = unsafe {
            libbpf_rs::libbpf_sys::bpf_task_fd_query(
                pid,
                fd,
                0,
                buf.as_mut_ptr(),
                &mut len,
                &mut prog_id,
                &mut fd_type,
                &mut offset,
                &mut addr,
            )
        };
        if err != 0 {
            continue;
        }
        // SAFETY: the kernel writes a NUL-terminated name into buf.
        let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
        let kind = match fd_type {
            0 => "raw tracepoint",
            1 => "tracepoint",
            2 => "kprobe",
            3 => "kretprobe",
            4 => "uprobe",
            5 => "uretprobe",
            _ => "hook",
        };
        found.push(format!("{kind} {name}"));
    }
    found
}

/// Runs a helper role when this process is one; `None` for the loader itself.
pub(crate) fn helper_role() -> Option<ExitCode> {
    let mut args = std::env::args().skip(1);
    if args.next()? != CHILD_ARG {
        return None;
    }
    let role = args.next().unwrap_or_default();
    let args: Vec<String> = args.collect();
    let outcome = match (role.as_str(), args.as_slice()) {
        ("open", [path, count]) => open_many(path, count),
        ("make", [path]) => File::create(path).and_then(|_| File::open(path)).map(drop).map_err(Into::into),
        ("sleep", []) => sleep_until_input_ends(),
        _ => Err(anyhow::anyhow!("unknown helper role {role:?}")),
    };
    Some(match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("helper {role}: {error:#}");
            ExitCode::FAILURE
        }
    })
}

fn open_many(path: &str, count: &str) -> Result<()> {
    for _ in 0..count.parse::<u64>()? {
        File::open(path)?;
    }
    Ok(())
}

/// Says it is ready, then sleeps in `read` (interruptible sleep), waking once
/// per byte, until its input ends.
fn sleep_until_input_ends() -> Result<()> {
    let mut out = std::io::stdout();
    out.write_all(b"r")?;
    out.flush()?;
    let mut byte = [0];
    while matches!(std::io::stdin().read(&mut byte), Ok(1)) {}
    Ok(())
}

/// Keeps the kernel counting each BPF program's runs (`BPF_ENABLE_STATS`)
/// for as long as this process lives; the count is off by default, since it
/// costs a little on every run. Returns whether the count is on.
pub fn count_runs() -> bool {
    use std::os::fd::{FromRawFd, OwnedFd};
    static STATS: std::sync::OnceLock<Option<OwnedFd>> = std::sync::OnceLock::new();
    let fd = STATS.get_or_init(|| {
        // SAFETY: a plain system call; a non-negative result is a descriptor this process owns.
        let fd = unsafe { libbpf_rs::libbpf_sys::bpf_enable_stats(libbpf_rs::libbpf_sys::BPF_STATS_RUN_TIME) };
        // SAFETY: the kernel just gave this process the descriptor, and nothing else holds it.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
    });
    fd.is_some() || std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled").is_ok_and(|v| v.trim() == "1")
}

/// Each program's run count when this run's workload began. Runs before it
/// (other processes', between attach and the workload) say nothing of
/// whether the workload reached the program: a link dropped right after
/// attach still counts them.
static AT_WORKLOAD: std::sync::Mutex<Option<Vec<(String, u64)>>> = std::sync::Mutex::new(None);

/// Notes the run counts as the workload begins (its first part only).
fn workload_begins() {
    let mut at = AT_WORKLOAD.lock().unwrap_or_else(|e| e.into_inner());
    if at.is_none() {
        *at = runs_since_load();
    }
}

/// How many times each BPF program this process holds has run during the
/// workload (since load, for a loader that runs its own), as the kernel
/// counts them: `(name, runs)`, and whether the count is the workload's.
/// None when the kernel does not count (stats off and not switchable on,
/// before Linux 5.8). "Ran, yet saw nothing" is a condition in the program
/// that drops every event; "never ran" is an attach point nothing hits.
pub fn program_runs() -> Option<(Vec<(String, u64)>, bool)> {
    let now = runs_since_load()?;
    let at = AT_WORKLOAD.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Some(match at {
        Some(before) => {
            let during = now
                .into_iter()
                .map(|(name, runs)| {
                    let earlier = before.iter().find(|(n, _)| *n == name).map_or(0, |(_, r)| *r);
                    (name, runs.saturating_sub(earlier))
                })
                .collect();
            (during, true)
        }
        None => (now, false),
    })
}

fn runs_since_load() -> Option<Vec<(String, u64)>> {
    if !count_runs() {
        return None;
    }
    let mut found = Vec::new();
    for fd in 0..1024 {
        // A map's descriptor would answer the same query with a map's info: ask only programs.
        let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else { continue };
        if target.to_str() != Some("anon_inode:bpf-prog") {
            continue;
        }
        // SAFETY: zeroes are a valid bpf_prog_info, which the kernel fills up to `len` bytes.
        let mut info: libbpf_rs::libbpf_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of_val(&info) as u32;
        // SAFETY: info and len are locals of the types libbpf expects.
        if unsafe { libbpf_rs::libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) } != 0 {
            continue;
        }
        // SAFETY: the kernel writes a NUL-terminated name of at most 16 bytes.
        let name = unsafe { std::ffi::CStr::from_ptr(info.name.as_ptr()) }.to_string_lossy().into_owned();
        found.push((name, info.run_cnt));
    }
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_letters_follow_the_kernel() {
        assert_eq!(state_letter(0), 'R');
        assert_eq!(state_letter(1), 'S');
        assert_eq!(state_letter(2), 'D');
        // TASK_STOPPED is __TASK_STOPPED | TASK_WAKEKILL.
        assert_eq!(state_letter(0x4 | 0x100), 'T');
        assert_eq!(state_letter(0x4 | 0x80), 'T');
        assert_eq!(state_letter(0x402), 'D');
    }

    #[test]
    fn run_values_become_placeholders_and_typed_placeholders_are_marked() {
        remember("417".into(), "N");
        assert_eq!(normalize("417 of 417 opens, pid 4170"), "N of N opens, pid 4170");
        assert_eq!(normalize("N of N opens"), "N(typed) of N(typed) opens");
        remember("/tmp/workbook-abc".into(), "/tmp/workbook-XXX");
        assert_eq!(normalize("openat(\"/tmp/workbook-abc\")"), "openat(\"/tmp/workbook-XXX\")");
        assert_eq!(normalize("openat(\"/tmp/workbook-XXX\")"), "openat(\"/tmp/workbook-XXX(typed)\")");
        assert_eq!(normalize("openat(\"/tmp/wo\")"), "openat(\"/tmp/wo\")");
    }
}
