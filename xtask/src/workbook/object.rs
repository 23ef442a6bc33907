//! What `llvm-readelf -S` would tell about a compiled BPF object: whether `.BTF`
//! and `.BTF.ext` exist, read with the `object` crate. The CO-RE relocations
//! inside `.BTF.ext` are `bpf_object`'s: diagnose reads them.

use anyhow::{ensure, Context, Result};
use object::Object;

#[derive(Debug, PartialEq, Eq)]
pub struct Facts {
    pub btf: bool,
    pub btf_ext: bool,
}

impl Facts {
    /// The transcript's compile line. It leaves out the number of CO-RE
    /// relocations: correct programs differ in it (an extra existence check is
    /// one more), and what matters, whether the object relocates, is proven
    /// by loading it.
    pub fn transcript_line(&self) -> String {
        let present = |yes: bool| if yes { "present" } else { "missing" };
        let detail = format!(".BTF {}, .BTF.ext {}", present(self.btf), present(self.btf_ext));
        transcript::Line::Ok { stage: transcript::Stage::Compile, detail: Some(detail) }.to_string()
    }
}

pub fn facts(elf: &[u8]) -> Result<Facts> {
    let file = object::File::parse(elf).context("not an ELF object")?;
    ensure!(file.is_little_endian(), "not a little-endian ELF object");
    Ok(Facts { btf: file.section_by_name(".BTF").is_some(), btf_ext: file.section_by_name(".BTF.ext").is_some() })
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

    #[test]
    fn sees_both_btf_sections() {
        let object = elf(&[(".text", vec![0; 8]), (".BTF", vec![1; 24]), (".BTF.ext", vec![2; 32])]);
        assert_eq!(facts(&object).unwrap(), Facts { btf: true, btf_ext: true });
    }

    #[test]
    fn an_object_built_without_g_has_neither_section() {
        let object = elf(&[(".text", vec![0; 8]), ("license", b"GPL\0".to_vec())]);
        let facts = facts(&object).unwrap();
        assert_eq!(facts, Facts { btf: false, btf_ext: false });
        assert_eq!(facts.transcript_line(), "compile  ok      .BTF missing, .BTF.ext missing");
    }

    #[test]
    fn rejects_what_is_not_an_elf_object() {
        assert!(facts(b"#!/bin/sh\n").is_err());
        let mut truncated = elf(&[(".BTF", vec![1; 4])]);
        truncated.truncate(80);
        assert!(facts(&truncated).is_err());
    }
}
