//! A self-test state's build, kept under `target/` with a digest of what it
//! was built from. Each run of the self-test rebuilds every state of a lesson
//! (its layer fixes change the sources, so cargo's own cache never holds
//! more than the last one); a state whose inputs are byte for byte those of
//! the kept build reuses that build instead. Every run still happens: only
//! the compilers' work is saved.
//!
//! The digest covers what a lesson's build reads: the lesson's folder, the
//! crates it builds on (`lessons/` folders that are not lessons), `vmlinux/`,
//! the workspace's manifest, lock file and cargo configuration, the
//! environment variables that change a build, and the toolchain (rustc's
//! and clang's versions, and the Debian packages installed where the build
//! runs). A change anywhere else, to the book or the checker, keeps it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::machine::cargo::Build;
use crate::machine::host;

/// Bumped when what is kept, or how it is read, changes.
const FORMAT: &str = "kept-build 1";

/// Environment variables that change what cargo, rustc or clang produce.
fn build_environment() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(name, _)| {
            matches!(name.as_str(), "RUSTFLAGS" | "CARGO_ENCODED_RUSTFLAGS" | "RUSTC" | "RUSTC_WRAPPER" | "CLANG" | "CFLAGS")
                || name.starts_with("CARGO_PROFILE_")
                || name.starts_with("CARGO_BUILD_")
                || name.starts_with("CARGO_TARGET_") && name != "CARGO_TARGET_DIR"
        })
        .collect();
    vars.sort();
    vars
}

/// What the host's toolchain is, once per run: a version's output, or the
/// reason it could not be run (which then keys the build just as well).
fn host_toolchain() -> &'static str {
    static TOOLCHAIN: OnceLock<String> = OnceLock::new();
    TOOLCHAIN.get_or_init(|| {
        let version = |program: &std::ffi::OsStr, arg: &str| match std::process::Command::new(program).arg(arg).output() {
            Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
            Err(error) => format!("{}: {error}", program.to_string_lossy()),
        };
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let clang = host::clang_for_builds();
        let packages = std::fs::read("/var/lib/dpkg/status").unwrap_or_default();
        format!("{}\n{}\n{:x}", version(&rustc, "-vV"), version(&clang, "--version"), Sha256::digest(packages))
    })
}

/// A workbook copy's build inputs: what every lesson's build reads, digested
/// once, since a state's edits change only its own lesson's folder.
pub struct Inputs {
    shared: String,
}

impl Inputs {
    /// The inputs of the workbook at `root`; `cross` is the arm64 build root, when it builds there.
    pub fn of(root: &Path, cross: Option<&Path>) -> Result<Inputs> {
        let mut hash = Sha256::new();
        add(&mut hash, "format", FORMAT.as_bytes());
        match cross {
            Some(cross) => add(&mut hash, "arm64 build root", &std::fs::read(cross.join("var/lib/dpkg/status")).unwrap_or_default()),
            None => add(&mut hash, "host toolchain", host_toolchain().as_bytes()),
        }
        for (name, value) in build_environment() {
            add(&mut hash, &name, value.as_bytes());
        }
        let mut paths = vec![root.join("vmlinux"), root.join(".cargo"), root.join("Cargo.toml"), root.join("Cargo.lock")];
        for entry in std::fs::read_dir(root.join("lessons")).context("reading lessons/")? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            // `NN-name` folders are lessons; the others are the crates they build on.
            if path.is_dir() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                paths.push(path);
            }
        }
        add_files(&mut hash, root, &paths)?;
        Ok(Inputs { shared: format!("{:x}", hash.finalize()) })
    }

    /// The digest of everything the lesson at `lesson_dir` is built from, as it is now.
    pub fn digest(&self, lesson_dir: &Path) -> Result<String> {
        let mut hash = Sha256::new();
        add(&mut hash, "shared", self.shared.as_bytes());
        add_files(&mut hash, lesson_dir, &[lesson_dir.to_path_buf()])?;
        Ok(format!("{:x}", hash.finalize()))
    }
}

