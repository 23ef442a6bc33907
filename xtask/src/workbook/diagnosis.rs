//! What diagnose concludes about a BPF object on a kernel: each program's
//! attach target, each CO-RE relocation on every kernel at hand, and the
//! findings, each tied to a cause of the error index.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use super::bpf_object::{BpfObject, Program, Relocation};
use super::core_relo::{self, Outcome, Spec};
use super::error_index::{Finding, Severity};
use super::reach;
use super::switches::{self, Switch};
use crate::machine::btf::{Kind, TypeTable};
use crate::machine::kernel_btf::KernelFacts;

#[derive(Debug, Serialize)]
pub struct ObjectReport {
    pub btf: bool,
    pub btf_ext: bool,
    pub legacy_maps: bool,
    pub programs: Vec<ProgramReport>,
    pub relocations: Vec<RelocationReport>,
    /// Read-only globals that keep code from the verifier with their default values.
    #[serde(skip)]
    pub switches: Vec<SwitchReport>,
}

/// A `const volatile` switch and what the code behind it does.
#[derive(Debug)]
pub struct SwitchReport {
    pub switch: Switch,
    /// The sections holding code behind it, as `SEC("…")`.
    pub sections: Vec<String>,
    pub instructions: usize,
    /// `file.bpf.c:12-14`.
    pub lines: Option<String>,
    /// Its CO-RE relocations (libbpf's access strings).
    pub relocations: Vec<String>,
    /// Those that fail on the kernel judged, with what it lacks.
    pub failing: Vec<String>,
    pub helpers: Vec<String>,
    pub maps: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ProgramReport {
    pub name: String,
    pub section: String,
    /// libbpf's program type family: `tracepoint`, `kprobe`, `fentry`, `xdp`...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What it attaches to, e.g. `syscalls/sys_enter_openat`; none for types without a kernel target.
    pub target: Option<String>,
    /// `found`, `missing`, `unchecked` (no kernel target, or nothing to look in).
    pub target_status: &'static str,
    /// Where the target was looked for.
    pub checked_in: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct RelocationReport {
    /// `struct task_struct___pre514.state`, as libbpf names it.
    pub access: String,
    /// libbpf's relocation kind, e.g. `byte_off`, `field_exists`.
    pub kind: &'static str,
    pub section: String,
    /// How many instructions carry this relocation.
    pub count: usize,
    /// Per kernel name: whether it resolves there.
    pub resolves: BTreeMap<&'static str, bool>,
    /// On the chosen kernel, what it lacks.
    pub missing: Option<String>,
    /// Unreachable on the kernel judged, once the section's existence checks
    /// take that kernel's answers: libbpf's poisoned instruction is never run.
    pub guarded: bool,
}

/// The attach point a section name gives, in libbpf's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tracepoint {
        category: String,
        name: String,
    },
    TracepointWithoutCategory(String),
    RawTracepoint(String),
    BtfTracepoint(String),
    Kprobe(String),
    Ksyscall(String),
    BtfFunction(String),
    Lsm(String),
    /// No kernel target to check (xdp, tc, uprobe, a bare `kprobe`...).
    None,
}

/// libbpf's program type family and target for a `SEC()` name.
pub fn section_target(section: &str) -> (&'static str, Target) {
    let (prefix, rest) = match section.split_once('/') {
        Some((p, r)) => (p, Some(r)),
        None => (section, None),
    };
    let Some(rest) = rest.filter(|r| !r.is_empty()) else {
        return (family(prefix), Target::None);
    };
    let target = match prefix {
        "tp" | "tracepoint" => match rest.split_once('/') {
            Some((category, name)) => Target::Tracepoint { category: category.into(), name: name.into() },
            None => Target::TracepointWithoutCategory(rest.into()),
        },
        "raw_tp" | "raw_tracepoint" | "raw_tp.w" | "raw_tracepoint.w" => Target::RawTracepoint(rest.into()),
        "tp_btf" => Target::BtfTracepoint(rest.into()),
        "kprobe" | "kretprobe" => Target::Kprobe(rest.split('+').next().unwrap_or(rest).into()),
        "ksyscall" | "kretsyscall" => Target::Ksyscall(rest.into()),
        "fentry" | "fexit" | "fmod_ret" | "fentry.s" | "fexit.s" | "fmod_ret.s" => Target::BtfFunction(rest.into()),
        "lsm" | "lsm.s" => Target::Lsm(rest.into()),
        _ => Target::None,
    };
    (family(prefix), target)
}

