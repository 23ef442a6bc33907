//! Lesson 01: open a BPF object file, load it, attach it, and read what it counted.

use harness::Stage;
use libbpf_rs::{MapCore, MapFlags, ObjectBuilder, PrintLevel};

const OBJECT: &str = concat!(env!("OUT_DIR"), "/open_fails.bpf.o");

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

        // A number of opens chosen for this run; another process opens files too.
        let opens = harness::open_files()?;

        let counts = obj
            .maps()
            .find(|m| m.name() == "openat_count")
            .expect("the object defines openat_count");
        let key = std::process::id().to_ne_bytes();
        let seen = match counts.lookup(&key, MapFlags::ANY)? {
            Some(value) => u64::from_ne_bytes(value.as_slice().try_into()?),
            None => 0,
        };
        lesson.observed_count(seen, opens, "openat calls by this process");
        Ok(())
    })
}
