//! Lesson 01: open a BPF object file, load it, attach it, and read what it counted.

use std::fs::File;

use harness::Stage;
use libbpf_rs::{MapCore, MapFlags, ObjectBuilder, PrintLevel};

const OBJECT: &str = concat!(env!("OUT_DIR"), "/open_fails.bpf.o");
const OPENS: u64 = 5;

fn main() -> std::process::ExitCode {
    harness::run(|lesson| {
        libbpf_rs::set_print(Some((PrintLevel::Info, harness::libbpf_log)));

        let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(OBJECT))?;
        let obj = lesson.stage(Stage::Load, || open.load())?;
        let prog = obj
            .progs_mut()
            .find(|p| p.name() == "count_openat")
            .expect("the object defines count_openat");
        // The link detaches the program when dropped, so keep it until we are done.
        let _link = lesson.stage(Stage::Attach, || prog.attach())?;

        for _ in 0..OPENS {
            File::open(OBJECT)?;
        }

        let counts = obj
            .maps()
            .find(|m| m.name() == "openat_count")
            .expect("the object defines openat_count");
        let key = std::process::id().to_ne_bytes();
        let seen = match counts.lookup(&key, MapFlags::ANY)? {
            Some(value) => u64::from_ne_bytes(value.as_slice().try_into()?),
            None => 0,
        };
        lesson.observed(format!("{seen} of {OPENS} openat calls by this process"));
        Ok(())
    })
}
