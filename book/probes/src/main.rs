//! Runs one probe by name and prints its transcript: a real clang, libbpf or
//! kernel failure that the book quotes outside the lessons.
//!
//! `probes list` names them all; `probes <name>` runs one. Kernel probes need root.

mod xdp;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use harness::{Lesson, Line, Stage};

/// Writes a transcript line: on the checker's channel where it names one (in a
/// VM), else on stdout, like the harness's own lines.
fn write_line(line: Line) {
    harness::channel::write(&line);
}
use libbpf_rs::{AsRawLibbpf, MapCore, MapFlags, ObjectBuilder, OpenObject, PerfEventOpts, PrintLevel};

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
    Probe { name: "no-kernel-btf", setup: Some(HIDE_KERNEL_BTF), run: |l| attach(l, "core_read", "read_pid") },
    Probe {
        name: "kernel-btf-from-boot",
        setup: Some(KERNEL_BTF_IN_BOOT),
        run: |l| quoting_log(&["kernel BTF"], l, "core_read", "read_pid"),
    },
    Probe { name: "relocation-debug-log", setup: None, run: |l| quoting_log(&["no matching targets"], l, "missing_field", "read_missing") },
    Probe { name: "percpu-value-too-big", setup: None, run: |l| attach(l, "percpu_too_big", "use_scratch") },
    Probe { name: "compiled-at-o0", setup: None, run: |l| quoting_log(&["invalid mem access"], l, "unoptimised", "count_openat") },
    Probe {
        name: "btf-rejected-at-o0",
        setup: None,
        run: |l| quoting_log(&["BTF loading error", "Invalid arg", "BTF is optional"], l, "unoptimised_minimal", "count"),
    },
    Probe { name: "clang-default-isa", setup: None, run: |_| default_isa() },
    Probe { name: "debug-info-in-kernel", setup: None, run: debug_info_in_kernel },
    Probe { name: "map-fd-before-load", setup: None, run: map_fd_before_load },
    Probe { name: "wrong-size-flavor", setup: None, run: wrong_size_flavor },
    Probe { name: "core-toolbox", setup: None, run: core_toolbox },
    Probe { name: "min-core-btf", setup: Some(MIN_CORE_BTF), run: min_core_btf },
    Probe {
        name: "direct-read-of-kernel-pointer",
        setup: None,
        run: |l| quoting_log(&["invalid mem access"], l, "direct_read", "read_tgid"),
    },
    Probe { name: "direct-read-through-btf-pointer", setup: None, run: |l| attach(l, "btf_pointer", "read_tgid") },
    Probe { name: "direct-load-unsigned-wider", setup: None, run: direct_load_unsigned_wider },
    Probe {
        name: "direct-load-signed-wider",
        setup: None,
        run: |l| quoting_log(&["accesses field incorrectly"], l, "direct_loads", "signed_wider"),
    },
    Probe {
        name: "flavor-suffix-cut-at-last",
        setup: None,
        run: |l| quoting_log(&["candidate", "no matching targets"], l, "flavors", "one_suffix"),
    },
    Probe { name: "raw-tp-without-tracefs", setup: Some(UNMOUNT_TRACEFS), run: |l| attach(l, "core_read", "read_pid") },
    Probe { name: "tp-btf-without-tracefs", setup: Some(UNMOUNT_TRACEFS), run: |l| attach(l, "btf_pointer", "read_tgid") },
    Probe { name: "tracefs-through-debugfs", setup: Some(TRACEFS_ONLY_UNDER_DEBUGFS), run: |l| attach(l, "tracepoints", "with_category") },
    Probe { name: "attach-twice", setup: None, run: attach_twice },
    Probe { name: "tracepoint-program-limit", setup: None, run: tracepoint_program_limit },
    Probe { name: "user-pointer-reads", setup: None, run: user_pointer_reads },
    Probe { name: "kernel-read-under-lockdown", setup: None, run: kernel_read_under_lockdown },
    Probe { name: "pin-tracepoint-link", setup: Some(PRIVATE_BPFFS), run: |l| pin_tracepoint_link(l, Attach::Usual) },
    Probe { name: "pin-ioctl-attached-tracepoint", setup: Some(PRIVATE_BPFFS), run: |l| pin_tracepoint_link(l, Attach::Ioctl) },
    Probe { name: "xdp-attach-twice", setup: None, run: xdp::attach_twice },
];

