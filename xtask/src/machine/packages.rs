//! What each use of the workbook needs, which of it this machine lacks, and
//! installing that with the system's package manager (asking first). The
//! package names live in [`distro`]; a system with no known package manager
//! is told what is missing and what each thing is for, and setup goes on.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};

use crate::machine::distro::{Manager, Package};
use crate::machine::host::{self, on_path};
use crate::machine::vm;

/// Something the workbook needs, why, and the packages that provide it.
pub struct Need {
    pub what: &'static str,
    /// What it is for, shown where setup cannot install it.
    pub why: &'static str,
    pub present: bool,
    pub packages: Vec<Package>,
}

fn need(what: &'static str, why: &'static str, present: bool, packages: &[Package]) -> Need {
    Need { what, why, present, packages: packages.to_vec() }
}

/// What building any lesson needs: libbpf-sys builds libbpf with make and cc
/// against libelf and zlib, and each build script runs clang; and the tools
/// the lessons' hints and READMEs tell a learner to run.
pub fn for_lessons() -> Vec<Need> {
    let pkg_config_has = |library| Command::new("pkg-config").args(["--exists", library]).status().is_ok_and(|s| s.success());
    vec![
        need("make", "libbpf-sys builds libbpf with it", on_path("make").is_some(), &[Package::Make]),
        need("a C compiler (cc)", "Rust links with it; libbpf-sys compiles libbpf with it", on_path("cc").is_some(), &[Package::CCompiler]),
        need("pkg-config", "libbpf-sys finds libelf and zlib with it", on_path("pkg-config").is_some(), &[Package::PkgConfig]),
        need("libelf's headers", "libbpf reads ELF objects with libelf", pkg_config_has("libelf"), &[Package::LibelfHeaders]),
        need("zlib's headers", "libbpf links zlib", pkg_config_has("zlib"), &[Package::ZlibHeaders]),
        need(
            "clang 11 or newer",
            "every lesson's build script compiles its BPF program with clang",
            host::clang().is_some_and(|c| c.major() >= 11),
            &[Package::Clang],
        ),
        need("bpftool", "the hints use it to look at loaded programs, maps and BTF", has_bpftool(), &[Package::Bpftool]),
        need("strace", "lesson 02's hint uses it to watch what the loader does", on_path("strace").is_some(), &[Package::Strace]),
    ]
}

fn has_bpftool() -> bool {
    on_path("bpftool").is_some() || std::path::Path::new("/usr/sbin/bpftool").is_file()
}

/// What `check NN --kernel 6.1` needs besides the build: qemu and a static
/// busybox for the guest. The kernels are checked against `kernels.lock`.
pub fn for_vm() -> Vec<Need> {
    vec![
        need("qemu", "runs Debian's kernels for --kernel", on_path(vm::QEMU).is_some(), &[Package::Qemu]),
        need("a static busybox", "the VM's userland", vm::static_busybox().is_some(), &[Package::StaticBusybox]),
    ]
}

/// What the maintainers' tests need on top: Chromium reads the book (and a
/// CJK font draws its Chinese edition), sudo serves the sudo user's test.
pub fn for_tests() -> Vec<Need> {
    let chromium = ["chromium", "chromium-browser"].iter().any(|c| on_path(c).is_some()) || std::env::var_os("CHROMIUM").is_some();
    vec![
        need("Chromium", "the book's tests read every page in it", chromium, &[Package::Chromium]),
        need("sudo", "the tests check a learner who uses sudo", host::has_sudo(), &[Package::Sudo]),
        need("gettext's msgmerge", "dev update-po merges the translation with it", on_path("msgmerge").is_some(), &[Package::Gettext]),
        need("a CJK font", "Chromium draws the Chinese edition with it", has_cjk_font(), &[Package::CjkFont]),
        need("pdftoppm", "the handout's test reads its PDF back", on_path("pdftoppm").is_some(), &[Package::Poppler]),
        need(
            "socat and openssl",
            "a room is tested behind a TLS relay",
            on_path("socat").is_some() && on_path("openssl").is_some(),
            &[Package::Socat, Package::Openssl],
        ),
    ]
}

fn has_cjk_font() -> bool {
    Command::new("fc-list").arg(":lang=zh").output().is_ok_and(|o| !o.stdout.is_empty())
        || std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").is_file()
}

/// The packages that provide what `missing` names on `manager`, in order, each once.
pub fn packages_for(missing: &[&Need], manager: Manager) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = Vec::new();
    for package in missing.iter().flat_map(|n| n.packages.iter().flat_map(|p| p.names(manager))) {
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    packages
}

