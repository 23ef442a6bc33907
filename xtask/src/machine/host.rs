//! Facts about this machine (root, sudo, BTF, tracefs, clang, libraries, kprobes, lockdown), each as a doctor finding with its fix.

use crate::machine::distro::{self, Package};
use std::fmt;
use std::path::Path;
use std::process::Command;

use anyhow::Result;

pub const TRACEFS: &str = "/sys/kernel/tracing";
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Problem,
    Note,
}

#[derive(Debug)]
pub struct Finding {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Status::Ok => "ok",
            Status::Problem => "PROBLEM",
            Status::Note => "note",
        };
        write!(f, "{status:<8} {:<12} {}", self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n{:<21} fix: {fix}", "")?;
        }
        Ok(())
    }
}

pub fn finding(name: &'static str, status: Status, detail: impl Into<String>, fix: Option<String>) -> Finding {
    Finding { name, status, detail: detail.into(), fix }
}

/// `sudo ` when the user is not root, so each fix is a command to paste.
fn as_root(command: &str) -> String {
    if is_root() {
        command.to_string()
    } else {
        format!("sudo {command}")
    }
}

pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

pub fn has_sudo() -> bool {
    on_path("sudo").is_some()
}

/// How a lesson's loader gets the privileges BPF needs here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privileges {
    Root,
    /// sudo, without a password.
    Sudo,
    /// sudo, which wants a password first (and only then says whether this user may use it).
    SudoAsks,
    /// Neither root nor sudo.
    None,
}

pub fn privileges() -> Privileges {
    if is_root() {
        Privileges::Root
    } else if !has_sudo() {
        Privileges::None
    } else if sudo_n(&["true"]).is_some_and(|o| o.status.success()) {
        Privileges::Sudo
    } else {
        Privileges::SudoAsks
    }
}

/// `sudo -n ARGS`: never asks for a password, fails instead.
fn sudo_n(args: &[&str]) -> Option<std::process::Output> {
    Command::new("sudo").arg("-n").args(args).stdin(std::process::Stdio::null()).output().ok()
}

/// When sudo wants a password and there is a terminal to type it on: asks
/// for it once, now, so the pre-flight and the loader can both use sudo.
/// Returns what sudo said when it refused.
pub fn ask_for_sudo() -> Option<String> {
    use std::io::IsTerminal;
    if privileges() != Privileges::SudoAsks || !std::io::stdin().is_terminal() {
        return None;
    }
    eprintln!("note: loading BPF needs root; sudo asks for your password once (only the lesson's binary runs as root)");
    let output = Command::new("sudo").args(["-v"]).stderr(std::process::Stdio::piped()).output().ok()?;
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).trim().to_string())
}

/// What the loader will find, looked at with the loader's own privileges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsLoader {
    /// tracefs mounted at [`TRACEFS`], and its events readable.
    pub tracefs: bool,
    pub btf: bool,
    pub kprobes: bool,
}

/// The probe's last answer; forgotten when something changes what it sees.
static SEEN: std::sync::Mutex<Option<AsLoader>> = std::sync::Mutex::new(None);

const PROBE: &str = "test -d /sys/kernel/tracing/events && echo tracefs; \
test -r /sys/kernel/btf/vmlinux && echo btf; \
{ test -e /sys/bus/event_source/devices/kprobe || test -e /sys/kernel/tracing/kprobe_events; } && echo kprobes; true";

/// The pre-flight probe: as root directly, for a sudo user through `sudo -n`
/// (the way the runner starts the loader). `None` when it could not be run
/// with those privileges: no sudo, or sudo wants a password.
pub fn as_loader() -> Option<AsLoader> {
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.is_none() {
        let output = match privileges() {
            Privileges::Root => Command::new("/bin/sh").args(["-c", PROBE]).output().ok(),
            Privileges::Sudo => sudo_n(&["/bin/sh", "-c", PROBE]),
            Privileges::SudoAsks | Privileges::None => None,
        };
        *seen = output.filter(|o| o.status.success()).map(|o| {
            let words = String::from_utf8_lossy(&o.stdout).into_owned();
            let has = |word: &str| words.split_whitespace().any(|w| w == word);
            AsLoader { tracefs: has("tracefs"), btf: has("btf"), kprobes: has("kprobes") }
        });
    }
    *seen
}

/// Whether `/proc/self/mounts` (readable by anyone) lists tracefs at [`TRACEFS`].
fn tracefs_in_mounts() -> bool {
    std::fs::read_to_string("/proc/self/mounts").is_ok_and(|mounts| {
        mounts.lines().any(|l| l.split_whitespace().nth(1) == Some(TRACEFS) && l.split_whitespace().nth(2) == Some("tracefs"))
    })
}

