//! Lesson 02: attach a tracepoint and a kprobe, and count what each one sees.

use std::mem::MaybeUninit;

use anyhow::Context;
use harness::Stage;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::PrintLevel;

include!(concat!(env!("OUT_DIR"), "/attach.skel.rs"));

const NO_BSS: &str = "the object has no .bss";

fn main() -> std::process::ExitCode {
    harness::run(|lesson| {
        libbpf_rs::set_print(Some((PrintLevel::Info, harness::libbpf_log)));

        let mut object = MaybeUninit::uninit();
        let mut open = lesson.stage(Stage::Open, || AttachSkelBuilder::default().open(&mut object))?;
        let rodata = open.maps.rodata_data.as_deref_mut().context("the object has no .rodata")?;
        rodata.target_tgid = std::process::id();
        // Load the kprobe program only where the kernel can attach it.
        let kprobes = harness::kernel_has_kprobes();
        open.progs.count_clones.set_autoload(kprobes);
        let skel = lesson.stage(Stage::Load, || open.load())?;

        // The program stays attached only while its link lives.
        let _opens_link = lesson.stage(Stage::Attach, || skel.progs.count_opens.attach())?;
        // Only this window's opens count: a number chosen for this run, while
        // another process opens files too.
        let bss = skel.maps.bss_data.as_deref().context(NO_BSS)?;
        let before = harness::fresh(&bss.opens);
        let opens = harness::open_files()?;
        let seen = harness::fresh(&bss.opens) - before;
        lesson.observed_count(seen, opens, "file opens by this process");
        if opens != seen {
            return Ok(()); // the kprobe part waits until the tracepoint part works
        }

        if !kprobes {
            lesson.skipped("kprobe", "this kernel has no kprobes");
            return Ok(());
        }
        let _clones_link = lesson.stage(Stage::Attach, || skel.progs.count_clones.attach())?;
        let before = harness::fresh(&bss.clones);
        let threads = harness::start_threads()?;
        let seen = harness::fresh(&bss.clones) - before;
        lesson.observed_count(seen, threads, "new threads of this process");
        Ok(())
    })
}

