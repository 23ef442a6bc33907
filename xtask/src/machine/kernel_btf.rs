//! Each kernel's BTF and attach points, for diagnose: the host's own
//! (`/sys/kernel/btf/vmlinux`, tracefs, kallsyms), and the Debian kernels'.
//!
//! A Debian kernel's BTF is the `.BTF` section of the vmlinux inside its
//! `vmlinuz`. It is extracted once (xz or zstd, as Debian compresses them)
//! and kept next to the kernel in the cache, as `vmlinux.btf`, where libbpf
//! can read it too (`btf_custom_path`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{bail, Context, Result};
use object::{Object, ObjectSection};

use crate::machine::btf::TypeTable;
use crate::machine::host::{self, KERNEL_BTF, TRACEFS};
use crate::machine::kernel_image;
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
///
/// Each kernel is read once a process and kept for the process's life: its
/// type table is hundreds of thousands of allocations, and freeing them one
/// by one at exit took a quarter of a diagnose. A process pins each series
/// once (kernels.lock), so the series names the build.
pub fn facts(choice: Choice, pin: Option<&Pin>, fetch: bool) -> Result<Option<&'static KernelFacts>> {
    static DEBIAN: Mutex<Vec<&'static KernelFacts>> = Mutex::new(Vec::new());
    let (series, pin) = match (choice, pin) {
        (Choice::Host, _) => return Ok(host()),
        (Choice::Debian(series), None) => bail!("kernel {} has no pinned build", series.name),
        (Choice::Debian(series), Some(pin)) => (series, pin),
    };
    let read = |debian: &Vec<&'static KernelFacts>| debian.iter().copied().find(|k| k.name == series.name);
    if let Some(known) = read(&DEBIAN.lock().expect("kernel facts lock")) {
        return Ok(Some(known));
    }
    let kernel = if fetch { Some(kernels::ensure(series, pin)?) } else { kernels::cached(series, pin)? };
    let Some(kernel) = kernel else { return Ok(None) };
    let path = kernel.vmlinuz.with_file_name("vmlinux.btf");
    if !path.exists() {
        extract_btf(&kernel.vmlinuz, &path).with_context(|| format!("extracting the BTF of kernel {}", series.name))?;
    }
    let facts = KernelFacts {
        name: series.name,
        release: kernel.manifest.release.clone(),
        types: TypeTable::open(&path)?,
        btf_path: path,
        kprobes: kernel.kprobes(),
        tracefs_events: None,
        tracefs_mounted: false,
        is_host: false,
        kallsyms: OnceLock::new(),
    };
    let mut debian = DEBIAN.lock().expect("kernel facts lock");
    // Another thread may have read the same kernel meanwhile: one copy is kept.
    Ok(Some(read(&debian).unwrap_or_else(|| {
        let kept: &'static KernelFacts = Box::leak(Box::new(facts));
        debian.push(kept);
        kept
    })))
}

/// This machine's facts, read once a process, or `None` without its BTF.
pub fn host() -> Option<&'static KernelFacts> {
    static HOST: OnceLock<Option<KernelFacts>> = OnceLock::new();
    HOST.get_or_init(|| {
        let path = PathBuf::from(KERNEL_BTF);
        let types = TypeTable::open(&path).ok()?;
        let events = Path::new(TRACEFS).join("events");
        Some(KernelFacts {
            name: "host",
            release: kernels::host_release(),
            types,
            btf_path: path,
            kprobes: host::kprobes_available(),
            tracefs_events: events.is_dir().then_some(events),
            tracefs_mounted: tracefs_mounted(),
            is_host: true,
            kallsyms: OnceLock::new(),
        })
    })
    .as_ref()
}

/// Starts reading [`host`] on a thread of its own, at the lowest priority. A
/// check does so beside its build: a failing check needs the facts to name
/// its cause, some 0.1 s of a core, and the build leaves a core idle for
/// longer than that, while it waits on one compiler at a time.
pub fn read_host_in_background() {
    std::thread::spawn(|| {
        // SAFETY: gettid and setpriority only read their arguments; on Linux,
        // the priority set is this thread's alone. Failing, it reads at the usual one.
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19);
        }
        host();
    });
}

/// Whether /proc/mounts lists a tracefs where libbpf looks for one.
fn tracefs_mounted() -> bool {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts.lines().any(|l| {
        let fields: Vec<&str> = l.split_whitespace().collect();
        fields.get(2) == Some(&"tracefs") && fields.get(1).is_some_and(|at| *at == TRACEFS || *at == "/sys/kernel/debug/tracing")
    })
}

/// Writes the BTF of the kernel inside `vmlinuz` to `out`: the `.BTF`
/// section of the ELF inside an x86 `bzImage`, or the blob inside an arm64
/// `Image`, which Debian ships uncompressed (it is signed as an EFI binary).
pub fn extract_btf(vmlinuz: &Path, out: &Path) -> Result<()> {
    let image = std::fs::read(vmlinuz).with_context(|| format!("reading {}", vmlinuz.display()))?;
    let temp = out.with_extension("btf.new");
    if image.get(0x38..0x3c) == Some(b"ARM\x64") {
        std::fs::write(&temp, raw_btf(&image)?)?;
    } else {
        let vmlinux = kernel_image::vmlinux(&image)?;
        let elf = object::File::parse(&*vmlinux).context("the decompressed kernel is not an ELF file")?;
        let btf = elf.section_by_name(".BTF").context("the kernel has no .BTF section (CONFIG_DEBUG_INFO_BTF unset)")?;
        std::fs::write(&temp, btf.data()?)?;
    }
    std::fs::rename(&temp, out)?;
    Ok(())
}

/// The BTF blob in a kernel image that has no section table (an arm64
/// `Image` is the kernel's memory laid out flat): the one place that starts
/// with a little-endian BTF header whose types are followed by its strings.
fn raw_btf(image: &[u8]) -> Result<&[u8]> {
    // magic 0xeB9F, version 1, flags 0, hdr_len 24, type_off 0
    const START: &[u8] = b"\x9f\xeb\x01\x00\x18\x00\x00\x00\x00\x00\x00\x00";
    let u32_at = |at: usize| image.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize);
    let mut found = Vec::new();
    for at in image.windows(START.len()).enumerate().filter(|(_, w)| *w == START).map(|(at, _)| at) {
        let (Some(type_len), Some(str_off), Some(str_len)) = (u32_at(at + 12), u32_at(at + 16), u32_at(at + 20)) else { continue };
        let end = at + 24 + str_off + str_len;
        if str_off == type_len && type_len > 0 && end <= image.len() && image[end - 1] == 0 {
            found.push(&image[at..end]);
        }
    }
    match found[..] {
        [btf] => Ok(btf),
        [] => bail!("the kernel image holds no BTF (CONFIG_DEBUG_INFO_BTF unset)"),
        _ => bail!("the kernel image holds {} blobs that look like BTF; cannot tell which is the kernel's", found.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_btf_of_a_flat_image_is_the_blob_whose_strings_end_it() {
        let mut btf = vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0];
        for field in [4u32, 4, 3] {
            btf.extend(field.to_le_bytes()); // type_len, str_off, str_len
        }
        btf.extend([1, 2, 3, 4, 0, b'a', 0]);
        let mut image = vec![0u8; 64];
        image.extend(&btf);
        image.extend([0xff; 16]);
        assert_eq!(raw_btf(&image).unwrap(), &btf[..]);
        assert!(raw_btf(&[0u8; 128]).unwrap_err().to_string().contains("holds no BTF"));
    }
}