fn family(prefix: &str) -> &'static str {
    match prefix {
        "tp" | "tracepoint" => "tracepoint",
        "raw_tp" | "raw_tracepoint" | "raw_tp.w" | "raw_tracepoint.w" => "raw_tracepoint",
        "tp_btf" => "tp_btf",
        "kprobe" | "kretprobe" | "kprobe.multi" | "kretprobe.multi" => "kprobe",
        "ksyscall" | "kretsyscall" => "ksyscall",
        "uprobe" | "uretprobe" | "uprobe.s" | "uretprobe.s" | "uprobe.multi" | "uretprobe.multi" => "uprobe",
        "fentry" | "fentry.s" => "fentry",
        "fexit" | "fexit.s" => "fexit",
        "fmod_ret" | "fmod_ret.s" => "fmod_ret",
        "lsm" | "lsm.s" | "lsm_cgroup" => "lsm",
        "xdp" | "xdp.frags" => "xdp",
        "tc" | "tcx" | "classifier" | "action" | "tc/ingress" | "tc/egress" => "tc",
        "perf_event" => "perf_event",
        "usdt" => "usdt",
        "iter" | "iter.s" => "iter",
        "struct_ops" | "struct_ops.s" => "struct_ops",
        "socket" => "socket",
        "syscall" => "syscall",
        p if p.starts_with("cgroup") => "cgroup",
        p if p.starts_with("sk_") || p.starts_with("sockops") => "socket",
        _ => "unknown",
    }
}

/// The prefix of system call entry points on the architecture the checker runs on.
const SYSCALL_PREFIX: &str = if cfg!(target_arch = "aarch64") { "__arm64_sys_" } else { "__x64_sys_" };

/// Whether a kernel function exists: kallsyms on the host, else its BTF.
fn function_exists(kernel: &KernelFacts, name: &str) -> (bool, &'static str) {
    if !kernel.is_host() {
        return (kernel.types.has(Kind::Func, name), "BTF");
    }
    (kernel.kallsyms_has(name) || kernel.types.has(Kind::Func, name), "kallsyms and BTF")
}

