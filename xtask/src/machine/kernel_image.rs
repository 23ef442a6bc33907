//! What is inside a Debian x86 kernel's `vmlinuz`: a `bzImage` whose payload
//! is the kernel's ELF file (`vmlinux`), xz- or zstd-compressed.
//!
//! Two users: diagnose reads the kernel's BTF from that ELF file, and the VM
//! boots it directly. Booted as a `bzImage`, the kernel first decompresses
//! itself, and under TCG that alone took 5 to 6 s of every boot; the same
//! kernel booted from its ELF file through its PVH entry point (Debian sets
//! `CONFIG_PVH`) starts at once. It is the same kernel code, only entered
//! without the decompressor, so nothing a lesson loads sees a difference.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, ensure, Context, Result};
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::Endianness;

use crate::machine::kernels::Kernel;

/// The kernel's ELF file, decompressed from an x86 `bzImage`.
pub fn vmlinux(image: &[u8]) -> Result<Vec<u8>> {
    decompress(payload(image)?)
}

/// The file qemu boots for `kernel`: its ELF file, unpacked once into the
/// kernel's cache folder, where the kernel has a PVH entry point; otherwise
/// its `vmlinuz` as Debian ships it.
pub fn boot_file(kernel: &Kernel) -> Result<PathBuf> {
    // Two boots of one kernel may start side by side: one unpacks, the other waits for it.
    static UNPACKING: Mutex<()> = Mutex::new(());
    let unpacked = kernel.vmlinuz.with_file_name("vmlinux");
    let _unpacking = UNPACKING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if unpacked.exists() {
        return Ok(unpacked);
    }
    let image = std::fs::read(&kernel.vmlinuz).with_context(|| format!("reading {}", kernel.vmlinuz.display()))?;
    if image.get(0x202..0x206) != Some(b"HdrS") {
        // Not an x86 bzImage (an arm64 `Image`): qemu boots it as it is.
        return Ok(kernel.vmlinuz.clone());
    }
    let elf = vmlinux(&image).with_context(|| format!("unpacking {}", kernel.vmlinuz.display()))?;
    if !has_pvh_entry(&elf)? {
        return Ok(kernel.vmlinuz.clone());
    }
    write_atomically(&unpacked, &elf)?;
    Ok(unpacked)
}

/// Whether the ELF file has Xen's `PHYS32_ENTRY` note, the PVH entry point qemu boots through.
fn has_pvh_entry(elf: &[u8]) -> Result<bool> {
    const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;
    let file = ElfFile64::<Endianness>::parse(elf).context("the decompressed kernel is not a 64-bit ELF file")?;
    let endian = file.endian();
    for header in file.elf_header().program_headers(endian, elf)? {
        let Some(mut notes) = header.notes(endian, elf)? else { continue };
        while let Some(note) = notes.next()? {
            if note.name() == b"Xen" && note.n_type(endian) == XEN_ELFNOTE_PHYS32_ENTRY {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Written under another name, then renamed: an interrupted write leaves no half file behind.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = path.with_extension(format!("new-{}", std::process::id()));
    std::fs::write(&temp, bytes).with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("writing {}", path.display()))?;
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
        bail!("the kernel is compressed in a format the workbook does not read (only xz and zstd)");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64-bit ELF header, one PT_NOTE program header, and one note.
    fn elf_with_note(name: &[u8; 4], kind: u32) -> Vec<u8> {
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
        elf.extend(2u16.to_le_bytes()); // ET_EXEC
        elf.extend(62u16.to_le_bytes()); // EM_X86_64
        elf.extend(1u32.to_le_bytes());
        elf.extend(0u64.to_le_bytes()); // entry
        elf.extend(64u64.to_le_bytes()); // program headers right after this header
        elf.extend(0u64.to_le_bytes()); // no section headers
        elf.extend(0u32.to_le_bytes());
        for half in [64u16, 56, 1, 64, 0, 0] {
            elf.extend(half.to_le_bytes()); // ehsize, phentsize, phnum, shentsize, shnum, shstrndx
        }
        let note: Vec<u8> = [4u32, 4, kind].iter().flat_map(|w| w.to_le_bytes()).chain(*name).chain([0; 4]).collect();
        elf.extend(4u32.to_le_bytes()); // PT_NOTE
        elf.extend(4u32.to_le_bytes());
        elf.extend(120u64.to_le_bytes()); // offset: after this header
        elf.extend([0u64, 0].iter().flat_map(|w| w.to_le_bytes()));
        elf.extend([note.len() as u64, note.len() as u64, 4].iter().flat_map(|w| w.to_le_bytes()));
        elf.extend(note);
        elf
    }

    #[test]
    fn only_xens_phys32_entry_note_counts_as_a_pvh_entry() {
        assert!(has_pvh_entry(&elf_with_note(b"Xen\0", 18)).unwrap());
        assert!(!has_pvh_entry(&elf_with_note(b"Xen\0", 17)).unwrap());
        assert!(!has_pvh_entry(&elf_with_note(b"GNU\0", 18)).unwrap());
        assert!(has_pvh_entry(b"not an ELF file").is_err());
    }

    #[test]
    fn a_file_that_is_not_a_bzimage_is_not_unpacked() {
        assert!(vmlinux(&[0u8; 1024]).unwrap_err().to_string().contains("not an x86 bzImage"));
    }
}
