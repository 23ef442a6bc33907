//! CO-RE relocations, resolved the way libbpf resolves them, against any
//! kernel's BTF: the root type by its name without the `___flavor` suffix,
//! then each field of the access string by name, looking through anonymous
//! structs and unions.
//!
//! It answers "does this kernel have this type and field", which is what
//! makes a load fail with EINVAL; it does not compute offsets.

use anyhow::{anyhow, bail, Context, Result};
use libbpf_rs::btf::types::{Array, Composite, Enum, Enum64};
use libbpf_rs::btf::{BtfKind, BtfType};

use super::bpf_object::Relocation;
use crate::machine::btf::TypeTable;

/// libbpf's names for `enum bpf_core_relo_kind`.
const KINDS: [&str; 13] = [
    "byte_off",
    "byte_sz",
    "field_exists",
    "signed",
    "lshift_u64",
    "rshift_u64",
    "local_type_id",
    "target_type_id",
    "type_exists",
    "type_size",
    "enumval_exists",
    "enumval_value",
    "type_matches",
];

pub fn kind_name(kind: u32) -> &'static str {
    KINDS.get(kind as usize).copied().unwrap_or("unknown")
}

/// An existence check: unresolved, it is false, and the program still loads.
pub fn is_existence_check(kind: u32) -> bool {
    matches!(kind, 2 | 8 | 10 | 12)
}

fn is_field_kind(kind: u32) -> bool {
    kind <= 5
}

fn is_enumval_kind(kind: u32) -> bool {
    kind == 10 || kind == 11
}

/// `task_struct___pre514` → `task_struct`, exactly as libbpf's
/// `bpf_core_essential_name_len` cuts it.
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    if b.len() >= 5 {
        for i in (0..=b.len() - 5).rev() {
            if b[i] != b'_' && b[i + 1] == b'_' && b[i + 2] == b'_' && b[i + 3] == b'_' && b[i + 4] != b'_' {
                return &name[..=i];
            }
        }
    }
    name
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(Option<String>),
    Index(u32),
}

/// A relocation as the object's BTF spells it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: u32,
    root_kind: BtfKind,
    /// With the flavor, e.g. `task_struct___pre514`.
    pub root: String,
    steps: Vec<Step>,
    enumerator: Option<String>,
}

impl Spec {
    pub fn read(local: &TypeTable, relocation: &Relocation) -> Result<Spec> {
        let root = local.ty(relocation.type_id).context("the relocation's type is not in the object's BTF")?;
        let root_name = root.name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut spec =
            Spec { kind: relocation.kind, root_kind: root.kind(), root: root_name, steps: Vec::new(), enumerator: None };
        let indexes: Vec<u32> = relocation
            .access
            .split(':')
            .map(|i| i.parse().map_err(|_| anyhow!("bad access string {:?}", relocation.access)))
            .collect::<Result<_>>()?;
        if is_enumval_kind(relocation.kind) {
            let index = *indexes.first().context("empty access string")? as usize;
            let name = enumerator_name(&root, index).context("enumerator index outside the enum")?;
            spec.enumerator = Some(name);
        } else if is_field_kind(relocation.kind) {
            let mut current = root.skip_mods_and_typedefs();
            for &index in indexes.iter().skip(1) {
                if let Ok(composite) = Composite::try_from(current) {
                    let member = composite.get(index as usize).context("member index outside the struct")?;
                    spec.steps.push(Step::Field(member.name.map(|n| n.to_string_lossy().into_owned())));
                    current = local.ty(member.ty.into()).context("member type")?.skip_mods_and_typedefs();
                } else if let Ok(array) = Array::try_from(current) {
                    spec.steps.push(Step::Index(index));
                    current = array.contained_type().skip_mods_and_typedefs();
                } else {
                    bail!("access string {:?} goes into a {:?}", relocation.access, current.kind());
                }
            }
        }
        Ok(spec)
    }

