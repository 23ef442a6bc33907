//! The one place that knows package managers and package names: apt (Debian,
//! Ubuntu), dnf (Fedora), pacman (Arch) and zypper (openSUSE). Everything
//! that tells a learner what to install asks here, so a hint never names
//! `apt-get` on a machine without it. On a system it does not know, the
//! hint names what is missing and what it is for.

use std::process::Command;

/// A package manager the workbook can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    Apt,
    Dnf,
    Pacman,
    Zypper,
}

/// Something the workbook installs, named by what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Package {
    Make,
    CCompiler,
    PkgConfig,
    LibelfHeaders,
    ZlibHeaders,
    Clang,
    Qemu,
    StaticBusybox,
    Bpftool,
    Strace,
    Chromium,
    Sudo,
    CjkFont,
    Gettext,
    Poppler,
    Socat,
    Openssl,
}

impl Package {
    /// What it is, for a learner whose package manager is unknown.
    pub fn describe(self) -> &'static str {
        match self {
            Package::Make => "make",
            Package::CCompiler => "a C compiler (gcc)",
            Package::PkgConfig => "pkg-config",
            Package::LibelfHeaders => "libelf's headers",
            Package::ZlibHeaders => "zlib's headers",
            Package::Clang => "clang and llvm (11 or newer; the snapshots were made with 19)",
            Package::Qemu => "qemu for x86_64 (qemu-system-x86_64)",
            Package::StaticBusybox => "a statically linked busybox",
            Package::Bpftool => "bpftool",
            Package::Strace => "strace",
            Package::Chromium => "Chromium",
            Package::Sudo => "sudo",
            Package::CjkFont => "a font with Chinese glyphs (Noto CJK)",
            Package::Gettext => "gettext (msgmerge)",
            Package::Poppler => "poppler's tools (pdftoppm)",
            Package::Socat => "socat",
            Package::Openssl => "openssl's command-line tool",
        }
    }

    /// The package names on `manager`. Debian's were checked against its
    /// archive (`apt-cache show`); the others against each distribution's
    /// package search, as the closing note of the change that added them says.
    pub fn names(self, manager: Manager) -> Vec<&'static str> {
        use Manager::*;
        use Package::*;
        let one = |name| vec![name];
        match (self, manager) {
            (Make, _) => one("make"),
            (CCompiler, _) => one("gcc"),
            (PkgConfig, Apt) => one("pkg-config"),
            (PkgConfig, Dnf) => one("pkgconf-pkg-config"),
            (PkgConfig, Pacman) => one("pkgconf"),
            (PkgConfig, Zypper) => one("pkg-config"),
            (LibelfHeaders, Apt) => one("libelf-dev"),
            (LibelfHeaders, Dnf) => one("elfutils-libelf-devel"),
            (LibelfHeaders, Pacman) => one("libelf"),
            (LibelfHeaders, Zypper) => one("libelf-devel"),
            (ZlibHeaders, Apt) => one("zlib1g-dev"),
            (ZlibHeaders, Dnf | Zypper) => one("zlib-devel"),
            (ZlibHeaders, Pacman) => one("zlib"),
            // The snapshots were made with clang 19; the distribution's clang where Debian's archive has no clang-19.
            (Clang, Apt) => {
                if apt_archive_has("clang-19") {
                    vec!["clang-19", "llvm-19"]
                } else {
                    vec!["clang", "llvm"]
                }
            }
            (Clang, _) => vec!["clang", "llvm"],
            (Qemu, Apt | Pacman) => one("qemu-system-x86"),
            (Qemu, Dnf) => one("qemu-system-x86-core"),
            (Qemu, Zypper) => one("qemu-x86"),
            (StaticBusybox, Apt) => one("busybox-static"),
            (StaticBusybox, _) => one("busybox"),
            (Bpftool, Apt) => one(if apt_archive_has("bpftool") { "bpftool" } else { "linux-tools-common" }),
            (Bpftool, Pacman) => one("bpf"),
            (Bpftool, Dnf | Zypper) => one("bpftool"),
            (Strace, _) => one("strace"),
            (Chromium, Apt) => one(if apt_archive_has("chromium") { "chromium" } else { "chromium-browser" }),
            (Chromium, _) => one("chromium"),
            (Sudo, _) => one("sudo"),
            (Gettext, _) => one("gettext"),
            (Poppler, Zypper) => one("poppler-tools"),
            (Poppler, Pacman) => one("poppler"),
            (Poppler, _) => one("poppler-utils"),
            (Socat, _) => one("socat"),
            (Openssl, _) => one("openssl"),
            (CjkFont, Apt) => one("fonts-noto-cjk"),
            (CjkFont, Dnf) => one("google-noto-sans-cjk-fonts"),
            (CjkFont, Pacman) => one("noto-fonts-cjk"),
            (CjkFont, Zypper) => one("noto-sans-cjk-fonts"),
        }
    }
}

impl Manager {
    /// The first package manager on `PATH`, in the order apt, dnf, pacman, zypper.
    pub fn detect() -> Option<Manager> {
        [(Manager::Apt, "apt-get"), (Manager::Dnf, "dnf"), (Manager::Pacman, "pacman"), (Manager::Zypper, "zypper")]
            .into_iter()
            .find(|(_, program)| bpf_build::on_path(program).is_some())
            .map(|(manager, _)| manager)
    }

    pub fn program(self) -> &'static str {
        match self {
            Manager::Apt => "apt-get",
            Manager::Dnf => "dnf",
            Manager::Pacman => "pacman",
            Manager::Zypper => "zypper",
        }
    }

    /// The commands that install `names`, in order, each as its arguments after the program.
    pub fn install_steps(self, names: &[&str]) -> Vec<Vec<String>> {
        let with = |first: &[&str]| first.iter().chain(names).map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Manager::Apt => vec![vec!["update".into(), "-q".into()], with(&["install", "-y", "-q", "--no-install-recommends"])],
            Manager::Dnf => vec![with(&["install", "-y"])],
            Manager::Pacman => vec![with(&["-S", "--needed", "--noconfirm"])],
            Manager::Zypper => vec![with(&["--non-interactive", "install"])],
        }
    }

    /// The install command a learner would type, without the non-interactive flags.
    pub fn install_command(self, names: &[&str]) -> String {
        let verb = match self {
            Manager::Pacman => "-S",
            _ => "install",
        };
        format!("{} {verb} {}", self.program(), names.join(" "))
    }
}

/// How to install `packages` here: `sudo dnf install …`, or, where no known
/// package manager exists, what to install with whatever the system has.
pub fn install_hint(packages: &[Package]) -> String {
    let mut names: Vec<&str> = Vec::new();
    match Manager::detect() {
        Some(manager) => {
            for name in packages.iter().flat_map(|p| p.names(manager)) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            format!("{}{}", sudo_word(), manager.install_command(&names))
        }
        None => {
            let what: Vec<&str> = packages.iter().map(|p| p.describe()).collect();
            format!("install {} with this system's package manager", what.join(", "))
        }
    }
}

fn sudo_word() -> &'static str {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    if root {
        ""
    } else {
        "sudo "
    }
}

fn apt_archive_has(package: &str) -> bool {
    Command::new("apt-cache").args(["show", "--quiet=2", package]).output().is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
}
