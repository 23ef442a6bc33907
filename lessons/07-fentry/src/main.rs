//! Lesson 07: BTF-typed programs read one unlinkat(2) inside the kernel, and
//! the loader checks the directory, the name and the result against its own.

use std::ffi::CString;
use std::mem::MaybeUninit;
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

        // The call is chosen for this run: a directory descriptor of an
        // unusual number, a name of its own, and what the name is, so that
        // unlinkat returns 0, -ENOENT or -EISDIR.
        let call = Call::choose()?;
        let (tid_tx, tid_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (dfd, name) = (call.dfd, call.name.clone());
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid and unlinkat take plain values and a NUL-terminated name.
            let tid = unsafe { libc::gettid() };
            tid_tx.send(tid).ok();
            go_rx.recv().ok();
            let ret = unsafe { libc::unlinkat(dfd, name.as_ptr(), 0) };
            if ret < 0 {
                -std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
            } else {
                ret
            }
        });
        let tid = tid_rx.recv().context("the calling thread did not start")?;
        let bss = skel.maps.bss_data.as_deref_mut().context("the object has no .bss")?;
        bss.target_tid = u32::try_from(tid)?;
        go_tx.send(()).ok();
        let ret = thread.join().ok().context("the calling thread panicked")?;
        call.clean();

        let bss = skel.maps.bss_data.as_deref().context("the object has no .bss")?;
        let seen = harness::fresh(&bss.seen);
        if seen.calls == 0 {
            lesson.observed("no unlinkat by the thread that made one");
            bail!("the program read no unlinkat of the calling thread");
        }
        let mut wrong = Vec::new();
        if seen.calls != 1 {
            wrong.push(format!("{} calls where the thread made one", seen.calls));
        }
        if seen.dfd != i64::from(call.dfd) {
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
        if wrong.is_empty() {
            lesson.observed("unlinkat's dfd, name and result, as the kernel saw them");
            return Ok(());
        }
        lesson.observed(format!("an unlinkat read wrong: {}", wrong.join("; ")));
        bail!("the program's unlinkat differs from the one made")
    })
}

/// The one unlinkat the loader makes, and what it leaves behind to clean.
struct Call {
    dfd: i32,
    dir: String,
    name: CString,
}

impl Call {
    fn choose() -> anyhow::Result<Call> {
        const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let word = |n: usize| -> String { (0..n).map(|_| char::from(LETTERS[fastrand::usize(..LETTERS.len())])).collect() };
        let dir = format!("/tmp/workbook-{}", word(8));
        std::fs::create_dir(&dir).with_context(|| format!("creating {dir}"))?;
        let name = format!("unlink-{}", word(12));
        // What the name is decides what unlinkat returns: 0, -ENOENT or -EISDIR.
        match fastrand::u8(..3) {
            0 => std::fs::write(format!("{dir}/{name}"), b"")?,
            1 => std::fs::create_dir(format!("{dir}/{name}"))?,
            _ => {}
        }
        let path = CString::new(dir.clone())?;
        // SAFETY: a NUL-terminated path; the descriptor is checked below.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        anyhow::ensure!(fd >= 0, "opening {dir}: {}", std::io::Error::last_os_error());
        // SAFETY: duplicates the descriptor just opened, at a number chosen for this run.
        let dfd = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, fastrand::i32(64..1000)) };
        anyhow::ensure!(dfd >= 0, "duplicating {dir}'s descriptor: {}", std::io::Error::last_os_error());
        Ok(Call { dfd, dir, name: CString::new(name)? })
    }

    fn clean(&self) {
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
