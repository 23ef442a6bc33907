//! Running lesson binaries on another kernel: qemu's software emulation (TCG,
//! no KVM, no root) boots a Debian kernel (from its ELF file, see
//! [`crate::machine::kernel_image`]) with a generated initramfs. It holds
//! busybox, the binaries, the shared libraries they need and an init that
//! mounts proc, sysfs and tracefs, runs each binary in turn and powers off.
//!
//! The transcripts come back on the guest's second serial port, between
//! markers; the kernel's console goes to its own file, read only to explain a
//! hung or crashed guest.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use cpio::newc;

use crate::machine::host::{Finding, Status};
use crate::machine::kernels::Kernel;
use crate::machine::runner::{self, Output};

pub const QEMU: &str = "qemu-system-x86_64";
/// Each guest's memory.
pub const GUEST_MEMORY_MIB: usize = 1024;
/// What boots Debian's arm64 kernels (Debian's package qemu-system-arm).
pub const QEMU_ARM64: &str = "qemu-system-aarch64";

/// What differs between the guests of the two architectures.
struct Guest {
    /// The kernel's console, on the board's first serial port.
    console: &'static str,
    /// The serial port the transcripts go out on.
    channel: &'static str,
    busybox: PathBuf,
    /// The Debian root an arm64 binary's libraries come from; none for the host's own.
    cross_root: Option<PathBuf>,
}

impl Guest {
    fn amd64() -> Guest {
        Guest { console: "ttyS0", channel: "ttyS1", busybox: static_busybox().unwrap_or_default(), cross_root: None }
    }

    fn arm64() -> Result<Guest> {
        let root = crate::machine::cross::dir()?;
        Ok(Guest { console: "ttyAMA0", channel: "ttyS0", busybox: crate::machine::cross::busybox(&root)?, cross_root: Some(root) })
    }

    /// (copy on this machine, path in the guest) of every library `binary` loads.
    fn libraries(&self, binary: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
        match &self.cross_root {
            Some(root) => crate::machine::cross::libraries(root, binary),
            None => Ok(shared_libraries(binary)?.into_iter().map(|l| (l.clone(), l)).collect()),
        }
    }
}
/// The guest gets this long without a word before it counts as hung: a boot
/// takes some 4 s under TCG, and each binary is stopped inside the guest
/// after [`runner::timeout`].
pub const SILENCE_LIMIT: Duration = Duration::from_secs(120);
/// What the guest sends back of a binary's stdout (its transcript) and stderr.
const TRANSCRIPT_LIMIT: usize = 64 * 1024;
const LOG_LIMIT: usize = 1024 * 1024;

/// [`SILENCE_LIMIT`], or longer when a longer `WORKBOOK_TIMEOUT` lets one binary run longer.
fn silence_limit() -> Duration {
    SILENCE_LIMIT.max(runner::timeout() + Duration::from_secs(60))
}
const MARK: &str = "====";

/// One binary to run in the guest.
#[derive(Debug, Clone, Default)]
pub struct Job {
    pub binary: PathBuf,
    /// Its command-line arguments.
    pub args: Vec<String>,
    /// Files the binary opens at run time by their build-time path (a loader
    /// may open its `.bpf.o` from OUT_DIR): (copy on this machine, path in the guest).
    /// Placed just before the job runs, so jobs may share a guest path.
    pub files: Vec<(PathBuf, PathBuf)>,
    /// Environment variables set for this job only.
    pub env: Vec<(String, String)>,
}

impl Job {
    /// The copy of the BPF object the job carries, if any: what diagnose's rules read.
    pub fn object(&self) -> Option<PathBuf> {
        self.files.iter().map(|(copy, _)| copy).find(|copy| copy.extension().is_some_and(|e| e == "o")).cloned()
    }
}

/// What one boot gave back.
pub struct Boot {
    /// One per job, in order; `None` for jobs the guest never finished.
    pub outputs: Vec<Option<Output>>,
    /// Why the guest stopped early: hung, crashed, or qemu failed.
    pub failure: Option<String>,
    pub seconds: f64,
}

/// What keeps lessons from running under qemu here, if anything does.
pub fn problems() -> Vec<String> {
    let mut problems = Vec::from_iter(arch_problem(std::env::consts::ARCH));
    if on_path(QEMU).is_none() {
        problems.push(format!("{QEMU} is missing (package qemu-system-x86)"));
    }
    if static_busybox().is_none() {
        problems.push("a static busybox is missing (package busybox-static)".to_string());
    }
    problems
}