/// An empty BPF file system, so that pinning leaves nothing behind.
const PRIVATE_BPFFS: &str = "mount -t bpf bpf /sys/fs/bpf";

/// Mounts an empty folder over each of these folders that exists.
macro_rules! hide {
    ($($folder:literal)*) => {
        concat!("for d in", $(" ", $folder,)* "; do [ ! -d $d ] || mount -t tmpfs none $d || exit 1; done")
    };
}

/// No kernel BTF anywhere libbpf looks for it (`btf__load_vmlinux_btf`), in this mount namespace only.
const HIDE_KERNEL_BTF: &str = hide!("/sys/kernel/btf" "/boot" "/lib/modules" "/usr/lib/modules" "/usr/lib/debug");

/// The kernel's BTF only as a file in `/boot`, where a debug vmlinux would be.
const KERNEL_BTF_IN_BOOT: &str = concat!(
    "mount -t tmpfs none /boot && cp /sys/kernel/btf/vmlinux /boot/vmlinux-$(uname -r) && ",
    hide!("/sys/kernel/btf" "/lib/modules" "/usr/lib/modules" "/usr/lib/debug")
);

/// tracefs only where old setups have it, under debugfs.
const TRACEFS_ONLY_UNDER_DEBUGFS: &str =
    "umount /sys/kernel/tracing 2>/dev/null; mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug";

/// Where `MIN_CORE_BTF` leaves the minimised BTF, and the size of the kernel's, before hiding it.
const MIN_BTF: &str = "/mnt/kernel_read.btf";
const KERNEL_BTF_SIZE: &str = "/mnt/vmlinux.size";

/// Only the kernel types one object needs, cut from the kernel's BTF by
/// bpftool into a file, and then no kernel BTF anywhere libbpf looks.
const MIN_CORE_BTF: &str = concat!(
    "mount -t tmpfs none /mnt && stat -c %s /sys/kernel/btf/vmlinux > /mnt/vmlinux.size && ",
    "bpftool gen min_core_btf /sys/kernel/btf/vmlinux /mnt/kernel_read.btf ",
    env!("OUT_DIR"),
    "/kernel_read.bpf.o > /dev/null && ",
    hide!("/sys/kernel/btf" "/boot" "/lib/modules" "/usr/lib/modules" "/usr/lib/debug")
);

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
static QUOTED: OnceLock<&[&str]> = OnceLock::new();

/// Runs a program like `attach`, and also prints the libbpf log lines that
/// contain one of `needles`, with their level: transcripts keep only the first
/// warn-level lines, and some messages are at info or debug level or come later.
fn quoting_log(needles: &'static [&'static str], lesson: &mut Lesson, object_name: &str, program: &str) -> Result<()> {
    print_quoting(needles);
    attach(lesson, object_name, program)
}

/// Installs the print callback of `quoting_log`: libbpf's log as usual, and
/// the lines that contain one of `needles` on the transcript, with their level.
fn print_quoting(needles: &'static [&'static str]) {
    QUOTED.get_or_init(|| needles);
    libbpf_rs::set_print(Some((PrintLevel::Debug, |level, message: String| {
        let needles = QUOTED.get().expect("set before printing");
        let release = kernel_release();
        for line in message.lines().filter(|l| needles.iter().any(|n| l.contains(n))) {
            let level = match level {
                PrintLevel::Warn => transcript::Level::Warn,
                PrintLevel::Info => transcript::Level::Info,
                PrintLevel::Debug => transcript::Level::Debug,
            };
            let line = line.replace(&release, "$(uname -r)");
            write_line(Line::Log { level, text: harness::redact::line(&line) });
        }
        harness::libbpf_log(level, message);
    })));
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|r| r.trim().to_string()).unwrap_or_default()
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
    let clang = std::env::var_os("CLANG").unwrap_or_else(|| env!("PROBES_CLANG").into());
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
        write_line(Line::ok(transcript::Stage::Compile));
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors = stderr.lines().filter(|l| l.contains("error: ")).count();
    write_line(Line::failed(transcript::Stage::Compile, format!("clang: {errors} error(s)")));
    match stderr.lines().find(|l| l.contains("error: ")) {
        Some(first) => write_line(Line::detail(first)),
        None => bail!("clang failed without an error line"),
    }
    write_line(Line::Stopped(transcript::Stage::Compile));
    Ok(())
}

