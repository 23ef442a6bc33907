//! Running a built loader with BPF privileges: directly as root, otherwise
//! through `sudo` (never `sudo cargo`), always under a timeout. However the
//! run ends (its own exit, the timeout, Ctrl-C), the loader is gone when this
//! returns, and with it every BPF program and link it held.

use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Once;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use transcript::Line;

use crate::machine::host;

use crate::machine::interrupt;

/// Set to 1 for every lesson binary the checker runs: a lesson that is also a
/// tool (lesson 05's `bootstrap`) runs its self-check then, not its command line.
pub const CHECK_VARIABLE: &str = "WORKBOOK_CHECK";

/// A loader must finish within this; the lessons take well under a second.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// `WORKBOOK_TIMEOUT` (seconds) overrides [`TIMEOUT`], e.g. for slow machines.
pub fn timeout() -> Duration {
    std::env::var("WORKBOOK_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map_or(TIMEOUT, Duration::from_secs)
}

/// How much of the transcript (and of the loader's own stdout) is kept; a
/// loader that prints every event it sees can write gigabytes before the
/// timeout stops it.
const TRANSCRIPT_LIMIT: usize = 64 * 1024;
/// The variable that tells the lesson harness where to write the transcript
/// (its own channel, so the loader's prints on stdout never change a verdict).
pub use transcript::channel::TRANSCRIPT_VAR;
/// How much of libbpf's log is kept (verifier logs can be long).
const LOG_LIMIT: usize = 8 * 1024 * 1024;

pub struct Output {
    /// The transcript lines the harness wrote to its channel.
    pub stdout: String,
    /// What the loader itself printed on stdout: shown, never compared.
    pub prints: String,
    /// libbpf's full log, and anything else the loader said.
    pub stderr: String,
    /// libbpf's full log, as the harness wrote it to its own file; `None`
    /// where the harness writes it to stderr (under qemu).
    pub libbpf_log: Option<String>,
    pub timed_out: bool,
    pub panicked: bool,
    /// Bytes of stdout dropped beyond [`TRANSCRIPT_LIMIT`].
    pub dropped: u64,
    /// The time limit it ran under.
    pub limit: Duration,
}

pub fn run_privileged(binary: &Path) -> Result<Output> {
    run_with_limit(binary, timeout(), &[])
}

/// [`run_privileged`] with extra environment variables for the loader.
pub fn run_privileged_with(binary: &Path, vars: &[(&str, &str)]) -> Result<Output> {
    run_with_limit(binary, timeout(), vars)
}

/// A named pipe for one run's transcript, which the loader (maybe root,
/// through sudo) writes to and this process reads: a pipe, so that a loader
/// that floods it fills no disk.
fn transcript_pipe() -> Result<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    use std::sync::atomic::{AtomicU32, Ordering};
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let n = RUNS.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("workbook-transcript-{}-{n}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o622) } != 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("creating {}", path.display()));
    }
    Ok(path)
}

