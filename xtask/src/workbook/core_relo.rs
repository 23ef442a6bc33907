//! CO-RE relocations, resolved the way libbpf resolves them, against any
//! kernel's BTF: the root type by its name without the `___flavor` suffix,
//! then each field of the access string by name, looking through anonymous
//! structs and unions.
//!
//! It answers "does this kernel have this type and field", which is what
//! makes a load fail with EINVAL; it does not compute offsets.

use anyhow::{anyhow, bail, Context, Result};

use super::bpf_object::Relocation;
use crate::machine::btf::{Composite, Kind, Type, TypeTable};

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
    root_kind: Kind,
    /// With the flavor, e.g. `task_struct___pre514`.
    pub root: String,
    steps: Vec<Step>,
    enumerator: Option<String>,
}

impl Spec {
    pub fn read(local: &TypeTable, relocation: &Relocation) -> Result<Spec> {
        let root = local.ty(relocation.type_id).context("the relocation's type is not in the object's BTF")?;
        let root_name = local.type_name(&root).unwrap_or_default();
        let mut spec = Spec { kind: relocation.kind, root_kind: Kind::of(&root), root: root_name, steps: Vec::new(), enumerator: None };
        let indexes: Vec<u32> = relocation
            .access
            .split(':')
            .map(|i| i.parse().map_err(|_| anyhow!("bad access string {:?}", relocation.access)))
            .collect::<Result<_>>()?;
        if is_enumval_kind(relocation.kind) {
            let index = *indexes.first().context("empty access string")? as usize;
            let name = enumerator_name(local, &root, index).context("enumerator index outside the enum")?;
            spec.enumerator = Some(name);
        } else if is_field_kind(relocation.kind) {
            let mut current = local.skip_mods_and_typedefs(root).context("the relocation's type")?;
            for &index in indexes.iter().skip(1) {
                match &current {
                    Type::Struct(composite) | Type::Union(composite) => {
                        let member = composite.members.get(index as usize).context("member index outside the struct")?;
                        spec.steps.push(Step::Field(local.name(member)));
                        current = local.referred(member).and_then(|t| local.skip_mods_and_typedefs(t)).context("member type")?;
                    }
                    Type::Array(array) => {
                        spec.steps.push(Step::Index(index));
                        current = local.referred(array).and_then(|t| local.skip_mods_and_typedefs(t)).context("array element type")?;
                    }
                    other => bail!("access string {:?} goes into a {:?}", relocation.access, Kind::of(other)),
                }
            }
        }
        Ok(spec)
    }

