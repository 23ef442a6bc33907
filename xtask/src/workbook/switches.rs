//! Code behind a `const volatile` switch. libbpf freezes `.rodata` before
//! load, so the verifier reads such a global as the constant the object (or
//! its loader) gave it and skips every branch that constant rules out: a load
//! that passes with the object's defaults has not verified the code a
//! non-default value would run. This finds that code from the instructions:
//! the section is walked ([`reach`]) with every read-only value known, then
//! with one global taken as any value; what only the second walk reaches is
//! behind that global.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::bpf_object::{BpfObject, SourceLine};
use super::reach::{self, Memory};

/// A read-only global that keeps code from the verifier with its default value.
#[derive(Debug, Clone, Serialize)]
pub struct Switch {
    pub name: String,
    /// Its value in the object.
    pub default: i64,
    /// A value that takes the code the default skips (none when no simple one does).
    pub value: Option<i64>,
    /// Per code section, the instructions (indexes) only a non-default value reaches.
    #[serde(skip)]
    pub hidden: BTreeMap<String, Vec<usize>>,
    /// Where the global's bytes lie in the file, and how many: a loader's
    /// choice is made by writing them.
    #[serde(skip)]
    pub file_offset: u64,
    #[serde(skip)]
    pub size: usize,
}

/// A scalar of the object's read-only data, where a branch can test it.
struct Global {
    /// Which of the object's read-only sections holds it.
    region: usize,
    name: String,
    offset: usize,
    size: usize,
}

/// The scalars of the object's read-only data a branch can test.
fn globals(object: &BpfObject) -> Vec<Global> {
    let mut out = Vec::new();
    for (region, data) in object.read_only.iter().enumerate() {
        for (name, offset, size) in &data.globals {
            if matches!(size, 1 | 2 | 4 | 8) && data.data.len() as u64 >= offset + size {
                out.push(Global { region, name: name.clone(), offset: *offset as usize, size: *size as usize });
            }
        }
    }
    out
}

/// A section's read-only data with the object's values: what the verifier
/// reads when the loader leaves them as they are.
pub fn defaults(object: &BpfObject, section: &str) -> Memory {
    Memory { addresses: object.read_only_addresses.get(section).cloned().unwrap_or_default(), regions: known(object) }
}

fn known(object: &BpfObject) -> Vec<Vec<Option<u8>>> {
    object.read_only.iter().map(|r| r.data.iter().copied().map(Some).collect()).collect()
}

/// The switches of an object, given each section's existence-check answers
/// on the kernel judged (by instruction byte offset).
pub fn find(object: &BpfObject, answers: impl Fn(&str) -> BTreeMap<u32, i64>) -> Vec<Switch> {
    let globals = globals(object);
    let mut found: Vec<Switch> = Vec::new();
    for (section, code) in &object.code {
        let Some(addresses) = object.read_only_addresses.get(section) else { continue };
        let regions: BTreeSet<usize> = addresses.values().map(|(region, _)| *region).collect();
        let entries = object.functions.get(section).map_or(&[0][..], Vec::as_slice);
        let answers = answers(section);
        let walk =
            |regions: Vec<Vec<Option<u8>>>| reach::reachable(code, entries, &answers, &Memory { addresses: addresses.clone(), regions });
        let defaults = walk(known(object));
        for Global { region, name, offset, size } in globals.iter().filter(|g| regions.contains(&g.region)) {
            let (region, offset, size) = (*region, *offset, *size);
            let with = |value: Option<i64>| {
                let mut regions = known(object);
                let bytes = value.map(|v| v.to_le_bytes());
                for i in 0..size {
                    regions[region][offset + i] = bytes.map(|b| b[i]);
                }
                let reached = walk(regions);
                reached.iter().zip(&defaults).enumerate().filter(|(_, (r, d))| **r && !**d).map(|(i, _)| i).collect::<Vec<usize>>()
            };
            let hidden = with(None);
            // Code that only computes in registers is left out: what the
            // verifier checks, and a kernel can refuse, is memory access and calls.
            if !hidden.iter().any(|&i| accesses_memory_or_calls(code, i)) {
                continue;
            }
            let data = &object.read_only[region];
            let mut bytes = [0u8; 8];
            bytes[..size].copy_from_slice(&data.data[offset..offset + size]);
            let default = i64::from_le_bytes(bytes);
            let switch = match found.iter_mut().find(|s| s.name == *name) {
                Some(switch) => switch,
                None => {
                    let candidates = [i64::from(default == 0), default.wrapping_add(1), default.wrapping_sub(1), -1];
                    found.push(Switch {
                        name: name.clone(),
                        default,
                        value: None,
                        hidden: BTreeMap::new(),
                        file_offset: data.file_offset + offset as u64,
                        size,
                    });
                    let switch = found.last_mut().unwrap();
                    switch.value = candidates.into_iter().find(|&v| v != default && !with(Some(v)).is_empty());
                    switch
                }
            };
            switch.hidden.insert(section.clone(), hidden);
        }
    }
    found
}

