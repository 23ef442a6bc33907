//! Where transcript lines go: the file the checker names in
//! `WORKBOOK_TRANSCRIPT`, so that the loader's own prints on stdout never
//! change a verdict; stdout when the loader runs by hand.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

/// The variable the checker sets to the path of the transcript file.
pub const TRANSCRIPT_VAR: &str = "WORKBOOK_TRANSCRIPT";

/// The variable the checker sets to the file for libbpf's full log, so that
/// the loader's stderr holds only what the learner's own code wrote there.
pub const LIBBPF_LOG_VAR: &str = "WORKBOOK_LIBBPF_LOG";

static CHANNEL: Mutex<Option<Option<File>>> = Mutex::new(None);

/// Opens the channel now, before the program runs: an open later would be
/// one more `openat` by this process for the lesson's program to count.
pub fn open() {
    with_file(|_| ());
}

/// Writes one transcript line.
pub fn write(line: &crate::Line) {
    with_file(|file| match file {
        Some(file) => {
            let _ = writeln!(file, "{line}");
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    });
}

fn with_file(write: impl FnOnce(&mut Option<File>)) {
    let mut channel = CHANNEL.lock().unwrap_or_else(|e| e.into_inner());
    let file = channel.get_or_insert_with(|| {
        let path = std::env::var_os(TRANSCRIPT_VAR).filter(|p| !p.is_empty())?;
        // The checker made the file; appending keeps every line a child process adds too.
        OpenOptions::new().append(true).open(path).ok()
    });
    write(file);
}

/// Whether transcript lines go to their own file rather than stdout.
pub fn separate() -> bool {
    std::env::var_os(TRANSCRIPT_VAR).is_some_and(|p| !p.is_empty())
}
