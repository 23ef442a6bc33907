//! Lesson 03: watch a sleeping child process being switched out, and read its
//! state from its task_struct with CO-RE.

use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::Stage;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::PrintLevel;

include!(concat!(env!("OUT_DIR"), "/einval.skel.rs"));

/// The argument that turns this binary into the child it watches.
const CHILD_ARG: &str = "--sleeping-child";
/// How long to wait for the program to see the child switched out.
const PATIENCE: Duration = Duration::from_secs(2);
/// Values of the program's `field_read`.
const FIELD_STATE: u32 = 1;
const FIELD___STATE: u32 = 2;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(CHILD_ARG) {
        return sleeping_child();
    }
    harness::run(|lesson| {
        // Info: libbpf's warnings and progress. Debug adds every CO-RE relocation it tries.
        libbpf_rs::set_print(Some((PrintLevel::Info, harness::libbpf_log)));
        let mut child = spawn_sleeping_child()?;

        let mut builder = EinvalSkelBuilder::default();
        // Relocate against this BTF file instead of the running kernel's (for kernels without BTF).
        if let Some(path) = std::env::var_os("BTF_CUSTOM_PATH") {
            builder.object_builder_mut().btf_custom_path(path)?;
        }
        let mut object = MaybeUninit::uninit();
        let mut open = lesson.stage(Stage::Open, || builder.open(&mut object))?;
        let rodata = open.maps.rodata_data.as_deref_mut().context("no .rodata")?;
        rodata.watched_pid = i32::try_from(child.id())?;
        let skel = lesson.stage(Stage::Load, || open.load())?;
        let _link = lesson.stage(Stage::Attach, || skel.progs.on_switch.attach())?;

        // One byte wakes the child; it reads the byte and sleeps again. That
        // switch-out is the one the program records.
        let to_child = child.stdin.as_mut().context("no pipe to the child")?;
        to_child.write_all(b"x")?;
        let seen = skel.maps.bss_data.as_deref().context("no .bss")?;
        let deadline = Instant::now() + PATIENCE;
        while fresh(&seen.switch_outs) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let (switch_outs, state) = (fresh(&seen.switch_outs), fresh(&seen.last_state));
        let field = match fresh(&seen.field_read) {
            FIELD_STATE => "task_struct.state (the pre-5.14 layout)",
            FIELD___STATE => "task_struct.__state (the 5.14+ layout)",
            _ => "a field the program did not name",
        };
        let pid = child.id();
        drop(child.stdin.take()); // end of input: the child exits
        child.wait()?;

        let state = state_name(state);
        lesson.observed(match switch_outs {
            0 => format!("no switch-out of child pid {pid} within {PATIENCE:?}"),
            _ => format!("child pid {pid} switched out in state {state}, read from {field}"),
        });
        Ok(())
    })
}

/// Starts this binary again as the child to watch, and waits until it is about to sleep.
fn spawn_sleeping_child() -> anyhow::Result<Child> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg(CHILD_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the child process")?;
    // Its start-up must be over before the program is attached, so that the
    // only switch-out the program sees is the sleep.
    let mut from_child = child.stdout.take().context("no pipe from the child")?;
    from_child.read_exact(&mut [0])?;
    Ok(child)
}

/// The child: says it is ready, then sleeps in `read` (interruptible sleep,
/// `S` in `ps`), waking once per byte, until its input ends.
fn sleeping_child() -> ExitCode {
    let mut out = std::io::stdout();
    let _ = out.write_all(b"r").and_then(|()| out.flush());
    let mut byte = [0];
    while matches!(std::io::stdin().read(&mut byte), Ok(1)) {}
    ExitCode::SUCCESS
}

/// Reads a global of the program's .bss, which the program writes behind Rust's back.
fn fresh<T: Copy>(global: &T) -> T {
    // SAFETY: a plain value in memory libbpf has mapped; volatile, so every call reads it again.
    unsafe { std::ptr::read_volatile(global) }
}

/// The letter `ps` shows for a task state value.
fn state_name(state: i64) -> String {
    match state {
        0 => "R (running)".to_string(),
        1 => "S (interruptible sleep)".to_string(),
        2 => "D (uninterruptible sleep)".to_string(),
        other => format!("{other:#x}"),
    }
}
