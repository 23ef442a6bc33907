//! Locks that let two checks, or `watch` beside `check`, run at once safely:
//! one per lesson around build, run and progress, and one around the progress
//! file's read-modify-write. The kernel drops a lock when its holder exits,
//! however it exits, so a crash never leaves a lesson locked.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::machine::interrupt;

/// Held until dropped.
pub struct Held {
    _file: File,
}

fn locks_dir(root: &Path) -> PathBuf {
    root.join("target/workbook/locks")
}

/// Lesson `number`'s lock, for one build-and-run. Says so on stderr if it has to wait.
pub fn lesson(root: &Path, number: &str, doing: &str) -> Result<Held> {
    acquire(&locks_dir(root).join(format!("{number}.lock")), doing, |holder| {
        format!("waiting for another run of lesson {number} to finish ({holder})")
    })
}

/// The progress file's lock, for one read-modify-write.
pub fn progress(root: &Path) -> Result<Held> {
    acquire(&locks_dir(root).join("progress.lock"), "progress", |holder| format!("waiting for the progress file ({holder})"))
}

/// The room sender's lock: one sender posts the queue at a time, so each record goes once and in order.
pub fn room_sender(root: &Path) -> Result<Held> {
    acquire(&locks_dir(root).join("room-send.lock"), "room send", |holder| format!("waiting for the room sender ({holder})"))
}

/// The room retrier's lock, if nobody holds it: one sender keeps trying while the room is down.
pub fn try_room_retrier(root: &Path) -> Result<Option<Held>> {
    let path = locks_dir(root).join("room-retry.lock");
    std::fs::create_dir_all(locks_dir(root))?;
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening the lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Held { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => Err(error).with_context(|| format!("locking {}", path.display())),
    }
}

fn acquire(path: &Path, doing: &str, waiting: impl Fn(&str) -> String) -> Result<Held> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("opening the lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() { "another process" } else { holder };
            eprintln!("{}", waiting(holder));
            // Polled rather than blocking, so Ctrl-C still ends the wait.
            loop {
                std::thread::sleep(Duration::from_millis(100));
                interrupt::check()?;
                match file.try_lock() {
                    Ok(()) => break,
                    Err(TryLockError::WouldBlock) => continue,
                    Err(TryLockError::Error(error)) => {
                        return Err(error).with_context(|| format!("locking {}", path.display()));
                    }
                }
            }
        }
        Err(TryLockError::Error(error)) => {
            return Err(error).with_context(|| format!("locking {}", path.display()));
        }
    }
    // Who holds it, for the next one that waits.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{doing}, pid {}", std::process::id());
    Ok(Held { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_second_holder_waits_until_the_first_lets_go() {
        let root = std::env::temp_dir().join(format!("xtask-lock-test-{}", std::process::id()));
        let first = lesson(&root, "01", "check").unwrap();
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let root = root.clone();
            std::thread::spawn(move || {
                let _second = lesson(&root, "01", "watch").unwrap();
                tx.send(()).unwrap();
            })
        };
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "got the lock while it was held");
        // Another lesson is not blocked.
        drop(lesson(&root, "02", "check").unwrap());
        drop(first);
        rx.recv_timeout(Duration::from_secs(5)).expect("the lock was never handed over");
        waiter.join().unwrap();
        let _ = std::fs::remove_dir_all(&root);
    }
}