/// Why `--kernel` cannot run lessons built for `arch` (as Rust names it): the
/// kernels it boots are Debian's amd64 builds, so an aarch64 binary has no
/// kernel to run on there. Passed in, so both answers are tested anywhere.
fn arch_problem(arch: &str) -> Option<String> {
    (arch != "x86_64").then(|| format!("the Debian kernels --kernel boots are amd64 builds, and this machine is {arch}"))
}

/// The fix for [`problems`] as one command.
pub fn install_hint() -> String {
    use crate::machine::distro::{self, Package};
    distro::install_hint(&[Package::Qemu, Package::StaticBusybox])
}

/// Doctor's line about checking lessons on other kernels. `host_blocked`
/// says why this machine cannot load BPF itself, if it cannot.
pub fn finding(host_blocked: Option<&str>) -> Finding {
    let problems = problems();
    let (status, detail, fix) = match (host_blocked, problems.is_empty()) {
        (None, true) => (Status::Ok, "qemu ready: `cargo xtask check NN --kernel 6.1` runs a lesson on another kernel".to_string(), None),
        (None, false) => {
            (Status::Note, format!("{}: checks on other kernels (--kernel) need it", problems.join("; ")), Some(install_hint()))
        }
        (Some(why), true) => (Status::Note, format!("{why}, but qemu can: run `cargo xtask check NN --kernel 6.1` (no root needed)"), None),
        (Some(why), false) => {
            (Status::Note, format!("{why}; install qemu to check lessons in a VM instead, no root needed after that"), Some(install_hint()))
        }
    };
    Finding { name: "vm", status, detail, fix }
}

/// What keeps `check --kernel` from running here, as doctor findings:
/// the build's needs, and qemu's.
pub fn preflight() -> Vec<Finding> {
    let mut found = crate::machine::host::build_problems();
    found.extend(problems().into_iter().map(|p| Finding { name: "vm", status: Status::Problem, detail: p, fix: Some(install_hint()) }));
    found
}

/// The suggestion `check` makes when this machine cannot run a lesson itself.
pub fn offer(number: &str) -> String {
    let command = format!("cargo xtask check {number} --kernel 6.1");
    if problems().is_empty() {
        format!("\nor check it on one of Debian's kernels under qemu, no root needed: {command}")
    } else {
        format!("\nor check it under qemu, no root needed, once it is installed ({}): {command}", install_hint())
    }
}