fn run_with_limit(binary: &Path, limit: Duration, vars: &[(&str, &str)]) -> Result<Output> {
    interrupt::check()?;
    let channel = transcript_pipe()?;
    // The reading end first (non-blocking, so opening it waits for nobody),
    // then a writing end held while the loader runs: the reader sees the end
    // of the transcript only once this and the loader have closed it, and
    // never waits for a loader that does not open the pipe.
    let reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&channel)?;
    let held = std::fs::OpenOptions::new().write(true).open(&channel)?;
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe {
        let fd = reader.as_raw_fd();
        libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) & !libc::O_NONBLOCK);
    }
    let transcript = std::thread::spawn(move || read_capped(reader, TRANSCRIPT_LIMIT));
    let libbpf_log = LogFile::create()?;
    let mut vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    vars.push((TRANSCRIPT_VAR.to_string(), channel.display().to_string()));
    vars.push((transcript::channel::LIBBPF_LOG_VAR.to_string(), libbpf_log.0.display().to_string()));
    vars.push((CHECK_VARIABLE.to_string(), "1".to_string()));
    let as_root = host::is_root();
    let mut command = if as_root {
        let mut timeout = Command::new("timeout");
        // Its own process group, so Ctrl-C reaches only the checker, which then
        // stops the whole group: `timeout` and the loader under it.
        timeout.process_group(0);
        // Should the checker die without a chance to clean up (kill -9), the
        // kernel tells `timeout`, which stops the loader.
        // SAFETY: prctl and getppid are async-signal-safe, as pre_exec requires.
        let checker = std::process::id() as libc::pid_t;
        unsafe {
            timeout.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() != checker {
                    libc::raise(libc::SIGTERM); // died before the line above took effect
                }
                Ok(())
            });
        }
        timeout
    } else if host::has_sudo() {
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| eprintln!("note: loading BPF needs root, so the lesson's binary runs under sudo"));
        let mut sudo = Command::new("sudo");
        // sudo resets the environment; `env` sets the harness's variables again.
        sudo.args(["--", "env"]).args(vars.iter().map(|(k, v)| format!("{k}={v}"))).arg("timeout");
        sudo
    } else {
        bail!("loading BPF needs root, and sudo is not installed; run as root, or see `cargo xtask doctor`");
    };
    let mut child = command
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .args(["--kill-after=5".to_string(), limit.as_secs().to_string()])
        .arg(binary)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", binary.display()))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let stdout = std::thread::spawn(move || read_capped(stdout, TRANSCRIPT_LIMIT));
    let stderr = std::thread::spawn(move || read_capped(stderr, LOG_LIMIT));

    // A thread waits for the loader, so its end is seen at once; this one
    // looks for an interrupt meanwhile.
    let pid = child.id();
    let (exit_sender, exited) = mpsc::channel();
    std::thread::spawn(move || exit_sender.send(child.wait()));
    let status = loop {
        match exited.recv_timeout(Duration::from_millis(20)) {
            Ok(status) => break status.context("waiting for the lesson's binary")?,
            Err(RecvTimeoutError::Disconnected) => bail!("the thread waiting for the lesson's binary ended"),
            Err(RecvTimeoutError::Timeout) if interrupt::requested() => {
                stop(pid, &exited, as_root);
                drop(held);
                let _ = std::fs::remove_file(&channel);
                return Err(interrupt::Interrupted.into());
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    };
    drop(held);
    let (prints, _) = stdout.join().unwrap_or_default();
    let (stderr, _) = stderr.join().unwrap_or_default();
    let (stdout, dropped) = transcript.join().unwrap_or_default();
    let _ = std::fs::remove_file(&channel);
    Ok(Output {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        prints: String::from_utf8_lossy(&prints).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        libbpf_log: Some(libbpf_log.read()),
        timed_out: matches!(status.code(), Some(124 | 137)),
        panicked: status.code() == Some(101),
        dropped,
        limit,
    })
}

/// The file the harness writes libbpf's log to: made by the checker, writable
/// by the loader (root, maybe through sudo), removed after the run.
struct LogFile(std::path::PathBuf);

impl LogFile {
    fn create() -> Result<LogFile> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let n = RUNS.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("workbook-libbpf-{}-{n}.log", std::process::id()));
        let _ = std::fs::remove_file(&path);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o622)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(LogFile(path))
    }

    fn read(&self) -> String {
        let file = std::fs::File::open(&self.0);
        file.map(|f| String::from_utf8_lossy(&read_capped(f, LOG_LIMIT).0).into_owned()).unwrap_or_default()
    }
}

impl Drop for LogFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Ends the run of `pid` now and waits until the loader is gone; `exited`
/// says when `pid` itself has.
fn stop<T>(pid: u32, exited: &mpsc::Receiver<T>, as_root: bool) {
    if as_root {
        interrupt::signal_group(pid, libc::SIGKILL);
    } else {
        // sudo passes SIGTERM on to `timeout`, which passes it to the loader
        // (and follows with SIGKILL after 5 s if that is ignored).
        interrupt::signal_process(pid, libc::SIGTERM);
    }
    let _ = exited.recv();
    // The loader is `timeout`'s child: wait until it has exited too, since its
    // exit is what closes its BPF file descriptors.
    let deadline = Instant::now() + Duration::from_secs(3);
    while as_root && interrupt::group_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Everything from `stream`, keeping at most `limit` bytes (cut at a line end)
/// and counting the rest, which is read and dropped so the writer never blocks.
fn read_capped(mut stream: impl Read, limit: usize) -> (Vec<u8>, u64) {
    let mut kept = Vec::new();
    let mut dropped = 0u64;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len()).min(n);
                kept.extend_from_slice(&buffer[..room]);
                dropped += (n - room) as u64;
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if dropped > 0 {
        let end = kept.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        dropped += (kept.len() - end) as u64;
        kept.truncate(end);
    }
    (kept, dropped)
}

