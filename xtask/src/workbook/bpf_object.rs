//! What a compiled BPF object holds, read with the `object` crate: its
//! programs and their `SEC()` names, its map sections, and its CO-RE
//! relocations from `.BTF.ext`.

use std::collections::BTreeMap;

use anyhow::{bail, ensure, Context, Result};
use object::{Architecture, Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind};

/// Why a file cannot be diagnosed as a BPF object.
#[derive(Debug)]
pub enum NotBpf {
    NotElf,
    /// An ELF file for another machine, e.g. `x86-64`.
    OtherMachine(String),
    /// A BPF object of the other byte order (`-target bpfeb` on a little-endian machine).
    OtherEndian {
        big_endian: bool,
    },
    Damaged(String),
}

#[derive(Debug)]
pub struct BpfObject {
    /// The raw `.BTF` section.
    pub btf: Option<Vec<u8>>,
    pub btf_ext: Option<Vec<u8>>,
    /// A section named `maps`: libbpf 0.x's map definitions.
    pub legacy_maps: bool,
    /// A `.maps` section: BTF-defined maps, which need `.BTF`.
    pub btf_maps: bool,
    pub programs: Vec<Program>,
    pub relocations: Vec<Relocation>,
    /// Each code section's instructions, by section name (`.text` included).
    pub code: BTreeMap<String, Vec<u8>>,
    /// Where each function starts in its section, in bytes: a program, or a subprogram.
    pub functions: BTreeMap<String, Vec<u64>>,
    /// Read-only data (`.rodata`, `.rodata.*`): the `const volatile` globals
    /// and literals, frozen before load, so the verifier reads their values as constants.
    pub read_only: Vec<ReadOnly>,
    /// Per code section, the `ld_imm64` instructions (by byte offset) that
    /// take an address in read-only data: which of `read_only`, and where in it.
    pub read_only_addresses: BTreeMap<String, BTreeMap<u32, (usize, i64)>>,
    /// Per code section, the `ld_imm64` instructions that take a map, and its name.
    pub map_addresses: BTreeMap<String, BTreeMap<u32, String>>,
    /// Per code section, `.BTF.ext`'s line info: (instruction byte offset, file, line, its text).
    pub lines: BTreeMap<String, Vec<SourceLine>>,
}

/// A read-only data section and its named globals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOnly {
    pub section: String,
    /// Its initial bytes, as the object gives them.
    pub data: Vec<u8>,
    /// Where the bytes start in the file.
    pub file_offset: u64,
    /// Named globals: (name, offset, size).
    pub globals: Vec<(String, u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    pub instruction: u32,
    pub file: String,
    pub line: u32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    pub section: String,
}

/// One CO-RE relocation record (libbpf's `struct bpf_core_relo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    /// The program section it belongs to.
    pub section: String,
    pub instruction: u32,
    /// The local root type, an id in the object's `.BTF`.
    pub type_id: u32,
    /// The access string, e.g. `0:1:0`.
    pub access: String,
    pub kind: u32,
}

pub fn read(elf: &[u8]) -> std::result::Result<BpfObject, NotBpf> {
    if !elf.starts_with(b"\x7fELF") {
        return Err(NotBpf::NotElf);
    }
    let file = object::File::parse(elf).map_err(|e| NotBpf::Damaged(e.to_string()))?;
    if file.architecture() != Architecture::Bpf {
        return Err(NotBpf::OtherMachine(format!("{:?}", file.architecture()).to_lowercase().replace('_', "-")));
    }
    // Checked before the sections: read in the wrong byte order they only look damaged.
    if file.is_little_endian() != cfg!(target_endian = "little") {
        return Err(NotBpf::OtherEndian { big_endian: !file.is_little_endian() });
    }
    read_bpf(&file).map_err(|e| NotBpf::Damaged(format!("{e:#}")))
}

