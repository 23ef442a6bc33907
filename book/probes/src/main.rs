//! Runs one probe by name and prints its transcript: a real clang, libbpf or
//! kernel failure that the book quotes outside the lessons.
//!
//! `probes list` names them all; `probes <name>` runs one. Kernel probes need root.

mod xdp;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use harness::{Lesson, Stage};
use libbpf_rs::{ObjectBuilder, OpenObject, PrintLevel};

/// A probe's name, the namespace it runs in (a shell command run first inside
/// `unshare --mount`), and what it does.
struct Probe {
    name: &'static str,
    setup: Option<&'static str>,
    run: fn(&mut Lesson) -> Result<()>,
}

const PROBES: &[Probe] = &[
    Probe { name: "core-read-without-g", setup: None, run: |_| compile("core_read_without_g.bpf.c", Flags::NoDebugInfo) },
    Probe { name: "vmlinux-h-not-on-include-path", setup: None, run: |_| compile("core_read_without_g.bpf.c", Flags::NoVmlinuxPath) },
    Probe { name: "uapi-header-with-vmlinux-h", setup: None, run: |_| compile("uapi_with_vmlinux.bpf.c", Flags::Usual) },
    Probe { name: "uapi-header-with-asm-path", setup: None, run: |_| compile("uapi_with_vmlinux.bpf.c", Flags::AsmPath) },
    Probe { name: "not-a-bpf-object", setup: None, run: not_a_bpf_object },
    Probe { name: "tracefs-not-mounted", setup: Some(UNMOUNT_TRACEFS), run: |l| attach(l, "tracepoints", "with_category") },
    Probe { name: "tp-without-category", setup: None, run: |l| attach(l, "tracepoints", "without_category") },
    Probe { name: "raw-tp-wrong-name", setup: None, run: |l| attach(l, "tracepoints", "raw_wrong_name") },
    Probe { name: "kprobe-with-attach-target", setup: None, run: kprobe_with_attach_target },
    Probe { name: "no-kernel-btf", setup: Some("mount -t tmpfs none /sys/kernel/btf"), run: |l| attach(l, "core_read", "read_pid") },
    Probe { name: "relocation-debug-log", setup: None, run: |l| quoting_log("no matching targets", l, "missing_field", "read_missing") },
    Probe { name: "percpu-value-too-big", setup: None, run: |l| attach(l, "percpu_too_big", "use_scratch") },
    Probe { name: "compiled-at-o0", setup: None, run: |l| quoting_log("invalid mem access", l, "unoptimised", "count_openat") },
    Probe { name: "xdp-attach-twice", setup: None, run: xdp::attach_twice },
];

/// Hides tracefs wherever libbpf looks for it, in this mount namespace only.
const UNMOUNT_TRACEFS: &str = "umount /sys/kernel/tracing; umount /sys/kernel/debug 2>/dev/null; true";

/// Set in the probe's own process once `unshare` has run its setup.
const IN_NAMESPACE: &str = "PROBES_IN_NAMESPACE";

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_default();
    if name == "list" {
        PROBES.iter().for_each(|p| println!("{}", p.name));
        return ExitCode::SUCCESS;
    }
    let Some(probe) = PROBES.iter().find(|p| p.name == name) else {
        eprintln!("usage: probes list | probes <name>; `{name}` is not a probe");
        return ExitCode::from(2);
    };
    match probe.setup {
        Some(setup) if std::env::var_os(IN_NAMESPACE).is_none() => in_namespace(setup, &name),
        // Objects are opened by relative paths, so that transcripts name no folder.
        _ => match std::env::set_current_dir(env!("OUT_DIR")) {
            Ok(()) => harness::run(probe.run),
            Err(error) => {
                eprintln!("cannot enter the folder of the probes' objects: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Runs this probe again inside a private mount namespace, after `setup`.
fn in_namespace(setup: &str, name: &str) -> ExitCode {
    let status = std::env::current_exe().and_then(|exe| {
        Command::new("unshare")
            .args(["--mount", "sh", "-c", &format!("{setup} && exec \"$0\" \"$1\"")])
            .arg(exe)
            .arg(name)
            .env(IN_NAMESPACE, "1")
            .status()
    });
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("cannot run unshare: {error}");
            ExitCode::FAILURE
        }
    }
}

fn object(name: &str) -> String {
    format!("{name}.bpf.o")
}

/// Opens, loads and attaches one program of an object.
fn attach(lesson: &mut Lesson, object_name: &str, program: &str) -> Result<()> {
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object(object_name)))?;
    load_and_attach(lesson, open, program)
}

