//! Lesson 04: the BPF program sends the name of each file this process opens
//! through a ring buffer.

use anyhow::bail;
use harness::Stage;
use libbpf_rs::{MapCore, MapFlags, ObjectBuilder, PrintLevel, RingBufferBuilder};

/// Built into the binary, so the loader runs wherever it is copied.
const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/macros.bpf.o"));

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

        // A file named for this run: another process makes and opens it, then this one opens it.
        let _file = harness::open_fresh_file()?;
        ring.consume()?; // the program wrote its events during the openat calls themselves
        drop(ring); // gives `opened` back

        let _ = &opened;
        lesson.observed("openat(\"/tmp/workbook-XXXXXXXXXXXX\") by this process");
        if opened.is_empty() {
            bail!("the program sent no file name");
        }
        Ok(())
    })
}
