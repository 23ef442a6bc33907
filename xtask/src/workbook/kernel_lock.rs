//! `kernels.lock`: the Debian kernel builds the workbook boots under qemu,
//! pinned so that every machine measures the same kernels, and the
//! compatibility page says which ones it measured.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::machine::kernels::{pinned_series, Pin, Series};

pub const LOCK: &str = "kernels.lock";
pub const UPDATE: &str = "cargo xtask dev update-kernels";

const HEADER: &str = "\
# The Debian kernel builds that `cargo xtask dev verify --kernels …` and
# `cargo xtask check NN --kernel …` boot under qemu, pinned so that every
# machine measures the same kernels. `cargo xtask dev update-kernels` pins the
# newest builds in Debian's archive; then rerun
# `cargo xtask dev verify --kernels all --bless` and commit this file with the
# compatibility page it produces.
#
# Each build is fetched over HTTPS from `url` and must match `sha256`: this
# committed file is the trust anchor, so no keyring is needed. `btf_sha256`
# is the SHA256 of that build's raw BTF (the `.BTF` section of its vmlinux),
# shipped xz-compressed as `vmlinux/<arch>/<series>.btf.xz` for the kernels
# lessons prove portability against, so those checks pass offline.
#
# The `-arm64` series are Debian's arm64 builds of the same kernels:
# `cargo xtask dev vmlinux --kernel 6.12-arm64` generates
# `vmlinux/aarch64/vmlinux.h` from that build's BTF.
";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    series: String,
    #[serde(flatten)]
    pin: Pin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    btf_sha256: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Lock {
    #[serde(default)]
    kernel: Vec<Entry>,
}

fn read(root: &Path) -> Result<Lock> {
    let path = root.join(LOCK);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {LOCK}"))?;
    toml::from_str(&text).with_context(|| format!("{LOCK} is not a valid lock file"))
}

/// The build `kernels.lock` pins for `series`.
pub fn pin(root: &Path, series: &Series) -> Result<Pin> {
    read(root)?
        .kernel
        .into_iter()
        .find(|e| e.series == series.name)
        .map(|e| e.pin)
        .with_context(|| format!("{LOCK} pins no build for kernel {}; `{UPDATE}` pins one", series.name))
}

/// The SHA256 of the raw BTF the workbook ships for `series`' pinned build, if it ships one.
pub fn btf_sha256(root: &Path, series: &Series) -> Result<Option<String>> {
    Ok(read(root)?.kernel.into_iter().find(|e| e.series == series.name).and_then(|e| e.btf_sha256))
}

/// Pins `pins` (series name → build), keeping the other series as they are.
pub fn write(root: &Path, pins: &[(&str, Pin)]) -> Result<()> {
    let mut lock = read(root).unwrap_or_default();
    for (series, pin) in pins {
        match lock.kernel.iter_mut().find(|e| e.series == *series) {
            Some(entry) if entry.pin != *pin => {
                // The shipped BTF belongs to the old build.
                entry.pin = pin.clone();
                entry.btf_sha256 = None;
            }
            Some(_) => {}
            None => lock.kernel.push(Entry { series: series.to_string(), pin: pin.clone(), btf_sha256: None }),
        }
    }
    let order = |name: &str| pinned_series().position(|s| s.name == name);
    lock.kernel.sort_by_key(|e| order(&e.series));
    let text = format!("{HEADER}\n{}", toml::to_string(&lock)?);
    std::fs::write(root.join(LOCK), text).with_context(|| format!("writing {LOCK}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::kernels::SERIES;

    #[test]
    fn the_lock_pins_every_series_and_round_trips() {
        let root = crate::workbook::root();
        for series in pinned_series() {
            let pin = pin(&root, series).unwrap();
            assert!(pin.package.ends_with(series.arch) && pin.url.ends_with(&format!("_{}.deb", series.arch)), "{pin:?}");
            assert!(pin.package.starts_with("linux-image-"), "{pin:?}");
            assert_eq!(pin.sha256.len(), 64, "{pin:?}");
        }
        let scratch = std::env::temp_dir().join(format!("xtask-lock-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        std::fs::copy(root.join(LOCK), scratch.join(LOCK)).unwrap();
        let newer = Pin {
            package: "linux-image-6.1.0-99-amd64".into(),
            version: "6.1.999-1".into(),
            sha256: "0".repeat(64),
            url: "https://deb.debian.org/debian/pool/main/l/linux-signed-amd64/x.deb".into(),
        };
        let six_one = SERIES.iter().find(|s| s.name == "6.1").unwrap();
        write(&scratch, &[("6.1", newer.clone())]).unwrap();
        assert_eq!(pin(&scratch, six_one).unwrap(), newer);
        assert_eq!(pin(&scratch, &SERIES[0]).unwrap(), pin(&root, &SERIES[0]).unwrap(), "other series stay pinned");
        assert!(std::fs::read_to_string(scratch.join(LOCK)).unwrap().starts_with("# The Debian kernel builds"));
        std::fs::remove_dir_all(&scratch).unwrap();
    }
}