/// `others`: the workbook's other kernels, whose BTF tells a renamed function from a name no kernel has.
fn check_program(program: &Program, kernel: &KernelFacts, others: &[&KernelFacts], findings: &mut Vec<Finding>) -> ProgramReport {
    let (kind, target) = section_target(&program.section);
    let evidence = format!("program {} in SEC(\"{}\")", program.name, program.section);
    let on = kernel.describe();
    let mut report = ProgramReport {
        name: program.name.clone(),
        section: program.section.clone(),
        kind,
        target: None,
        target_status: "unchecked",
        checked_in: None,
    };
    if let Some(placeholder) = placeholder_target(&target) {
        report.target = Some(placeholder.to_string());
        findings.push(
            Finding::plain(
                "placeholder-target",
                Severity::Note,
                format!("{placeholder} is a placeholder: the object's loader sets the real target at run time (set_attach_target before load), or turns the program off"),
                format!("nothing to fix in the object; a loader of your own calls set_attach_target on {} before load", program.name),
            )
            .evidence(evidence),
        );
        return report;
    }
    let result = |report: &mut ProgramReport, target: String, found: bool, checked_in: &'static str| {
        report.target = Some(target);
        report.target_status = if found { "found" } else { "missing" };
        report.checked_in = Some(checked_in);
        found
    };
    match target {
        Target::None => {}
        Target::TracepointWithoutCategory(name) => {
            report.target = Some(name.clone());
            report.target_status = "missing";
            let category = category_of(kernel, &name);
            findings.push(
                Finding::of("tp-without-category", Severity::Error)
                    .summary(format!("SEC(\"{}\") has no category: libbpf's attach fails with EINVAL and logs nothing", program.section))
                    .fix(format!("write the category too: SEC(\"tp/{}/{name}\")", category.as_deref().unwrap_or("<category>")))
                    .evidence(evidence),
            );
        }
        Target::Tracepoint { category, name } => {
            let full = format!("{category}/{name}");
            let found = match &kernel.tracefs_events {
                Some(events) => result(&mut report, full.clone(), events.join(&category).join(&name).is_dir(), "tracefs"),
                None => {
                    if kernel.is_host() && !kernel.tracefs_mounted {
                        findings.push(
                            Finding::of("tracepoint-not-found", Severity::Warning)
                                .summary("tracefs is not mounted: attaching a tracepoint fails with ENOENT until it is")
                                .evidence(evidence.clone()),
                        );
                    }
                    result(&mut report, full.clone(), tracepoint_in_btf(kernel, &category, &name), "BTF")
                }
            };
            if !found {
                let look = match &kernel.tracefs_events {
                    Some(events) => format!("ls {}", events.join(&category).display()),
                    None => "ls /sys/kernel/tracing/events/<category>/ on that kernel".into(),
                };
                let fix = match similar_tracepoint(kernel, &category, &name) {
                    Some(like) => format!("did you mean SEC(\"tp/{like}\")? ({look} lists the tracepoints this kernel has)"),
                    None => format!("use a tracepoint this kernel has ({look} lists them)"),
                };
                findings.push(
                    Finding::of("tracepoint-not-found", Severity::Error)
                        .summary(format!("no tracepoint {full} on {on}: attach fails with ENOENT"))
                        .fix(fix)
                        .evidence(evidence),
                );
            } else if category == "syscalls" && matches!(name.as_str(), "sys_enter_open" | "sys_exit_open") {
                findings.push(
                    Finding::of("tracepoint-never-fires", Severity::Warning)
                        .summary(format!("{full} exists, but glibc opens files with openat(2): the program may never run"))
                        .evidence(evidence),
                );
            }
        }
        Target::RawTracepoint(name) | Target::BtfTracepoint(name) => {
            let raw = kind == "raw_tracepoint";
            let found = result(&mut report, name.clone(), kernel.types.has(Kind::Typedef, &format!("btf_trace_{name}")), "BTF");
            if !found {
                let (cause, how) = if raw {
                    ("raw-tp-wrong-name", "attach fails with ENOENT")
                } else {
                    ("attach-target-not-in-btf", "load fails with ESRCH")
                };
                findings.push(
                    Finding::of(cause, Severity::Error)
                        .summary(format!("no raw tracepoint {name} on {on} (no btf_trace_{name} in its BTF): {how}"))
                        .evidence(evidence),
                );
            }
        }
        Target::Kprobe(function) | Target::Ksyscall(function) => {
            let symbol = if kind == "ksyscall" { format!("{SYSCALL_PREFIX}{function}") } else { function.clone() };
            let (found, checked_in) = function_exists(kernel, &symbol);
            result(&mut report, function.clone(), found, checked_in);
            let no_kernel_has_it = !others.iter().any(|k| k.types.has(Kind::Func, &symbol));
            if !found && function == program.name && no_kernel_has_it {
                // `SEC("kprobe/handle_entry") int BPF_KPROBE(handle_entry)`: the section
                // repeats the program's name, which no kernel has; its loader attaches
                // it elsewhere (as a uprobe). `kprobe/kmem_cache_alloc` is a renamed function.
                findings.push(
                    Finding::plain(
                        "placeholder-target",
                        Severity::Note,
                        format!("{symbol} is a function of none of the workbook's kernels, and it is the program's own name: the section is a label, and the object's loader attaches {} itself (to a uprobe or a function it picks), or libbpf's auto-attach fails with ENOENT", program.name),
                        format!("if nothing attaches {} by hand, name a kernel function in its section", program.name),
                    )
                    .evidence(evidence),
                );
            } else if !found {
                findings.push(
                    Finding::of("kprobe-missing-function", Severity::Error)
                        .summary(format!("no kernel function {symbol} on {on}: attach fails with ENOENT"))
                        .evidence(evidence),
                );
            } else if !kernel.kprobes {
                findings.push(
                    Finding::of("kprobe-missing-function", Severity::Warning)
                        .summary(format!("{symbol} exists, but {on} has no kprobes: attach fails with ENOENT"))
                        .evidence(evidence),
                );
            }
        }
        Target::BtfFunction(function) | Target::Lsm(function) => {
            let symbol = if kind == "lsm" { format!("bpf_lsm_{function}") } else { function.clone() };
            let found = result(&mut report, function.clone(), kernel.types.has(Kind::Func, &symbol), "BTF");
            if !found {
                findings.push(
                    Finding::of("attach-target-not-in-btf", Severity::Error)
                        .summary(format!("no function {symbol} in the BTF of {on}: load fails with ESRCH"))
                        .evidence(evidence),
                );
            }
        }
    }
    report
}

/// Names that stand for "any function": ksnoop's `kprobe/foo` is attached
/// to the function given on its command line.
const PLACEHOLDER_NAMES: [&str; 3] = ["foo", "dummy", "placeholder"];

/// A target the object's loader is expected to replace: libbpf-tools name
/// theirs `dummy_…` and call set_attach_target (or turn the program off) at run time.
fn placeholder_target(target: &Target) -> Option<&str> {
    let name = match target {
        Target::Tracepoint { name, .. } => name,
        Target::TracepointWithoutCategory(name)
        | Target::RawTracepoint(name)
        | Target::BtfTracepoint(name)
        | Target::Kprobe(name)
        | Target::Ksyscall(name)
        | Target::BtfFunction(name)
        | Target::Lsm(name) => name,
        Target::None => return None,
    };
    (name.starts_with("dummy_") || PLACEHOLDER_NAMES.contains(&name.as_str())).then_some(name.as_str())
}

/// The tracefs category that holds tracepoint `name`: `syscalls` for a
/// system call's, else the folder of the host's tracefs that has it.
fn category_of(kernel: &KernelFacts, name: &str) -> Option<String> {
    if name.starts_with("sys_enter_") || name.starts_with("sys_exit_") {
        return Some("syscalls".into());
    }
    let events = kernel.tracefs_events.as_ref()?;
    let mut categories: Vec<String> =
        std::fs::read_dir(events).ok()?.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    categories.sort();
    categories.into_iter().find(|c| events.join(c).join(name).is_dir())
}