/// Runs one lesson binary on `kernel` and returns what it printed; a guest
/// that hangs or crashes is an error that says so. The guest's files go under
/// the workbook's `root`.
pub fn run_one(root: &Path, kernel: &Kernel, binary: &Path, object: Option<&Path>) -> Result<Output> {
    let files = object.map(|o| vec![(o.to_path_buf(), o.to_path_buf())]).unwrap_or_default();
    let work = root.join("target/workbook/vm").join(kernel.series.name);
    eprintln!("booting {} under qemu (about 10 s)", kernel.describe());
    let boot = boot(kernel, &[Job { binary: binary.to_path_buf(), args: Vec::new(), files, env: Vec::new() }], &work)?;
    if let Some(failure) = boot.failure {
        bail!("{failure}");
    }
    boot.outputs.into_iter().next().flatten().context("the guest sent no transcript")
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// busybox from the busybox-static package (the plain busybox is dynamically linked).
pub fn static_busybox() -> Option<PathBuf> {
    let candidates = [on_path("busybox"), Some(PathBuf::from("/bin/busybox"))];
    candidates.into_iter().flatten().find(|path| std::fs::read(path).is_ok_and(|elf| elf.starts_with(b"\x7fELF") && !has_interpreter(&elf)))
}

/// Whether an ELF64 file asks for a dynamic loader (a PT_INTERP program header).
fn has_interpreter(elf: &[u8]) -> bool {
    let read = |at: usize, n: usize| elf.get(at..at + n).map(|b| b.iter().rev().fold(0usize, |v, &x| v << 8 | x as usize));
    let (Some(phoff), Some(phentsize), Some(phnum)) = (read(0x20, 8), read(0x36, 2), read(0x38, 2)) else {
        return false;
    };
    (0..phnum).any(|i| read(phoff + i * phentsize, 4) == Some(3))
}

/// Boots `kernel` with `jobs`, keeping its files in `work` (emptied first).
pub fn boot(kernel: &Kernel, jobs: &[Job], work: &Path) -> Result<Boot> {
    boot_with(kernel, "", jobs, work)
}

/// [`boot`], with `parameters` added to the kernel's command line.
pub fn boot_with(kernel: &Kernel, parameters: &str, jobs: &[Job], work: &Path) -> Result<Boot> {
    let arm64 = kernel.series.arch == "arm64";
    if arm64 {
        if on_path(QEMU_ARM64).is_none() {
            bail!("cannot boot an arm64 VM here: {QEMU_ARM64} is missing (package qemu-system-arm)");
        }
    } else {
        let problems = problems();
        if !problems.is_empty() {
            bail!("cannot boot a VM here: {}; fix: {}", problems.join("; "), install_hint());
        }
    }
    crate::machine::interrupt::check()?;
    if work.exists() {
        std::fs::remove_dir_all(work)?;
    }
    std::fs::create_dir_all(work)?;
    let initramfs = work.join("initramfs.cpio");
    let guest = if arm64 { Guest::arm64()? } else { Guest::amd64() };
    write_initramfs(&initramfs, jobs, &guest)?;

    let console = work.join("console.log");
    let channel = work.join("transcripts.log");
    let qemu_log = work.join("qemu.log");
    let image = crate::machine::kernel_image::boot_file(kernel)?;
    let started = Instant::now();
    let qemu = if arm64 { QEMU_ARM64 } else { QEMU };
    let mut command = Command::new(qemu);
    let memory = format!("{GUEST_MEMORY_MIB}M");
    if arm64 {
        // pauth-impdef: TCG's own pointer-authentication hash, far faster to emulate than the architected one.
        command.args(["-machine", "virt", "-accel", "tcg", "-cpu", "max,pauth-impdef=on", "-m", &memory, "-smp", "1"]);
    } else {
        command.args(["-accel", "tcg", "-cpu", "max", "-m", &memory, "-smp", "1"]);
    }
    command
        .args(["-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"])
        .arg("-kernel")
        .arg(&image)
        .arg("-initrd")
        .arg(&initramfs)
        .arg("-append")
        .arg(format!("console={} panic=1 mitigations=off {parameters}", guest.console).trim_end())
        .arg("-serial")
        .arg(format!("file:{}", console.display()));
    if arm64 {
        // The virt board has one UART, the console: the transcripts take a PCI serial port, the guest's ttyS0.
        command.args(["-chardev", &format!("file,id=channel,path={}", channel.display()), "-device", "pci-serial,chardev=channel"]);
    } else {
        command.arg("-serial").arg(format!("file:{}", channel.display()));
    }
    let mut child = command
        .stdin(Stdio::null())
        // Its own process group: Ctrl-C reaches the checker, which stops qemu.
        .process_group(0)
        .stdout(File::create(&qemu_log)?)
        .stderr(File::create(qemu_log.with_extension("err"))?)
        .spawn()
        .with_context(|| format!("starting {qemu}"))?;

    // Wait for the guest to power off; it is hung once it stays silent too long.
    let (mut heard, mut last_heard) = (0, Instant::now());
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        let size = std::fs::metadata(&channel).map(|m| m.len()).unwrap_or(0);
        if size != heard {
            (heard, last_heard) = (size, Instant::now());
        }
        if crate::machine::interrupt::requested() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(crate::machine::interrupt::Interrupted.into());
        }
        if last_heard.elapsed() > silence_limit() {
            hung = true;
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let seconds = started.elapsed().as_secs_f64();

    let transcripts = String::from_utf8_lossy(&std::fs::read(&channel).unwrap_or_default()).replace('\r', "");
    let console_text = String::from_utf8_lossy(&std::fs::read(&console).unwrap_or_default()).replace('\r', "");
    let outputs = (0..jobs.len()).map(|i| job_output(&transcripts, i + 1)).collect();
    let finished = transcripts.contains(&format!("{MARK} all jobs done {MARK}"));
    let last_console_line = console_text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("(nothing)");
    let failure = if let Some(panic) = console_text.lines().find(|l| l.contains("Kernel panic")) {
        Some(format!("the guest crashed: {} (console: {})", strip_timestamp(panic), console.display()))
    } else if hung {
        Some(format!(
            "the guest hung: nothing from it for {} s; its console's last line: {} (console: {})",
            silence_limit().as_secs(),
            strip_timestamp(last_console_line),
            console.display()
        ))
    } else if !status.is_some_and(|s| s.success()) {
        let errors = std::fs::read_to_string(qemu_log.with_extension("err")).unwrap_or_default();
        Some(format!("{qemu} failed: {}", errors.trim()))
    } else if !finished {
        Some(format!(
            "the guest powered off before its jobs finished; its console's last line: {} (console: {})",
            strip_timestamp(last_console_line),
            console.display()
        ))
    } else {
        None
    };
    Ok(Boot { outputs, failure, seconds })
}

/// `[    1.234567] text` → `text`.
fn strip_timestamp(line: &str) -> &str {
    match line.trim_start().strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(line, |(_, text)| text.trim_start()),
        None => line.trim(),
    }
}