impl Output {
    /// The loader's transcript, with a closing line when it did not end on its own.
    pub fn transcript_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.stdout.lines().map(str::to_string).collect();
        if self.dropped > 0 {
            lines.push(Line::OutputCut { kib: TRANSCRIPT_LIMIT as u64 / 1024 }.to_string());
        }
        if self.timed_out {
            lines.push(Line::Timeout { seconds: self.limit.as_secs() }.to_string());
        } else if self.panicked {
            let message = self.stderr.lines().skip_while(|l| !l.contains("panicked at")).nth(1).unwrap_or("(no message)");
            lines.push(Line::Panic(message.to_string()).to_string());
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_flood_is_cut_at_a_line_end_and_counted() {
        let flood = "event 123456\n".repeat(10_000);
        let (kept, dropped) = read_capped(flood.as_bytes(), 1000);
        assert!(kept.len() <= 1000 && kept.ends_with(b"\n"), "{} bytes kept", kept.len());
        assert_eq!(kept.len() as u64 + dropped, flood.len() as u64);
        assert_eq!(read_capped(&b"short\n"[..], 1000), (b"short\n".to_vec(), 0));
    }

    /// A stand-in loader: a shell script, so the test needs no BPF and no build.
    fn script(name: &str, body: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("xtask-runner-{name}-{}", std::process::id()));
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn root_or_skip(test: &str) -> bool {
        let root = host::is_root();
        if !root {
            eprintln!("skipped {test}: runs the loader directly only as root (CI runs as root)");
        }
        root
    }

    #[test]
    fn the_program_knows_the_checker_runs_it() {
        if !root_or_skip("the_program_knows_the_checker_runs_it") {
            return;
        }
        let tell = script("tell", "echo \"observed WORKBOOK_CHECK=$WORKBOOK_CHECK\" >> \"$WORKBOOK_TRANSCRIPT\"");
        let output = run_with_limit(&tell, Duration::from_secs(5), &[]).unwrap();
        assert_eq!(output.transcript_lines(), ["observed WORKBOOK_CHECK=1"]);
        let _ = std::fs::remove_file(tell);
    }

    #[test]
    fn a_program_that_hangs_is_stopped_with_a_clear_line() {
        if !root_or_skip("a_program_that_hangs_is_stopped_with_a_clear_line") {
            return;
        }
        let hang = script("hang", "echo 'attach   ok' >> \"$WORKBOOK_TRANSCRIPT\"\necho 'a print of its own'\nexec sleep 600");
        let started = Instant::now();
        let output = run_with_limit(&hang, Duration::from_secs(1), &[]).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        assert!(output.timed_out);
        assert_eq!(output.transcript_lines(), ["attach   ok", "timeout  stopped after 1 s"]);
        assert_eq!(output.prints, "a print of its own\n", "the loader's own prints stay out of the transcript");
        let _ = std::fs::remove_file(hang);
    }

    #[test]
    fn a_program_that_floods_is_stopped_and_its_output_bounded() {
        if !root_or_skip("a_program_that_floods_is_stopped_and_its_output_bounded") {
            return;
        }
        let flood = script("flood", "exec yes 'observed another event' >> \"$WORKBOOK_TRANSCRIPT\"");
        let output = run_with_limit(&flood, Duration::from_secs(1), &[]).unwrap();
        assert!(output.timed_out);
        assert!(output.dropped > 0 && output.stdout.len() <= TRANSCRIPT_LIMIT);
        let lines = output.transcript_lines();
        assert_eq!(lines[lines.len() - 2..], ["output   cut at 64 KiB: the program printed far more", "timeout  stopped after 1 s"]);
        let _ = std::fs::remove_file(flood);
    }
}