/// The host's tracepoint closest to a missing one (`syscalls/sys_enter_opnat`
/// gives `syscalls/sys_enter_openat`): two edits at most, in the same category or the same name in another.
fn similar_tracepoint(kernel: &KernelFacts, category: &str, name: &str) -> Option<String> {
    let events = kernel.tracefs_events.as_ref()?;
    let names = |dir: &Path| -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.flatten().filter(|e| e.path().is_dir()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        found.sort();
        found
    };
    let in_category = names(&events.join(category))
        .into_iter()
        .map(|n| (core_relo::edit_distance(&n, name), n))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| format!("{category}/{n}"));
    in_category.or_else(|| names(events).into_iter().find(|c| events.join(c).join(name).is_dir()).map(|c| format!("{c}/{name}")))
}

/// libbpf names the tracepoint it could not find and the field it could not
/// relocate, never a close one: in a pasted log, the fix of those findings
/// starts with the kernel's closest name, from its tracefs and its BTF.
pub fn suggest_names(text: &str, kernel: &KernelFacts, findings: &mut [Finding]) {
    static TRACEPOINT: OnceLock<Regex> = OnceLock::new();
    static FIELD: OnceLock<Regex> = OnceLock::new();
    let tracepoint = TRACEPOINT.get_or_init(|| Regex::new(r"tracepoint '(\w+)/(\w+)'").unwrap());
    let field = FIELD.get_or_init(|| Regex::new(r"\] (?:struct|union) (\w+)\.(\w+)").unwrap());
    for finding in findings.iter_mut() {
        let suggestion = match finding.cause {
            "tracepoint-not-found" => tracepoint.captures(text).and_then(|m| {
                let like = similar_tracepoint(kernel, &m[1], &m[2]).filter(|like| *like != format!("{}/{}", &m[1], &m[2]))?;
                Some(format!("did you mean tracepoint {like}? ({}/{} is not on {})", &m[1], &m[2], kernel.describe()))
            }),
            "core-relocation" | "field-not-in-vmlinux-h" => field.captures_iter(text).find_map(|m| {
                let like = core_relo::field_suggestion(&kernel.types, &m[1], &m[2])?;
                Some(format!("did you mean {like}? ({} on {} has no field {})", core_relo::essential_name(&m[1]), kernel.describe(), &m[2]))
            }),
            _ => None,
        };
        if let Some(suggestion) = suggestion {
            finding.fix = format!("{suggestion}; {}", finding.fix);
        }
    }
}

/// The real load is libbpf's load of the object as compiled; the object's
/// own loader may first choose among its programs or size its maps. What
/// such a loader avoids is not an error of the object:
/// - a program that fails while another program of the object hooks the
///   same function another way (fentry and kprobe: libbpf-tools load one)
///   is a note;
/// - a map the kernel refuses as compiled is a warning: libbpf-tools' loaders
///   set a stack map's value size before load.
pub fn weigh_load_findings(object: &BpfObject, log: &[String], load_findings: &mut [Finding]) {
    let failed_program = log.iter().find_map(|l| {
        let rest = l.split_once("prog '")?.1;
        let (name, after) = rest.split_once('\'')?;
        (after.contains("BPF program load failed") || after.contains("failed to load")).then_some(name)
    });
    let alternative = failed_program.and_then(|name| {
        let failed = object.programs.iter().find(|p| p.name == name)?;
        let (kind, target) = section_target(&failed.section);
        let function = hooked_function(&target)?;
        object
            .programs
            .iter()
            .find(|p| {
                let (other_kind, other_target) = section_target(&p.section);
                other_kind != kind && hooked_function(&other_target) == Some(function)
            })
            .map(|p| (failed.name.clone(), p.name.clone(), function.to_string()))
    });
    for finding in load_findings.iter_mut().filter(|f| f.severity == Severity::Error) {
        if let Some((failed, other, function)) = &alternative {
            finding.severity = Severity::Note;
            finding.summary = format!(
                "{failed} does not load on this kernel ({}), and {other} hooks {function} too: the object's loader can load one or the other, as libbpf-tools do. This load stopped at {failed}, so the programs after it were not loaded",
                finding.summary
            );
        } else if finding.cause == "map-definition-refused" {
            finding.severity = Severity::Warning;
            finding.summary = format!(
                "{}, as compiled: a loader that sets the map's size before load (libbpf-tools do for stack maps) does not fail this way",
                finding.summary
            );
        }
    }
}

/// The kernel function a kprobe, fentry, fexit or lsm program hooks.
fn hooked_function(target: &Target) -> Option<&str> {
    match target {
        Target::Kprobe(function) | Target::BtfFunction(function) => Some(function),
        _ => None,
    }
}

