//! Portability, proven rather than counted: the lesson's object is relocated
//! against another kernel's BTF (Debian's 5.10, whose `task_struct` predates
//! 5.14) by the loader itself, run with `BTF_CUSTOM_PATH` and told to stop
//! after `load`. The lines it yields join the transcript, right after the
//! compile line, so snapshots hold them like every other outcome.
//!
//! The BTF ships with the workbook (`vmlinux/<arch>/<series>.btf.xz`, its
//! SHA256 in `kernels.lock`), so the check needs no download; without it, it
//! comes from the kernel the workbook fetches for qemu, whose `vmlinuz` holds
//! the `vmlinux` with the `.BTF` section. The whole BTF, not a minimized one:
//! a learner's object may use any type the kernel has.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use transcript::{Line, Stage, Transcript};

use crate::machine::kernel_btf;
use crate::machine::kernels::{self, Choice};
use crate::machine::runner;
use crate::workbook::lessons::Lesson;

/// What the harness reads (see `lessons/harness`).
const RELOCATE_ONLY_VAR: &str = "WORKBOOK_RELOCATE_ONLY";
const BTF_VAR: &str = "BTF_CUSTOM_PATH";

/// Whether the transcript says its portability could not be tested here.
pub fn unproven(transcript: &str) -> bool {
    unproven_reason(transcript).is_some()
}

/// Why portability could not be tested here, as the transcript says it.
pub fn unproven_reason(transcript: &str) -> Option<String> {
    transcript::line::lines(transcript).find_map(|l| match l {
        Line::Unproven { stage: Stage::Portable, reason } => Some(reason),
        _ => None,
    })
}

fn not_proven(reason: String) -> String {
    Line::Unproven { stage: Stage::Portable, reason }.to_string()
}

/// The transcript lines that say whether `binary`'s object relocates against
/// every kernel the lesson names; none for a lesson without `[portability]`.
pub fn lines(lesson: &Lesson, binary: &Path) -> Vec<String> {
    let Some(portability) = &lesson.meta.portability else { return Vec::new() };
    let mut lines = Vec::new();
    for name in &portability.kernels {
        let against = format!("Linux {name}'s BTF ({})", portability.layout);
        match btf_for(lesson, name) {
            Err(error) => lines.push(not_proven(format!("{against} is not here ({error:#}); `cargo xtask kernels` fetches it"))),
            Ok(btf) => lines.extend(relocate(binary, &btf, &against)),
        }
    }
    lines
}

/// The lines of a build whose loader cannot run here (one cross-built for
/// arm64): that the proof was not made, and `why`, rather than no line at all.
pub fn not_tried(lesson: &Lesson, why: &str) -> Vec<String> {
    let Some(portability) = &lesson.meta.portability else { return Vec::new() };
    portability.kernels.iter().map(|name| not_proven(format!("not tried against Linux {name}'s BTF: {why}"))).collect()
}

fn relocate(binary: &Path, btf: &Path, against: &str) -> Vec<String> {
    let btf = btf.display().to_string();
    let output = match runner::run_privileged_with(binary, &[(BTF_VAR, &btf), (RELOCATE_ONLY_VAR, "1")]) {
        Ok(output) => output,
        Err(error) => return vec![not_proven(format!("the loader could not run ({error:#})"))],
    };
    let raw = output.transcript_lines();
    let transcript: Transcript = raw.iter().map(|l| Line::parse(l)).collect();
    if transcript.passed(Stage::Load) && !transcript.lines.iter().any(|l| l.label() == Stage::Attach.as_str()) {
        return vec![Line::Ok { stage: Stage::Portable, detail: Some(format!("relocates against {against}")) }.to_string()];
    }
    if transcript.passed(Stage::Load) {
        // The loader went on past load: it did not stop where the checker asked.
        return vec![not_proven("the loader ran on past load; does it still go through harness::run?".into())];
    }
    let mut lines = vec![Line::failed(Stage::Portable, format!("does not relocate against {against}"))];
    let failed = transcript.lines.iter().skip_while(|l| !matches!(l, Line::Failed { .. })).skip(1);
    lines.extend(failed.take_while(|l| matches!(l, Line::Detail(_))).cloned());
    if lines.len() == 1 {
        lines.extend(raw.iter().map(|l| Line::detail(l.trim())));
    }
    lines.iter().map(Line::to_string).collect()
}