fn read_bpf(file: &object::File) -> Result<BpfObject> {
    let section_data = |name: &str| -> Result<Option<Vec<u8>>> {
        file.section_by_name(name).map(|s| s.data().map(<[u8]>::to_vec)).transpose().with_context(|| format!("reading {name}"))
    };
    let btf = section_data(".BTF")?;
    let btf_ext = section_data(".BTF.ext")?;
    let mut code = BTreeMap::new();
    for section in file.sections().filter(|s| s.kind() == SectionKind::Text) {
        code.insert(section.name()?.to_string(), section.data()?.to_vec());
    }
    let mut programs = Vec::new();
    let mut functions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for symbol in file.symbols().filter(|s| s.kind() == SymbolKind::Text) {
        let Some(index) = symbol.section_index() else { continue };
        let section = file.section_by_index(index)?;
        let section_name = section.name()?;
        functions.entry(section_name.to_string()).or_default().push(symbol.address());
        if section.kind() != SectionKind::Text || section_name == ".text" {
            continue; // .text holds subprograms, not programs
        }
        programs.push(Program { name: symbol.name()?.to_string(), section: section_name.to_string() });
    }
    let relocations = match (&btf, &btf_ext) {
        (Some(btf), Some(ext)) => relocations(btf, ext)?,
        _ => Vec::new(),
    };
    let lines = match (&btf, &btf_ext) {
        (Some(btf), Some(ext)) => line_info(btf, ext).unwrap_or_default(),
        _ => BTreeMap::new(),
    };
    let mut read_only = Vec::new();
    for section in file.sections().filter(|s| s.name().is_ok_and(|n| n == ".rodata" || n.starts_with(".rodata."))) {
        let globals = file
            .symbols()
            .filter(|s| s.section_index() == Some(section.index()) && s.kind() == SymbolKind::Data && s.size() > 0)
            .filter_map(|s| Some((s.name().ok()?.to_string(), s.address(), s.size())))
            .collect();
        read_only.push(ReadOnly {
            section: section.name()?.to_string(),
            data: section.data()?.to_vec(),
            file_offset: section.file_range().map_or(0, |(start, _)| start),
            globals,
        });
    }
    let (mut read_only_addresses, mut map_addresses) = (BTreeMap::new(), BTreeMap::new());
    for section in file.sections().filter(|s| s.kind() == SectionKind::Text) {
        let name = section.name()?.to_string();
        let data = section.data()?;
        for (at, relocation) in section.relocations() {
            let object::RelocationTarget::Symbol(index) = relocation.target() else { continue };
            let Ok(symbol) = file.symbol_by_index(index) else { continue };
            let Some(target) = symbol.section_index().and_then(|i| file.section_by_index(i).ok()) else { continue };
            // An `ld_imm64`: its imm holds the addend, libbpf adds the symbol's value.
            if data.get(at as usize) != Some(&0x18) {
                continue;
            }
            let Some(imm) = data.get(at as usize + 4..at as usize + 8) else { continue };
            let imm = i64::from(i32::from_le_bytes(imm.try_into()?));
            let target_name = target.name()?;
            if let Some(which) = read_only.iter().position(|r| r.section == target_name) {
                let entry: &mut BTreeMap<u32, (usize, i64)> = read_only_addresses.entry(name.clone()).or_default();
                entry.insert(at as u32, (which, imm + symbol.address() as i64));
            } else if target_name == ".maps" {
                let entry: &mut BTreeMap<u32, String> = map_addresses.entry(name.clone()).or_default();
                entry.insert(at as u32, symbol.name()?.to_string());
            }
        }
    }
    Ok(BpfObject {
        legacy_maps: file.sections().any(|s| s.name().is_ok_and(|n| n == "maps" || n.starts_with("maps/"))),
        btf_maps: file.section_by_name(".maps").is_some(),
        btf,
        btf_ext,
        programs,
        relocations,
        code,
        functions,
        read_only,
        read_only_addresses,
        map_addresses,
        lines,
    })
}