/// Without tracefs: a system call's tracepoint exists when its entry point
/// does; any other has a `btf_trace_<name>` typedef.
fn tracepoint_in_btf(kernel: &KernelFacts, category: &str, name: &str) -> bool {
    if category == "syscalls" {
        let call = name.strip_prefix("sys_enter_").or_else(|| name.strip_prefix("sys_exit_")).unwrap_or(name);
        return kernel.types.has(Kind::Func, &format!("{SYSCALL_PREFIX}{call}"));
    }
    kernel.types.has(Kind::Typedef, &format!("btf_trace_{name}"))
}

fn describe_outcome(outcome: &Outcome, kernel: &str) -> String {
    match outcome {
        Outcome::Resolves => format!("resolves on {kernel}"),
        Outcome::NoType { name } => format!("{kernel} has no type {name}"),
        Outcome::NoField { in_type, field, similar } => {
            let like = similar.as_ref().map(|s| format!(" (it has `{s}`)")).unwrap_or_default();
            format!("{in_type} has no field `{field}` on {kernel}{like}")
        }
    }
}

/// Checks an object on `chosen`, and its relocations on every kernel in `others` too.
pub fn diagnose_object(
    object: &BpfObject,
    object_path: &Path,
    chosen: Option<&KernelFacts>,
    chosen_name: &str,
    others: &[&KernelFacts],
) -> (ObjectReport, Vec<Finding>) {
    let mut findings = Vec::new();
    if object.btf.is_none() && object.btf_maps {
        findings.push(
            Finding::of("no-btf", Severity::Error)
                .summary("no .BTF section, and the maps in .maps need it: open fails with ENOENT (compiled without -g)"),
        );
    }
    if object.legacy_maps {
        findings.push(
            Finding::of("legacy-maps", Severity::Error)
                .summary("a map in SEC(\"maps\"): libbpf 1.0+ refuses to open the object (EOPNOTSUPP)"),
        );
    }
    let programs = match chosen {
        Some(kernel) => object.programs.iter().map(|p| check_program(p, kernel, others, &mut findings)).collect(),
        None => object
            .programs
            .iter()
            .map(|p| {
                let (kind, _) = section_target(&p.section);
                ProgramReport {
                    name: p.name.clone(),
                    section: p.section.clone(),
                    kind,
                    target: None,
                    target_status: "unchecked",
                    checked_in: None,
                }
            })
            .collect(),
    };
    let local = (!object.relocations.is_empty()).then(|| TypeTable::open(object_path));
    let relocations = match &local {
        None => Vec::new(),
        Some(Ok(local)) => check_relocations(object, local, chosen, chosen_name, others, &mut findings),
        Some(Err(error)) => {
            findings.push(Finding::of("core-relocation", Severity::Warning).summary(format!("cannot read the object's BTF: {error:#}")));
            Vec::new()
        }
    };
    let local = local.and_then(Result::ok);
    let report = ObjectReport {
        btf: object.btf.is_some(),
        btf_ext: object.btf_ext.is_some(),
        legacy_maps: object.legacy_maps,
        programs,
        relocations,
        switches: find_switches(object, local.as_ref(), chosen, others),
    };
    (report, findings)
}