    /// `struct task_struct___pre514.state`, as libbpf prints it.
    pub fn describe(&self) -> String {
        let kind = match self.root_kind {
            Kind::Struct => "struct ",
            Kind::Union => "union ",
            Kind::Enum | Kind::Enum64 => "enum ",
            Kind::Typedef => "typedef ",
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

fn enumerator_name(table: &TypeTable, ty: &Type, index: usize) -> Option<String> {
    match ty {
        Type::Enum(e) => table.name(e.members.get(index)?),
        Type::Enum64(e) => table.name(e.members.get(index)?),
        _ => None,
    }
}

fn enumerators(table: &TypeTable, ty: &Type) -> Vec<String> {
    match ty {
        Type::Enum(e) => e.members.iter().filter_map(|m| table.name(m)).collect(),
        Type::Enum64(e) => e.members.iter().filter_map(|m| table.name(m)).collect(),
        _ => Vec::new(),
    }
}

/// Whether a kernel satisfies a relocation, and if not, what it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Resolves,
    /// No type of that name and kind.
    NoType {
        name: String,
    },
    /// The type exists, the field (or enumerator) does not.
    NoField {
        in_type: String,
        field: String,
        similar: Option<String>,
    },
}

fn compatible(local: Kind, target: Kind) -> bool {
    let enum_like = |k| matches!(k, Kind::Enum | Kind::Enum64);
    local == target || (enum_like(local) && enum_like(target)) || target == Kind::Fwd && local != Kind::Int
}

/// Resolves `spec` against `target`.
pub fn resolve(spec: &Spec, target: &TypeTable) -> Outcome {
    if spec.kind == 6 {
        return Outcome::Resolves; // the local type id needs no kernel
    }
    let name = essential_name(&spec.root);
    let candidates: Vec<Type> = target
        .named(name)
        .into_iter()
        .filter_map(|id| target.ty(id))
        .filter(|t| compatible(spec.root_kind, Kind::of(t)) && Kind::of(t) != Kind::Fwd)
        .collect();
    if candidates.is_empty() {
        return Outcome::NoType { name: name.to_string() };
    }
    if let Some(enumerator) = &spec.enumerator {
        let wanted = essential_name(enumerator);
        if candidates.iter().any(|c| enumerators(target, c).iter().any(|n| essential_name(n) == wanted)) {
            return Outcome::Resolves;
        }
        return Outcome::NoField { in_type: name.to_string(), field: enumerator.clone(), similar: None };
    }
    let mut deepest = None;
    for candidate in candidates {
        match walk(target, candidate, &spec.steps, name) {
            Ok(()) => return Outcome::Resolves,
            Err(missing) => deepest = Some(missing),
        }
    }
    deepest.expect("at least one candidate")
}

/// `ty` under its modifiers and typedefs; a chain that ends nowhere counts
/// as `void`, which has no fields.
fn skip(target: &TypeTable, ty: Type) -> Type {
    target.skip_mods_and_typedefs(ty).unwrap_or(Type::Void)
}

/// Follows the access path by field names; on failure, names what is missing.
fn walk(target: &TypeTable, root: Type, steps: &[Step], root_name: &str) -> std::result::Result<(), Outcome> {
    let mut current = skip(target, root);
    let mut path = root_name.to_string();
    for step in steps {
        match step {
            Step::Field(None) => return Ok(()), // anonymous members are matched by libbpf by position; not checked
            Step::Field(Some(field)) => {
                let (Type::Struct(composite) | Type::Union(composite)) = &current else {
                    return Err(Outcome::NoField { in_type: path, field: field.clone(), similar: None });
                };
                match member(target, composite, field) {
                    Some(ty) => current = skip(target, ty),
                    None => {
                        let similar = similar_member(target, composite, field);
                        return Err(Outcome::NoField { in_type: path, field: field.clone(), similar });
                    }
                }
                path.push('.');
                path.push_str(field);
            }
            Step::Index(_) => {
                let Type::Array(array) = &current else {
                    return Err(Outcome::NoField { in_type: path, field: "[]".into(), similar: None });
                };
                current = target.referred(array).map_or(Type::Void, |t| skip(target, t));
                path.push_str("[]");
            }
        }
    }
    Ok(())
}

/// The member called `name`, also inside anonymous structs and unions.
fn member(target: &TypeTable, composite: &Composite, name: &str) -> Option<Type> {
    for m in &composite.members {
        let ty = target.referred(m)?;
        match target.name(m) {
            Some(n) if n == name => return Some(ty),
            None => {
                if let Type::Struct(inner) | Type::Union(inner) = skip(target, ty) {
                    if let Some(found) = member(target, &inner, name) {
                        return Some(found);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

fn member_names(target: &TypeTable, composite: &Composite, out: &mut Vec<String>) {
    for m in &composite.members {
        match target.name(m) {
            Some(n) => out.push(n),
            None => {
                if let Some(Type::Struct(inner) | Type::Union(inner)) = target.referred(m).map(|t| skip(target, t)) {
                    member_names(target, &inner, out);
                }
            }
        }
    }
}

/// For a field `field` of struct or union `type_name` that `target` lacks:
/// the closest member it has (underscores, a prefix, or two letters apart),
/// if any. None when the type is not there or has the field.
pub fn field_suggestion(target: &TypeTable, type_name: &str, field: &str) -> Option<String> {
    let composites: Vec<Composite> = target
        .named(essential_name(type_name))
        .into_iter()
        .filter_map(|id| target.ty(id))
        .filter_map(|t| match t {
            Type::Struct(c) | Type::Union(c) => Some(c),
            _ => None,
        })
        .collect();
    let wanted = essential_name(field);
    if composites.is_empty() || composites.iter().any(|c| member(target, c, wanted).is_some()) {
        return None;
    }
    composites.iter().find_map(|c| {
        similar_member(target, c, wanted).or_else(|| {
            let mut names = Vec::new();
            member_names(target, c, &mut names);
            names.into_iter().map(|n| (edit_distance(&n, wanted), n)).filter(|(d, _)| *d <= 2).min().map(|(_, n)| n)
        })
    })
}

/// Levenshtein distance, for names a few letters apart.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A member whose name differs only by underscores or a prefix, such as
/// `__state` for `state`: how fields are usually renamed.
fn similar_member(target: &TypeTable, composite: &Composite, name: &str) -> Option<String> {
    let mut names = Vec::new();
    member_names(target, composite, &mut names);
    let bare = name.trim_matches('_');
    names.into_iter().find(|n| n.trim_matches('_') == bare || (bare.len() >= 4 && n.contains(bare)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::btf::testing::*;

    fn relocation(type_id: u32, access: &str, kind: u32) -> Relocation {
        Relocation { section: "tp/sched/sched_switch".into(), instruction: 0, type_id, access: access.into(), kind }
    }

    /// A kernel where `state` became `__state`, inside an anonymous union.
    fn kernel() -> TypeTable {
        let mut b = Builder::new();
        let int = b.int("int");
        let anon = b.composite(UNION, "", &[("__state", int)]);
        let arr = b.add("", ARRAY, 0, 0, &[anon, int, 4]);
        b.composite(STRUCT, "task_struct", &[("pid", int), ("", anon), ("slots", arr)]);
        b.add("task_struct", FWD, 0, 0, &[]);
        b.add("sched_list", FWD, 0, 0, &[]);
        b.enumeration64("bpf_func_id", &["BPF_FUNC_unspec", "BPF_FUNC_map_lookup_elem"]);
        TypeTable::from_bytes(&b.bytes()).unwrap()
    }

    #[test]
    fn a_missing_field_gets_the_closest_member() {
        let kernel = kernel();
        assert_eq!(field_suggestion(&kernel, "task_struct", "state").as_deref(), Some("__state"));
        assert_eq!(field_suggestion(&kernel, "task_struct", "pdi").as_deref(), Some("pid"));
        assert_eq!(field_suggestion(&kernel, "task_struct", "pid"), None);
        assert_eq!(field_suggestion(&kernel, "no_such_struct", "pid"), None);
        assert_eq!(field_suggestion(&kernel, "task_struct", "completely_other"), None);
    }

    /// The object: two flavors of task_struct, and an enum.
    fn object() -> TypeTable {
        let mut b = Builder::new();
        let int = b.int("int");
        b.composite(STRUCT, "task_struct___pre514", &[("state", int)]);
        let anon = b.composite(UNION, "", &[("__state", int)]);
        let arr = b.add("", ARRAY, 0, 0, &[anon, int, 4]);
        b.composite(STRUCT, "task_struct___v514", &[("pid", int), ("", anon), ("slots", arr)]);
        let td = b.add("task_t", TYPEDEF, 0, 5, &[]);
        b.add("", CONST, 0, td, &[]);
        b.enumeration("bpf_func_id___x", &["BPF_FUNC_unspec", "BPF_FUNC_map_lookup_elem", "BPF_FUNC_new"]);
        b.composite(STRUCT, "sched_list", &[("next", int)]);
        TypeTable::from_bytes(&b.bytes()).unwrap()
    }

    fn outcome(type_id: u32, access: &str, kind: u32) -> (String, Outcome) {
        let spec = Spec::read(&object(), &relocation(type_id, access, kind)).unwrap();
        (spec.describe(), resolve(&spec, &kernel()))
    }

    #[test]
    fn a_renamed_field_is_missing_and_its_new_name_suggested() {
        let missing = Outcome::NoField { in_type: "task_struct".into(), field: "state".into(), similar: Some("__state".into()) };
        assert_eq!(outcome(2, "0:0", 0), ("struct task_struct___pre514.state".into(), missing));
    }

    #[test]
    fn fields_resolve_through_anonymous_members_typedefs_and_arrays() {
        assert_eq!(outcome(5, "0:0", 0), ("struct task_struct___v514.pid".into(), Outcome::Resolves));
        assert_eq!(outcome(5, "0:1:0", 0), ("struct task_struct___v514.<anon>.__state".into(), Outcome::Resolves));
        assert_eq!(outcome(5, "0:2:3:0", 0), ("struct task_struct___v514.slots[3].__state".into(), Outcome::Resolves));
        assert_eq!(outcome(6, "0:0", 0), ("typedef task_t.pid".into(), Outcome::NoType { name: "task_t".into() }));
    }

    #[test]
    fn enumerators_match_across_enum_and_enum64() {
        let found = outcome(8, "1", 10);
        assert_eq!(found, ("enum bpf_func_id___x::BPF_FUNC_map_lookup_elem".into(), Outcome::Resolves));
        let missing = Outcome::NoField { in_type: "bpf_func_id".into(), field: "BPF_FUNC_new".into(), similar: None };
        assert_eq!(outcome(8, "2", 11), ("enum bpf_func_id___x::BPF_FUNC_new".into(), missing));
    }

    #[test]
    fn a_forward_declaration_is_no_type_and_a_local_type_id_needs_none() {
        assert_eq!(outcome(9, "0:0", 0).1, Outcome::NoType { name: "sched_list".into() });
        assert_eq!(outcome(9, "0", 6).1, Outcome::Resolves);
    }

    #[test]
    fn an_access_string_into_a_scalar_is_an_error() {
        let error = Spec::read(&object(), &relocation(5, "0:0:0", 0)).unwrap_err();
        assert_eq!(error.to_string(), "access string \"0:0:0\" goes into a Int");
    }

    #[test]
    fn essential_names_drop_the_flavor_as_libbpf_does() {
        assert_eq!(essential_name("task_struct___pre514"), "task_struct");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("__x___y"), "__x");
        assert_eq!(essential_name("x____y"), "x____y");
    }
}
