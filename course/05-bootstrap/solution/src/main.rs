//! Lesson 05: `bootstrap`, a tool that prints each process's start (exec) and
//! end (exit), with its parent, its exit code and how long it ran.

mod check;

use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use harness::{Lesson, Stage};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{ErrorKind, OpenObject, PrintLevel, RingBufferBuilder};

include!(concat!(env!("OUT_DIR"), "/bootstrap.skel.rs"));

use types::{event, event_kind};

/// Trace process starts (exec) and exits, with their parent, exit code and lifetime.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Report only processes that ran at least MS milliseconds, and no execs
    #[arg(short, long, value_name = "MS", default_value_t = 0)]
    duration: u64,
    /// Show libbpf's debug log
    #[arg(short, long)]
    verbose: bool,
}

const HEADER: &str = "TIME     EVENT COMM             PID     PPID    FILENAME/EXIT CODE";

fn main() -> ExitCode {
    if harness::checking() {
        return harness::run(check::run);
    }
    let args = Args::parse();
    harness::run(|lesson| {
        let level = if args.verbose { PrintLevel::Debug } else { PrintLevel::Info };
        libbpf_rs::set_print(Some((level, harness::libbpf_log)));
        let mut object = MaybeUninit::uninit();
        let skel = start(lesson, &mut object, Duration::from_millis(args.duration))?;

        let running = Arc::new(AtomicBool::new(true));
        let stop = running.clone();
        ctrlc::set_handler(move || stop.store(false, Ordering::SeqCst))?;

        let output_open = running.clone();
        let mut builder = RingBufferBuilder::new();
        builder.add(&skel.maps.events, move |data| {
            if let Some(event) = parse(data) {
                let time = chrono::Local::now().format("%H:%M:%S").to_string();
                let shown = line(&time, &event, &event.pid.to_string(), &event.ppid.to_string());
                // A closed pipe, as in `bootstrap | head`, ends the run quietly.
                if writeln!(std::io::stdout(), "{shown}").is_err() {
                    output_open.store(false, Ordering::SeqCst);
                }
            }
            0
        })?;
        let ring = builder.build()?;
        writeln!(std::io::stdout(), "{HEADER}")?;
        while running.load(Ordering::SeqCst) {
            match ring.poll(Duration::from_millis(100)) {
                Err(error) if error.kind() == ErrorKind::Interrupted => {} // Ctrl-C
                other => other?,
            }
        }
        Ok(())
    })
}

/// Opens, loads and attaches the program. With a `min_duration`, it sends no
/// exec events, and only the exits of processes that ran at least that long.
fn start<'obj>(
    lesson: &mut Lesson,
    object: &'obj mut MaybeUninit<OpenObject>,
    min_duration: Duration,
) -> anyhow::Result<BootstrapSkel<'obj>> {
    let mut open = lesson.stage(Stage::Open, || BootstrapSkelBuilder::default().open(object))?;
    // Before load: libbpf freezes .rodata then, and the verifier reads it as constants.
    let rodata = open.maps.rodata_data.as_deref_mut().context("the object has no .rodata")?;
    rodata.min_duration_ns = u64::try_from(min_duration.as_nanos())?;
    let mut skel = lesson.stage(Stage::Load, || open.load())?;
    // The skeleton keeps the links, so the programs stay attached as long as it lives.
    lesson.stage(Stage::Attach, || skel.attach())?;
    Ok(skel)
}

/// A ring buffer record, as the program's `struct event`.
fn parse(data: &[u8]) -> Option<event> {
    // SAFETY: `event` is plain data (integers and byte arrays), and `data` holds enough bytes.
    (data.len() >= size_of::<event>()).then(|| unsafe { data.as_ptr().cast::<event>().read_unaligned() })
}

/// One line of output. The ids come as text, so the self-check can show them by name.
fn line(time: &str, event: &event, pid: &str, ppid: &str) -> String {
    let comm = text(&event.comm);
    let (kind, detail) = match event.kind {
        event_kind::EVENT_EXEC => ("EXEC", text(&event.filename)),
        // A lifetime of 0: no exec seen for this process (it started before the program,
        // forked without exec, or its exec did not fit in the map of exec times).
        _ if event.duration_ns == 0 => ("EXIT", event.exit_code.to_string()),
        _ => ("EXIT", format!("{} ({}ms)", event.exit_code, event.duration_ns / 1_000_000)),
    };
    format!("{time:<8} {kind:<5} {comm:<16} {pid:<7} {ppid:<7} {detail}")
}

/// A C string from a fixed-size buffer: the bytes before the first NUL.
fn text(chars: &[i8]) -> String {
    let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
