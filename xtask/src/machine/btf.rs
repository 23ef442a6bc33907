//! A BTF file read with the pure-Rust `btf-rs`, which also indexes its
//! types by name: a kernel's (`/sys/kernel/btf/vmlinux`, or one extracted
//! from a vmlinuz) or a BPF object's `.BTF`, taken from the ELF file with
//! the `object` crate.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use btf_rs::{Btf, BtfType};
use object::{Object, ObjectSection};

/// A struct or a union: btf-rs reads both into one type.
pub use btf_rs::Struct as Composite;
pub use btf_rs::Type;

/// A BTF type's kind (`BTF_KIND_*`), named as libbpf names them: btf-rs has
/// no such enum, only its `Type`, which holds each kind's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Void,
    Int,
    Ptr,
    Array,
    Struct,
    Union,
    Enum,
    Fwd,
    Typedef,
    Volatile,
    Const,
    Restrict,
    Func,
    FuncProto,
    Var,
    DataSec,
    Float,
    DeclTag,
    TypeTag,
    Enum64,
}

impl Kind {
    pub fn of(ty: &Type) -> Kind {
        match ty {
            Type::Void => Kind::Void,
            Type::Int(_) => Kind::Int,
            Type::Ptr(_) => Kind::Ptr,
            Type::Array(_) => Kind::Array,
            Type::Struct(_) => Kind::Struct,
            Type::Union(_) => Kind::Union,
            Type::Enum(_) => Kind::Enum,
            Type::Fwd(_) => Kind::Fwd,
            Type::Typedef(_) => Kind::Typedef,
            Type::Volatile(_) => Kind::Volatile,
            Type::Const(_) => Kind::Const,
            Type::Restrict(_) => Kind::Restrict,
            Type::Func(_) => Kind::Func,
            Type::FuncProto(_) => Kind::FuncProto,
            Type::Var(_) => Kind::Var,
            Type::Datasec(_) => Kind::DataSec,
            Type::Float(_) => Kind::Float,
            Type::DeclTag(_) => Kind::DeclTag,
            Type::TypeTag(_) => Kind::TypeTag,
            Type::Enum64(_) => Kind::Enum64,
            // `Type` is non-exhaustive: a kind btf-rs adds later counts as none.
            _ => Kind::Void,
        }
    }
}

/// A BTF and its types by name.
pub struct TypeTable {
    btf: Btf,
}

impl TypeTable {
    /// Reads raw BTF (`/sys/kernel/btf/vmlinux`) or the `.BTF` of an ELF file.
    pub fn open(path: &Path) -> Result<TypeTable> {
        let read = || TypeTable::from_bytes(&std::fs::read(path)?);
        read().with_context(|| format!("reading BTF from {}", path.display()))
    }

    /// Raw BTF, or an ELF file whose `.BTF` section is read.
    pub fn from_bytes(bytes: &[u8]) -> Result<TypeTable> {
        let btf = if bytes.starts_with(b"\x7fELF") {
            let elf = object::File::parse(bytes)?;
            let section = elf.section_by_name(".BTF").context("no .BTF section")?;
            Btf::from_bytes(section.data()?)
        } else {
            Btf::from_bytes(bytes)
        };
        Ok(TypeTable { btf: btf.map_err(|e| anyhow!("{e}"))? })
    }

    pub fn ty(&self, id: u32) -> Option<Type> {
        self.btf.resolve_type_by_id(id).ok()
    }

    /// The name of a type, member, enumerator or parameter; `None` when it
    /// is anonymous.
    pub fn name(&self, item: &dyn BtfType) -> Option<String> {
        self.btf.resolve_name(item).ok().filter(|name| !name.is_empty())
    }

    /// The name of a type; `None` when it is anonymous or of a kind without one.
    pub fn type_name(&self, ty: &Type) -> Option<String> {
        self.name(ty.as_btf_type()?)
    }

    /// The type a member, an array (its elements), a pointer, a typedef or a
    /// modifier refers to.
    pub fn referred(&self, item: &dyn BtfType) -> Option<Type> {
        self.ty(item.get_type_id()?)
    }