/// `sudo ` when installing needs it, or an error when nothing can install.
pub fn sudo_prefix(manager: Manager, packages: &[&str]) -> Result<&'static str> {
    if host::is_root() {
        Ok("")
    } else if host::has_sudo() {
        Ok("sudo ")
    } else {
        bail!("installing packages needs root; as root run: {}", manager.install_command(packages))
    }
}

/// Installs the packages for `missing` with `manager`, non-interactively.
pub fn install(manager: Manager, missing: &[&Need], sudo: &str) -> Result<()> {
    install_with(Path::new(manager.program()), manager, missing, sudo)
}

/// [`install`] through `program`, the manager's command (a stand-in in tests).
fn install_with(program: &Path, manager: Manager, missing: &[&Need], sudo: &str) -> Result<()> {
    let names = packages_for(missing, manager);
    for args in manager.install_steps(&names) {
        let mut command = Command::new(if sudo.is_empty() { program.as_os_str() } else { "sudo".as_ref() });
        if !sudo.is_empty() {
            command.arg(program);
        }
        let status = command
            .args(&args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .with_context(|| format!("running {}", manager.program()))?;
        ensure!(status.success(), "`{sudo}{} {}` failed", manager.program(), args.join(" "));
    }
    Ok(())
}

/// The commands each package puts on `PATH`, for the texts' test: what a
/// hint or README tells a learner to run must be something setup installs.
#[cfg(test)]
fn commands(package: Package) -> &'static [&'static str] {
    match package {
        Package::Make => &["make"],
        // binutils comes with gcc on every distribution.
        Package::CCompiler => &["gcc", "cc", "readelf", "objdump"],
        Package::PkgConfig => &["pkg-config"],
        Package::Clang => &["clang", "clang-19", "llvm-readelf-19", "llvm-objdump-19", "llvm-strip-19"],
        Package::Bpftool => &["bpftool"],
        Package::Strace => &["strace"],
        Package::Qemu => &["qemu-system-x86_64"],
        Package::Chromium => &["chromium"],
        Package::Gettext => &["msgmerge"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tools a text may name that are not on every Linux machine; each must
    /// be one setup installs. A command of a shell block must be one of these,
    /// one setup installs, or one every machine has.
    const OPTIONAL_TOOLS: &[&str] = &[
        "bpftool",
        "strace",
        "ltrace",
        "bpftrace",
        "perf",
        "pahole",
        "readelf",
        "objdump",
        "llvm-readelf",
        "llvm-objdump",
        "llvm-strip",
        "gdb",
        "tcpdump",
        "qemu-system-x86_64",
        "busybox",
        "msgmerge",
        "chromium",
        "tmux",
        "clang",
        "gcc",
        "make",
    ];
    const EVERYWHERE: &[&str] = &[
        "cargo",
        "rustup",
        "git",
        "cat",
        "ls",
        "grep",
        "cd",
        "echo",
        "sudo",
        "mount",
        "uname",
        "id",
        "export",
        "cp",
        "mv",
        "rm",
        "mkdir",
        "diff",
        "sed",
        "awk",
        "env",
        "head",
        "tail",
        "find",
        "kill",
        "ps",
        "sleep",
        "true",
        "curl",
        "sh",
        "bash",
        "touch",
        "umount",
        "less",
        "wc",
        "sort",
        "xargs",
        "stat",
        "chmod",
        "test",
        "cmp",
        "dmesg",
        "sysctl",
        "tee",
        "LANG=zh_CN.UTF-8",
        "unshare",
        "date",
        "uniq",
    ];
    /// What the workshop guide's instructor scripts use, on the instructor's
    /// own machine (the guide lists them); no learner runs them.
    const INSTRUCTOR_TOOLS: &[&str] = &["jq", "ssh"];

    fn provided() -> Vec<&'static str> {
        let mut all: Vec<&'static str> = EVERYWHERE.to_vec();
        for need in for_lessons().iter().chain(&for_vm()).chain(&for_tests()) {
            for package in &need.packages {
                all.extend(commands(*package));
            }
        }
        all
    }

    /// The commands a Markdown or TOML text tells its reader to run: the first
    /// word of each line of a shell code block, and of each inline code span
    /// that starts with a known tool.
    fn commands_in(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut in_shell = false;
        let mut in_block = false;
        let mut continued = false;
        let mut in_quote = false;
        for line in text.lines() {
            let trimmed = line.trim_start();
            if let Some(fence) = trimmed.strip_prefix("```") {
                in_block = !in_block;
                in_shell = in_block && matches!(fence.trim(), "sh" | "bash" | "console" | "shell");
                in_quote = false;
                continue;
            }
            if in_shell {
                // A continued line, shell syntax, a path to a binary of the lesson's own, or a placeholder is no command to install.
                let command = trimmed.trim_start_matches("$ ").trim_start_matches("sudo ");
                let word = command.split_whitespace().next().unwrap_or_default();
                let syntax = ["then", "else", "fi", "do", "done", "while", "for", "if", "esac"].contains(&word);
                let plain = word.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
                if !continued && !in_quote && !syntax && plain && !word.contains('/') && !word.starts_with("my-") {
                    found.push(word.to_string());
                }
                // A single-quoted argument (an awk or jq program) may run over several lines.
                in_quote ^= trimmed.matches('\'').count() % 2 == 1;
                continued = trimmed.ends_with('\\') || trimmed.ends_with('|');
                continue;
            }
            if in_block {
                continue;
            }
            for (i, span) in line.split('`').enumerate() {
                let word = span.trim_start_matches("sudo ").split_whitespace().next().unwrap_or_default();
                // A name alone is a mention; with arguments it is a command to run.
                if i % 2 == 1 && span.contains(' ') && OPTIONAL_TOOLS.contains(&word) {
                    found.push(word.to_string());
                }
            }
        }
        found
    }

    /// Every file below `dir` (this layer sits below the workbook's own walker).
    fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
            if entry.is_dir() {
                files.extend(files_under(&entry));
            } else {
                files.push(entry);
            }
        }
        files
    }

    #[test]
    fn every_tool_a_text_tells_a_learner_to_run_is_one_setup_provides() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lies in the workbook");
        let mut texts = vec![root.join("README.md")];
        for dir in ["lessons", "course", "book/src"] {
            for entry in files_under(&root.join(dir)) {
                let name = entry.file_name().unwrap_or_default().to_string_lossy().into_owned();
                // The myths chapter quotes the article's commands to test them, not to have them run.
                let quoted = name == "myths.md";
                if !quoted && (name == "README.md" || name == "lesson.toml" || (dir == "book/src" && name.ends_with(".md"))) {
                    texts.push(entry);
                }
            }
        }
        let provided = provided();
        let mut unprovided = Vec::new();
        for text in &texts {
            let body = std::fs::read_to_string(text).unwrap();
            let instructor = text.ends_with("workshop.md");
            for command in commands_in(&body) {
                let allowed = provided.contains(&command.as_str()) || (instructor && INSTRUCTOR_TOOLS.contains(&command.as_str()));
                if !allowed {
                    unprovided.push(format!("{}: {command}", text.strip_prefix(root).unwrap().display()));
                }
            }
        }
        assert!(unprovided.is_empty(), "texts tell learners to run what setup does not install:\n{}", unprovided.join("\n"));
    }

    #[test]
    fn finds_shell_commands_and_named_tools_but_not_code() {
        let text = "Run `bpftool prog show`, not `struct task_struct *t` nor `bpftool` alone.\n```sh\n$ sudo strace -f ls\nllvm-readelf -S x.o | \\\n  grep BTF\ntarget/debug/x\n```\n```c\nreturn 0;\n```\n";
        assert_eq!(commands_in(text), ["bpftool", "strace", "llvm-readelf"]);
    }

    fn lesson_needs() -> Vec<Need> {
        let all = [Package::Make, Package::CCompiler, Package::PkgConfig, Package::LibelfHeaders, Package::ZlibHeaders, Package::Bpftool];
        all.iter().map(|p| need(p.describe(), "tested", false, &[*p])).collect()
    }

    /// A stand-in package manager that records each command it is given.
    fn stand_in(dir: &Path, program: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(program);
        std::fs::write(&path, format!("#!/bin/sh\necho \"$*\" >> {}/calls\n", dir.display())).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn each_package_manager_is_given_its_own_names_and_commands() {
        let expected = [
            (Manager::Dnf, "dnf", "install -y make gcc pkgconf-pkg-config elfutils-libelf-devel zlib-devel bpftool\n"),
            (Manager::Pacman, "pacman", "-S --needed --noconfirm make gcc pkgconf libelf zlib bpf\n"),
            (Manager::Zypper, "zypper", "--non-interactive install make gcc pkg-config libelf-devel zlib-devel bpftool\n"),
        ];
        let needs = lesson_needs();
        let missing: Vec<&Need> = needs.iter().collect();
        for (manager, program, calls) in expected {
            let dir = std::env::temp_dir().join(format!("workbook-standin-{program}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let standin = stand_in(&dir, program);
            install_with(&standin, manager, &missing, "").unwrap();
            assert_eq!(std::fs::read_to_string(dir.join("calls")).unwrap(), calls, "{program}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn apt_updates_its_index_before_installing() {
        let steps = Manager::Apt.install_steps(&["make", "libelf-dev"]);
        assert_eq!(steps, [vec!["update", "-q"], vec!["install", "-y", "-q", "--no-install-recommends", "make", "libelf-dev"]]);
    }
}