/// A load or a store (`LDX`, `ST`, `STX`, a packet's `LD_ABS`/`LD_IND`), or a call.
fn accesses_memory_or_calls(code: &[u8], instruction: usize) -> bool {
    code.get(instruction * 8)
        .is_some_and(|&op| matches!(op & 0x07, 0x01..=0x03) || op == 0x85 || (op & 0x07 == 0 && matches!(op & 0xe0, 0x20 | 0x40)))
}

/// The helper calls among `instructions` of `code`: their ids.
pub fn helper_calls(code: &[u8], instructions: &[usize]) -> BTreeSet<i32> {
    instructions
        .iter()
        .filter_map(|&i| code.get(i * 8..i * 8 + 8))
        .filter(|insn| insn[0] == 0x85 && insn[1] >> 4 == 0)
        .map(|insn| i32::from_le_bytes(insn[4..8].try_into().unwrap()))
        .collect()
}

/// Source lines by file, as `.BTF.ext` gives them.
pub type Lines = BTreeMap<String, BTreeSet<u32>>;

/// Adds the source lines `instructions` come from to `into`.
pub fn source_lines(lines: &[SourceLine], instructions: &[usize], into: &mut Lines) {
    for &i in instructions {
        let at = (i * 8) as u32;
        if let Some(line) = lines.iter().rev().find(|l| l.instruction <= at) {
            if line.line > 0 {
                let file = line.file.rsplit('/').next().unwrap_or(&line.file);
                into.entry(file.to_string()).or_default().insert(line.line);
            }
        }
    }
}

/// `file.bpf.c:12-14,20`.
pub fn describe_lines(lines: &Lines) -> Option<String> {
    let parts: Vec<String> = lines
        .iter()
        .map(|(file, numbers)| {
            let mut ranges: Vec<(u32, u32)> = Vec::new();
            for &n in numbers {
                match ranges.last_mut() {
                    Some((_, end)) if *end + 1 == n => *end = n,
                    _ => ranges.push((n, n)),
                }
            }
            let ranges: Vec<String> = ranges.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect();
            format!("{file}:{}", ranges.join(","))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workbook::bpf_object;

    /// Compiles `source` as the lessons do (`clang -g -O2 -target bpf`) and reads the object.
    fn compile(name: &str, source: &str) -> BpfObject {
        let clang = crate::machine::host::clang().expect("clang, which the workbook needs (cargo xtask setup installs it)");
        let dir = std::env::temp_dir().join(format!("workbook-switches-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("prog.bpf.c"), source).unwrap();
        let output = std::process::Command::new(&clang.path)
            .args(["-g", "-O2", "-target", "bpf", "-c", "prog.bpf.c", "-o", "prog.bpf.o"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let object = bpf_object::read(&std::fs::read(dir.join("prog.bpf.o")).unwrap()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        object
    }

    const PROGRAM: &str = r#"
#define SEC(name) __attribute__((section(name), used))
struct task___old { long state; } __attribute__((preserve_access_index));
static long (*bpf_get_current_task)(void) = (void *)35;
static long (*bpf_probe_read_kernel)(void *dst, unsigned int size, const void *src) = (void *)113;
const volatile unsigned char verbose = 0;
const volatile unsigned int limit = 5;

SEC("tp/sched/sched_switch")
int handle(void *ctx)
{
	struct task___old *task = (void *)bpf_get_current_task();
	long state = 0;

	if (verbose)
		bpf_probe_read_kernel(&state, sizeof(state), &task->state);
	/* Compared with a value known only at run time: both ways are verified. */
	if ((unsigned long)task > limit)
		state += 1;
	return state;
}

char LICENSE[] SEC("license") = "GPL";
"#;

    #[test]
    fn a_read_behind_a_const_volatile_switch_is_found_from_the_code() {
        let object = compile("default-off", PROGRAM);
        let found = find(&object, |_| BTreeMap::new());
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["verbose"], "limit is compared with a run-time value, so it hides nothing");
        let verbose = &found[0];
        assert_eq!((verbose.default, verbose.value, verbose.size), (0, Some(1), 1));
        let hidden = &verbose.hidden["tp/sched/sched_switch"];
        let code = &object.code["tp/sched/sched_switch"];
        assert_eq!(helper_calls(code, hidden), BTreeSet::from([113]), "the probe read is behind the switch");
        let read = object.relocations.iter().find(|r| r.section == "tp/sched/sched_switch").expect("the CO-RE read of state");
        assert!(hidden.contains(&(read.instruction as usize / 8)), "its relocated instruction is behind the switch");
        let mut lines = Lines::new();
        source_lines(&object.lines["tp/sched/sched_switch"], hidden, &mut lines);
        let lines = describe_lines(&lines).unwrap();
        assert!(lines.starts_with("prog.bpf.c:"), "{lines}");
        // The global's bytes in the file are the ones a loader writes.
        let region = &object.read_only[0];
        let (_, offset, _) = region.globals.iter().find(|g| g.0 == "verbose").unwrap();
        assert_eq!(verbose.file_offset, region.file_offset + offset);
    }

    #[test]
    fn a_switch_set_in_the_object_hides_nothing_that_only_skips() {
        // Set, the switch runs the read; unset, it only jumps past it: no code is left unverified.
        let object = compile("default-on", &PROGRAM.replace("verbose = 0", "verbose = 1"));
        assert!(find(&object, |_| BTreeMap::new()).is_empty());
    }
}
