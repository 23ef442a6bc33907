//! A BTF file read with libbpf, with an index of its named types: a
//! kernel's (`/sys/kernel/btf/vmlinux`, or one extracted from a vmlinuz) or
//! a BPF object's `.BTF`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use libbpf_rs::btf::{BtfKind, BtfType, TypeId};
use libbpf_rs::Btf;

/// A BTF with an index of its named types.
pub struct TypeTable {
    btf: Btf<'static>,
    by_name: HashMap<String, Vec<u32>>,
}

impl TypeTable {
    /// Reads raw BTF (`/sys/kernel/btf/vmlinux`) or the `.BTF` of an ELF file.
    pub fn open(path: &Path) -> Result<TypeTable> {
        let btf = Btf::from_path(path).map_err(|e| anyhow!("{e}")).with_context(|| format!("reading BTF from {}", path.display()))?;
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for id in 1..btf.len() as u32 {
            let Some(ty) = btf.type_by_id::<BtfType>(TypeId::from(id)) else { continue };
            if let Some(name) = ty.name() {
                by_name.entry(name.to_string_lossy().into_owned()).or_default().push(id);
            }
        }
        Ok(TypeTable { btf, by_name })
    }

    pub fn ty(&self, id: u32) -> Option<BtfType<'_>> {
        self.btf.type_by_id::<BtfType>(TypeId::from(id))
    }

    /// The ids of types called `name`, of any kind.
    pub fn named(&self, name: &str) -> &[u32] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether a type of `kind` called `name` exists (a function, a typedef...).
    pub fn has(&self, kind: BtfKind, name: &str) -> bool {
        self.named(name).iter().any(|&id| self.ty(id).is_some_and(|t| t.kind() == kind))
    }
}
