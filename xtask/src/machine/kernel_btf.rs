//! Each kernel's BTF and attach points, for diagnose: the host's own
//! (`/sys/kernel/btf/vmlinux`, tracefs, kallsyms), and the Debian kernels'.
//!
//! A Debian kernel's BTF is the `.BTF` section of the vmlinux inside its
//! `vmlinuz`. It is extracted once (xz or zstd, as Debian compresses them)
//! and kept next to the kernel in the cache, as `vmlinux.btf`, where libbpf
//! can read it too (`btf_custom_path`).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{bail, ensure, Context, Result};
use object::{Object, ObjectSection};

use crate::machine::btf::TypeTable;
use crate::machine::host::{self, KERNEL_BTF, TRACEFS};
use crate::machine::kernels::{self, Choice, Pin};

pub struct KernelFacts {
    /// `host`, `5.10`, `6.1` or `6.12`.
    pub name: &'static str,
    /// `uname -r` of that kernel.
    pub release: String,
    pub btf_path: PathBuf,
    pub types: TypeTable,
    pub kprobes: bool,
    /// The host's tracefs `events` folder, when mounted and readable; Debian kernels have none to look at.
    pub tracefs_events: Option<PathBuf>,
    /// tracefs is mounted (readable or not: as a user, it usually is not).
    pub tracefs_mounted: bool,
    is_host: bool,
    kallsyms: OnceLock<HashSet<String>>,
}

impl KernelFacts {
    pub fn is_host(&self) -> bool {
        self.is_host
    }

    /// Whether `/proc/kallsyms` has the function (host only; empty elsewhere).
    pub fn kallsyms_has(&self, name: &str) -> bool {
        self.is_host
            && self
                .kallsyms
                .get_or_init(|| {
                    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
                    text.lines().filter_map(|l| l.split_whitespace().nth(2)).map(String::from).collect()
                })
                .contains(name)
    }

    /// `host`, `5.10`: the name, without the release, which changes with every update.
    pub fn describe(&self) -> String {
        self.name.to_string()
    }
}

/// The kernel's facts, or `None` when its BTF cannot be had: the host
/// without `/sys/kernel/btf/vmlinux`, or a Debian kernel whose pinned build
/// is not in the cache (fetched first only when `fetch`).
pub fn open(choice: Choice, pin: Option<&Pin>, fetch: bool) -> Result<Option<KernelFacts>> {
    match (choice, pin) {
        (Choice::Debian(series), None) => bail!("kernel {} has no pinned build", series.name),
        (Choice::Host, _) => {
            let path = PathBuf::from(KERNEL_BTF);
            if !path.exists() {
                return Ok(None);
            }
            let events = Path::new(TRACEFS).join("events");
            Ok(Some(KernelFacts {
                name: "host",
                release: kernels::host_release(),
                types: TypeTable::open(&path)?,
                btf_path: path,
                kprobes: host::kprobes_available(),
                tracefs_events: events.is_dir().then_some(events),
                tracefs_mounted: tracefs_mounted(),
                is_host: true,
                kallsyms: OnceLock::new(),
            }))
        }
        (Choice::Debian(series), Some(pin)) => {
            let kernel = if fetch { Some(kernels::ensure(series, pin)?) } else { kernels::cached(series, pin)? };
            let Some(kernel) = kernel else { return Ok(None) };
            let path = kernel.vmlinuz.with_file_name("vmlinux.btf");
            if !path.exists() {
                extract_btf(&kernel.vmlinuz, &path).with_context(|| format!("extracting the BTF of kernel {}", series.name))?;
            }
            Ok(Some(KernelFacts {
                name: series.name,
                release: kernel.manifest.release.clone(),
                types: TypeTable::open(&path)?,
                btf_path: path,
                kprobes: kernel.kprobes(),
                tracefs_events: None,
                tracefs_mounted: false,
                is_host: false,
                kallsyms: OnceLock::new(),
            }))
        }
    }
}

/// Whether /proc/mounts lists a tracefs where libbpf looks for one.
fn tracefs_mounted() -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts.lines().any(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        fields.get(2) == Some(&"tracefs") && fields.get(1).is_some_and(|at| *at == TRACEFS || *at == "/sys/kernel/debug/tracing")
    })
}

/// Writes the `.BTF` section of the kernel inside an x86 `bzImage` to `out`.
pub fn extract_btf(vmlinuz: &Path, out: &Path) -> Result<()> {
    let image = std::fs::read(vmlinuz).with_context(|| format!("reading {}", vmlinuz.display()))?;
    let vmlinux = decompress(payload(&image)?)?;
    let elf = object::File::parse(&*vmlinux).context("the decompressed kernel is not an ELF file")?;
    let btf = elf.section_by_name(".BTF").context("the kernel has no .BTF section (CONFIG_DEBUG_INFO_BTF unset)")?;
    let temp = out.with_extension("btf.new");
    std::fs::write(&temp, btf.data()?)?;
    std::fs::rename(&temp, out)?;
    Ok(())
}

/// The compressed kernel inside a bzImage: the boot protocol's setup header
/// gives its offset and length after the real-mode setup sectors.
fn payload(image: &[u8]) -> Result<&[u8]> {
    ensure!(image.get(0x202..0x206) == Some(b"HdrS"), "not an x86 bzImage");
    let u32_at =
        |at: usize| -> Result<usize> { Ok(u32::from_le_bytes(image.get(at..at + 4).context("truncated bzImage")?.try_into()?) as usize) };
    let setup_sectors = match image[0x1f1] {
        0 => 4,
        n => usize::from(n),
    };
    let start = (setup_sectors + 1) * 512 + u32_at(0x248)?;
    let len = u32_at(0x24c)?;
    image.get(start..start + len).context("the payload lies outside the bzImage")
}

fn decompress(payload: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if payload.starts_with(b"\xfd7zXZ\0") {
        // The kernel appends its uncompressed size after the xz stream.
        lzma_rust2::XzReader::new(&payload[..payload.len().saturating_sub(4)], false).read_to_end(&mut out)?;
    } else if payload.starts_with(b"\x28\xb5\x2f\xfd") {
        ruzstd::decoding::StreamingDecoder::new(payload).map_err(|e| anyhow::anyhow!("{e}"))?.read_to_end(&mut out)?;
    } else {
        bail!("the kernel is compressed in a format diagnose does not read (only xz and zstd)");
    }
    Ok(out)
}