/// Said of a fact that needs the loader's privileges to see, when they were not at hand.
const UNCHECKED: &str = "could not be checked with the loader's privileges (sudo wants a password)";

pub use bpf_build::on_path;

/// tracefs as the loader will find it; without the loader's privileges, as
/// `/proc/self/mounts` lists it.
pub fn tracefs_mounted() -> bool {
    as_loader().map_or_else(|| Path::new(TRACEFS).join("events").is_dir() || tracefs_in_mounts(), |seen| seen.tracefs)
}

/// The clang the lessons build with, looked up once a run: each lookup runs `clang --version`.
pub fn clang() -> Option<bpf_build::Clang> {
    static FOUND: std::sync::OnceLock<Option<bpf_build::Clang>> = std::sync::OnceLock::new();
    FOUND.get_or_init(bpf_build::find_clang).clone()
}

/// The `CLANG` every lesson build is given: the first clang [`clang`] would
/// try, found without running it, so that a build need not wait for
/// `--version`. Every build gets the same value, as cargo rebuilds a lesson
/// whose `CLANG` changed.
pub fn clang_for_builds() -> std::ffi::OsString {
    bpf_build::clang_candidates().into_iter().next().map_or_else(|| "clang".into(), std::path::PathBuf::into_os_string)
}

pub fn check_privileges() -> Finding {
    use std::io::IsTerminal;
    match privileges() {
        Privileges::Root => finding("privileges", Status::Ok, "running as root", None),
        Privileges::Sudo => {
            finding("privileges", Status::Ok, "not root; sudo needs no password: check runs only each lesson's loader under sudo", None)
        }
        Privileges::SudoAsks if std::io::stdin().is_terminal() => finding(
            "privileges",
            Status::Note,
            "not root; sudo wants a password, which check asks for before it runs a lesson's loader under sudo",
            None,
        ),
        Privileges::SudoAsks => finding(
            "privileges",
            Status::Problem,
            "not root, and sudo wants a password, with no terminal here to type it on",
            Some("run it in a terminal (sudo asks once), or run `sudo -v` first, or run it as root".into()),
        ),
        Privileges::None => finding(
            "privileges",
            Status::Problem,
            "not root and no sudo: the kernel will refuse to load BPF",
            Some("run the checker as root (su -), or install sudo".into()),
        ),
    }
}

/// This machine's architecture, as `uname -m` names it.
pub fn architecture() -> String {
    // SAFETY: uname fills the struct it is given; its fields are NUL-terminated.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut names) } != 0 {
        return std::env::consts::ARCH.to_string();
    }
    let machine = unsafe { std::ffi::CStr::from_ptr(names.machine.as_ptr()) };
    machine.to_string_lossy().into_owned()
}

pub fn check_architecture() -> Finding {
    architecture_finding(&architecture())
}

/// The lessons build for every architecture the workbook ships a `vmlinux.h`
/// for (x86_64 and aarch64); anything else is refused with the route that
/// works, and no claim about what has never run there. `arch` is passed in,
/// as `uname -m` names it, so that each answer is tested on any machine.
pub fn architecture_finding(arch: &str) -> Finding {
    match arch {
        "x86_64" => finding("arch", Status::Ok, "x86_64: vmlinux/x86_64 ships with the workbook", None),
        "aarch64" => finding("arch", Status::Ok, "aarch64 (arm64): vmlinux/aarch64 ships with the workbook", None),
        _ => finding(
            "arch",
            Status::Problem,
            format!("{arch}: {}; nothing has run on {arch}", bpf_build::unsupported_arch(arch)),
            Some("use an x86_64 or arm64 Linux machine: a laptop, a Linux VM on it, or a cloud VM (Debian or Ubuntu), then cargo xtask setup".into()),
        ),
    }
}

pub fn check_btf() -> Finding {
    let readable = as_loader().map_or_else(|| Path::new(KERNEL_BTF).exists(), |seen| seen.btf);
    if readable {
        finding("kernel BTF", Status::Ok, KERNEL_BTF, None)
    } else {
        finding(
            "kernel BTF",
            Status::Problem,
            format!("{KERNEL_BTF} is missing: CO-RE cannot relocate, load fails with ESRCH"),
            Some("boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian and Ubuntu kernels are)".into()),
        )
    }
}