/// The text between `==== job N <part> begin ====` and its end marker.
fn section<'a>(transcripts: &'a str, job: usize, part: &str) -> Option<(&'a str, &'a str)> {
    let begin = format!("{MARK} job {job} {part} begin {MARK}\n");
    let end = format!("{MARK} job {job} {part} end");
    let start = transcripts.find(&begin)? + begin.len();
    let length = transcripts[start..].find(&end)?;
    let tail = transcripts[start + length + end.len()..].lines().next().unwrap_or_default();
    Some((&transcripts[start..start + length], tail))
}

fn job_output(transcripts: &str, job: usize) -> Option<Output> {
    let (stdout, tail) = section(transcripts, job, "transcript")?;
    let (stderr, _) = section(transcripts, job, "log")?;
    // The end marker carries the exit status and the full size: `... end (exit 1, 120 bytes) ====`.
    let (code, size) = tail.split("(exit ").nth(1)?.split(')').next()?.split_once(", ")?;
    let code: i32 = code.trim().parse().ok()?;
    let size: u64 = size.trim().trim_end_matches(" bytes").parse().ok()?;
    // A transcript cut mid-line loses that line, as the host's runner does.
    let stdout =
        if size as usize > TRANSCRIPT_LIMIT { stdout.trim_end_matches('\n').rfind('\n').map_or("", |end| &stdout[..=end]) } else { stdout };
    Some(Output {
        dropped: size.saturating_sub(stdout.len() as u64),
        stdout: stdout.to_string(),
        prints: String::new(),
        stderr: stderr.to_string(),
        // The guest's harness writes libbpf's log to stderr.
        libbpf_log: None,
        // busybox timeout kills with SIGKILL, which the shell reports as 137.
        timed_out: code == 137,
        panicked: code == 101,
        limit: runner::timeout(),
    })
}

/// Single-quoted for the shell.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A job as the initramfs holds it: the binary's name in `/jobs/N/`, its
/// files as (name in `/jobs/N/`, path in the guest), and its environment.
struct Packed {
    binary: String,
    files: Vec<(String, PathBuf)>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// The init script: mount what libbpf needs, run each job with its output
/// between markers on ttyS1, power off.
fn init_script(jobs: &[Packed], library_dirs: &BTreeSet<PathBuf>, channel: &str) -> String {
    let dirs: Vec<String> = library_dirs.iter().map(|d| d.display().to_string()).collect();
    let mut script = format!(
        r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin LD_LIBRARY_PATH={libraries} {check}=1
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tracefs tracefs /sys/kernel/tracing
echo "{MARK} guest $(uname -r) up {MARK}" > /dev/{channel}

# job N [NAME=VALUE...] BINARY [ARGS...]: run it, then send its transcript,
# and its stderr and own prints, between markers.
job() {{
    n=$1
    shift
    cd /tmp
    : > /tmp/out
    WORKBOOK_TRANSCRIPT=/tmp/out timeout -s KILL {timeout} env "$@" > /tmp/prints 2> /tmp/err < /dev/null
    code=$?
    cat /tmp/prints >> /tmp/err
    {{
        echo "{MARK} job $n transcript begin {MARK}"
        head -c {transcript_limit} /tmp/out
        [ -n "$(head -c {transcript_limit} /tmp/out | tail -c 1)" ] && echo
        echo "{MARK} job $n transcript end (exit $code, $(wc -c < /tmp/out) bytes) {MARK}"
        echo "{MARK} job $n log begin {MARK}"
        head -c {log_limit} /tmp/err
        [ -n "$(head -c {log_limit} /tmp/err | tail -c 1)" ] && echo
        echo "{MARK} job $n log end {MARK}"
    }} > /dev/{channel}
}}
"#,
        libraries = dirs.join(":"),
        check = runner::CHECK_VARIABLE,
        timeout = runner::timeout().as_secs(),
        transcript_limit = TRANSCRIPT_LIMIT,
        log_limit = LOG_LIMIT,
    );
    for (i, job) in jobs.iter().enumerate() {
        let n = i + 1;
        for (copy, guest) in &job.files {
            if let Some(parent) = guest.parent() {
                let _ = writeln!(script, "mkdir -p {}", quoted(&parent.display().to_string()));
            }
            let _ = writeln!(script, "cp /jobs/{n}/{copy} {}", quoted(&guest.display().to_string()));
        }
        let env: String = job.env.iter().map(|(name, value)| format!("{} ", quoted(&format!("{name}={value}")))).collect();
        let args: String = job.args.iter().map(|a| format!(" {}", quoted(a))).collect();
        let _ = writeln!(script, "job {n} {env}/jobs/{n}/{}{args}", job.binary);
    }
    let _ = writeln!(script, "echo \"{MARK} all jobs done {MARK}\" > /dev/{channel}\npoweroff -f");
    script
}

/// The libraries `ldd` says a binary loads, including the dynamic loader.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>> {
    let output = Command::new("ldd").arg(binary).output().context("running ldd")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut libraries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.contains("not found") {
            bail!("{} needs {line}", binary.display());
        }
        let path = match line.split_once(" => ") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next().filter(|p| p.starts_with('/')),
        };
        libraries.extend(path.filter(|p| p.starts_with('/')).map(PathBuf::from));
    }
    Ok(libraries)
}

