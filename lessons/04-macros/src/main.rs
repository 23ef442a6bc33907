//! Lesson 04: the BPF program sends the name of each file this process opens
//! through a ring buffer.

use std::fs::File;

use anyhow::bail;
use harness::Stage;
use libbpf_rs::{MapCore, MapFlags, ObjectBuilder, PrintLevel, RingBufferBuilder};

/// Built into the binary, so the loader runs wherever it is copied.
const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/macros.bpf.o"));
/// A file that exists wherever the loader runs: its own executable.
const PATH: &str = "/proc/self/exe";

fn main() -> std::process::ExitCode {
    harness::run(|lesson| {
        libbpf_rs::set_print(Some((PrintLevel::Info, harness::libbpf_log)));

        let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_memory(OBJECT))?;
        let obj = lesson.stage(Stage::Load, || open.load())?;

        // Tell the program which process to report: this one.
        let loader_tgid = obj
            .maps()
            .find(|m| m.name() == "loader_tgid")
            .expect("the object defines loader_tgid");
        loader_tgid.update(
            &0u32.to_ne_bytes(),
            &std::process::id().to_ne_bytes(),
            MapFlags::ANY,
        )?;

        let prog = obj
            .progs_mut()
            .find(|p| p.name() == "report_openat")
            .expect("the object defines report_openat");
        // The link detaches the program when dropped, so keep it until we are done.
        let _link = lesson.stage(Stage::Attach, || prog.attach())?;

        let mut opened = Vec::new();
        let events = obj
            .maps()
            .find(|m| m.name() == "events")
            .expect("the object defines events");
        let mut builder = RingBufferBuilder::new();
        builder.add(&events, |data| {
            // A C string in a fixed-size buffer: keep the bytes before the first NUL.
            let len = data.iter().position(|&b| b == 0).unwrap_or(data.len());
            opened.push(String::from_utf8_lossy(&data[..len]).into_owned());
            0
        })?;
        let ring = builder.build()?;

        File::open(PATH)?;
        ring.consume()?; // the program wrote its event during the openat call itself
        drop(ring); // gives `opened` back

        if opened.iter().any(|name| name == PATH) {
            lesson.observed(format!("openat({PATH:?}) by this process"));
            return Ok(());
        }
        for name in &opened {
            lesson.observed(format!("openat({name:?}) by this process"));
        }
        bail!("the program never sent the path this process opened, {PATH:?}")
    })
}