pub fn check_tracefs() -> Finding {
    let readable_here = Path::new(TRACEFS).join("events").is_dir();
    if as_loader().is_none() && !readable_here && tracefs_in_mounts() {
        finding(
            "tracefs",
            Status::Note,
            format!("mounted at {TRACEFS} (/proc/mounts says so); whether the loader can read it {UNCHECKED}"),
            None,
        )
    } else if tracefs_mounted() {
        finding("tracefs", Status::Ok, format!("mounted at {TRACEFS}"), None)
    } else {
        finding(
            "tracefs",
            Status::Problem,
            format!("not mounted at {TRACEFS}: every tracepoint attach fails with ENOENT"),
            Some(format!("{}   (or: cargo xtask doctor --fix)", as_root(&format!("mount -t tracefs tracefs {TRACEFS}")))),
        )
    }
}

pub fn check_clang() -> Finding {
    // The hint asks the package manager, which takes seconds: only for a problem.
    let install = || Some(distro::install_hint(&[Package::Clang]));
    match clang() {
        Some(c) if c.major() >= 11 => finding("clang", Status::Ok, format!("{} (version {})", c.path.display(), c.version), None),
        Some(c) => finding("clang", Status::Problem, format!("clang {} is too old for CO-RE (11 or newer)", c.version), install()),
        None => finding("clang", Status::Problem, "no clang on PATH: the BPF programs cannot be compiled", install()),
    }
}

pub fn check_libraries() -> Finding {
    if on_path("pkg-config").is_none() {
        return finding(
            "libraries",
            Status::Problem,
            "pkg-config is missing: libbpf-sys cannot find libelf and zlib",
            Some(distro::install_hint(&[Package::PkgConfig, Package::LibelfHeaders, Package::ZlibHeaders])),
        );
    }
    let found = Command::new("pkg-config").args(["--exists", "libelf", "zlib"]).status().is_ok_and(|s| s.success());
    if found {
        finding("libraries", Status::Ok, "libelf, zlib and pkg-config", None)
    } else {
        finding(
            "libraries",
            Status::Problem,
            "libelf or zlib headers are missing: libbpf-sys cannot build",
            Some(distro::install_hint(&[Package::LibelfHeaders, Package::ZlibHeaders])),
        )
    }
}

pub fn kprobes_available() -> bool {
    as_loader().map_or_else(
        || Path::new("/sys/bus/event_source/devices/kprobe").exists() || Path::new(TRACEFS).join("kprobe_events").exists(),
        |seen| seen.kprobes,
    )
}

pub fn check_kprobes() -> Finding {
    if kprobes_available() {
        finding("kprobes", Status::Ok, "available", None)
    } else {
        finding(
            "kprobes",
            Status::Note,
            "not in this kernel (CONFIG_KPROBES unset): kprobe layers, and lessons that need kprobes, are skipped with the reason; \
             `cargo xtask check NN --kernel 6.1` runs them under qemu",
            None,
        )
    }
}

pub fn check_lockdown() -> Finding {
    match std::fs::read_to_string("/sys/kernel/security/lockdown") {
        Ok(modes) if modes.contains("[confidentiality]") => finding(
            "lockdown",
            Status::Problem,
            "confidentiality: the kernel blocks BPF reads of kernel memory",
            Some("boot with lockdown=integrity or none (often: disable Secure Boot)".into()),
        ),
        Ok(modes) => {
            let mode = modes.split('[').nth(1).and_then(|m| m.split(']').next()).unwrap_or("none");
            finding("lockdown", Status::Ok, format!("{mode}: BPF tracing allowed"), None)
        }
        Err(_) => finding("lockdown", Status::Ok, "not reported (no securityfs): no lockdown in force", None),
    }
}

/// Why this machine cannot load BPF itself, if it cannot.
pub fn host_blocked() -> Option<&'static str> {
    if !is_root() && !has_sudo() {
        Some("this machine cannot load BPF (not root, no sudo)")
    } else if !Path::new(KERNEL_BTF).exists() {
        Some("this kernel has no BTF")
    } else if check_container().is_some() {
        Some("inside a container BPF is often blocked")
    } else {
        None
    }
}

/// The file a container runtime leaves, if this is a container.
pub fn container_marker() -> Option<&'static str> {
    ["/.dockerenv", "/run/.containerenv"].into_iter().find(|m| Path::new(m).exists())
}

pub fn check_container() -> Option<Finding> {
    let marker = container_marker()?;
    Some(finding(
        "container",
        Status::Note,
        format!("{marker} exists: if loading fails here, the container needs --privileged (or CAP_BPF and CAP_PERFMON) and its own tracefs mount"),
        None,
    ))
}