fn check_relocations(
    object: &BpfObject,
    local: &TypeTable,
    chosen: Option<&KernelFacts>,
    chosen_name: &str,
    others: &[&KernelFacts],
    findings: &mut Vec<Finding>,
) -> Vec<RelocationReport> {
    // Existence checks, by program section and the type they check: a
    // program that checks a type's layout chooses between flavors of it.
    let checked: Vec<(&str, String)> = object
        .relocations
        .iter()
        .filter(|r| core_relo::is_existence_check(r.kind))
        .filter_map(|r| Spec::read(local, r).ok().map(|spec| (r.section.as_str(), core_relo::essential_name(&spec.root).to_string())))
        .collect();
    let mut reach = Reach { object, local, cache: BTreeMap::new() };
    let mut reports: Vec<RelocationReport> = Vec::new();
    for relocation in &object.relocations {
        let spec = match Spec::read(local, relocation) {
            Ok(spec) => spec,
            Err(error) => {
                findings
                    .push(Finding::of("core-relocation", Severity::Warning).summary(format!("cannot read a CO-RE relocation: {error:#}")));
                continue;
            }
        };
        let access = spec.describe();
        let kind = core_relo::kind_name(relocation.kind);
        let mut resolves = BTreeMap::new();
        let mut missing = None;
        // Kernels where the read fails and its instruction is run; without the
        // section's code, every kernel where it fails.
        let mut fails_where_run = Vec::new();
        let mut guarded = false;
        for kernel in chosen.into_iter().chain(others.iter().copied()) {
            let outcome = core_relo::resolve(&spec, &kernel.types);
            resolves.insert(kernel.name, outcome == Outcome::Resolves);
            if outcome == Outcome::Resolves || core_relo::is_existence_check(relocation.kind) {
                continue;
            }
            let run = match reach.runs(relocation, kernel, false) {
                Some(run) => run,
                // A flavor read in a section that checks any type or field chooses between layouts.
                None => !(core_relo::essential_name(&spec.root) != spec.root && checked.iter().any(|(s, _)| *s == relocation.section)),
            };
            let is_chosen = chosen.is_some_and(|c| std::ptr::eq(c, kernel));
            // Run with some value of a `const volatile` switch, not with the
            // object's: the load with its defaults passes, and the switch's
            // own finding says what fails behind it.
            if run && reach.runs(relocation, kernel, true) == Some(false) {
                continue;
            }
            if run {
                fails_where_run.push(kernel.name);
                if is_chosen {
                    missing = Some(describe_outcome(&outcome, &kernel.describe()));
                }
            } else if is_chosen {
                guarded = true;
            }
        }
        // The same read twice in a section is one line, unless one copy is guarded and the other not.
        if let Some(same) = reports.iter_mut().find(|r| {
            r.access == access && r.kind == kind && r.section == relocation.section && r.guarded == guarded && r.missing == missing
        }) {
            same.count += 1;
            continue;
        }
        let where_it_resolves: Vec<&str> = resolves.iter().filter(|(_, ok)| **ok).map(|(k, _)| *k).collect();
        let resolves_note = match where_it_resolves.as_slice() {
            [] => "it resolves on none of the workbook's kernels".to_string(),
            some => format!("it resolves on {}", some.join(", ")),
        };
        let evidence = format!("{} relocation in SEC(\"{}\")", kind, relocation.section);
        if !core_relo::is_existence_check(relocation.kind) {
            if let Some(what) = &missing {
                findings.push(
                    Finding::of("core-relocation", Severity::Error)
                        .summary(format!("{access}: {what}; load fails with EINVAL; {resolves_note}"))
                        .evidence(evidence),
                );
            } else if chosen.is_some() {
                let failing = &fails_where_run;
                if !failing.is_empty() {
                    findings.push(
                        Finding::of("core-relocation", Severity::Warning)
                            .summary(format!(
                                "{access}: resolves on {chosen_name}, not on {}: load fails there with EINVAL",
                                failing.join(", ")
                            ))
                            .evidence(evidence),
                    );
                }
            }
        }
        reports.push(RelocationReport { access, kind, section: relocation.section.clone(), count: 1, resolves, missing, guarded });
    }
    reports
}

/// The value each existence check of `section` takes on `kernel`, by instruction byte offset.
fn existence_answers(object: &BpfObject, local: &TypeTable, section: &str, kernel: &KernelFacts) -> BTreeMap<u32, i64> {
    object
        .relocations
        .iter()
        .filter(|r| r.section == section && core_relo::is_existence_check(r.kind))
        .filter_map(|r| {
            let spec = Spec::read(local, r).ok()?;
            Some((r.instruction, i64::from(core_relo::resolve(&spec, &kernel.types) == Outcome::Resolves)))
        })
        .collect()
}

/// The object's `const volatile` switches on the kernel judged, and what
/// the code behind each does: its relocations (and which fail there), its
/// helper calls, maps and source lines.
fn find_switches(
    object: &BpfObject,
    local: Option<&TypeTable>,
    chosen: Option<&KernelFacts>,
    others: &[&KernelFacts],
) -> Vec<SwitchReport> {
    let answers = |section: &str| match (local, chosen) {
        (Some(local), Some(kernel)) => existence_answers(object, local, section, kernel),
        _ => BTreeMap::new(),
    };
    // Helper names from any kernel's `enum bpf_func_id`, whose enumerators count from 0.
    let helper_names: Vec<String> = chosen
        .into_iter()
        .chain(others.iter().copied())
        .find_map(|k| {
            k.types.named("bpf_func_id").into_iter().find_map(|id| match k.types.ty(id)? {
                crate::machine::btf::Type::Enum(e) => {
                    Some(e.members.iter().map(|m| k.types.name(m).unwrap_or_default().replacen("BPF_FUNC_", "bpf_", 1)).collect())
                }
                _ => None,
            })
        })
        .unwrap_or_default();
    switches::find(object, answers)
        .into_iter()
        .map(|switch| {
            let mut report = SwitchReport {
                sections: Vec::new(),
                instructions: 0,
                lines: None,
                relocations: Vec::new(),
                failing: Vec::new(),
                helpers: Vec::new(),
                maps: Vec::new(),
                switch,
            };
            let mut lines = switches::Lines::new();
            for (section, hidden) in &report.switch.hidden {
                report.sections.push(if section == ".text" { "subprograms (.text)".into() } else { format!("SEC(\"{section}\")") });
                report.instructions += hidden.len();
                if let Some(section_lines) = object.lines.get(section) {
                    switches::source_lines(section_lines, hidden, &mut lines);
                }
                let code = object.code.get(section).map(Vec::as_slice).unwrap_or_default();
                for id in switches::helper_calls(code, hidden) {
                    let name = helper_names.get(id as usize).cloned().unwrap_or_else(|| format!("helper #{id}"));
                    if !report.helpers.contains(&name) {
                        report.helpers.push(name);
                    }
                }
                for (at, map) in object.map_addresses.get(section).into_iter().flatten() {
                    if hidden.contains(&(*at as usize / 8)) && !report.maps.contains(map) {
                        report.maps.push(map.clone());
                    }
                }
                let Some(local) = local else { continue };
                // The reads, not the existence checks that choose among them.
                let reads = object.relocations.iter().filter(|r| {
                    r.section == *section && !core_relo::is_existence_check(r.kind) && hidden.contains(&(r.instruction as usize / 8))
                });
                for relocation in reads {
                    let Ok(spec) = Spec::read(local, relocation) else { continue };
                    let access = spec.describe();
                    if !report.relocations.contains(&access) {
                        report.relocations.push(access.clone());
                    }
                    if let Some(kernel) = chosen {
                        let outcome = core_relo::resolve(&spec, &kernel.types);
                        let why = describe_outcome(&outcome, &kernel.describe());
                        if outcome != Outcome::Resolves && !report.failing.contains(&why) {
                            report.failing.push(why);
                        }
                    }
                }
            }
            report.lines = switches::describe_lines(&lines);
            report
        })
        .collect()
}

