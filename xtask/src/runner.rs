//! Running a built loader with BPF privileges: directly as root, otherwise
//! through `sudo` (never `sudo cargo`), always under a timeout.

use std::path::Path;
use std::process::Command;
use std::sync::Once;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::doctor;

/// A loader must finish within this; the lessons take well under a second.
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Output {
    /// The transcript lines the loader printed.
    pub stdout: String,
    /// libbpf's full log, and anything else the loader said.
    pub stderr: String,
    pub timed_out: bool,
    pub panicked: bool,
}

pub fn run_privileged(binary: &Path) -> Result<Output> {
    let timeout = ["--kill-after=5".to_string(), TIMEOUT.as_secs().to_string()];
    let mut command = if doctor::is_root() {
        Command::new("timeout")
    } else if doctor::has_sudo() {
        static NOTICE: Once = Once::new();
        NOTICE.call_once(|| eprintln!("note: loading BPF needs root, so the lesson's binary runs under sudo"));
        let mut sudo = Command::new("sudo");
        sudo.args(["--", "timeout"]);
        sudo
    } else {
        bail!("loading BPF needs root, and sudo is not installed; run as root, or see `cargo xtask doctor`");
    };
    let output = command
        .args(&timeout)
        .arg(binary)
        .output()
        .with_context(|| format!("running {}", binary.display()))?;
    Ok(Output {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        timed_out: matches!(output.status.code(), Some(124 | 137)),
        panicked: output.status.code() == Some(101),
    })
}

impl Output {
    /// The loader's transcript, with a closing line when it did not end on its own.
    pub fn transcript_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.stdout.lines().map(str::to_string).collect();
        if self.timed_out {
            lines.push(format!("timeout  stopped after {} s", TIMEOUT.as_secs()));
        } else if self.panicked {
            let message = self
                .stderr
                .lines()
                .skip_while(|l| !l.contains("panicked at"))
                .nth(1)
                .unwrap_or("(no message)");
            lines.push(format!("panic    {message}"));
        }
        lines
    }
}