/// make and a C compiler, which libbpf-sys needs to build libbpf.
pub fn check_build_tools() -> Finding {
    let missing: Vec<Package> = [("make", Package::Make), ("cc", Package::CCompiler)]
        .into_iter()
        .filter(|(tool, _)| on_path(tool).is_none())
        .map(|(_, package)| package)
        .collect();
    if missing.is_empty() {
        return finding("build tools", Status::Ok, "make and a C compiler (cc)", None);
    }
    finding(
        "build tools",
        Status::Problem,
        "make or a C compiler (cc) is missing: libbpf-sys cannot build libbpf",
        Some(distro::install_hint(&missing)),
    )
}

/// Bytes an unprivileged user may still write on the disk that holds `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Whether the disk under `path` has the `need_gib` GiB that `what` writes:
/// a build that runs out of space fails far from here, with a message about
/// some file it could not write.
pub fn check_disk(path: &Path, need_gib: u64, what: &str) -> Finding {
    const GIB: u64 = 1 << 30;
    let Some(free) = free_bytes(path) else {
        return finding("disk", Status::Note, format!("could not tell the free space under {}", path.display()), None);
    };
    let detail = format!("{:.1} GiB free; {what} needs about {need_gib} GiB", free as f64 / GIB as f64);
    if free >= need_gib * GIB {
        finding("disk", Status::Ok, detail, None)
    } else {
        finding("disk", Status::Problem, detail, Some(format!("free some space on the disk that holds {}", path.display())))
    }
}

/// The problems that stop any lesson from building here.
pub fn build_problems() -> Vec<Finding> {
    let mut checks = vec![check_architecture(), check_build_tools(), check_clang(), check_libraries()];
    checks.retain(|f| f.status == Status::Problem);
    checks
}

/// `6.18.4-foo` → (6, 18).
fn major_minor(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

pub fn check_min_kernel(min: &str) -> Option<Finding> {
    let release = older_than(min)?;
    Some(finding("kernel", Status::Problem, format!("{release} is older than the {min} this lesson needs"), None))
}

/// The running kernel's release, if it is older than `min` (e.g. "5.8").
pub fn older_than(min: &str) -> Option<String> {
    let release = kernel_release()?;
    (major_minor(&release)? < major_minor(min)?).then_some(release)
}

/// User and system time of this process and of the children it waited for.
pub fn processor_time() -> std::time::Duration {
    let used = |who| {
        // SAFETY: getrusage only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(who, &mut usage) } != 0 {
            return std::time::Duration::ZERO;
        }
        let time = |t: libc::timeval| std::time::Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        time(usage.ru_utime) + time(usage.ru_stime)
    };
    used(libc::RUSAGE_SELF) + used(libc::RUSAGE_CHILDREN)
}

pub fn kernel_release() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|r| r.trim().to_string())
}

/// As root, or through passwordless sudo.
pub fn mount_tracefs() -> Result<()> {
    let mut mount = if is_root() { Command::new("mount") } else { Command::new("sudo") };
    if !is_root() {
        mount.args(["-n", "mount"]);
    }
    let status = mount.args(["-t", "tracefs", "tracefs", TRACEFS]).status()?;
    *SEEN.lock().unwrap_or_else(|e| e.into_inner()) = None;
    anyhow::ensure!(status.success(), "mount -t tracefs tracefs {TRACEFS} failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_compare_by_major_then_minor() {
        assert_eq!(major_minor("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(major_minor("5.10.0-33-amd64"), Some((5, 10)));
        assert!(major_minor("5.8").unwrap() < major_minor("5.10").unwrap());
        assert_eq!(major_minor("garbage"), None);
    }

    #[test]
    fn x86_64_and_aarch64_are_accepted_and_others_are_shown_the_way_that_works() {
        let x86 = architecture_finding("x86_64");
        assert_eq!(x86.status, Status::Ok);
        assert!(x86.detail.contains("vmlinux/x86_64"), "{}", x86.detail);
        let arm = architecture_finding("aarch64");
        assert_eq!(arm.status, Status::Ok, "{}", arm.detail);
        assert!(arm.detail.contains("vmlinux/aarch64"), "{}", arm.detail);
        assert!(arm.fix.is_none());
        let riscv = architecture_finding("riscv64");
        assert_eq!(riscv.status, Status::Problem);
        assert!(riscv.detail.contains("ships vmlinux.h for x86_64 and aarch64 only"), "{}", riscv.detail);
        assert!(riscv.detail.contains("nothing has run on riscv64"), "{}", riscv.detail);
        assert!(riscv.fix.unwrap().contains("x86_64 or arm64 Linux machine"));
        assert_eq!(architecture(), std::env::consts::ARCH);
    }

    #[test]
    fn a_finding_prints_its_fix_on_its_own_line() {
        let f = finding("tracefs", Status::Problem, "not mounted", Some("mount it".into()));
        assert_eq!(f.to_string(), "PROBLEM  tracefs      not mounted\n                      fix: mount it");
    }
}
