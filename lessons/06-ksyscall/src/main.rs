//! Lesson 06: the BPF program reads the arguments of one openat(2) call, and
//! the loader checks them against the ones it passed.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::sync::mpsc;

use anyhow::{bail, Context};
use harness::Stage;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

include!(concat!(env!("OUT_DIR"), "/ksyscall.skel.rs"));

fn main() -> std::process::ExitCode {
    harness::run(|lesson| {
        let mut object = MaybeUninit::uninit();
        let open = lesson.stage(Stage::Open, || KsyscallSkelBuilder::default().open(&mut object))?;
        let mut skel = lesson.stage(Stage::Load, || open.load())?;
        lesson.stage(Stage::Attach, || skel.attach())?;

        // The call's arguments are chosen for this run: a directory descriptor
        // of an unusual number, a name that does not exist, and some flags.
        let call = Call::choose()?;
        // One thread makes the call, once the program knows which thread to read.
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (dfd, path, flags) = (call.dfd, call.path.clone(), call.flags);
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid and openat take plain values and a NUL-terminated path.
            let tid = unsafe { libc::gettid() };
            tid_tx.send(tid).ok();
            go_rx.recv().ok();
            // Straight to the system call: the C library may change flags on the way.
            unsafe { libc::syscall(libc::SYS_openat, dfd, path.as_ptr(), flags) }
        });
        let tid = tid_rx.recv().context("the calling thread did not start")?;
        let bss = skel.maps.bss_data.as_deref_mut().context("the object has no .bss")?;
        bss.target_tid = u32::try_from(tid)?;
        go_tx.send(()).ok();
        thread.join().ok().context("the calling thread panicked")?;

        let bss = skel.maps.bss_data.as_deref().context("the object has no .bss")?;
        let seen = harness::fresh(&bss.seen);
        if seen.calls == 0 {
            lesson.observed("no openat by the thread that made one");
            bail!("the program read no openat of the calling thread");
        }
        let mut wrong = Vec::new();
        if seen.calls != 1 {
            wrong.push(format!("{} calls where the thread made one", seen.calls));
        }
        if seen.dfd != i64::from(call.dfd) {
            wrong.push("dfd is not the directory passed".to_string());
        }
        let read = usize::try_from(seen.read).ok();
        match read {
            None => wrong.push(format!("the path could not be read: the read returned {}", errno(seen.read))),
            Some(len) => {
                let path: Vec<u8> = seen.path.iter().take(len.saturating_sub(1)).map(|&b| b as u8).collect();
                if path != call.path.as_bytes() || len != call.path.as_bytes().len() + 1 {
                    wrong.push("the path read is not the one passed".to_string());
                }
            }
        }
        if seen.flags != i64::from(call.flags) {
            wrong.push("flags are not the ones passed".to_string());
        }
        if wrong.is_empty() {
            lesson.observed("openat's dfd, path and flags, as the thread passed them");
            return Ok(());
        }
        lesson.observed(format!("an openat read wrong: {}", wrong.join("; ")));
        bail!("the program's openat arguments differ from the ones passed")
    })
}

/// The arguments of the one openat the loader makes.
struct Call {
    dfd: i32,
    path: CString,
    flags: i32,
}

impl Call {
    fn choose() -> anyhow::Result<Call> {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let name: String = (0..12).map(|_| char::from(LETTERS[fastrand::usize(..LETTERS.len())])).collect();
        let tmp = CString::new("/tmp")?;
        // SAFETY: a NUL-terminated path; the descriptor is checked below.
        let dir = unsafe { libc::open(tmp.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        anyhow::ensure!(dir >= 0, "opening /tmp: {}", std::io::Error::last_os_error());
        // SAFETY: duplicates the descriptor just opened, at a number chosen for this run.
        let dfd = unsafe { libc::fcntl(dir, libc::F_DUPFD_CLOEXEC, fastrand::i32(64..1000)) };
        anyhow::ensure!(dfd >= 0, "duplicating /tmp's descriptor: {}", std::io::Error::last_os_error());
        let extra = [libc::O_NOFOLLOW, libc::O_NONBLOCK, libc::O_NOCTTY, libc::O_NOATIME];
        let mut flags = libc::O_RDONLY | libc::O_CLOEXEC | extra[fastrand::usize(..extra.len())];
        for flag in extra {
            if fastrand::bool() {
                flags |= flag;
            }
        }
        Ok(Call { dfd, path: CString::new(format!("workbook-{name}"))?, flags })
    }
}

/// `-14 (EFAULT)` for a helper's negative return.
fn errno(value: i64) -> String {
    let name = match -value {
        2 => "ENOENT",
        14 => "EFAULT",
        22 => "EINVAL",
        34 => "ERANGE",
        _ => return value.to_string(),
    };
    format!("{value} ({name})")
}
