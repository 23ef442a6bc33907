//! EBUSY: the same XDP program attached twice to `lo` with the no-replace
//! flag. It runs in a network namespace of its own, whose `lo` nobody else
//! uses and which disappears, with the program, when the probe exits.

use std::os::fd::AsFd;

use anyhow::{bail, Context, Result};
use harness::{Lesson, Stage};
use libbpf_rs::{ObjectBuilder, Xdp, XdpFlags};

/// `lo` is the first interface of every network namespace.
const LOOPBACK: i32 = 1;

pub fn attach_twice(lesson: &mut Lesson) -> Result<()> {
    // SAFETY: unshare changes only this process's network namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        bail!("cannot enter a new network namespace: {}", std::io::Error::last_os_error());
    }
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file("xdp_pass.bpf.o"))?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    let prog = obj.progs().find(|p| p.name() == "pass").context("no such program")?;
    let xdp = Xdp::new(prog.as_fd());
    lesson.stage(Stage::Attach, || xdp.attach(LOOPBACK, XdpFlags::UPDATE_IF_NOEXIST))?;
    lesson.stage(Stage::Attach, || xdp.attach(LOOPBACK, XdpFlags::UPDATE_IF_NOEXIST))?;
    Ok(())
}
