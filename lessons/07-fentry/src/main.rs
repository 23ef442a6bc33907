//! Lesson 07: BTF-typed programs read unlinkat(2) inside the kernel, and the
//! loader checks the directory, the name and the result against its own.

use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;

use anyhow::{bail, Context};
use harness::Stage;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

include!(concat!(env!("OUT_DIR"), "/fentry.skel.rs"));

fn main() -> std::process::ExitCode {
    harness::run(|lesson| {
        let mut object = MaybeUninit::uninit();
        let open = lesson.stage(Stage::Open, || FentrySkelBuilder::default().open(&mut object))?;
        let mut skel = lesson.stage(Stage::Load, || open.load())?;
        lesson.stage(Stage::Attach, || skel.attach())?;

        // One thread makes every call, each when the loader sends it, and
        // sends back what unlinkat returned.
        let (tid_tx, tid_rx) = mpsc::channel();
        let (call_tx, call_rx) = mpsc::channel::<(i32, CString)>();
        let (ret_tx, ret_rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid and unlinkat take plain values and a NUL-terminated name.
            tid_tx.send(unsafe { libc::gettid() }).ok();
            for (dfd, name) in call_rx {
                let ret = unsafe { libc::unlinkat(dfd, name.as_ptr(), 0) };
                let ret = if ret < 0 { -std::io::Error::last_os_error().raw_os_error().unwrap_or(0) } else { ret };
                ret_tx.send(ret).ok();
            }
        });
        let tid = tid_rx.recv().context("the calling thread did not start")?;
        let bss = skel.maps.bss_data.as_deref_mut().context("the object has no .bss")?;
        bss.target_tid = u32::try_from(tid)?;

        // Three calls, one for each result (0, -ENOENT, -EISDIR), in an order
        // chosen for the run: a program that writes one constant fails one.
        let mut kinds = [Kind::File, Kind::Missing, Kind::Directory];
        fastrand::shuffle(&mut kinds);
        let mut wrong = Vec::new();
        for kind in kinds {
            let call = Call::choose(kind)?;
            let bss = skel.maps.bss_data.as_deref_mut().context("the object has no .bss")?;
            bss.seen = Default::default();
            call_tx.send((call.dfd.as_raw_fd(), call.name.clone())).ok();
            let ret = ret_rx.recv().context("the calling thread stopped")?;

            let bss = skel.maps.bss_data.as_deref().context("the object has no .bss")?;
            let seen = harness::fresh(&bss.seen);
            if seen.calls == 0 {
                lesson.observed("no unlinkat by the thread that made one");
                bail!("the program read no unlinkat of the calling thread");
            }
            wrong = compare(&seen, &call, ret);
            if !wrong.is_empty() {
                break;
            }
        }
        drop(call_tx);
        thread.join().ok().context("the calling thread panicked")?;
        if wrong.is_empty() {
            lesson.observed("unlinkat's dfd, name and result, as the kernel saw them");
            return Ok(());
        }
        lesson.observed(format!("an unlinkat read wrong: {}", wrong.join("; ")));
        bail!("the program's unlinkat differs from the one made")
    })
}

/// What the program recorded that differs from the call made.
fn compare(seen: &types::unlink_call, call: &Call, ret: i32) -> Vec<String> {
    let mut wrong = Vec::new();
    if seen.calls != 1 {
        wrong.push(format!("{} calls where the thread made one", seen.calls));
    }
    if seen.dfd != i64::from(call.dfd.as_raw_fd()) {
        wrong.push("dfd is not the directory passed".to_string());
    }
    match usize::try_from(seen.read).ok() {
        None => wrong.push(format!("the name could not be read: the read returned {}", errno(seen.read))),
        Some(len) => {
            let name: Vec<u8> = seen.name.iter().take(len.saturating_sub(1)).map(|&b| b as u8).collect();
            if name != call.name.as_bytes() || len != call.name.as_bytes().len() + 1 {
                wrong.push("the name read is not the one passed".to_string());
            }
        }
    }
    if seen.returns != 1 {
        wrong.push(format!("{} results where the call returned once", seen.returns));
    } else if seen.ret != i64::from(ret) {
        wrong.push("the result is not what unlinkat returned".to_string());
    }
    wrong
}

/// What the name is when unlinkat runs, which decides its result.
#[derive(Clone, Copy)]
enum Kind {
    /// A file: unlinkat removes it and returns 0.
    File,
    /// Nothing: -ENOENT.
    Missing,
    /// A directory, which unlinkat without AT_REMOVEDIR refuses: -EISDIR.
    Directory,
}

/// One unlinkat the loader makes; dropping it closes the descriptor and
/// removes the directory.
struct Call {
    dfd: OwnedFd,
    dir: String,
    name: CString,
}

impl Call {
    /// A directory opened at a descriptor number of its own, and a name of
    /// its own in it.
    fn choose(kind: Kind) -> anyhow::Result<Call> {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let word = |n: usize| -> String { (0..n).map(|_| char::from(LETTERS[fastrand::usize(..LETTERS.len())])).collect() };
        let dir = format!("/tmp/workbook-{}", word(8));
        std::fs::create_dir(&dir).with_context(|| format!("creating {dir}"))?;
        let name = format!("unlink-{}", word(12));
        match kind {
            Kind::File => std::fs::write(format!("{dir}/{name}"), b"")?,
            Kind::Directory => std::fs::create_dir(format!("{dir}/{name}"))?,
            Kind::Missing => {}
        }
        let opened = std::fs::File::open(&dir).with_context(|| format!("opening {dir}"))?;
        // SAFETY: duplicates a descriptor we hold, at a number chosen for this call.
        let dfd = unsafe { libc::fcntl(opened.as_raw_fd(), libc::F_DUPFD_CLOEXEC, fastrand::i32(64..1000)) };
        anyhow::ensure!(dfd >= 0, "duplicating {dir}'s descriptor: {}", std::io::Error::last_os_error());
        // SAFETY: a descriptor just made, owned by nothing else.
        let dfd = unsafe { OwnedFd::from_raw_fd(dfd) };
        Ok(Call { dfd, dir, name: CString::new(name)? })
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// `-2 (ENOENT)` for a negative errno.
fn errno(value: i64) -> String {
    let name = match -value {
        2 => "ENOENT",
        14 => "EFAULT",
        34 => "ERANGE",
        _ => return value.to_string(),
    };
    format!("{value} ({name})")
}
