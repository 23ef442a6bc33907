//! `doctor --deep`: lesson 01's solution, built and run exactly as a check
//! runs a lesson (same cargo build, same privileged runner), from a scratch
//! workspace so the learner's files and binaries stay untouched. When it does
//! not load, attach and observe, the transcript and this machine's facts name
//! what blocks it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use transcript::{Line, Stage, Transcript};

use crate::machine::host;
use crate::workbook::lessons::{self, Lesson};
use crate::workbook::run::{run_lesson, Run};
use crate::workbook::snapshot;

/// The probe's folder name and cargo package: unlike any lesson's, so its
/// binary never takes the place of the learner's in the shared target folder.
const PROBE: &str = "deep-probe";
const PACKAGE: &str = "doctor-deep-probe";

pub struct Deep {
    pub run: Run,
    /// What stops it, in a few words; none when it loaded, attached and
    /// observed exactly as lesson 01's fixed snapshot says.
    pub blocker: Option<String>,
}

/// Builds the probe into the learner's target folder (the dependencies are
/// built already after `setup`) and runs it under the same runner as a check.
pub fn probe(root: &Path) -> Result<Deep> {
    let lesson = lessons::find(root, "01")?;
    let scratch = workspace(root, &lesson)?;
    let probe = Lesson { dir_name: PROBE.into(), dir: scratch.join("lessons").join(PROBE), package: PACKAGE.into(), ..lesson.clone() };
    let run = run_lesson(&scratch, &probe, &root.join("target"))?;
    let works = snapshot::same_as_stored(&lesson.snapshots(), "fixed", &run.transcript);
    let blocker = (!works).then(|| blocker(&run.transcript, &Facts::here()));
    Ok(Deep { run, blocker })
}

/// A workspace of one member: lesson 01 with its solution written over it.
fn workspace(root: &Path, lesson: &Lesson) -> Result<PathBuf> {
    let scratch = root.join("target/workbook/deep");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).context("clearing the probe's folder")?;
    }
    let dir = scratch.join("lessons").join(PROBE);
    std::fs::create_dir_all(dir.join("src"))?;
    for file in ["Cargo.toml", "build.rs", "src/main.rs"] {
        std::fs::copy(lesson.dir.join(file), dir.join(file)).with_context(|| format!("copying {file}"))?;
    }
    copy_tree::copy_tree(&lesson.dir.join("src/bpf"), &dir.join("src/bpf"), &[])?;
    copy_tree::copy_tree(&lesson.solution(), &dir, &[])?;
    let mut manifest: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml"))?)?;
    manifest["package"]["name"] = PACKAGE.into();
    std::fs::write(dir.join("Cargo.toml"), toml::to_string(&manifest)?)?;

    // The workbook's manifest and lock file, so the same dependency versions are built the same way.
    let mut workspace: toml::Table = toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml"))?)?;
    let table = workspace["workspace"].as_table_mut().context("Cargo.toml has a [workspace]")?;
    table.insert("members".into(), toml::Value::Array(vec![format!("lessons/{PROBE}").into()]));
    table.remove("default-members");
    // The workspace's own path crates, where they are in the workbook.
    if let Some(dependencies) = table.get_mut("dependencies").and_then(toml::Value::as_table_mut) {
        for (_, dependency) in dependencies.iter_mut() {
            if let Some(path) = dependency.get_mut("path") {
                *path = root.join(path.as_str().unwrap_or_default()).display().to_string().into();
            }
        }
    }
    std::fs::write(scratch.join("Cargo.toml"), toml::to_string(&workspace)?)?;
    std::fs::copy(root.join("Cargo.lock"), scratch.join("Cargo.lock"))?;
    // build.rs finds vmlinux.h at ../../vmlinux, as in the workbook.
    std::os::unix::fs::symlink(root.join("vmlinux"), scratch.join("vmlinux"))?;
    Ok(scratch)
}

/// What of this machine explains a refused load.
#[derive(Debug, Default)]
pub struct Facts {
    pub container: Option<&'static str>,
    /// Not the first user namespace: its root is not root to the kernel.
    pub user_namespace: bool,
    /// A seccomp filter is in force (Seccomp: 2 in /proc/self/status).
    pub seccomp: bool,
    pub lockdown_confidentiality: bool,
    pub tracefs: bool,
    pub btf: bool,
}