fn load_and_attach(lesson: &mut Lesson, open: OpenObject, program: &str) -> Result<()> {
    let obj = lesson.stage(Stage::Load, || open.load())?;
    let prog = obj.progs_mut().find(|p| p.name() == program).context("no such program")?;
    let _link = lesson.stage(Stage::Attach, || prog.attach())?;
    Ok(())
}

/// `set_attach_target` is for BTF-attached programs; on a kprobe libbpf accepts it.
fn kprobe_with_attach_target(lesson: &mut Lesson) -> Result<()> {
    let mut open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("tracepoints")))?;
    let mut prog = open.progs_mut().find(|p| p.name() == "on_kprobe").context("no such program")?;
    prog.set_attach_target(0, Some("do_sys_openat2".into()))?;
    load_and_attach(lesson, open, "on_kprobe")
}

/// A host object: what clang makes without `-target bpf`.
fn not_a_bpf_object(lesson: &mut Lesson) -> Result<()> {
    lesson.stage(Stage::Open, || ObjectBuilder::default().open_file("host.o"))?;
    Ok(())
}

/// What `quoting_log` looks for in libbpf's log.
static QUOTED: OnceLock<&str> = OnceLock::new();

/// Runs a program like `attach`, and also prints the libbpf log lines that
/// contain `needle`: transcripts keep only the first warn-level lines, and
/// some messages are at debug level or come later.
fn quoting_log(needle: &'static str, lesson: &mut Lesson, object_name: &str, program: &str) -> Result<()> {
    QUOTED.get_or_init(|| needle);
    libbpf_rs::set_print(Some((PrintLevel::Debug, |level, message: String| {
        let needle = QUOTED.get().expect("set before printing");
        for line in message.lines().filter(|l| l.contains(needle)) {
            println!("log      {}", harness::redact::line(line));
        }
        harness::libbpf_log(level, message);
    })));
    attach(lesson, object_name, program)
}

#[derive(Clone, Copy, PartialEq)]
enum Flags {
    Usual,
    NoDebugInfo,
    NoVmlinuxPath,
    /// Adds the multiarch folder that holds `asm/types.h`, as people do to get past its absence.
    AsmPath,
}

/// Compiles `src/clang/<file>` and prints clang's first error line.
fn compile(file: &str, flags: Flags) -> Result<()> {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let clang = std::env::var_os("CLANG").unwrap_or_else(|| "clang".into());
    let mut command = Command::new(&clang);
    command.current_dir(manifest_dir).args(["-O2", "-target", "bpf"]);
    if flags != Flags::NoDebugInfo {
        command.arg("-g");
    }
    if flags != Flags::NoVmlinuxPath {
        command.arg(format!("-I../../vmlinux/{}", std::env::consts::ARCH));
    }
    if flags == Flags::AsmPath {
        command.arg(format!("-I/usr/include/{}-linux-gnu", std::env::consts::ARCH));
    }
    command.arg(concat!("-I", env!("BPF_INCLUDE")));
    command.args(["-c", &format!("src/clang/{file}"), "-o", "/dev/null"]);
    let output = command.output().with_context(|| format!("running {}", clang.to_string_lossy()))?;
    if output.status.success() {
        println!("compile  ok");
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors = stderr.lines().filter(|l| l.contains("error: ")).count();
    println!("compile  FAILED  clang: {errors} error(s)");
    match stderr.lines().find(|l| l.contains("error: ")) {
        Some(first) => println!("         {first}"),
        None => bail!("clang failed without an error line"),
    }
    println!("stopped  at compile");
    Ok(())
}
