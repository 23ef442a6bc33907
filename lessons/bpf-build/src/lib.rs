//! What every lesson's `build.rs` shares: finding clang the way the checker
//! does, compiling the BPF program, and failing with a short message instead
//! of a panic.
//!
//! ```ignore
//! // The body of `main` in the build.rs of a lesson whose loader includes `attach.skel.rs`:
//! bpf_build::skeleton("src/bpf/attach.bpf.c");
//! ```

use std::path::PathBuf;
use std::process::Command;

/// The start of the message a build script prints when there is no clang;
/// the checker recognises it as a problem of the machine, not of the lesson.
pub const NO_CLANG: &str = "no clang found";

/// What to install, for a machine whose package manager the build script does not know.
pub const INSTALL_CLANG: &str = "clang and llvm (on Debian and Ubuntu: clang-19 and llvm-19)";

/// A clang that answered `--version`.
#[derive(Debug, Clone)]
pub struct Clang {
    pub path: PathBuf,
    pub version: String,
}

impl Clang {
    pub fn major(&self) -> u32 {
        self.version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
    }
}

/// `$CLANG` if set, else the newest `clang-N` on PATH (the lessons' snapshots
/// come from clang 19, which Debian installs as `clang-19`), else `clang`.
pub fn find_clang() -> Option<Clang> {
    clang_candidates().into_iter().find_map(|path| {
        let output = Command::new(&path).arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text.split("clang version ").nth(1)?.split_whitespace().next()?.to_string();
        Some(Clang { path, version })
    })
}

/// The clangs [`find_clang`] tries, in its order, without running them.
pub fn clang_candidates() -> Vec<PathBuf> {
    match std::env::var_os("CLANG") {
        Some(chosen) => vec![PathBuf::from(chosen)],
        None => (14..=22).rev().map(|v| format!("clang-{v}")).chain(["clang".to_string()]).filter_map(|name| on_path(&name)).collect(),
    }
}

/// `program`'s path if it is a file in one of PATH's folders.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// For a build script: the clang to run, or a one-line error naming the
/// package to install, and exit 1 (a panic would add a backtrace hint).
pub fn clang() -> PathBuf {
    println!("cargo:rerun-if-env-changed=CLANG");
    match find_clang() {
        Some(clang) => clang.path,
        None => {
            let looked_at = match std::env::var_os("CLANG") {
                Some(chosen) => format!("$CLANG is {}, which does not run", chosen.to_string_lossy()),
                None => "none on PATH".to_string(),
            };
            fail(&format!("{NO_CLANG} ({looked_at}): install {INSTALL_CLANG}, or run `cargo xtask setup`, which installs it with this system's package manager"))
        }
    }
}

/// Prints `message` as the build script's error and stops the build.
pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Compiles `source` (`src/bpf/NAME.bpf.c`) into `NAME.bpf.o` and generates
/// the Rust skeleton `NAME.skel.rs`, both in OUT_DIR.
#[cfg(feature = "skeleton")]
pub fn skeleton(source: &str) {
    let (mut builder, out_dir, name) = builder(source);
    let built = builder.obj(out_dir.join(format!("{name}.bpf.o"))).build_and_generate(out_dir.join(format!("{name}.skel.rs")));
    finish(source, built);
}

/// Compiles `source` (`src/bpf/NAME.bpf.c`) into `NAME.bpf.o` in OUT_DIR, for
/// a loader that opens the object itself.
#[cfg(feature = "skeleton")]
pub fn object(source: &str) {
    let (mut builder, out_dir, name) = builder(source);
    let built = builder.obj(out_dir.join(format!("{name}.bpf.o"))).build();
    finish(source, built);
}

/// libbpf-cargo's builder with the usual flags (`-g -O2 -target bpf
/// -D__TARGET_ARCH_<arch>`, libbpf's headers) and the workbook's `vmlinux.h`.
#[cfg(feature = "skeleton")]
fn builder(source: &str) -> (libbpf_cargo::SkeletonBuilder, PathBuf, String) {
    let env = |name: &str| std::env::var_os(name).unwrap_or_else(|| fail(&format!("{name} is not set; run this through cargo")));
    let out_dir = PathBuf::from(env("OUT_DIR"));
    // The target's architecture, not the build machine's: a cross build for
    // aarch64 on x86_64 needs arm64's registers and arm64's kernel types.
    let target = env("CARGO_CFG_TARGET_ARCH").to_string_lossy().into_owned();
    let (define, vmlinux) = target_arch(&target).unwrap_or_else(|| fail(&unsupported_arch(&target)));
    let name = source
        .rsplit('/')
        .next()
        .and_then(|file| file.strip_suffix(".bpf.c"))
        .unwrap_or_else(|| fail(&format!("{source} is not named NAME.bpf.c")));

    let mut builder = libbpf_cargo::SkeletonBuilder::new();
    // Cargo runs build scripts in the lesson's folder: `../../vmlinux` is the workbook's.
    builder.source(source).clang(clang()).clang_args([format!("-D__TARGET_ARCH_{define}"), format!("-I../../vmlinux/{vmlinux}")]);
    (builder, out_dir, name.to_string())
}

/// The architectures the workbook ships a `vmlinux.h` for: Rust's name of
/// each (`CARGO_CFG_TARGET_ARCH`, also `vmlinux/<name>`) and libbpf's
/// (`__TARGET_ARCH_<name>`, which picks `PT_REGS_*` and the syscall wrappers).
pub const ARCHITECTURES: &[(&str, &str)] = &[("x86_64", "x86"), ("aarch64", "arm64")];

/// For a target architecture as Rust names it: libbpf's name for it and the
/// `vmlinux/` folder to include, or `None` if the workbook has no `vmlinux.h` for it.
pub fn target_arch(rust_arch: &str) -> Option<(&'static str, &'static str)> {
    ARCHITECTURES.iter().find(|(rust, _)| *rust == rust_arch).map(|(rust, libbpf)| (*libbpf, *rust))
}

/// Why a build for `rust_arch` cannot go on.
pub fn unsupported_arch(rust_arch: &str) -> String {
    let known: Vec<&str> = ARCHITECTURES.iter().map(|(rust, _)| *rust).collect();
    format!("the workbook ships vmlinux.h for {} only, not for {rust_arch}", known.join(" and "))
}

/// Clang's diagnostics as clang wrote them, one cause a line, then exit 1.
#[cfg(feature = "skeleton")]
fn finish<T>(source: &str, built: anyhow::Result<T>) {
    println!("cargo:rerun-if-changed={source}");
    if let Err(error) = built {
        for cause in error.chain() {
            eprintln!("{cause}");
        }
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_picks_libbpfs_arch_and_the_vmlinux_folder() {
        assert_eq!(target_arch("x86_64"), Some(("x86", "x86_64")));
        assert_eq!(target_arch("aarch64"), Some(("arm64", "aarch64")));
        assert_eq!(target_arch("riscv64"), None);
        assert_eq!(unsupported_arch("riscv64"), "the workbook ships vmlinux.h for x86_64 and aarch64 only, not for riscv64");
    }

    #[test]
    fn every_architecture_has_its_vmlinux_h() {
        let vmlinux = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vmlinux");
        for (rust, _) in ARCHITECTURES {
            assert!(vmlinux.join(rust).join("vmlinux.h").is_file(), "vmlinux/{rust}/vmlinux.h is missing");
        }
    }
}