/// `bpf_map__fd` on a map that load has not created yet.
fn map_fd_before_load(lesson: &mut Lesson) -> Result<()> {
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("counter")))?;
    let map = open.maps().find(|m| m.name() == "calls").context("no such map")?;
    // SAFETY: errno is this thread's; the map pointer comes from a live open object.
    let (fd, errno) = unsafe {
        *libc::__errno_location() = 0;
        let fd = libbpf_rs::libbpf_sys::bpf_map__fd(map.as_libbpf_object().as_ptr());
        (fd, *libc::__errno_location())
    };
    lesson.observed(format!("bpf_map__fd before load returned {fd}; errno is still {errno}"));
    let obj = lesson.stage(Stage::Load, || open.load())?;
    let map = obj.maps().find(|m| m.name() == "calls").context("no such map")?;
    // SAFETY: as above, on the loaded object.
    let fd = unsafe { libbpf_rs::libbpf_sys::bpf_map__fd(map.as_libbpf_object().as_ptr()) };
    lesson.observed(if fd >= 0 {
        "bpf_map__fd after load returned a file descriptor".into()
    } else {
        format!("bpf_map__fd after load returned {fd}")
    });
    Ok(())
}

/// Loads the same program built with and without `-g`, and asks the kernel
/// what it kept of each.
fn debug_info_in_kernel(lesson: &mut Lesson) -> Result<()> {
    for (object_name, how) in [("tracepoints", "with -g"), ("tracepoints_without_g", "without -g")] {
        let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object(object_name)))?;
        let obj = lesson.stage(Stage::Load, || open.load())?;
        let prog = obj.progs().find(|p| p.name() == "with_category").context("no such program")?;
        let mut info = libbpf_rs::libbpf_sys::bpf_prog_info::default();
        let mut len = std::mem::size_of_val(&info) as u32;
        // SAFETY: info is a bpf_prog_info and len its size; the kernel fills in at most len bytes.
        let ret = unsafe { libbpf_rs::libbpf_sys::bpf_prog_get_info_by_fd(prog.as_fd().as_raw_fd(), &mut info, &mut len) };
        if ret != 0 {
            bail!("bpf_prog_get_info_by_fd: {}", std::io::Error::from_raw_os_error(-ret));
        }
        lesson.observed(format!(
            "{how}: the kernel holds {} func_info and {} line_info records{}",
            info.nr_func_info,
            info.nr_line_info,
            if info.btf_id != 0 { ", and the program's BTF" } else { ", and no BTF" }
        ));
    }
    Ok(())
}

/// Opens, loads and attaches `program` of `object_name`, and keeps it attached.
fn attached(object_name: &str, program: &str) -> libbpf_rs::Result<(libbpf_rs::Object, libbpf_rs::Link)> {
    let obj = ObjectBuilder::default().open_file(object(object_name))?.load()?;
    let link = obj.progs_mut().find(|p| p.name() == program).expect("the object has the program").attach()?;
    Ok((obj, link))
}

/// Writes this process's id into the object's `watched_tgid` map, so the program reports only its events.
fn watch_this_process(obj: &libbpf_rs::Object) -> Result<()> {
    let map = obj.maps().find(|m| m.name() == "watched_tgid").context("no watched_tgid map")?;
    map.update(&0u32.to_ne_bytes(), &std::process::id().to_ne_bytes(), MapFlags::ANY)?;
    Ok(())
}

/// The 8-byte values the program stored in its `results` array.
fn results(obj: &libbpf_rs::Object) -> Result<Vec<u64>> {
    let map = obj.maps().find(|m| m.name() == "results").context("no results map")?;
    (0..map.max_entries())
        .map(|i| {
            let value = map.lookup(&i.to_ne_bytes(), MapFlags::ANY)?.context("an array has every entry")?;
            Ok(u64::from_ne_bytes(value[..8].try_into()?))
        })
        .collect()
}

