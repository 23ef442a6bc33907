//! Lessons built for arm64 on an x86_64 machine, to run on Debian's arm64
//! kernels under `qemu-system-aarch64`. rustup cannot fetch another target's
//! standard library here, but Debian ships one: `libstd-rust-dev` is
//! Multi-Arch, so a Debian 13 (trixie) root with the arm64 architecture added
//! cross-builds with Debian's own rustc (1.85), which is why the lesson crates
//! keep a `rust-version` that rustc meets.
//!
//! The root lives in the per-user cache, outside the workbook, and is made
//! once (`debootstrap`, then apt; about 1 GB). Builds run in it through
//! `chroot`, in a mount namespace of their own, so the workbook's scratch
//! copy and target folder appear inside it at the same paths and every
//! mount disappears with the build. It needs root, like any chroot: this is
//! a maintainer's command, not a learner's.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

/// Rust's name of the target the arm64 lessons are built for.
pub const TARGET: &str = "aarch64-unknown-linux-gnu";
/// Debian's name of its multiarch folders.
const TRIPLET: &str = "aarch64-linux-gnu";
const SUITE: &str = "trixie";
const MIRROR: &str = "https://deb.debian.org/debian";
/// What the root needs: Debian's rustc and cargo, arm64's standard library,
/// C cross compiler and the libraries libbpf links (for both architectures:
/// the build scripts, which generate the skeletons, link libbpf too), clang
/// for the BPF side, and a static arm64 busybox for the guests' initramfs.
pub const PACKAGES: &[&str] = &[
    "rustc",
    "cargo",
    "libstd-rust-dev:arm64",
    "gcc-aarch64-linux-gnu",
    "libc6-dev:arm64",
    "libelf-dev:arm64",
    "zlib1g-dev:arm64",
    "libelf-dev",
    "zlib1g-dev",
    "clang",
    "llvm",
    "pkg-config",
    "make",
    "ca-certificates",
    "busybox-static:arm64",
];
/// Written last, with the packages installed: a root without it, or made
/// with fewer packages, is finished on the next run.
const READY: &str = "workbook-cross-ready";

/// The root: `<cache>/libbpf-core-workbook/cross-trixie`.
pub fn dir() -> Result<PathBuf> {
    let kernels = crate::machine::kernels::cache_dir()?;
    Ok(kernels.parent().context("the kernel cache has no parent folder")?.join(format!("cross-{SUITE}")))
}

/// The root, made or finished first if it is not ready, once `confirm`
/// (the caller's question to the user) agrees to the download.
pub fn ensure_root(confirm: impl FnOnce(&str) -> Result<()>) -> Result<PathBuf> {
    let root = dir()?;
    // The stamp lists the packages installed: a root made before the list grew is finished.
    if std::fs::read_to_string(root.join(READY)).is_ok_and(|made| made == PACKAGES.join("\n")) {
        return Ok(root);
    }
    ensure!(crate::machine::host::is_root(), "making the arm64 build root ({}) needs root: it runs debootstrap and chroot", root.display());
    for tool in ["debootstrap", "unshare", "chroot"] {
        ensure!(on_path(tool), "{tool} is missing (Debian: apt-get install debootstrap util-linux coreutils)");
    }
    let question = format!(
        "the arm64 lessons are built in a Debian {SUITE} root at {}: debootstrap and {} packages download about 1 GB once. Go on?",
        root.display(),
        PACKAGES.len()
    );
    confirm(&question)?;
    if !root.join("usr/bin/apt-get").exists() {
        run(Command::new("debootstrap").args(["--variant=minbase", SUITE]).arg(&root).arg(MIRROR))?;
    }
    // The host's CA bundle and resolver, so apt and cargo reach their servers over HTTPS.
    std::fs::create_dir_all(root.join("etc/ssl/certs"))?;
    std::fs::copy("/etc/ssl/certs/ca-certificates.crt", root.join("etc/ssl/certs/ca-certificates.crt"))
        .context("copying the CA bundle into the root")?;
    std::fs::write(root.join("etc/resolv.conf"), std::fs::read("/etc/resolv.conf").context("reading /etc/resolv.conf")?)?;
    let install = format!(
        "dpkg --add-architecture arm64 && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends {}",
        PACKAGES.join(" ")
    );
    run(&mut in_root(&root, &[], &["sh", "-c", &install]))?;
    std::fs::write(root.join(READY), PACKAGES.join("\n"))?;
    Ok(root)
}