/// `.BTF.ext`'s line info (libbpf's `struct bpf_line_info`, whose `insn_off`
/// counts bytes in the ELF file): per section, the source line each
/// instruction run starts, with its text.
pub fn line_info(btf: &[u8], ext: &[u8]) -> Result<BTreeMap<String, Vec<SourceLine>>> {
    ensure!(ext.get(0..2) == Some(&[0x9f, 0xeb][..]), "bad .BTF.ext magic");
    let strings = btf_strings(btf)?;
    let start = u32_at(ext, 4)? as usize + u32_at(ext, 16)? as usize;
    let len = u32_at(ext, 20)? as usize;
    let mut out = BTreeMap::new();
    if len == 0 {
        return Ok(out);
    }
    let data = ext.get(start..start + len).context(".BTF.ext line_info outside the section")?;
    let record_size = u32_at(data, 0)? as usize;
    ensure!(record_size >= 16, "line info record size {record_size} is too small");
    let mut at = 4;
    while at < data.len() {
        let section = string_at(strings, u32_at(data, at)?)?;
        let count = u32_at(data, at + 4)? as usize;
        at += 8;
        let lines: &mut Vec<SourceLine> = out.entry(section).or_default();
        for _ in 0..count {
            lines.push(SourceLine {
                instruction: u32_at(data, at)?,
                file: string_at(strings, u32_at(data, at + 4)?)?,
                text: string_at(strings, u32_at(data, at + 8)?)?,
                line: u32_at(data, at + 12)? >> 10,
            });
            at += record_size;
        }
        lines.sort_by_key(|l| l.instruction);
    }
    Ok(out)
}

fn u32_at(data: &[u8], at: usize) -> Result<u32> {
    let bytes = data.get(at..at + 4).context("truncated BTF")?;
    Ok(u32::from_le_bytes(bytes.try_into()?))
}

/// The string section of a raw `.BTF` (libbpf's `struct btf_header`).
pub fn btf_strings(btf: &[u8]) -> Result<&[u8]> {
    ensure!(btf.get(0..2) == Some(&[0x9f, 0xeb][..]), "bad .BTF magic");
    let header_len = u32_at(btf, 4)? as usize;
    let start = header_len + u32_at(btf, 16)? as usize;
    let len = u32_at(btf, 20)? as usize;
    btf.get(start..start + len).context(".BTF strings outside the section")
}

pub fn string_at(strings: &[u8], offset: u32) -> Result<String> {
    let tail = strings.get(offset as usize..).context("string offset outside .BTF")?;
    let end = tail.iter().position(|&b| b == 0).context("unterminated .BTF string")?;
    Ok(String::from_utf8_lossy(&tail[..end]).into_owned())
}

/// The CO-RE relocation records of `.BTF.ext` (libbpf's `struct btf_ext_header`:
/// magic, version, flags, hdr_len, then offset/length pairs for func_info,
/// line_info and core_relo; each subsection is a record size, then per
/// program section its name, a count and the records).
pub fn relocations(btf: &[u8], ext: &[u8]) -> Result<Vec<Relocation>> {
    ensure!(ext.get(0..2) == Some(&[0x9f, 0xeb][..]), "bad .BTF.ext magic");
    let strings = btf_strings(btf)?;
    let header_len = u32_at(ext, 4)? as usize;
    if header_len < 32 {
        return Ok(Vec::new()); // written before CO-RE existed
    }
    let start = header_len + u32_at(ext, 24)? as usize;
    let len = u32_at(ext, 28)? as usize;
    if len == 0 {
        return Ok(Vec::new());
    }
    let data = ext.get(start..start + len).context(".BTF.ext core_relo outside the section")?;
    let record_size = u32_at(data, 0)? as usize;
    ensure!(record_size >= 16, "CO-RE record size {record_size} is too small");
    let mut out = Vec::new();
    let mut at = 4;
    while at < data.len() {
        let section = string_at(strings, u32_at(data, at)?)?;
        let count = u32_at(data, at + 4)? as usize;
        at += 8;
        for _ in 0..count {
            out.push(Relocation {
                section: section.clone(),
                instruction: u32_at(data, at)?,
                type_id: u32_at(data, at + 4)?,
                access: string_at(strings, u32_at(data, at + 8)?)?,
                kind: u32_at(data, at + 12)?,
            });
            at += record_size;
        }
    }
    if at != data.len() {
        bail!(".BTF.ext core_relo records overrun the section");
    }
    Ok(out)
}