/// A flavor that declares 4-byte fields as `long`: CO-RE resolves it, and the read takes 8 bytes.
fn wrong_size_flavor(lesson: &mut Lesson) -> Result<()> {
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("size_mismatch")))?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    watch_this_process(&obj)?;
    let prog = obj.progs_mut().find(|p| p.name() == "read_sizes").context("no such program")?;
    let _link = lesson.stage(Stage::Attach, || prog.attach())?;
    let _parent = std::os::unix::process::parent_id(); // getppid(2): the tracepoint fires
    let [state_local, state_kernel, pid_local, pid_kernel, pid_as_long, pid_sized] = results(&obj)?[..] else {
        bail!("the program stores six results");
    };
    lesson.observed(format!("task_struct.__state declared long: BPF_CORE_READ reads {state_local} bytes, bpf_core_field_size says the kernel's field has {state_kernel}"));
    lesson.observed(format!("task_struct.pid declared long: BPF_CORE_READ reads {pid_local} bytes, bpf_core_field_size says the kernel's field has {pid_kernel}"));
    let (pid, tgid) = (u64::from(std::process::id()), u64::from(std::process::id()));
    lesson.observed(if pid_as_long == pid | tgid << 32 {
        "the long read of pid returned pid + (tgid << 32): pid and its neighbour, tgid, and no error".to_string()
    } else if pid_as_long == pid {
        "the long read of pid returned pid".to_string()
    } else {
        format!("the long read of pid returned {pid_as_long:#x}")
    });
    lesson.observed(if pid_sized == pid {
        "bpf_core_read with bpf_core_field_size returned pid".to_string()
    } else {
        format!("bpf_core_read with bpf_core_field_size returned {pid_sized:#x}")
    });
    Ok(())
}

/// One use of each CO-RE tool the lessons leave out, on this process's task,
/// and what each returned on this kernel: the book's toolbox chapter quotes it.
fn core_toolbox(lesson: &mut Lesson) -> Result<()> {
    // A bitfield whose value this process chooses: the kernel sets `sched_reset_on_fork`.
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: a plain system call on this process, with a valid parameter.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER | libc::SCHED_RESET_ON_FORK, &param) } != 0 {
        bail!("sched_setscheduler: {}", std::io::Error::last_os_error());
    }
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("toolbox")))?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    watch_this_process(&obj)?;
    let prog = obj.progs_mut().find(|p| p.name() == "use_toolbox").context("no such program")?;
    let _link = lesson.stage(Stage::Attach, || prog.attach())?;
    let parent = std::os::unix::process::parent_id(); // getppid(2): the tracepoint fires
    let [parent_tgid, comm_length, comm_bytes, reset_on_fork, has_state, has_old_state, comm_size, has_ringbuf, same, other, ringbuf_output, version, bpf_syscall] =
        results(&obj)?[..]
    else {
        bail!("the program stores thirteen results");
    };
    let whose = |value: u64| if value == u64::from(parent) { "this process's parent" } else { "another process" };
    lesson.observed(format!("BPF_CORE_READ_INTO(&parent, task, real_parent, tgid): {}", whose(parent_tgid)));
    let comm: String = comm_bytes.to_ne_bytes().iter().take_while(|b| **b != 0).map(|b| char::from(*b)).collect();
    lesson.observed(format!("BPF_CORE_READ_STR_INTO(&comm, task, comm): {comm:?}, returned {comm_length} (the NUL counted)"));
    let set = if reset_on_fork == 1 { ", as sched_setscheduler set it" } else { ", not the 1 sched_setscheduler set" };
    lesson.observed(format!("BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork): {reset_on_fork}{set}"));
    lesson.observed(format!("bpf_core_field_exists: task_struct.__state {has_state}, task_struct___old.state {has_old_state}"));
    lesson.observed(format!("bpf_core_field_size(task->comm): {comm_size}"));
    lesson.observed(format!("bpf_core_type_exists(struct bpf_ringbuf): {has_ringbuf}"));
    lesson.observed(format!("bpf_core_type_matches: list_head___same {same}, list_head___other {other}"));
    lesson.observed(format!("bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_ringbuf_output): {ringbuf_output}"));
    // Major and minor only: the patch level changes with every update of the kernel package.
    let version = format!("{}.{}", version >> 16, (version >> 8) & 0xff);
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    let uname: String = release.split('.').take(2).collect::<Vec<_>>().join(".");
    let agrees = if uname == version { "the release uname reports".to_string() } else { format!("where uname reports {}", release.trim()) };
    lesson.observed(format!("LINUX_KERNEL_VERSION: {version}, {agrees}"));
    lesson.observed(format!("CONFIG_BPF_SYSCALL (__kconfig __weak): {bpf_syscall}"));
    Ok(())
}