    /// `struct task_struct___pre514.state`, as libbpf prints it.
    pub fn describe(&self) -> String {
        let kind = match self.root_kind {
            BtfKind::Struct => "struct ",
            BtfKind::Union => "union ",
            BtfKind::Enum | BtfKind::Enum64 => "enum ",
            BtfKind::Typedef => "typedef ",
            _ => "",
        };
        let mut out = format!("{kind}{}", self.root);
        for step in &self.steps {
            match step {
                Step::Field(Some(name)) => out.push_str(&format!(".{name}")),
                Step::Field(None) => out.push_str(".<anon>"),
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if let Some(name) = &self.enumerator {
            out.push_str(&format!("::{name}"));
        }
        out
    }
}

fn enumerator_name(ty: &BtfType, index: usize) -> Option<String> {
    let name = if let Ok(e) = Enum::try_from(*ty) {
        e.get(index)?.name
    } else {
        Enum64::try_from(*ty).ok()?.get(index)?.name
    };
    Some(name?.to_string_lossy().into_owned())
}

fn enumerators(ty: &BtfType) -> Vec<String> {
    let names: Vec<Option<&std::ffi::OsStr>> = if let Ok(e) = Enum::try_from(*ty) {
        (0..e.len()).filter_map(|i| e.get(i)).map(|m| m.name).collect()
    } else if let Ok(e) = Enum64::try_from(*ty) {
        (0..e.len()).filter_map(|i| e.get(i)).map(|m| m.name).collect()
    } else {
        Vec::new()
    };
    names.into_iter().flatten().map(|n| n.to_string_lossy().into_owned()).collect()
}

/// Whether a kernel satisfies a relocation, and if not, what it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Resolves,
    /// No type of that name and kind.
    NoType { name: String },
    /// The type exists, the field (or enumerator) does not.
    NoField { in_type: String, field: String, similar: Option<String> },
}

fn compatible(local: BtfKind, target: BtfKind) -> bool {
    let enum_like = |k| matches!(k, BtfKind::Enum | BtfKind::Enum64);
    local == target || (enum_like(local) && enum_like(target)) || target == BtfKind::Fwd && local != BtfKind::Int
}

/// Resolves `spec` against `target`.
pub fn resolve(spec: &Spec, target: &TypeTable) -> Outcome {
    if spec.kind == 6 {
        return Outcome::Resolves; // the local type id needs no kernel
    }
    let name = essential_name(&spec.root);
    let candidates: Vec<BtfType> = target
        .named(name)
        .iter()
        .filter_map(|&id| target.ty(id))
        .filter(|t| compatible(spec.root_kind, t.kind()) && t.kind() != BtfKind::Fwd)
        .collect();
    if candidates.is_empty() {
        return Outcome::NoType { name: name.to_string() };
    }
    if let Some(enumerator) = &spec.enumerator {
        let wanted = essential_name(enumerator);
        if candidates.iter().any(|c| enumerators(c).iter().any(|n| essential_name(n) == wanted)) {
            return Outcome::Resolves;
        }
        return Outcome::NoField { in_type: name.to_string(), field: enumerator.clone(), similar: None };
    }
    let mut deepest = None;
    for candidate in &candidates {
        match walk(target, *candidate, &spec.steps, name) {
            Ok(()) => return Outcome::Resolves,
            Err(missing) => deepest = Some(missing),
        }
    }
    deepest.expect("at least one candidate")
}

/// Follows the access path by field names; on failure, names what is missing.
fn walk(target: &TypeTable, root: BtfType, steps: &[Step], root_name: &str) -> std::result::Result<(), Outcome> {
    let mut current = root.skip_mods_and_typedefs();
    let mut path = root_name.to_string();
    for step in steps {
        match step {
            Step::Field(None) => return Ok(()), // anonymous members are matched by libbpf by position; not checked
            Step::Field(Some(field)) => {
                let Ok(composite) = Composite::try_from(current) else {
                    return Err(Outcome::NoField { in_type: path, field: field.clone(), similar: None });
                };
                match member(target, composite, field) {
                    Some(ty) => current = ty.skip_mods_and_typedefs(),
                    None => {
                        let similar = similar_member(target, composite, field);
                        return Err(Outcome::NoField { in_type: path, field: field.clone(), similar });
                    }
                }
                path.push('.');
                path.push_str(field);
            }
            Step::Index(_) => {
                let Ok(array) = Array::try_from(current) else {
                    return Err(Outcome::NoField { in_type: path, field: "[]".into(), similar: None });
                };
                current = array.contained_type().skip_mods_and_typedefs();
                path.push_str("[]");
            }
        }
    }
    Ok(())
}

/// The member called `name`, also inside anonymous structs and unions.
fn member<'t>(target: &'t TypeTable, composite: Composite<'t>, name: &str) -> Option<BtfType<'t>> {
    for i in 0..composite.len() {
        let m = composite.get(i)?;
        let ty = target.ty(m.ty.into())?;
        match m.name {
            Some(n) if n == name => return Some(ty),
            None => {
                if let Ok(inner) = Composite::try_from(ty.skip_mods_and_typedefs()) {
                    if let Some(found) = member(target, inner, name) {
                        return Some(found);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn member_names(target: &TypeTable, composite: Composite, out: &mut Vec<String>) {
    for m in (0..composite.len()).filter_map(|i| composite.get(i)) {
        match m.name {
            Some(n) => out.push(n.to_string_lossy().into_owned()),
            None => {
                if let Some(inner) = target.ty(m.ty.into()).and_then(|t| Composite::try_from(t.skip_mods_and_typedefs()).ok()) {
                    member_names(target, inner, out);
                }
            }
        }
    }
}

/// A member whose name differs only by underscores or a prefix, such as
/// `__state` for `state`: how fields are usually renamed.
fn similar_member(target: &TypeTable, composite: Composite, name: &str) -> Option<String> {
    let mut names = Vec::new();
    member_names(target, composite, &mut names);
    let bare = name.trim_matches('_');
    names.into_iter().find(|n| n.trim_matches('_') == bare || (bare.len() >= 4 && n.contains(bare)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_names_drop_the_flavor_as_libbpf_does() {
        assert_eq!(essential_name("task_struct___pre514"), "task_struct");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("__x___y"), "__x");
        assert_eq!(essential_name("x____y"), "x____y");
    }
}