    /// The type under any `const`, `volatile`, `restrict`, type tag and
    /// typedef, as libbpf's `skip_mods_and_typedefs`; `None` when the chain
    /// ends at a missing type (or, broken, loops).
    pub fn skip_mods_and_typedefs(&self, ty: Type) -> Option<Type> {
        let mut ty = ty;
        // The kernel gives up on deeper chains (MAX_RESOLVE_DEPTH).
        for _ in 0..32 {
            match &ty {
                Type::Const(t) | Type::Volatile(t) | Type::Restrict(t) => ty = self.referred(t)?,
                Type::TypeTag(t) => ty = self.referred(t)?,
                Type::Typedef(t) => ty = self.referred(t)?,
                _ => return Some(ty),
            }
        }
        None
    }

    /// The ids of types called `name`, of any kind.
    pub fn named(&self, name: &str) -> Vec<u32> {
        if name.is_empty() {
            return Vec::new(); // btf-rs files anonymous types under ""
        }
        self.btf.resolve_ids_by_name(name).unwrap_or_default()
    }

    /// Whether a type of `kind` called `name` exists (a function, a typedef...).
    pub fn has(&self, kind: Kind, name: &str) -> bool {
        self.named(name).into_iter().any(|id| self.ty(id).is_some_and(|t| Kind::of(&t) == kind))
    }
}

/// Hand-built BTF for tests.
#[cfg(test)]
pub mod testing {
    pub const INT: u32 = 1;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const CONST: u32 = 10;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const ENUM64: u32 = 19;

    /// Types in the order they are added, ids from 1; strings as they come.
    pub struct Builder {
        types: Vec<u32>,
        strings: Vec<u8>,
        next: u32,
    }

    impl Builder {
        pub fn new() -> Builder {
            Builder { types: Vec::new(), strings: vec![0], next: 1 }
        }

        /// The offset of `name` in the string section; "" is offset 0.
        pub fn name(&mut self, name: &str) -> u32 {
            if name.is_empty() {
                return 0;
            }
            let offset = self.strings.len() as u32;
            self.strings.extend_from_slice(name.as_bytes());
            self.strings.push(0);
            offset
        }

        /// A `struct btf_type` and what follows it, as 32-bit words; its id.
        pub fn add(&mut self, name: &str, kind: u32, vlen: u32, size_or_type: u32, rest: &[u32]) -> u32 {
            let name = self.name(name);
            self.types.extend([name, kind << 24 | vlen, size_or_type]);
            self.types.extend_from_slice(rest);
            self.next += 1;
            self.next - 1
        }

        pub fn int(&mut self, name: &str) -> u32 {
            self.add(name, INT, 0, 4, &[32])
        }

        /// A struct or union of (name, type) members, 4 bytes apart.
        pub fn composite(&mut self, kind: u32, name: &str, members: &[(&str, u32)]) -> u32 {
            let mut rest = Vec::new();
            for (i, (member, ty)) in members.iter().enumerate() {
                rest.extend([self.name(member), *ty, 32 * i as u32]);
            }
            self.add(name, kind, members.len() as u32, 4 * members.len() as u32, &rest)
        }

        pub fn enumeration(&mut self, name: &str, enumerators: &[&str]) -> u32 {
            let rest: Vec<u32> = enumerators.iter().enumerate().flat_map(|(i, e)| [self.name(e), i as u32]).collect();
            self.add(name, ENUM, enumerators.len() as u32, 4, &rest)
        }

        pub fn enumeration64(&mut self, name: &str, enumerators: &[&str]) -> u32 {
            let rest: Vec<u32> = enumerators.iter().enumerate().flat_map(|(i, e)| [self.name(e), i as u32, 1]).collect();
            self.add(name, ENUM64, enumerators.len() as u32, 8, &rest)
        }