/// A kernel without BTF, as where BTFHub's files are used: libbpf relocates
/// against the minimised file given as `btf_custom_path`, and the read is right.
fn min_core_btf(lesson: &mut Lesson) -> Result<()> {
    let minimal = std::fs::metadata(MIN_BTF)?.len();
    let full: u64 = std::fs::read_to_string(KERNEL_BTF_SIZE)?.trim().parse()?;
    let share = if minimal * 100 < full { "under 1%".to_string() } else { format!("{}%", minimal * 100 / full) };
    let open = lesson.stage(Stage::Open, || {
        let mut builder = ObjectBuilder::default();
        builder.btf_custom_path(MIN_BTF)?;
        builder.open_file(object("kernel_read"))
    })?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    watch_this_process(&obj)?;
    let prog = obj.progs_mut().find(|p| p.name() == "read_pid").context("no such program")?;
    let _link = lesson.stage(Stage::Attach, || prog.attach())?;
    let _parent = std::os::unix::process::parent_id(); // a system call: the program runs
    let [returned, pid] = results(&obj)?[..] else {
        bail!("the program stores two results");
    };
    let pid = if pid == u64::from(std::process::id()) { "this process's pid".to_string() } else { pid.to_string() };
    lesson.observed(format!(
        "bpftool gen min_core_btf kept {share} of the kernel's BTF for kernel_read.bpf.o, and the kernel's own was hidden"
    ));
    lesson.observed(format!("the CO-RE read returned {}, and the pid it read is {pid}", helper_result(returned)));
    Ok(())
}

/// A CO-RE read of this process's pid, and what the read helper returned:
/// under lockdown's confidentiality mode the kernel withholds the helper at
/// load on some kernels and fails the read when it runs on others.
fn kernel_read_under_lockdown(lesson: &mut Lesson) -> Result<()> {
    print_quoting(&["unknown func", "cannot use helper"]);
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("kernel_read")))?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    watch_this_process(&obj)?;
    let prog = obj.progs_mut().find(|p| p.name() == "read_pid").context("no such program")?;
    let _link = lesson.stage(Stage::Attach, || prog.attach())?;
    let _parent = std::os::unix::process::parent_id(); // a system call: the program runs
    let [returned, pid] = results(&obj)?[..] else {
        bail!("the program stores two results");
    };
    let pid = if pid == u64::from(std::process::id()) { "this process's pid".to_string() } else { pid.to_string() };
    lesson.observed(format!("the kernel read returned {}, and the pid it read is {pid}", helper_result(returned)));
    Ok(())
}

/// A direct load through a flavor that declares an `unsigned int` field as
/// `unsigned long`: libbpf resizes the load to the kernel's 4 bytes.
fn direct_load_unsigned_wider(lesson: &mut Lesson) -> Result<()> {
    print_quoting(&["mem_sz"]);
    let mut open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("direct_loads")))?;
    for mut prog in open.progs_mut() {
        let wanted = prog.name() == "unsigned_wider";
        prog.set_autoload(wanted);
    }
    let obj = lesson.stage(Stage::Load, || open.load())?;
    watch_this_process(&obj)?;
    let prog = obj.progs_mut().find(|p| p.name() == "unsigned_wider").context("no such program")?;
    let _link = lesson.stage(Stage::Attach, || prog.attach())?;
    let _parent = std::os::unix::process::parent_id(); // a system call: the program runs
    let [local_size, through_flavor, through_kernel_type] = results(&obj)?[..] else {
        bail!("the program stores three results");
    };
    lesson.observed(format!("task_struct.flags declared unsigned long: the source loads {local_size} bytes"));
    lesson.observed(if through_flavor == through_kernel_type {
        "the load through the flavor returned the same value as the load through the kernel's type".to_string()
    } else {
        format!("the load through the flavor returned {through_flavor:#x}, through the kernel's type {through_kernel_type:#x}")
    });
    Ok(())
}

