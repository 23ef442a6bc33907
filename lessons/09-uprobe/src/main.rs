//! Lesson 09: uprobes on `square`, a function of this very binary, and on
//! libc's `atoi`. The loader calls both from several threads with numbers
//! chosen for the run, while another process runs the same code, and checks
//! that the program saw exactly this process's calls and what `square` returned.

use std::ffi::CString;
use std::hint::black_box;
use std::mem::MaybeUninit;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};
use harness::Stage;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::UprobeOpts;

include!(concat!(env!("OUT_DIR"), "/uprobe.skel.rs"));

/// The function the program probes.
pub fn square(x: u64) -> u64 {
    x * x
}

/// The argument that makes this binary the other process.
const OTHER: &str = "--other-process";

fn main() -> ExitCode {
    // Keeps square in the binary, where the linker would drop a function nothing
    // refers to. (Not a `#[used]` static: older rustc let the linker drop it.)
    black_box(square as fn(u64) -> u64);
    if std::env::args().nth(1).as_deref() == Some(OTHER) {
        black_box(call_both(&numbers(50)));
        return ExitCode::SUCCESS;
    }
    harness::run(|lesson| {
        let mut object = MaybeUninit::uninit();
        let mut open = lesson.stage(Stage::Open, || UprobeSkelBuilder::default().open(&mut object))?;
        open.maps.rodata_data.as_deref_mut().context("the object has no .rodata")?.loader_tgid = std::process::id();
        let skel = lesson.stage(Stage::Load, || open.load())?;

        // -1: every process that runs the code; the program keeps the loader's calls.
        let progs = &skel.progs;
        let probe = |name: &str, retprobe| UprobeOpts { func_name: Some(name.into()), retprobe, ..Default::default() };
        let _links = lesson.stage(Stage::Attach, || {
            Ok([
                // This very binary: the lesson's package builds it as `uprobe`.
                progs.enter_square.attach_uprobe_with_opts(-1, "uprobe", 0, probe("square", false))?,
                progs.leave_square.attach_uprobe_with_opts(-1, "uprobe", 0, probe("square", true))?,
                // libbpf finds a library's file as the dynamic loader would.
                progs.enter_atoi.attach_uprobe_with_opts(-1, "libc.so.6", 0, probe("atoi", false))?,
            ])
        })?;

        let mut other = Command::new(std::env::current_exe()?).arg(OTHER).spawn()?;
        // Numbers chosen for this run: a few on the main thread, the rest on other threads.
        let all = numbers(fastrand::usize(40..200));
        let (main, rest) = all.split_at(fastrand::usize(1..all.len() / 4));
        let per_thread = rest.len().div_ceil(fastrand::usize(2..=4));
        let (main_total, rest_total) = std::thread::scope(|scope| {
            let threads: Vec<_> = rest.chunks(per_thread).map(|part| scope.spawn(|| call_both(part))).collect();
            let main_total = call_both(main);
            let rest_total = threads.into_iter().map(|t| t.join().expect("a calling thread panicked")).fold(0, u64::wrapping_add);
            (main_total, rest_total)
        });
        other.wait()?;

        let bss = skel.maps.bss_data.as_deref().context("the object has no .bss")?;
        let calls = |seen: u64| match seen {
            _ if seen == all.len() as u64 => "every call",
            0 => "no call",
            _ if seen == main.len() as u64 => "the main thread's calls only",
            _ if seen > all.len() as u64 => "more calls than this process made",
            _ => "some of its calls",
        };
        let (returns, total) = (harness::fresh(&bss.square_returns), harness::fresh(&bss.square_total));
        let returned = match returns {
            _ if returns == all.len() as u64 && total == main_total.wrapping_add(rest_total) => "each value it returned",
            0 => "no return",
            _ if returns == main.len() as u64 && total == main_total => "the main thread's values only",
            _ => "values it did not return",
        };
        let square_calls = calls(harness::fresh(&bss.square_calls));
        let atoi_calls = calls(harness::fresh(&bss.atoi_calls));
        lesson.observed(format!("square: {square_calls}, {returned}; atoi: {atoi_calls}"));
        if (square_calls, returned, atoi_calls) != ("every call", "each value it returned", "every call") {
            bail!("the program's counts differ from the calls this process made");
        }
        Ok(())
    })
}

/// Numbers for square() to square and atoi() to parse, chosen for the run.
fn numbers(count: usize) -> Vec<u64> {
    std::iter::repeat_with(|| fastrand::u64(2..1_000_000)).take(count).collect()
}

/// Calls square() and libc's atoi() once for each number; returns the sum of
/// what square() returned.
fn call_both(numbers: &[u64]) -> u64 {
    let mut total = 0u64;
    for &n in numbers {
        total = total.wrapping_add(square(black_box(n)));
        let text = CString::new(n.to_string()).expect("digits hold no NUL");
        // SAFETY: atoi reads the NUL-terminated string and nothing else.
        let parsed = unsafe { libc::atoi(text.as_ptr()) };
        assert_eq!(u64::try_from(parsed).ok(), Some(n), "atoi parsed {text:?}");
    }
    total
}
