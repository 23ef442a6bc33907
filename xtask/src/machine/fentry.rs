//! Whether this kernel runs fentry programs. No file or config option says
//! so reliably (a kernel may build them and still refuse them, as some
//! sandboxed kernels do with EPERM), so the workbook loads and attaches the
//! smallest fentry program there is, once, as root.

use std::path::Path;
use std::sync::OnceLock;

use super::btf::{Kind, TypeTable};
use super::host::{self, Privileges};

/// Functions a kernel's BTF usually has; the first found is the probe's target.
const TARGETS: &[&str] = &["do_unlinkat", "vfs_read", "bpf_fentry_test1"];

/// Set in the environment of the copy of xtask that sudo runs to probe as root.
pub const PROBE_ENV: &str = "WORKBOOK_FENTRY_PROBE";

/// Ok where fentry programs load and attach; else why not. Asked once.
pub fn support() -> Result<(), String> {
    static SEEN: OnceLock<Result<(), String>> = OnceLock::new();
    SEEN.get_or_init(|| match host::privileges() {
        Privileges::Root => probe(),
        Privileges::Sudo => probe_through_sudo(),
        Privileges::SudoAsks | Privileges::None => Err("could not be checked: loading BPF needs root".to_string()),
    })
    .clone()
}

/// The probe in a copy of this program that sudo starts as root.
fn probe_through_sudo() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("could not be checked: {e}"))?;
    let output = std::process::Command::new("sudo")
        .args(["-n", "env", &format!("{PROBE_ENV}=1")])
        .arg(exe)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not be checked: {e}"))?;
    let said = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() {
        Ok(())
    } else {
        Err(said)
    }
}

/// The probe's answer on stdout and as the exit code, for [`probe_through_sudo`].
pub fn answer_probe() -> std::process::ExitCode {
    match probe() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(why) => {
            println!("{why}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Loads `r0 = 0; exit` as fentry on a function of the kernel's BTF, and attaches it.
fn probe() -> Result<(), String> {
    let btf =
        TypeTable::open(Path::new("/sys/kernel/btf/vmlinux")).map_err(|_| "the kernel has no BTF (/sys/kernel/btf/vmlinux)".to_string())?;
    let (target, id) = TARGETS
        .iter()
        .find_map(|name| {
            btf.named(name).into_iter().find(|&id| btf.ty(id).is_some_and(|t| Kind::of(&t) == Kind::Func)).map(|id| (*name, id))
        })
        .ok_or_else(|| format!("none of {} is a function of the kernel's BTF", TARGETS.join(", ")))?;
    let program = load(id).map_err(|e| format!("an fentry program on {target} does not load: {}", describe(&e)))?;
    let link = attach(&program).map_err(|e| format!("an fentry program on {target} loads, and does not attach: {}", describe(&e)))?;
    drop((link, program));
    Ok(())
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_TRACE_FENTRY: u32 = 24;

/// `bpf(cmd, attr)`, with `attr` zero past what the command reads.
fn bpf(cmd: libc::c_long, attr: &mut [u8; 144]) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: attr is a bpf_attr for cmd, valid and zero beyond its fields for the call.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new descriptor, owned here.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

fn load(btf_id: u32) -> std::io::Result<std::os::fd::OwnedFd> {
    // r0 = 0; exit
    let insns: [u64; 2] = [u64::from_le_bytes([0xb7, 0, 0, 0, 0, 0, 0, 0]), u64::from_le_bytes([0x95, 0, 0, 0, 0, 0, 0, 0])];
    let license = c"GPL";
    let mut attr = [0u8; 144];
    attr[0..4].copy_from_slice(&BPF_PROG_TYPE_TRACING.to_ne_bytes());
    attr[4..8].copy_from_slice(&2u32.to_ne_bytes());
    attr[8..16].copy_from_slice(&(insns.as_ptr() as u64).to_ne_bytes());
    attr[16..24].copy_from_slice(&(license.as_ptr() as u64).to_ne_bytes());
    attr[68..72].copy_from_slice(&BPF_TRACE_FENTRY.to_ne_bytes());
    attr[108..112].copy_from_slice(&btf_id.to_ne_bytes());
    bpf(BPF_PROG_LOAD, &mut attr)
}

fn attach(program: &std::os::fd::OwnedFd) -> std::io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsRawFd;
    let mut attr = [0u8; 144];
    attr[8..12].copy_from_slice(&(program.as_raw_fd() as u32).to_ne_bytes());
    bpf(BPF_RAW_TRACEPOINT_OPEN, &mut attr)
}

/// `EPERM (Operation not permitted)`.
fn describe(error: &std::io::Error) -> String {
    let code = error.raw_os_error().unwrap_or(0);
    let name = match code {
        libc::EPERM => "EPERM",
        libc::EINVAL => "EINVAL",
        libc::EACCES => "EACCES",
        libc::ESRCH => "ESRCH",
        _ => return error.to_string(),
    };
    let text = error.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    format!("{name} ({text})")
}

/// doctor's line: fentry programs run here, or why not and where they do.
pub fn check() -> host::Finding {
    match support() {
        Ok(()) => host::finding("fentry", host::Status::Ok, "an fentry program loads and attaches", None),
        Err(why) => host::finding(
            "fentry",
            host::Status::Note,
            format!(
                "{why}: lessons that need fentry are skipped with the reason; \
                 `cargo xtask check NN --kernel 6.12` runs them under qemu"
            ),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_errno_is_named_with_its_text() {
        assert_eq!(describe(&std::io::Error::from_raw_os_error(libc::EPERM)), "EPERM (Operation not permitted)");
        assert_eq!(describe(&std::io::Error::from_raw_os_error(libc::ESRCH)), "ESRCH (No such process)");
    }

    #[test]
    #[ignore = "needs root: loads and attaches a BPF program"]
    fn the_probe_answers_yes_or_names_the_stage_and_the_errno() {
        if let Err(why) = probe() {
            assert!(why.starts_with("an fentry program on ") && why.contains(" does not "), "{why}");
            assert!(why.contains("EPERM") || why.contains("EINVAL") || why.contains("EACCES") || why.contains("ESRCH"), "{why}");
        }
    }
}