/// `program` run inside `root` by chroot, in a mount namespace of its own
/// with /dev, /proc and each of `shared` (at the same path) mounted in.
pub fn in_root(root: &Path, shared: &[&Path], program: &[&str]) -> Command {
    const SCRIPT: &str = r#"set -e
root=$1; shift
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
while [ "$1" != -- ]; do mkdir -p "$root$1"; mount --bind "$1" "$root$1"; shift; done
shift
exec chroot "$root" "$@""#;
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "--", "sh", "-c", SCRIPT, "sh"]).arg(root);
    command.args(shared).arg("--").args(["env", "-i", "HOME=/root", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"]);
    command.args(program);
    command
}

/// The environment a cross build of the lessons needs inside the root.
pub fn build_env() -> Vec<(String, String)> {
    let under = TARGET.replace('-', "_");
    let upper = under.to_uppercase();
    [
        (format!("CARGO_TARGET_{upper}_LINKER"), format!("{TRIPLET}-gcc")),
        (format!("CC_{under}"), format!("{TRIPLET}-gcc")),
        (format!("AR_{under}"), format!("{TRIPLET}-ar")),
        ("PKG_CONFIG_ALLOW_CROSS".into(), "1".into()),
        // For the target's libraries only: the build scripts link the host's.
        (format!("PKG_CONFIG_LIBDIR_{under}"), format!("/usr/lib/{TRIPLET}/pkgconfig:/usr/share/pkgconfig")),
        ("CLANG".into(), "clang".into()),
    ]
    .into_iter()
    .collect()
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("running {:?}", command.get_program()))?;
    ensure!(status.success(), "{:?} failed ({status})", command.get_program());
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// `path` (absolute, as the guest sees it) inside `root`, its symlinks followed within the root.
fn resolve_in(root: &Path, path: &Path) -> Result<PathBuf> {
    let mut current = PathBuf::from("/");
    let mut pending: Vec<std::ffi::OsString> = path.components().rev().map(|c| c.as_os_str().to_owned()).collect();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.to_str() {
            Some("/") | Some(".") => continue,
            Some("..") => {
                current.pop();
                continue;
            }
            _ => {}
        }
        let next = current.join(&part);
        let inside = root.join(next.strip_prefix("/")?);
        match std::fs::read_link(&inside) {
            Ok(target) => {
                hops += 1;
                ensure!(hops < 40, "too many symlinks resolving {}", path.display());
                if target.is_absolute() {
                    current = PathBuf::from("/");
                }
                pending.extend(target.components().rev().map(|c| c.as_os_str().to_owned()));
            }
            Err(_) => current = next,
        }
    }
    Ok(root.join(current.strip_prefix("/")?))
}

/// The dynamic loader and shared libraries an arm64 `binary` loads, found in
/// `root` by its ELF headers (ldd cannot run it): (copy in the root, path in the guest).
pub fn libraries(root: &Path, binary: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let mut found: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut queue = vec![binary.to_path_buf()];
    while let Some(file) = queue.pop() {
        let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let (interpreter, needed) = dynamic_needs(&data).with_context(|| format!("reading {}'s ELF headers", file.display()))?;
        let mut wanted: Vec<PathBuf> = interpreter.into_iter().map(PathBuf::from).collect();
        for name in needed {
            let guest = ["/lib", "/usr/lib"]
                .iter()
                .map(|dir| Path::new(dir).join(TRIPLET).join(&name))
                .find(|guest| resolve_in(root, guest).is_ok_and(|p| p.is_file()));
            match guest {
                Some(guest) => wanted.push(guest),
                None => bail!("{} needs {name}, which the arm64 root does not have", file.display()),
            }
        }
        for guest in wanted {
            if found.iter().any(|(_, g)| *g == guest) {
                continue;
            }
            let copy = resolve_in(root, &guest)?;
            queue.push(copy.clone());
            found.push((copy, guest));
        }
    }
    Ok(found)
}

/// A 64-bit ELF file's PT_INTERP and DT_NEEDED entries.
fn dynamic_needs(data: &[u8]) -> Result<(Option<String>, Vec<String>)> {
    use object::read::elf::{Dyn as _, FileHeader as _, ProgramHeader as _, SectionHeader as _};
    let header = object::elf::FileHeader64::<object::Endianness>::parse(data)?;
    let endian = header.endian()?;
    let mut interpreter = None;
    for segment in header.program_headers(endian, data)? {
        if let Some(bytes) = segment.interpreter(endian, data)? {
            interpreter = Some(String::from_utf8_lossy(bytes).into_owned());
        }
    }
    let sections = header.sections(endian, data)?;
    let mut needed = Vec::new();
    for section in sections.iter() {
        if let Some((entries, link)) = section.dynamic(endian, data)? {
            let strings = sections.strings(endian, data, link)?;
            for entry in entries {
                if entry.tag32(endian) == Some(object::elf::DT_NEEDED as i32) {
                    needed.push(String::from_utf8_lossy(entry.string(endian, strings)?).into_owned());
                }
            }
        }
    }
    Ok((interpreter, needed))
}

/// The root's static arm64 busybox, for the guests' initramfs.
pub fn busybox(root: &Path) -> Result<PathBuf> {
    let path = resolve_in(root, Path::new("/bin/busybox"))?;
    ensure!(path.is_file(), "the arm64 root has no busybox (package busybox-static:arm64)");
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root_not_on_this_machine() {
        let root = std::env::temp_dir().join(format!("xtask-cross-{}", std::process::id()));
        std::fs::create_dir_all(root.join("usr/lib/aarch64-linux-gnu")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::fs::write(root.join("usr/lib/aarch64-linux-gnu/libz.so.1.3"), b"z").unwrap();
        std::os::unix::fs::symlink("/lib/aarch64-linux-gnu/libz.so.1.3", root.join("usr/lib/aarch64-linux-gnu/libz.so.1")).unwrap();
        let found = resolve_in(&root, Path::new("/lib/aarch64-linux-gnu/libz.so.1")).unwrap();
        assert_eq!(found, root.join("usr/lib/aarch64-linux-gnu/libz.so.1.3"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn this_binary_names_its_loader_and_libc() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let (interpreter, needed) = dynamic_needs(&me).unwrap();
        assert!(interpreter.is_some_and(|i| i.contains("ld-linux")));
        assert!(needed.iter().any(|n| n.starts_with("libc.so")), "{needed:?}");
    }

    #[test]
    fn the_build_links_with_the_cross_compiler() {
        let env = build_env();
        let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"), Some("aarch64-linux-gnu-gcc"));
        assert_eq!(get("CC_aarch64_unknown_linux_gnu"), Some("aarch64-linux-gnu-gcc"));
    }
}