/// At most this many runs share one boot: every binary is unpacked into the
/// guest's memory (1 GiB), a few MB each without debug info.
pub const JOBS_PER_BOOT: usize = 32;

/// The ELF binary without its `.debug_*` sections (what `strip --strip-debug`
/// does), so that many fit in the guest's memory. Panics still name the function.
fn without_debug_info(binary: &[u8]) -> Result<Vec<u8>> {
    let mut elf = object::build::elf::Builder::read(binary).context("reading the binary as ELF")?;
    for section in elf.sections.iter_mut() {
        if section.name.as_slice().starts_with(b".debug_") {
            section.delete = true;
        }
    }
    let mut stripped = Vec::new();
    elf.write(&mut stripped).context("writing the binary without debug info")?;
    Ok(stripped)
}

fn write_initramfs(path: &Path, jobs: &[Job], guest: &Guest) -> Result<()> {
    let busybox = &guest.busybox;
    ensure!(busybox.is_file(), "no static busybox");
    let mut libraries = BTreeSet::new();
    for job in jobs {
        libraries.extend(guest.libraries(&job.binary)?);
    }
    let library_dirs: BTreeSet<PathBuf> = libraries.iter().filter_map(|(_, l)| l.parent().map(Path::to_path_buf)).collect();

    let mut cpio = Cpio::create(path)?;
    for dir in ["dev", "proc", "sys", "tmp", "bin", "jobs"] {
        cpio.dir(Path::new(dir))?;
    }
    cpio.char_device("dev/console", 5, 1)?;
    cpio.file(Path::new("bin/busybox"), &std::fs::read(busybox)?, true)?;
    for (copy, library) in &libraries {
        // Under the path the binary asks for; reading follows symlinks.
        let bytes = std::fs::read(copy).with_context(|| format!("reading {}", copy.display()))?;
        cpio.file(library.strip_prefix("/")?, &bytes, true)?;
    }
    let mut described = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let dir = PathBuf::from(format!("jobs/{}", i + 1));
        let name = job.binary.file_name().context("a binary without a name")?.to_string_lossy().into_owned();
        let binary = std::fs::read(&job.binary).with_context(|| format!("reading {}", job.binary.display()))?;
        cpio.file(&dir.join(&name), &without_debug_info(&binary)?, true)?;
        let mut files = Vec::new();
        for (k, (copy, guest)) in job.files.iter().enumerate() {
            let stored = format!("file-{k}");
            cpio.file(&dir.join(&stored), &std::fs::read(copy)?, false)?;
            files.push((stored, guest.clone()));
        }
        described.push(Packed { binary: name, files, args: job.args.clone(), env: job.env.clone() });
    }
    cpio.file(Path::new("init"), init_script(&described, &library_dirs, guest.channel).as_bytes(), true)?;
    cpio.finish()
}

