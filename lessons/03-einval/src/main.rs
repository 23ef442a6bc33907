//! Lesson 03: watch a child process sleep and then stop, and read its state
//! from its task_struct with CO-RE each time it is switched out.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::Context;
use harness::{Change, SleepingChild, Stage};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::PrintLevel;

include!(concat!(env!("OUT_DIR"), "/einval.skel.rs"));

/// Values of the program's `field_read`.
const FIELD_STATE: u32 = 1;
const FIELD___STATE: u32 = 2;

fn main() -> ExitCode {
    harness::run(|lesson| {
        // Info: libbpf's warnings and progress. Debug adds every CO-RE relocation it tries.
        libbpf_rs::set_print(Some((PrintLevel::Info, harness::libbpf_log)));
        let mut child = SleepingChild::spawn()?;

        let mut builder = EinvalSkelBuilder::default();
        // Relocate against this BTF file instead of the running kernel's
        // (for kernels without BTF, or to try another kernel's layout).
        if let Some(path) = std::env::var_os("BTF_CUSTOM_PATH") {
            builder.object_builder_mut().btf_custom_path(path)?;
        }
        let mut object = MaybeUninit::uninit();
        let mut open = lesson.stage(Stage::Open, || builder.open(&mut object))?;
        let rodata = open.maps.rodata_data.as_deref_mut().context("no .rodata")?;
        rodata.watched_pid = i32::try_from(child.pid())?;
        let skel = lesson.stage(Stage::Load, || open.load())?;
        let _link = lesson.stage(Stage::Attach, || skel.progs.on_switch.attach())?;

        // The child sleeps, then is stopped. Each time, the state the program
        // read at its latest switch-out must be the one the kernel shows.
        let seen = skel.maps.bss_data.as_deref().context("no .bss")?;
        for change in [Change::Sleep, Change::Stop] {
            child.make(change)?;
            let state = child.await_state(change, || harness::fresh(&seen.last_state));
            lesson.observed(format!("child {change}: {state}"));
            // Which branch ran: shown, not judged (the states are the proof).
            let field = match harness::fresh(&seen.field_read) {
                FIELD_STATE => "task_struct.state (the pre-5.14 layout)",
                FIELD___STATE => "task_struct.__state (the 5.14+ layout)",
                _ => "a field the program did not name",
            };
            lesson.note(harness::NOTE, format!("read from {field}"));
        }
        Ok(())
    })
}
