//! Lesson 08: the BPF program copies every byte this process writes to one
//! file descriptor, and the loader checks the copy against what it wrote.

use std::fs::File;
use std::io::Write;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;

use anyhow::{bail, Context};
use harness::Stage;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

include!(concat!(env!("OUT_DIR"), "/bounds.skel.rs"));

/// The longest write the program copies, as `MAX_WRITE` in the program.
const MAX_WRITE: usize = 256;

fn main() -> std::process::ExitCode {
    harness::run(|lesson| {
        // Two descriptors: the program copies the writes to the first and ignores the second.
        let mut watched = File::options().write(true).open("/dev/null")?;
        let mut ignored = File::options().write(true).open("/dev/null")?;

        let mut object = MaybeUninit::uninit();
        let mut open = lesson.stage(Stage::Open, || BoundsSkelBuilder::default().open(&mut object))?;
        let rodata = open.maps.rodata_data.as_deref_mut().context("the object has no .rodata")?;
        rodata.loader_tgid = std::process::id();
        rodata.watched_fd = u32::try_from(watched.as_raw_fd())?;
        let mut skel = lesson.stage(Stage::Load, || open.load())?;
        lesson.stage(Stage::Attach, || skel.attach())?;

        // Lengths and bytes chosen for this run: one write of the longest length, the others shorter.
        let mut writes: Vec<Vec<u8>> = (0..fastrand::usize(2..=5)).map(|_| random_bytes(fastrand::usize(1..MAX_WRITE))).collect();
        writes.insert(fastrand::usize(..=writes.len()), random_bytes(MAX_WRITE));
        for bytes in &writes {
            watched.write_all(bytes)?;
            ignored.write_all(&random_bytes(bytes.len()))?;
        }

        let bss = skel.maps.bss_data.as_deref().context("the object has no .bss")?;
        let captured = harness::fresh(&bss.captured);
        let written = writes.concat();
        let copied = &captured.data[..usize::try_from(captured.used)?.min(captured.data.len())];
        let copied: Vec<u8> = copied.iter().map(|&b| b as u8).collect();
        if copied == written && captured.writes == writes.len() as u64 {
            lesson.observed("every byte of every write, in order, as written");
            return Ok(());
        }
        lesson.observed(format!(
            "a copy that differs from what was written: {} bytes from {} writes, where {} bytes in {} writes were written",
            captured.used,
            captured.writes,
            written.len(),
            writes.len()
        ));
        bail!("the program's copy differs from what this process wrote")
    })
}

fn random_bytes(len: usize) -> Vec<u8> {
    std::iter::repeat_with(|| fastrand::u8(..)).take(len).collect()
}
