//! The Debian and Ubuntu packages each use of the workbook needs, which of
//! them this machine lacks, and installing those with apt-get (asking first).

use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::machine::host::{self, on_path};
use crate::machine::vm;

/// Something the workbook needs, and the packages that provide it.
pub struct Need {
    pub what: &'static str,
    pub present: bool,
    packages: fn() -> Vec<&'static str>,
}

fn need(what: &'static str, present: bool, packages: fn() -> Vec<&'static str>) -> Need {
    Need { what, present, packages }
}

/// What building any lesson needs: libbpf-sys builds libbpf with make and cc
/// against libelf and zlib, and each build script runs clang.
pub fn for_lessons() -> Vec<Need> {
    let pkg_config_has = |library| Command::new("pkg-config").args(["--exists", library]).status().is_ok_and(|s| s.success());
    vec![
        need("make", on_path("make").is_some(), || vec!["make"]),
        need("a C compiler (cc)", on_path("cc").is_some(), || vec!["gcc"]),
        need("pkg-config", on_path("pkg-config").is_some(), || vec!["pkg-config"]),
        need("libelf's headers", pkg_config_has("libelf"), || vec!["libelf-dev"]),
        need("zlib's headers", pkg_config_has("zlib"), || vec!["zlib1g-dev"]),
        need("clang 11 or newer", host::clang().is_some_and(|c| c.major() >= 11), clang),
    ]
}

/// What `check NN --kernel 6.1` needs besides the build: qemu, a static
/// busybox for the guest, and Debian's keyring to verify the kernels.
pub fn for_vm() -> Vec<Need> {
    vec![
        need("qemu", on_path(vm::QEMU).is_some(), || vec!["qemu-system-x86"]),
        need("a static busybox", vm::static_busybox().is_some(), || vec!["busybox-static"]),
        keyring(),
    ]
}

/// Debian's keyring, which verifies every kernel fetched from its archive.
fn keyring() -> Need {
    need("Debian's archive keyring", std::path::Path::new(crate::machine::kernels::KEYRING).exists(), || vec!["debian-archive-keyring"])
}

/// What proving a lesson's portability needs: Debian's keyring to verify the
/// kernel whose BTF it relocates against, and xz to unpack that kernel.
pub fn for_portability() -> Vec<Need> {
    vec![
        keyring(),
        need("xz", on_path("xz").is_some(), || vec!["xz-utils"]),
    ]
}

/// What the maintainers' tests need on top: Chromium reads the book, bpftool
/// lists what the lessons left in the kernel, sudo serves the sudo user's test,
/// a CJK font draws the zh-CN edition's glyphs (not boxes), and poppler reads
/// the handout's PDF back.
pub fn for_tests() -> Vec<Need> {
    let chromium = ["chromium", "chromium-browser"].iter().any(|c| on_path(c).is_some()) || std::env::var_os("CHROMIUM").is_some();
    vec![
        need("Chromium", chromium, || vec![if archive_has("chromium") { "chromium" } else { "chromium-browser" }]),
        need("bpftool", on_path("bpftool").is_some() || std::path::Path::new("/usr/sbin/bpftool").is_file(), || {
            vec![if archive_has("bpftool") { "bpftool" } else { "linux-tools-common" }]
        }),
        need("sudo", host::has_sudo(), || vec!["sudo"]),
        need("a CJK font", std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").is_file(), || vec!["fonts-noto-cjk"]),
        need("pdftoppm", on_path("pdftoppm").is_some(), || vec!["poppler-utils"]),
    ]
}

/// The snapshots were made with clang 19; the distribution's clang where the
/// archive has no clang-19.
fn clang() -> Vec<&'static str> {
    if archive_has("clang-19") { vec!["clang-19", "llvm-19"] } else { vec!["clang", "llvm"] }
}

fn archive_has(package: &str) -> bool {
    Command::new("apt-cache")
        .args(["show", "--quiet=2", package])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}

/// The packages that provide what `missing` names, in order, each once.
pub fn packages_for(missing: &[&Need]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = Vec::new();
    for package in missing.iter().flat_map(|n| (n.packages)()) {
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    packages
}

/// `sudo ` when installing needs it, or an error when nothing can install.
pub fn sudo_prefix(packages: &[&str]) -> Result<&'static str> {
    if host::is_root() {
        Ok("")
    } else if host::has_sudo() {
        Ok("sudo ")
    } else {
        bail!("installing packages needs root; as root run: apt-get install {}", packages.join(" "))
    }
}

/// `apt-get update`, then `apt-get install` of the packages for `missing`,
/// chosen after the update (the archive may offer clang-19 only then).
pub fn install(missing: &[&Need], sudo: &str) -> Result<()> {
    let apt = |args: &[&str]| -> Result<()> {
        let mut apt = Command::new(if sudo.is_empty() { "apt-get" } else { "sudo" });
        if !sudo.is_empty() {
            apt.arg("apt-get");
        }
        let status = apt.args(args).env("DEBIAN_FRONTEND", "noninteractive").status().context("running apt-get")?;
        ensure!(status.success(), "`{sudo}apt-get {}` failed", args.join(" "));
        Ok(())
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(packages_for(missing));
    apt(&install)
}
