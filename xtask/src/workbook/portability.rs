//! Portability, proven rather than counted: the lesson's object is relocated
//! against another kernel's BTF (Debian's 5.10, whose `task_struct` predates
//! 5.14) by the loader itself, run with `BTF_CUSTOM_PATH` and told to stop
//! after `load`. The lines it yields join the transcript, right after the
//! compile line, so snapshots hold them like every other outcome.
//!
//! The BTF comes from the kernel the workbook already fetches for qemu: its
//! `vmlinuz` holds an xz-compressed `vmlinux`, whose `.BTF` section is
//! extracted once into the kernel cache. The whole BTF, not a minimized one:
//! a learner's object may use any type the kernel has.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};

use crate::machine::kernels::{self, Choice};
use crate::machine::runner;
use crate::workbook::lessons::Lesson;
use crate::workbook::object;

/// What the harness reads (see `lessons/harness`).
const RELOCATE_ONLY_VAR: &str = "WORKBOOK_RELOCATE_ONLY";
const BTF_VAR: &str = "BTF_CUSTOM_PATH";

/// The label of the transcript's portability lines.
pub const LABEL: &str = "portable";

/// Whether the transcript says its portability could not be tested here.
pub fn unproven(transcript: &str) -> bool {
    transcript.lines().any(|l| l.starts_with(&format!("{LABEL} not proven")))
}

/// Why portability could not be tested here, as the transcript says it.
pub fn unproven_reason(transcript: &str) -> Option<String> {
    transcript.lines().find_map(|l| l.strip_prefix(&format!("{LABEL} not proven: "))).map(str::to_string)
}

/// The transcript lines that say whether `binary`'s object relocates against
/// every kernel the lesson names; none for a lesson without `[portability]`.
pub fn lines(lesson: &Lesson, binary: &Path) -> Vec<String> {
    let Some(portability) = &lesson.meta.portability else { return Vec::new() };
    let mut lines = Vec::new();
    for name in &portability.kernels {
        let against = format!("Linux {name}'s BTF ({})", portability.layout);
        match btf_for(lesson, name) {
            Err(error) => lines.push(format!(
                "{LABEL} not proven: {against} is not here ({error:#}); `cargo xtask kernels` fetches it"
            )),
            Ok(btf) => lines.extend(relocate(binary, &btf, &against)),
        }
    }
    lines
}

fn relocate(binary: &Path, btf: &Path, against: &str) -> Vec<String> {
    let btf = btf.display().to_string();
    let output = match runner::run_privileged_with(binary, &[(BTF_VAR, &btf), (RELOCATE_ONLY_VAR, "1")]) {
        Ok(output) => output,
        Err(error) => return vec![format!("{LABEL} not proven: the loader could not run ({error:#})")],
    };
    let transcript = output.transcript_lines();
    let loaded = transcript.iter().any(|l| l.starts_with("load     ok"));
    if loaded && !transcript.iter().any(|l| l.starts_with("attach ")) {
        return vec![format!("{LABEL} ok      relocates against {against}")];
    }
    if loaded {
        // The loader went on past load: it did not stop where the checker asked.
        return vec![format!("{LABEL} not proven: the loader ran on past load; does it still go through harness::run?")];
    }
    let mut lines = vec![format!("{LABEL} FAILED  does not relocate against {against}")];
    let failed = transcript.iter().skip_while(|l| !l.contains("FAILED")).skip(1);
    lines.extend(failed.take_while(|l| l.starts_with(' ')).cloned());
    if lines.len() == 1 {
        lines.extend(transcript.iter().map(|l| format!("         {}", l.trim())));
    }
    lines
}

/// Fetches, once, the kernels the lessons' portability lines relocate
/// against, and extracts their BTF; one line for each, saying what is ready.
pub fn prepare(root: &Path, lessons: &[Lesson]) -> Vec<String> {
    let mut names: Vec<&str> = lessons.iter().filter_map(|l| l.meta.portability.as_ref()).flat_map(|p| p.kernels.iter().map(String::as_str)).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| match btf_of(root, name, true) {
            Ok(_) => format!("Linux {name}'s BTF is ready: lesson checks prove portability against it"),
            Err(error) => format!("warning: Linux {name}'s BTF could not be fetched ({error:#}); until `cargo xtask kernels` fetches it, checks say \"portable not proven\""),
        })
        .collect()
}

/// The raw BTF of a Debian kernel from the cache, extracted on first use.
fn btf_for(lesson: &Lesson, name: &str) -> Result<PathBuf> {
    // lessons/NN-name/ lies two folders below the workbook's top.
    let root = lesson.dir.parent().and_then(Path::parent).context("a lesson outside lessons/")?;
    btf_of(root, name, false)
}

/// The BTF of the pinned Debian kernel `name`, from the cache, or (with
/// `fetch`) fetched first.
fn btf_of(root: &Path, name: &str, fetch: bool) -> Result<PathBuf> {
    let Choice::Debian(series) = kernels::choice(name)? else { bail!("`host` has no BTF file to relocate against") };
    let pin = crate::workbook::kernel_lock::pin(root, series)?;
    let kernel = if fetch {
        kernels::ensure(series, &pin)?
    } else {
        kernels::cached(series, &pin)?.with_context(|| format!("Linux {name} is not in the kernel cache"))?
    };
    let btf = kernel.vmlinuz.with_file_name("vmlinux.btf");
    if !btf.exists() {
        let vmlinux = decompress(&kernel.vmlinuz)?;
        let section = object::section(&vmlinux, ".BTF")?.context("the kernel's vmlinux has no .BTF section")?;
        let partial = btf.with_extension("btf.partial");
        std::fs::write(&partial, section)?;
        std::fs::rename(&partial, &btf)?;
    }
    Ok(btf)
}

/// The `vmlinux` inside a bzImage whose payload is xz-compressed (Debian's).
fn decompress(vmlinuz: &Path) -> Result<Vec<u8>> {
    const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";
    let image = std::fs::read(vmlinuz)?;
    let start = image
        .windows(XZ_MAGIC.len())
        .position(|w| w == XZ_MAGIC)
        .context("no xz-compressed payload in vmlinuz")?;
    let mut xz = Command::new("xz")
        .args(["--decompress", "--stdout", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("running xz (Debian's xz-utils package)")?;
    let mut stdin = xz.stdin.take().context("xz's stdin")?;
    let payload = image[start..].to_vec();
    let feeder = std::thread::spawn(move || {
        // xz stops reading after the stream; the bytes after it are not compressed data.
        let _ = stdin.write_all(&payload);
    });
    let output = xz.wait_with_output()?;
    let _ = feeder.join();
    ensure!(output.stdout.starts_with(b"\x7fELF"), "xz did not yield an ELF vmlinux");
    Ok(output.stdout)
}