/// Adds each file below `paths` (a path may be a file), by its path relative to `root` and its bytes.
fn add_files(hash: &mut Sha256, root: &Path, paths: &[PathBuf]) -> Result<()> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
        } else {
            files.extend(crate::workbook::scratch::files_under(path)?);
        }
    }
    files.sort();
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        add(hash, &relative, &bytes);
    }
    Ok(())
}

/// Adds a labelled field, each part with its length: no two inputs hash alike by running together.
fn add(hash: &mut Sha256, label: &str, bytes: &[u8]) {
    hash.update((label.len() as u64).to_le_bytes());
    hash.update(label.as_bytes());
    hash.update((bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

/// A build as kept: its binary and object copied into the state's folder.
pub enum Kept {
    Built {
        binary: PathBuf,
        /// The object's copy, and the path the build left it at, where a loader may open it.
        object: Option<(PathBuf, PathBuf)>,
    },
    Failed {
        lines: Vec<String>,
        output: String,
    },
}

/// `kept/build.toml`: what a kept build is, and what it was built from.
#[derive(Serialize, Deserialize)]
struct Record {
    inputs: String,
    failed: Option<Failure>,
    binary: Option<String>,
    object: Option<String>,
    object_built_at: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
struct Failure {
    lines: Vec<String>,
    output: String,
}

/// The build kept in `kept`, if it was built from `inputs` and is whole.
/// Its object goes back to where its build left it, where a loader may open it.
pub fn reuse(kept: &Path, inputs: &str) -> Result<Option<Kept>> {
    let Ok(text) = std::fs::read_to_string(kept.join("build.toml")) else { return Ok(None) };
    let Ok(record) = toml::from_str::<Record>(&text) else { return Ok(None) };
    if record.inputs != inputs {
        return Ok(None);
    }
    if let Some(failure) = record.failed {
        return Ok(Some(Kept::Failed { lines: failure.lines, output: failure.output }));
    }
    let Some(binary) = record.binary.map(|name| kept.join(name)).filter(|b| b.is_file()) else { return Ok(None) };
    let object = match (record.object.map(|name| kept.join(name)), record.object_built_at) {
        (Some(copy), Some(built_at)) if copy.is_file() => {
            if let Some(parent) = built_at.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&copy, &built_at).with_context(|| format!("restoring {}", built_at.display()))?;
            Some((copy, built_at))
        }
        (None, _) => None,
        _ => return Ok(None),
    };
    Ok(Some(Kept::Built { binary, object }))
}

/// Keeps `build` in `kept` (emptied first), with the digest of its inputs.
pub fn keep(kept: &Path, inputs: &str, build: Build) -> Result<Kept> {
    if kept.exists() {
        std::fs::remove_dir_all(kept)?;
    }
    std::fs::create_dir_all(kept)?;
    let (record, result) = match build {
        Build::Failed { lines, output } => (
            Record {
                inputs: inputs.to_string(),
                failed: Some(Failure { lines: lines.clone(), output: output.clone() }),
                binary: None,
                object: None,
                object_built_at: None,
            },
            Kept::Failed { lines, output },
        ),
        Build::Built { binary, object, .. } => {
            let name = |path: &Path| path.file_name().map(|n| n.to_string_lossy().into_owned()).context("a file without a name");
            let binary_name = name(&binary)?;
            let copy = kept.join(&binary_name);
            std::fs::copy(&binary, &copy)?;
            let object = match object {
                Some(object) => {
                    let object_copy = kept.join(name(&object)?);
                    std::fs::copy(&object, &object_copy)?;
                    Some((object_copy, object))
                }
                None => None,
            };
            let record = Record {
                inputs: inputs.to_string(),
                failed: None,
                binary: Some(binary_name),
                object: object.as_ref().map(|(copy, _)| name(copy)).transpose()?,
                object_built_at: object.as_ref().map(|(_, built_at)| built_at.clone()),
            };
            (record, Kept::Built { binary: copy, object })
        }
    };
    // Written last: a build interrupted while it was kept is not reused.
    std::fs::write(kept.join("build.toml"), toml::to_string(&record)?)?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workbook(top: &Path) -> PathBuf {
        let root = top.join("workbook");
        for (path, text) in [
            ("Cargo.toml", "[workspace]"),
            ("Cargo.lock", "# lock"),
            ("lessons/01-one/src/main.rs", "fn main() {}"),
            ("lessons/02-two/src/main.rs", "fn main() {}"),
            ("lessons/harness/src/lib.rs", "// shared"),
            ("vmlinux/x86_64/vmlinux.h", "// types"),
            ("book/src/01.md", "# one"),
        ] {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        root
    }

    #[test]
    fn the_digest_follows_what_the_build_reads_and_nothing_else() {
        let top = std::env::temp_dir().join(format!("xtask-kept-build-{}", std::process::id()));
        let root = workbook(&top);
        let lesson = root.join("lessons/01-one");
        let inputs = |root: &Path, lesson: &Path, cross| Inputs::of(root, cross).unwrap().digest(lesson);
        let before = inputs(&root, &lesson, None).unwrap();
        assert_eq!(inputs(&root, &lesson, None).unwrap(), before, "the same inputs, the same digest");

        // Another lesson, or the book: not read by this lesson's build.
        std::fs::write(root.join("lessons/02-two/src/main.rs"), "fn main() { }").unwrap();
        std::fs::write(root.join("book/src/01.md"), "# One").unwrap();
        assert_eq!(inputs(&root, &lesson, None).unwrap(), before);

        for (file, text) in [
            ("lessons/01-one/src/main.rs", "fn main() { }"),
            ("lessons/harness/src/lib.rs", "// shared, changed"),
            ("vmlinux/x86_64/vmlinux.h", "// other types"),
            ("Cargo.lock", "# another lock"),
        ] {
            let digest = inputs(&root, &lesson, None).unwrap();
            std::fs::write(root.join(file), text).unwrap();
            assert_ne!(inputs(&root, &lesson, None).unwrap(), digest, "{file} changed");
        }
        let cross = top.join("cross");
        std::fs::create_dir_all(cross.join("var/lib/dpkg")).unwrap();
        std::fs::write(cross.join("var/lib/dpkg/status"), "Package: rustc").unwrap();
        assert_ne!(inputs(&root, &lesson, Some(&cross)).unwrap(), inputs(&root, &lesson, None).unwrap(), "built for arm64");
        std::fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn a_kept_build_is_reused_only_for_its_own_inputs_and_puts_its_object_back() {
        let top = std::env::temp_dir().join(format!("xtask-kept-reuse-{}", std::process::id()));
        let (kept, out) = (top.join("kept/layer-1"), top.join("target/out"));
        std::fs::create_dir_all(&out).unwrap();
        let (binary, object) = (out.join("lesson"), out.join("lesson.bpf.o"));
        std::fs::write(&binary, "binary").unwrap();
        std::fs::write(&object, "object").unwrap();
        keep(&kept, "abc", Build::Built { binary, warnings: Vec::new(), object: Some(object.clone()) }).unwrap();

        // A later build of another state overwrote the object where the build left it.
        std::fs::write(&object, "another state's object").unwrap();
        assert!(reuse(&kept, "abd").unwrap().is_none(), "other inputs");
        let Some(Kept::Built { binary, object: Some((copy, built_at)) }) = reuse(&kept, "abc").unwrap() else {
            panic!("the kept build is reused")
        };
        assert_eq!(std::fs::read_to_string(binary).unwrap(), "binary");
        assert_eq!(std::fs::read_to_string(copy).unwrap(), "object");
        assert_eq!(std::fs::read_to_string(built_at).unwrap(), "object", "put back where a loader opens it");

        // A failed build is kept as its transcript lines and log.
        keep(&kept, "def", Build::Failed { lines: vec!["compile FAILED".into()], output: "error".into() }).unwrap();
        assert!(matches!(reuse(&kept, "def").unwrap(), Some(Kept::Failed { lines, .. }) if lines == ["compile FAILED"]));
        // A record cut short is not reused.
        std::fs::write(kept.join("build.toml"), "inputs = \"def\"\nfailed = ").unwrap();
        assert!(reuse(&kept, "def").unwrap().is_none());
        std::fs::remove_dir_all(&top).unwrap();
    }
}