/// The same program attached twice to one tracepoint.
fn attach_twice(lesson: &mut Lesson) -> Result<()> {
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("counter")))?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    let prog = obj.progs_mut().find(|p| p.name() == "count_getppid").context("no such program")?;
    let _first = lesson.stage(Stage::Attach, || prog.attach())?;
    let _second = lesson.stage(Stage::Attach, || prog.attach())?;
    Ok(())
}

/// Separate programs attached to one tracepoint until the kernel refuses one.
fn tracepoint_program_limit(lesson: &mut Lesson) -> Result<()> {
    let mut attached_programs = Vec::new();
    while attached_programs.len() < 1000 {
        match attached("counter", "count_getppid") {
            Ok(program) => attached_programs.push(program),
            Err(_) => break,
        }
    }
    lesson.observed(format!("{} programs attached to syscalls/sys_enter_getppid; the next one:", attached_programs.len()));
    attach(lesson, "counter", "count_getppid")?;
    Ok(())
}

/// Reads openat's path at the system call's entry, from a page this process
/// has not touched yet, then from the same page once touched.
fn user_pointer_reads(lesson: &mut Lesson) -> Result<()> {
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("user_reads")))?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    watch_this_process(&obj)?;
    let prog = obj.progs_mut().find(|p| p.name() == "read_path").context("no such program")?;
    let _link = lesson.stage(Stage::Attach, || prog.attach())?;

    // The path lives in a file mapped into memory: its page is not present until read.
    let mut file = tempfile_in_memory()?;
    file.write_all(b"/proc/self/exe\0")?;
    // SAFETY: a fresh private read-only mapping of a file we own, unmapped below.
    let page = unsafe { libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0) };
    if page == libc::MAP_FAILED {
        bail!("mmap: {}", std::io::Error::last_os_error());
    }
    for when in ["a page this process has not touched yet", "the same page, once touched"] {
        if when.starts_with("the same") {
            // SAFETY: the page is mapped and readable.
            unsafe { std::ptr::read_volatile(page as *const u8) };
        }
        // SAFETY: page holds a NUL-terminated path.
        let fd = unsafe { libc::open(page as *const libc::c_char, libc::O_RDONLY) };
        if fd >= 0 {
            // SAFETY: fd is ours.
            unsafe { libc::close(fd) };
        }
        let values = results(&obj)?;
        lesson.observed(format!(
            "path in {when}: bpf_probe_read_user_str {}, bpf_probe_read_kernel_str {}",
            read_result(values[0]),
            read_result(values[1])
        ));
    }
    // SAFETY: mapped above.
    unsafe { libc::munmap(page, 4096) };
    Ok(())
}

/// A helper's return value: 0, or a negative errno by name.
fn helper_result(value: u64) -> String {
    match value as i64 {
        0 => "0".into(),
        n if n < 0 => harness::errno::name(-n as i32).map_or_else(|| n.to_string(), |name| format!("-{name}")),
        n => n.to_string(),
    }
}

/// A read helper's return value: a length, or a negative errno by name.
fn read_result(value: u64) -> String {
    let value = value as i64;
    match value {
        -14 => "-EFAULT".into(),
        -34 => "-ERANGE".into(),
        n if n < 0 => format!("-{}", std::io::Error::from_raw_os_error(-n as i32)),
        n => format!("{n} bytes"),
    }
}