/// Fetches, once, the kernels the lessons' portability lines relocate
/// against, and extracts their BTF; one line for each, saying what is ready.
pub fn prepare(root: &Path, lessons: &[Lesson]) -> Vec<String> {
    let mut names: Vec<&str> =
        lessons.iter().filter_map(|l| l.meta.portability.as_ref()).flat_map(|p| p.kernels.iter().map(String::as_str)).collect();
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

/// Whether Linux `name`'s BTF is here without a download: shipped with the
/// workbook for this architecture, or in the kernel cache.
pub fn btf_at_hand(root: &Path, name: &str) -> bool {
    btf_of(root, name, false).is_ok()
}

/// The raw BTF of a Debian kernel from the cache, extracted on first use.
fn btf_for(lesson: &Lesson, name: &str) -> Result<PathBuf> {
    // lessons/NN-name/ lies two folders below the workbook's top.
    let root = lesson.dir.parent().and_then(Path::parent).context("a lesson outside lessons/")?;
    btf_of(root, name, false)
}

/// The BTF of the pinned Debian kernel `name`: the one the workbook ships,
/// else the fetched kernel's from the cache, or (with `fetch`) fetched first.
fn btf_of(root: &Path, name: &str, fetch: bool) -> Result<PathBuf> {
    let Choice::Debian(series) = kernels::choice(name)? else { bail!("`host` has no BTF file to relocate against") };
    if let Some(btf) = shipped_btf(root, series)? {
        return Ok(btf);
    }
    let pin = crate::workbook::kernel_lock::pin(root, series)?;
    let kernel = if fetch {
        kernels::ensure(series, &pin)?
    } else {
        kernels::cached(series, &pin)?.with_context(|| format!("Linux {name} is not in the kernel cache"))?
    };
    let btf = kernel.vmlinuz.with_file_name("vmlinux.btf");
    if !btf.exists() {
        kernel_btf::extract_btf(&kernel.vmlinuz, &btf)?;
    }
    Ok(btf)
}

/// The BTF shipped as `vmlinux/<arch>/<series>.btf.xz`, unpacked once into
/// the kernel cache and checked against the lock's `btf_sha256`; `None`
/// when the workbook ships none for this series and architecture.
pub fn shipped_btf(root: &Path, series: &'static kernels::Series) -> Result<Option<PathBuf>> {
    let packed = root.join("vmlinux").join(std::env::consts::ARCH).join(format!("{}.btf.xz", series.name));
    let Some(expected) = crate::workbook::kernel_lock::btf_sha256(root, series)? else { return Ok(None) };
    if !packed.exists() {
        return Ok(None);
    }
    let dir = kernels::cache_dir()?.join("btf");
    let btf = dir.join(format!("{}-{}.btf", series.name, &expected[..16.min(expected.len())]));
    if !btf.exists() {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let file = std::fs::File::open(&packed).with_context(|| format!("reading {}", packed.display()))?;
        let partial = btf.with_extension(format!("partial-{}", std::process::id()));
        let mut out = std::fs::File::create(&partial)?;
        std::io::copy(&mut lzma_rust2::XzReader::new(std::io::BufReader::new(file), false), &mut out)
            .with_context(|| format!("unpacking {}", packed.display()))?;
        let actual = kernels::sha256(&partial)?;
        if actual != expected {
            let _ = std::fs::remove_file(&partial);
            bail!("{} unpacks to SHA256 {actual}, but kernels.lock says {expected}", packed.display());
        }
        std::fs::rename(&partial, &btf)?;
    }
    Ok(Some(btf))
}