/// A `newc` cpio archive, the format the kernel unpacks as its initramfs,
/// written with the `cpio` crate: entries come from memory, so the device node
/// needs no root. This adds the folders each path needs and numbers the inodes.
struct Cpio {
    out: BufWriter<File>,
    next_inode: u32,
    dirs: BTreeSet<PathBuf>,
}

impl Cpio {
    fn create(path: &Path) -> Result<Cpio> {
        Ok(Cpio { out: BufWriter::new(File::create(path)?), next_inode: 1, dirs: BTreeSet::new() })
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8], rdev: (u32, u32)) -> Result<()> {
        let header = newc::Builder::new(name).ino(self.next_inode).mode(mode).rdev_major(rdev.0).rdev_minor(rdev.1);
        self.next_inode += 1;
        let mut entry = header.write(&mut self.out, u32::try_from(data.len())?);
        entry.write_all(data)?;
        entry.finish()?;
        Ok(())
    }

    /// A folder and every missing parent.
    fn dir(&mut self, path: &Path) -> Result<()> {
        if path.as_os_str().is_empty() || self.dirs.contains(path) {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            self.dir(parent)?;
        }
        self.dirs.insert(path.to_path_buf());
        self.entry(&path.to_string_lossy(), 0o040755, &[], (0, 0))
    }

    fn file(&mut self, path: &Path, data: &[u8], executable: bool) -> Result<()> {
        if let Some(parent) = path.parent() {
            self.dir(parent)?;
        }
        let mode = if executable { 0o100755 } else { 0o100644 };
        self.entry(&path.to_string_lossy(), mode, data, (0, 0))
    }

    fn char_device(&mut self, name: &str, major: u32, minor: u32) -> Result<()> {
        self.entry(name, 0o020600, &[], (major, minor))
    }

    fn finish(mut self) -> Result<()> {
        newc::trailer(&mut self.out)?;
        Ok(self.out.flush()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_x86_64_build_runs_on_the_amd64_kernels() {
        assert_eq!(arch_problem("x86_64"), None);
        assert_eq!(arch_problem("aarch64").unwrap(), "the Debian kernels --kernel boots are amd64 builds, and this machine is aarch64");
    }

    #[test]
    fn a_binary_without_debug_info_is_smaller_and_still_runs() {
        use object::{Object, ObjectSection};
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let stripped = without_debug_info(&me).unwrap();
        let file = object::File::parse(&*stripped).unwrap();
        assert!(file.sections().all(|s| !s.name().unwrap_or_default().starts_with(".debug_")));
        assert!(stripped.len() < me.len(), "{} of {} bytes", stripped.len(), me.len());

        let copy = std::env::temp_dir().join(format!("xtask-stripped-{}", std::process::id()));
        std::fs::write(&copy, &stripped).unwrap();
        std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let listed = Command::new(&copy).args(["--list", "without_debug_info"]).output().unwrap();
        std::fs::remove_file(&copy).unwrap();
        assert!(listed.status.success() && String::from_utf8_lossy(&listed.stdout).contains("a_binary_without_debug_info"));
    }

    #[test]
    fn the_initramfs_holds_folders_devices_and_files() {
        let path = std::env::temp_dir().join(format!("xtask-cpio-{}.cpio", std::process::id()));
        let mut archive = Cpio::create(&path).unwrap();
        archive.char_device("dev/console", 5, 1).unwrap();
        archive.file(Path::new("jobs/1/open-fails"), b"binary", true).unwrap();
        archive.finish().unwrap();
        let mut read = std::io::BufReader::new(File::open(&path).unwrap());
        let mut entries = Vec::new();
        loop {
            let entry = newc::Reader::new(read).unwrap();
            if entry.entry().is_trailer() {
                break;
            }
            let e = entry.entry();
            entries.push((e.name().to_string(), e.mode(), e.ino(), (e.rdev_major(), e.rdev_minor()), e.file_size()));
            read = entry.finish().unwrap();
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            entries,
            [
                ("dev/console".to_string(), 0o020600, 1, (5, 1), 0),
                ("jobs".to_string(), 0o040755, 2, (0, 0), 0),
                ("jobs/1".to_string(), 0o040755, 3, (0, 0), 0),
                ("jobs/1/open-fails".to_string(), 0o100755, 4, (0, 0), 6),
            ]
        );
    }

    const CHANNEL: &str = "==== guest 5.10.0-32-amd64 up ====
==== job 1 transcript begin ====
open     ok
stopped  at load
==== job 1 transcript end (exit 1, 29 bytes) ====
==== job 1 log begin ====
libbpf: loading
==== job 1 log end ====
==== job 2 transcript begin ====
==== job 2 transcript end (exit 137, 0 bytes) ====
==== job 2 log begin ====
==== job 2 log end ====
";

    #[test]
    fn reads_each_jobs_transcript_log_and_exit_status() {
        let first = job_output(CHANNEL, 1).unwrap();
        assert_eq!(first.stdout, "open     ok\nstopped  at load\n");
        assert_eq!(first.stderr, "libbpf: loading\n");
        assert!(!first.timed_out && !first.panicked);
        assert_eq!(first.dropped, 0);
        let second = job_output(CHANNEL, 2).unwrap();
        assert!(second.timed_out);
        assert_eq!(second.stdout, "");
        assert!(job_output(CHANNEL, 3).is_none(), "a job the guest never ran has no output");
        let flood = "==== job 1 transcript begin ====\nopen     ok\nobserved 1\nobser\n==== job 1 transcript end (exit 0, 90000 bytes) ====\n==== job 1 log begin ====\n==== job 1 log end ====\n";
        let cut = job_output(flood, 1).unwrap();
        assert_eq!(cut.stdout, "open     ok\nobserved 1\n", "the line cut in half is dropped");
        assert_eq!(cut.dropped, 90000 - cut.stdout.len() as u64);
        let cut = &CHANNEL[..CHANNEL.find("==== job 1 log end").unwrap()];
        assert!(job_output(cut, 1).is_none(), "a half-sent job has no output");
    }

    #[test]
    fn cpio_entries_are_padded_to_four_bytes() {
        let path = std::env::temp_dir().join(format!("xtask-cpio-test-{}", std::process::id()));
        let mut cpio = Cpio::create(&path).unwrap();
        cpio.file(Path::new("a/b"), b"hello", false).unwrap();
        cpio.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let text = String::from_utf8_lossy(&bytes);
        // The folder comes before the file in it, and the archive ends with its trailer.
        assert!(text.find("a\0").unwrap() < text.find("a/b\0").unwrap());
        assert!(text.contains("hello") && text.contains("TRAILER!!!"));
        assert_eq!(&text[..6], "070701");
    }

    #[test]
    fn console_lines_lose_their_timestamp() {
        assert_eq!(strip_timestamp("[    1.234567] Kernel panic - not syncing: x"), "Kernel panic - not syncing: x");
        assert_eq!(strip_timestamp("plain"), "plain");
    }

    #[test]
    fn the_init_script_places_files_then_runs_each_job_with_its_environment() {
        let object = |n: usize| (format!("file-{n}"), PathBuf::from("/w/out/x.bpf.o"));
        let jobs = [
            Packed { binary: "lesson".into(), files: vec![object(0)], args: vec![], env: vec![] },
            Packed { binary: "lesson".into(), files: vec![object(0)], args: vec![], env: vec![("MODE".into(), "it's fake".into())] },
            Packed { binary: "probes".into(), files: vec![], args: vec!["pin-tracepoint-link".into()], env: vec![] },
        ];
        let dirs = BTreeSet::from([PathBuf::from("/lib/x86_64-linux-gnu")]);
        let script = init_script(&jobs, &dirs, "ttyS1");
        let place = script.find("cp /jobs/1/file-0 '/w/out/x.bpf.o'").unwrap();
        let run = script.find("job 1 /jobs/1/lesson").unwrap();
        // The second job's own copy replaces the first's, right before it runs.
        let place_again = script.find("cp /jobs/2/file-0 '/w/out/x.bpf.o'").unwrap();
        let run_again = script.find(r"job 2 'MODE=it'\''s fake' /jobs/2/lesson").unwrap();
        assert!(place < run && run < place_again && place_again < run_again);
        assert!(run_again < script.find("poweroff -f").unwrap());
        assert!(script.contains("job 3 /jobs/3/probes 'pin-tracepoint-link'"), "arguments follow the binary");
        assert!(script.contains("LD_LIBRARY_PATH=/lib/x86_64-linux-gnu"));
        assert!(script.contains(" WORKBOOK_CHECK=1\n"), "lesson binaries know the checker runs them");
    }
}