/// What loading the object again with a switch set said.
pub enum Reload {
    Passed,
    Failed(String),
}

/// The finding for a switch: a note that the load with the object's
/// defaults did not verify the code behind it (`loaded`: whether that load
/// ran and passed), a warning when that code fails (a relocation the kernel
/// judged lacks, or the load with the switch set).
pub fn switch_finding(report: &SwitchReport, loaded: Option<bool>, reload: Option<&Reload>, on: &str, on_host: bool) -> Finding {
    let switch = &report.switch;
    let name = &switch.name;
    let list = |what: &str, items: &[String]| {
        let shown: Vec<&str> = items.iter().take(4).map(String::as_str).collect();
        let more = if items.len() > 4 { format!(" and {} more", items.len() - 4) } else { String::new() };
        (!items.is_empty()).then(|| format!("{what} {}{more}", shown.join(", ")))
    };
    let what: Vec<String> = [list("CO-RE reads", &report.relocations), list("helpers", &report.helpers), list("maps", &report.maps)]
        .into_iter()
        .flatten()
        .collect();
    let what = if what.is_empty() { String::new() } else { format!(": {}", what.join("; ")) };
    let lines = report.lines.as_ref().map(|l| format!(", {l}")).unwrap_or_default();
    let verdict = match loaded {
        Some(true) => "the load with the object's defaults passed without verifying it",
        Some(false) => "the failed load with the object's defaults did not verify it either",
        None => "a load with the object's defaults does not verify it",
    };
    let mut summary = format!(
        "`{name}` is {} in the object's read-only data, and the verifier skips the code a branch on it rules out: {} instruction{} in {}{lines}{what}; {verdict}",
        switch.default,
        report.instructions,
        if report.instructions == 1 { "" } else { "s" },
        report.sections.join(", "),
    );
    let mut severity = Severity::Note;
    if !report.failing.is_empty() {
        severity = Severity::Warning;
        summary.push_str(&format!("; with `{name}` set, that code's load fails with EINVAL: {}", report.failing.join("; ")));
    }
    let fix = match (switch.value, reload) {
        (Some(value), Some(Reload::Passed)) => {
            format!("loaded again here with `{name}` = {value}: that load passes too, so the code behind it is verified on {on}")
        }
        (Some(value), Some(Reload::Failed(why))) => {
            severity = Severity::Warning;
            format!("loaded again here with `{name}` = {value}: that load fails ({why}); a loader that sets `{name}` before load fails the same way")
        }
        (Some(value), None) => {
            let who = if on_host {
                "as root, diagnose does so itself".to_string()
            } else {
                format!("only {on}'s verifier judges that load, so it is done on a machine running {on}")
            };
            format!(
                "to verify it too, load with `{name}` = {value}: set it in the skeleton's read-only data before load (open.maps.rodata_data in libbpf-rs, skel->rodata in C); {who}"
            )
        }
        (None, _) => format!("to verify it too, load with another value of `{name}`, set before load in the skeleton's read-only data"),
    };
    Finding::plain("switch-not-exercised", severity, summary, fix)
}

/// Which relocations a kernel's verifier would run, per section, once the
/// section's existence checks take that kernel's answers ([`reach`]) and
/// the read-only data its values in the object.
struct Reach<'a> {
    object: &'a BpfObject,
    local: &'a TypeTable,
    cache: BTreeMap<(String, &'static str, bool), Vec<bool>>,
}