        /// Raw BTF, as `/sys/kernel/btf/vmlinux` holds it.
        pub fn bytes(&self) -> Vec<u8> {
            let type_len = 4 * self.types.len() as u32;
            let mut out = vec![0x9f, 0xeb, 1, 0];
            for word in [24, 0, type_len, type_len, self.strings.len() as u32] {
                out.extend(word.to_le_bytes());
            }
            out.extend(self.types.iter().flat_map(|w| w.to_le_bytes()));
            out.extend(&self.strings);
            out
        }

        /// A BPF object whose `.BTF` section holds this BTF.
        pub fn elf(&self) -> Vec<u8> {
            self.elf_in(".BTF")
        }

        /// A BPF object with this BTF in a section called `section`.
        pub fn elf_in(&self, section: &str) -> Vec<u8> {
            use object::write::Object;
            use object::{Architecture, BinaryFormat, Endianness, SectionKind};
            let mut elf = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);
            let section = elf.add_section(Vec::new(), section.as_bytes().to_vec(), SectionKind::Other);
            elf.append_section_data(section, &self.bytes(), 4);
            elf.write().unwrap()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    fn sample() -> Builder {
        let mut b = Builder::new();
        let int = b.int("int");
        let anon = b.composite(UNION, "", &[("__state", int), ("state_alias", int)]);
        let task = b.composite(STRUCT, "task_struct", &[("pid", int), ("", anon)]);
        let td = b.add("task_t", TYPEDEF, 0, task, &[]);
        b.add("", CONST, 0, td, &[]);
        let proto = b.add("", FUNC_PROTO, 1, int, &[0, int]);
        b.add("do_unlinkat", FUNC, 1, proto, &[]);
        b.add("btf_trace_sched_switch", TYPEDEF, 0, proto, &[]);
        b.add("task_struct", FWD, 0, 0, &[]);
        b
    }

    #[test]
    fn raw_btf_and_an_elf_files_btf_read_alike() {
        for bytes in [sample().bytes(), sample().elf()] {
            let table = TypeTable::from_bytes(&bytes).unwrap();
            assert_eq!(table.named("task_struct"), vec![3, 9]);
            assert!(table.has(Kind::Func, "do_unlinkat"));
            assert!(table.has(Kind::Typedef, "btf_trace_sched_switch"));
            assert!(!table.has(Kind::Typedef, "do_unlinkat"));
            assert!(!table.has(Kind::Func, "missing"));
        }
    }

    #[test]
    fn anonymous_types_have_no_name_and_are_not_found_by_one() {
        let table = TypeTable::from_bytes(&sample().bytes()).unwrap();
        let anon = table.ty(2).unwrap();
        assert_eq!(Kind::of(&anon), Kind::Union);
        assert_eq!(table.type_name(&anon), None);
        assert_eq!(table.type_name(&table.ty(3).unwrap()).as_deref(), Some("task_struct"));
        assert!(table.named("").is_empty());
        assert!(table.ty(99).is_none());
    }

    #[test]
    fn modifiers_and_typedefs_are_skipped_as_libbpf_skips_them() {
        let table = TypeTable::from_bytes(&sample().bytes()).unwrap();
        let under = table.skip_mods_and_typedefs(table.ty(5).unwrap()).unwrap();
        assert_eq!(table.type_name(&under).as_deref(), Some("task_struct"));
        let mut looped = Builder::new();
        looped.add("a", TYPEDEF, 0, 2, &[]);
        looped.add("b", TYPEDEF, 0, 1, &[]);
        let table = TypeTable::from_bytes(&looped.bytes()).unwrap();
        assert!(table.skip_mods_and_typedefs(table.ty(1).unwrap()).is_none());
    }

    #[test]
    fn what_is_not_btf_is_an_error() {
        assert!(TypeTable::from_bytes(b"not BTF at all").is_err());
        let mut b = Builder::new();
        b.int("int");
        assert!(TypeTable::from_bytes(&b.elf_in(".BTF")).is_ok());
        let error = TypeTable::from_bytes(&b.elf_in(".data")).err().unwrap();
        assert_eq!(error.to_string(), "no .BTF section");
    }
}