impl Facts {
    pub fn here() -> Facts {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        Facts {
            container: host::container_marker(),
            user_namespace: !uid_map.split_whitespace().eq(["0", "0", "4294967295"]),
            seccomp: status.lines().any(|l| l.starts_with("Seccomp:") && l.trim_end().ends_with('2')),
            lockdown_confidentiality: std::fs::read_to_string("/sys/kernel/security/lockdown")
                .is_ok_and(|m| m.contains("[confidentiality]")),
            tracefs: host::tracefs_mounted(),
            btf: Path::new(host::KERNEL_BTF).exists(),
        }
    }
}

/// Names what stopped the probe, from the stage that failed and the machine's facts.
pub fn blocker(transcript: &str, facts: &Facts) -> String {
    let transcript = Transcript::parse(transcript);
    let failed = |stage| transcript.failure_of(stage).map(str::trim);
    if let Some(line) = transcript.lines.first().filter(|l| matches!(l, Line::Failed { stage: Stage::Compile, .. })) {
        return format!("it did not build ({}): see the PROBLEM lines above", line.text().trim());
    }
    if let Some(error) = failed(Stage::Open) {
        return if facts.btf { format!("open failed: {error}") } else { format!("no kernel BTF ({}): open fails", host::KERNEL_BTF) };
    }
    if let Some(error) = failed(Stage::Load) {
        let refused = error.starts_with("EPERM") || error.starts_with("EACCES");
        let why = if !refused {
            format!("load failed: {error}")
        } else if facts.user_namespace {
            format!("a user namespace: its root is not root to the kernel, which refuses bpf() ({error}); run as real root or with sudo")
        } else if let Some(marker) = facts.container {
            format!("a container ({marker}) that blocks bpf() ({error}): it needs --privileged, or CAP_BPF and CAP_PERFMON and a seccomp profile that allows bpf()")
        } else if facts.seccomp {
            format!("a seccomp filter on this process refuses bpf() ({error})")
        } else if facts.lockdown_confidentiality {
            format!("kernel lockdown (confidentiality) refuses it ({error})")
        } else {
            format!("the kernel refuses bpf() to this process ({error}): not enough privilege")
        };
        return why;
    }
    if let Some(error) = failed(Stage::Attach) {
        return if facts.tracefs {
            format!("attach failed: {error}")
        } else {
            format!("no tracefs at {}: attach fails ({error})", host::TRACEFS)
        };
    }
    if transcript.timed_out() {
        return "it never finished: the event it waits for did not come".into();
    }
    let seen = transcript.observed().next().map(|seen| format!("it loaded and attached, but {}", seen.trim()));
    seen.unwrap_or_else(|| "it ran, but its transcript is not lesson 01's working one (see the transcript above)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_load_is_explained_by_what_this_machine_is() {
        let eperm = "compile  ok      .BTF present\nopen     ok\nload     FAILED  EPERM (Operation not permitted)\nstopped  at load";
        let host = Facts { tracefs: true, btf: true, ..Facts::default() };
        assert!(blocker(eperm, &host).starts_with("the kernel refuses bpf() to this process (EPERM"), "{}", blocker(eperm, &host));
        let userns = Facts { user_namespace: true, ..Facts { tracefs: true, btf: true, ..Facts::default() } };
        assert!(blocker(eperm, &userns).starts_with("a user namespace"));
        let docker = Facts { container: Some("/.dockerenv"), ..Facts { tracefs: true, btf: true, ..Facts::default() } };
        assert!(blocker(eperm, &docker).starts_with("a container (/.dockerenv) that blocks bpf() (EPERM"));
        let attach = "compile  ok\nopen     ok\nload     ok\nattach   FAILED  ENOENT (No such file or directory)\nstopped  at attach";
        assert!(blocker(attach, &Facts { btf: true, ..Facts::default() }).starts_with("no tracefs at /sys/kernel/tracing"));
        let no_btf = "compile  ok\nopen     FAILED  ESRCH (No such process)\nstopped  at open";
        assert!(blocker(no_btf, &Facts::default()).starts_with("no kernel BTF"));
    }
}
