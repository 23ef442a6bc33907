//! Ctrl-C, a closed terminal or a `kill`: the checker notes the signal instead
//! of dying, so it can stop the lesson's loader first. A loader left running
//! would keep its BPF programs in the kernel.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// From now on SIGINT, SIGTERM and SIGHUP only set a flag that [`requested`] reads.
pub fn catch() {
    // ctrlc runs this on a thread of its own, not inside the signal handler.
    if let Err(error) = ctrlc::set_handler(|| REQUESTED.store(true, Ordering::SeqCst)) {
        eprintln!("warning: Ctrl-C will stop the lesson's loader abruptly: {error}");
    }
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The error a command returns once the user stopped it.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted; nothing the lesson loaded stays in the kernel")
    }
}

impl std::error::Error for Interrupted {}

/// `Err(Interrupted)` once the user asked to stop.
pub fn check() -> anyhow::Result<()> {
    if requested() {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// Sends `signal` to a process group (`pgid` > 0); a group already gone is fine.
pub fn signal_group(pgid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid addresses a process group; no memory is shared.
    unsafe { libc::kill(-(pgid as libc::pid_t), signal) };
}

/// Sends `signal` to one process.
pub fn signal_process(pid: u32, signal: libc::c_int) {
    // SAFETY: as above, for a single process.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

/// Whether any process of group `pgid` is still running. A zombie does not
/// count: it has already closed its files, BPF ones included, and only waits
/// for its new parent (often a slow init in containers) to reap it.
pub fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else { return false };
    entries.filter_map(|e| e.ok()).any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { return false };
        // `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) && fields.first() != Some(&"Z")
    })
}