fn tempfile_in_memory() -> Result<std::fs::File> {
    // SAFETY: a plain syscall with a valid name.
    let fd = unsafe { libc::memfd_create(c"probe-path".as_ptr(), 0) };
    if fd < 0 {
        bail!("memfd_create: {}", std::io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor that nothing else owns.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Compiles `src/clang/default_isa.bpf.c` to assembly with clang's default
/// instruction set and with each explicit one, and says which the default is.
fn default_isa() -> Result<()> {
    let assembly = |cpu: Option<&str>| -> Result<String> {
        let clang = std::env::var_os("CLANG").unwrap_or_else(|| "clang".into());
        let output = Command::new(&clang)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["-O2", "-target", "bpf"])
            .args(cpu.map(|c| format!("-mcpu={c}")))
            .args(["-S", "src/clang/default_isa.bpf.c", "-o", "-"])
            .output()
            .with_context(|| format!("running {}", clang.to_string_lossy()))?;
        if !output.status.success() {
            bail!("clang failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let jump = |asm: &str| asm.lines().find(|l| l.trim_start().starts_with("if ")).unwrap_or("(no jump)").trim().to_string();
    let default = assembly(None)?;
    let same_as = ["v1", "v2", "v3", "v4"].into_iter().find(|cpu| assembly(Some(cpu)).is_ok_and(|a| a == default));
    let same = same_as.map_or("no -mcpu=vN".into(), |c| format!("-mcpu={c}"));
    write_line(Line::new("compile", &format!("-target bpf: the same code as {same}")));
    write_line(Line::detail(jump(&default)));
    for cpu in ["v2", "v3"] {
        write_line(Line::new("compile", &format!("-target bpf -mcpu={cpu}")));
        write_line(Line::detail(jump(&assembly(Some(cpu))?)));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Attach {
    /// `bpf_program__attach`: a BPF link where the kernel has them for perf events (5.15+).
    Usual,
    /// `PERF_EVENT_IOC_SET_BPF` on a perf event, as libbpf attaches where the kernel has no such links.
    Ioctl,
}

/// Attaches a tracepoint program and pins its link.
fn pin_tracepoint_link(lesson: &mut Lesson, how: Attach) -> Result<()> {
    let open = lesson.stage(Stage::Open, || ObjectBuilder::default().open_file(object("counter")))?;
    let obj = lesson.stage(Stage::Load, || open.load())?;
    let prog = obj.progs_mut().find(|p| p.name() == "count_getppid").context("no such program")?;
    let mut link = match how {
        Attach::Usual => lesson.stage(Stage::Attach, || prog.attach())?,
        Attach::Ioctl => {
            let event = tracepoint_perf_event("syscalls", "sys_enter_getppid")?;
            let opts = PerfEventOpts { force_ioctl_attach: true, ..Default::default() };
            lesson.stage(Stage::Attach, || prog.attach_perf_event_with_opts(event, opts))?
        }
    };
    match link.pin("/sys/fs/bpf/probe_link") {
        Ok(()) => lesson.observed("Link::pin ok"),
        Err(error) => lesson.observed(format!("Link::pin failed: {error:#}")),
    }
    Ok(())
}

/// A perf event for a tracepoint, by its id in tracefs; libbpf owns it once attached.
fn tracepoint_perf_event(category: &str, name: &str) -> Result<i32> {
    let id_file = format!("/sys/kernel/tracing/events/{category}/{name}/id");
    let id: u64 = std::fs::read_to_string(&id_file).with_context(|| format!("reading {id_file}"))?.trim().parse()?;
    let mut attr = libbpf_rs::libbpf_sys::perf_event_attr {
        type_: libbpf_rs::libbpf_sys::PERF_TYPE_TRACEPOINT,
        size: std::mem::size_of::<libbpf_rs::libbpf_sys::perf_event_attr>() as u32,
        config: id,
        ..Default::default()
    };
    attr.__bindgen_anon_1.sample_period = 1;
    // SAFETY: attr is a valid perf_event_attr of the size it states.
    let fd = unsafe { libc::syscall(libc::SYS_perf_event_open, &attr, -1, 0, -1, libbpf_rs::libbpf_sys::PERF_FLAG_FD_CLOEXEC) };
    if fd < 0 {
        bail!("perf_event_open: {}", std::io::Error::last_os_error());
    }
    Ok(fd as i32)
}
