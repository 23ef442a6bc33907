//! What `llvm-readelf -S` would tell about a compiled BPF object: whether `.BTF`
//! and `.BTF.ext` exist, and how many CO-RE relocations it carries. The `object`
//! crate reads the ELF sections; it has no parser for `.BTF.ext` (BTF is
//! BPF-only), so the CO-RE relocation records are counted here.

use anyhow::{bail, ensure, Context, Result};
use object::{Object, ObjectSection};

#[derive(Debug, PartialEq, Eq)]
pub struct Facts {
    pub btf: bool,
    pub btf_ext: bool,
    /// Not in the transcript (correct programs differ in it); for tests and diagnosis.
    #[allow(dead_code)]
    pub core_relocations: usize,
}

impl Facts {
    /// The transcript's compile line. It leaves out the number of CO-RE
    /// relocations: correct programs differ in it (an extra existence check is
    /// one more), and what matters, whether the object relocates, is proven
    /// by loading it.
    pub fn transcript_line(&self) -> String {
        let present = |yes: bool| if yes { "present" } else { "missing" };
        format!("compile  ok      .BTF {}, .BTF.ext {}", present(self.btf), present(self.btf_ext))
    }
}

/// The contents of the section called `name`, if the ELF file has one.
pub fn section<'a>(elf: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let file = object::File::parse(elf).context("not an ELF object")?;
    Ok(file.section_by_name(name).map(|s| s.data()).transpose()?)
}

pub fn facts(elf: &[u8]) -> Result<Facts> {
    let file = object::File::parse(elf).context("not an ELF object")?;
    ensure!(file.is_little_endian(), "not a little-endian ELF object");
    let data = |name: &str| file.section_by_name(name).map(|s| s.data()).transpose();
    let btf_ext = data(".BTF.ext").context("reading .BTF.ext")?;
    Ok(Facts {
        btf: file.section_by_name(".BTF").is_some(),
        btf_ext: btf_ext.is_some(),
        core_relocations: btf_ext.map(count_core_relocations).transpose()?.unwrap_or(0),
    })
}

fn u16_at(data: &[u8], at: usize) -> Result<u16> {
    let bytes = data.get(at..at + 2).context("truncated .BTF.ext")?;
    Ok(u16::from_le_bytes(bytes.try_into()?))
}

fn u32_at(data: &[u8], at: usize) -> Result<u32> {
    let bytes = data.get(at..at + 4).context("truncated .BTF.ext")?;
    Ok(u32::from_le_bytes(bytes.try_into()?))
}

/// Sums the records of the CO-RE relocation subsection of `.BTF.ext`
/// (libbpf's `struct btf_ext_header`: magic, version, flags, hdr_len, then
/// offset/length pairs for func_info, line_info and core_relo).
fn count_core_relocations(ext: &[u8]) -> Result<usize> {
    ensure!(u16_at(ext, 0)? == 0xeb9f, "bad .BTF.ext magic");
    let header_len = u32_at(ext, 4)? as usize;
    if header_len < 32 {
        return Ok(0); // written before CO-RE existed
    }
    let start = header_len + u32_at(ext, 24)? as usize;
    let len = u32_at(ext, 28)? as usize;
    if len == 0 {
        return Ok(0);
    }
    let section = ext.get(start..start + len).context(".BTF.ext core_relo outside the section")?;
    let record_size = u32_at(section, 0)? as usize;
    ensure!(record_size > 0, "zero CO-RE record size");
    let (mut at, mut total) = (4, 0);
    while at < section.len() {
        let records = u32_at(section, at + 4)? as usize;
        total += records;
        at += 8 + records * record_size;
    }
    if at != section.len() {
        bail!(".BTF.ext core_relo records overrun the section");
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 with the given sections (index 0 is the null section, the last the names).
    fn elf(sections: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut names = vec![0u8];
        let mut name_at = vec![];
        for (name, _) in sections {
            name_at.push(names.len() as u32);
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        let shstrtab_name = names.len() as u32;
        names.extend_from_slice(b".shstrtab\0");

        let mut body = vec![0u8; 64];
        let mut placed = vec![];
        for (_, data) in sections {
            placed.push((body.len(), data.len()));
            body.extend_from_slice(data);
        }
        let names_at = body.len();
        body.extend_from_slice(&names);
        let headers_at = body.len();
        let count = sections.len() + 2;
        let mut header = |name: u32, offset: usize, size: usize| {
            let mut h = vec![0u8; 64];
            h[0..4].copy_from_slice(&name.to_le_bytes());
            h[4..8].copy_from_slice(&1u32.to_le_bytes());
            h[24..32].copy_from_slice(&(offset as u64).to_le_bytes());
            h[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            body.extend_from_slice(&h);
        };
        header(0, 0, 0);
        for (i, (offset, size)) in placed.iter().enumerate() {
            header(name_at[i], *offset, *size);
        }
        header(shstrtab_name, names_at, names.len());
        body[0..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        body[0x28..0x30].copy_from_slice(&(headers_at as u64).to_le_bytes());
        body[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        body[0x3c..0x3e].copy_from_slice(&(count as u16).to_le_bytes());
        body[0x3e..0x40].copy_from_slice(&((count - 1) as u16).to_le_bytes());
        body
    }

    /// A `.BTF.ext` whose core_relo subsection has the given record counts per program section.
    fn btf_ext(counts: &[u32]) -> Vec<u8> {
        let record_size = 16u32;
        let mut relo = record_size.to_le_bytes().to_vec();
        for &n in counts {
            relo.extend_from_slice(&0u32.to_le_bytes());
            relo.extend_from_slice(&n.to_le_bytes());
            relo.extend(std::iter::repeat_n(0u8, (n * record_size) as usize));
        }
        let mut ext = vec![0u8; 32];
        ext[0..2].copy_from_slice(&0xeb9fu16.to_le_bytes());
        ext[2] = 1;
        ext[4..8].copy_from_slice(&32u32.to_le_bytes());
        ext[28..32].copy_from_slice(&(relo.len() as u32).to_le_bytes());
        ext.extend(relo);
        ext
    }

    #[test]
    fn counts_core_relocations_across_program_sections() {
        let object = elf(&[(".text", vec![0; 8]), (".BTF", vec![1; 24]), (".BTF.ext", btf_ext(&[2, 3]))]);
        assert_eq!(facts(&object).unwrap(), Facts { btf: true, btf_ext: true, core_relocations: 5 });
    }

    #[test]
    fn an_object_built_without_g_has_neither_section() {
        let object = elf(&[(".text", vec![0; 8]), ("license", b"GPL\0".to_vec())]);
        let facts = facts(&object).unwrap();
        assert_eq!(facts, Facts { btf: false, btf_ext: false, core_relocations: 0 });
        assert_eq!(
            facts.transcript_line(),
            "compile  ok      .BTF missing, .BTF.ext missing"
        );
    }

    #[test]
    fn rejects_what_is_not_an_elf_object() {
        assert!(facts(b"#!/bin/sh\n").is_err());
        let mut truncated = elf(&[(".BTF", vec![1; 4])]);
        truncated.truncate(80);
        assert!(facts(&truncated).is_err());
    }
}