impl Reach<'_> {
    /// Whether the relocated instruction runs on `kernel`, with any value of
    /// the read-only data or (`defaults`) with the object's; `None` without the section's code.
    fn runs(&mut self, relocation: &Relocation, kernel: &KernelFacts, defaults: bool) -> Option<bool> {
        let key = (relocation.section.clone(), kernel.name, defaults);
        if !self.cache.contains_key(&key) {
            let code = self.object.code.get(&relocation.section)?;
            let answers = existence_answers(self.object, self.local, &relocation.section, kernel);
            let entries = self.object.functions.get(&relocation.section).map_or(&[0][..], Vec::as_slice);
            let memory = if defaults { switches::defaults(self.object, &relocation.section) } else { reach::Memory::default() };
            self.cache.insert(key.clone(), reach::reachable(code, entries, &answers, &memory));
        }
        self.cache[&key].get(relocation.instruction as usize / 8).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names_give_libbpf_types_and_targets() {
        let tp = |c: &str, n: &str| Target::Tracepoint { category: c.into(), name: n.into() };
        assert_eq!(section_target("tp/syscalls/sys_enter_openat"), ("tracepoint", tp("syscalls", "sys_enter_openat")));
        assert_eq!(section_target("tracepoint/sched/sched_switch"), ("tracepoint", tp("sched", "sched_switch")));
        assert_eq!(section_target("tp/sys_enter_openat"), ("tracepoint", Target::TracepointWithoutCategory("sys_enter_openat".into())));
        assert_eq!(section_target("kprobe/_do_fork"), ("kprobe", Target::Kprobe("_do_fork".into())));
        assert_eq!(section_target("kretprobe/do_unlinkat+4"), ("kprobe", Target::Kprobe("do_unlinkat".into())));
        assert_eq!(section_target("ksyscall/execve"), ("ksyscall", Target::Ksyscall("execve".into())));
        assert_eq!(section_target("tp_btf/sched_switch"), ("tp_btf", Target::BtfTracepoint("sched_switch".into())));
        assert_eq!(section_target("raw_tp/sys_enter"), ("raw_tracepoint", Target::RawTracepoint("sys_enter".into())));
        assert_eq!(section_target("fentry/do_unlinkat"), ("fentry", Target::BtfFunction("do_unlinkat".into())));
        assert_eq!(section_target("lsm/file_open"), ("lsm", Target::Lsm("file_open".into())));
        assert_eq!(section_target("xdp"), ("xdp", Target::None));
        assert_eq!(section_target("uprobe//bin/bash:readline"), ("uprobe", Target::None));
        assert_eq!(section_target("kprobe"), ("kprobe", Target::None));
    }

    #[test]
    fn a_dummy_target_is_a_placeholder() {
        assert_eq!(placeholder_target(&section_target("fentry/dummy_file_open").1), Some("dummy_file_open"));
        assert_eq!(placeholder_target(&section_target("kprobe/dummy_fs_open").1), Some("dummy_fs_open"));
        assert_eq!(placeholder_target(&section_target("fentry/do_unlinkat").1), None);
        assert_eq!(placeholder_target(&section_target("xdp").1), None);
    }

    #[test]
    fn a_failing_program_with_an_alternative_for_its_hook_is_a_note() {
        let program = |name: &str, section: &str| Program { name: name.into(), section: section.into() };
        let object = BpfObject {
            btf: None,
            btf_ext: None,
            legacy_maps: false,
            btf_maps: false,
            programs: vec![
                program("kprobe_vfs_read", "kprobe/vfs_read"),
                program("fentry_vfs_read", "fentry/vfs_read"),
                program("other", "fentry/vfs_write"),
            ],
            relocations: vec![],
            code: BTreeMap::new(),
            functions: BTreeMap::new(),
            read_only: vec![],
            read_only_addresses: BTreeMap::new(),
            map_addresses: BTreeMap::new(),
            lines: BTreeMap::new(),
        };
        let log = |name: &str| vec![format!("libbpf: prog '{name}': BPF program load failed: -EPERM")];
        let mut findings = vec![Finding::of("not-permitted", Severity::Error)];
        weigh_load_findings(&object, &log("fentry_vfs_read"), &mut findings);
        assert_eq!(findings[0].severity, Severity::Note);
        assert!(findings[0].summary.starts_with("fentry_vfs_read does not load on this kernel"), "{}", findings[0].summary);
        let mut alone = vec![Finding::of("not-permitted", Severity::Error)];
        weigh_load_findings(&object, &log("other"), &mut alone);
        assert_eq!(alone[0].severity, Severity::Error, "no other program hooks vfs_write");
    }

    #[test]
    fn edit_distance_counts_letters_changed() {
        assert_eq!(core_relo::edit_distance("sys_enter_openat", "sys_enter_opnat"), 1);
        assert_eq!(core_relo::edit_distance("sched_switch", "sched_swich"), 1);
        assert_eq!(core_relo::edit_distance("abc", "abc"), 0);
        assert_eq!(core_relo::edit_distance("", "ab"), 2);
    }
}
