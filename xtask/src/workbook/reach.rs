//! Which instructions of a program section a kernel's verifier can reach,
//! once libbpf has patched the section's existence checks with that kernel's
//! answers. libbpf turns a relocation it cannot resolve into a call the
//! verifier refuses only when reached, and the verifier skips a branch whose
//! condition is a known constant; so a failing read is harmless exactly when
//! its instruction is unreachable here. This walks the section as the
//! verifier does, tracking only registers that hold constants. No crate
//! decodes BPF instructions and follows known branches, and the part needed
//! is a few dozen lines.

use std::collections::BTreeMap;

/// What a register holds on every path that reaches an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    Unknown,
    Known(i64),
    /// An address in read-only data: which region, and where in it.
    ReadOnly(usize, i64),
}

impl Value {
    fn known(self) -> Option<i64> {
        match self {
            Value::Known(value) => Some(value),
            _ => None,
        }
    }
}

type Registers = [Value; 11];

const UNKNOWN: Registers = [Value::Unknown; 11];

/// Read-only data the verifier reads as constants (libbpf freezes `.rodata`
/// before load): where the section's code takes its addresses, and each
/// region's bytes, `None` for a byte taken as any value.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// By `ld_imm64` byte offset: the region and the offset it points at.
    pub addresses: BTreeMap<u32, (usize, i64)>,
    pub regions: Vec<Vec<Option<u8>>>,
}

impl Memory {
    /// A load of `size` bytes at `offset` of `region`: known when every byte is.
    fn load(&self, region: usize, offset: i64, size: usize, signed: bool) -> Value {
        let Some(bytes) = usize::try_from(offset).ok().and_then(|at| self.regions.get(region)?.get(at..at + size)) else {
            return Value::Unknown;
        };
        let Some(bytes) = bytes.iter().copied().collect::<Option<Vec<u8>>>() else { return Value::Unknown };
        let mut wide = [0u8; 8];
        wide[..size].copy_from_slice(&bytes);
        let value = u64::from_le_bytes(wide);
        let bits = size as u32 * 8;
        Value::Known(if signed && bits < 64 { ((value << (64 - bits)) as i64) >> (64 - bits) } else { value as i64 })
    }
}

const CLASS_LD: u8 = 0x00;
const CLASS_LDX: u8 = 0x01;
const CLASS_ALU: u8 = 0x04;
const CLASS_JMP: u8 = 0x05;
const CLASS_JMP32: u8 = 0x06;
const CLASS_ALU64: u8 = 0x07;

/// The instructions reachable from the section's functions (their byte
/// offsets: each is a program or a subprogram another section may call),
/// given the value each existence check takes (by its instruction's byte
/// offset, as `.BTF.ext` records it) and the read-only data's values.
pub fn reachable(code: &[u8], functions: &[u64], answers: &BTreeMap<u32, i64>, memory: &Memory) -> Vec<bool> {
    let count = code.len() / 8;
    let insn = |i: usize| -> [u8; 8] { code[i * 8..i * 8 + 8].try_into().unwrap() };
    let mut seen: Vec<Option<Registers>> = vec![None; count];
    let mut work: Vec<(usize, Registers)> = functions.iter().map(|&at| (at as usize / 8, UNKNOWN)).collect();
    while let Some((at, state)) = work.pop() {
        if at >= count {
            continue;
        }
        let merged = match &seen[at] {
            None => state,
            Some(old) => {
                let joined: Registers = std::array::from_fn(|r| if old[r] == state[r] { old[r] } else { Value::Unknown });
                if &joined == old {
                    continue;
                }
                joined
            }
        };
        seen[at] = Some(merged);
        let mut regs = merged;
        let bytes = insn(at);
        let (op, dst, src) = (bytes[0], usize::from(bytes[1] & 0xf).min(10), usize::from(bytes[1] >> 4).min(10));
        let off = i64::from(i16::from_le_bytes([bytes[2], bytes[3]]));
        let imm = i64::from(i32::from_le_bytes(bytes[4..8].try_into().unwrap()));
        let next = at + 1;
        let byte_offset = (at * 8) as u32;
        match op & 0x07 {
            CLASS_LD if op == 0x18 => {
                regs[dst] = match (answers.get(&byte_offset), memory.addresses.get(&byte_offset)) {
                    (Some(answer), _) => Value::Known(*answer),
                    (None, Some(&(region, offset))) => Value::ReadOnly(region, offset),
                    (None, None) => Value::Unknown,
                };
                work.push((at + 2, regs));
            }
            CLASS_LDX => {
                // BPF_MEM (0x60) and BPF_MEMSX (0x80), of 4, 2, 1 or 8 bytes.
                let size = [4, 2, 1, 8][usize::from((op >> 3) & 0x3)];
                regs[dst] = match (op & 0xe0, regs[src]) {
                    (mode @ (0x60 | 0x80), Value::ReadOnly(region, offset)) => memory.load(region, offset + off, size, mode == 0x80),
                    _ => Value::Unknown,
                };
                work.push((next, regs));
            }
            CLASS_LD => {
                regs[dst] = Value::Unknown;
                work.push((next, regs));
            }
            CLASS_ALU | CLASS_ALU64 => {
                let narrow = op & 0x07 == CLASS_ALU;
                let operand = if op & 0x08 == 0 { Value::Known(imm) } else { regs[src] };
                regs[dst] = match (answers.get(&byte_offset), op & 0xf0, regs[dst], operand) {
                    (Some(answer), ..) => Value::Known(*answer),
                    (None, 0xb0, _, pointer @ Value::ReadOnly(..)) if !narrow => pointer,
                    (None, 0x00, Value::ReadOnly(region, offset), Value::Known(by)) if !narrow => Value::ReadOnly(region, offset + by),
                    (None, 0x10, Value::ReadOnly(region, offset), Value::Known(by)) if !narrow => Value::ReadOnly(region, offset - by),
                    (None, op, left, right) => alu(op, left.known(), right.known(), narrow).map_or(Value::Unknown, Value::Known),
                };
                work.push((next, regs));
            }
            CLASS_JMP | CLASS_JMP32 => match op & 0xf0 {
                0x00 if op & 0x07 == CLASS_JMP => work.push(((next as i64 + off).max(0) as usize, regs)),
                // JMP32's `ja` takes its offset from imm.
                0x00 => work.push(((next as i64 + imm).max(0) as usize, regs)),
                0x80 => {
                    // A call to a subprogram of the same section: it is reachable too.
                    if src == 1 {
                        work.push(((next as i64 + imm).max(0) as usize, UNKNOWN));
                    }
                    regs[..6].fill(Value::Unknown);
                    work.push((next, regs));
                }
                0x90 => {}
                jump => {
                    let right = if op & 0x08 == 0 { Some(imm) } else { regs[src].known() };
                    let taken = (next as i64 + off).max(0) as usize;
                    match compare(jump, regs[dst].known(), right, op & 0x07 == CLASS_JMP32) {
                        Some(true) => work.push((taken, regs)),
                        Some(false) => work.push((next, regs)),
                        None => {
                            work.push((taken, regs));
                            work.push((next, regs));
                        }
                    }
                }
            },
            // Stores change memory, not registers.
            _ => work.push((next, regs)),
        }
    }
    seen.iter().map(Option::is_some).collect()
}

fn alu(op: u8, left: Option<i64>, right: Option<i64>, narrow: bool) -> Option<i64> {
    let value = match op {
        0xb0 => right?,
        0x00 => left?.wrapping_add(right?),
        0x10 => left?.wrapping_sub(right?),
        0x40 => left? | right?,
        0x50 => left? & right?,
        0xa0 => left? ^ right?,
        0x60 => left?.wrapping_shl(right? as u32),
        0x70 => ((left? as u64).wrapping_shr(right? as u32)) as i64,
        _ => return None,
    };
    Some(if narrow { i64::from(value as u32) } else { value })
}

fn compare(op: u8, left: Option<i64>, right: Option<i64>, narrow: bool) -> Option<bool> {
    let (left, right) = (left?, right?);
    let (left, right) = if narrow { (i64::from(left as i32), i64::from(right as i32)) } else { (left, right) };
    let (unsigned_left, unsigned_right) =
        if narrow { (u64::from(left as u32), u64::from(right as u32)) } else { (left as u64, right as u64) };
    Some(match op {
        0x10 => left == right,
        0x50 => left != right,
        0x20 => unsigned_left > unsigned_right,
        0x30 => unsigned_left >= unsigned_right,
        0xa0 => unsigned_left < unsigned_right,
        0xb0 => unsigned_left <= unsigned_right,
        0x40 => left & right != 0,
        0x60 => left > right,
        0x70 => left >= right,
        0xc0 => left < right,
        0xd0 => left <= right,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> Vec<u8> {
        let mut bytes = vec![op, dst | (src << 4)];
        bytes.extend(off.to_le_bytes());
        bytes.extend(imm.to_le_bytes());
        bytes
    }

    /// `r1 = <exists>; if r1 == 0 goto +1; r0 = *(u64 *)(r2 + 0); exit`
    fn guarded_read() -> Vec<u8> {
        [insn(0xb7, 1, 0, 0, 1), insn(0x15, 1, 0, 1, 0), insn(0x79, 0, 2, 0, 0), insn(0x95, 0, 0, 0, 0)].concat()
    }

    #[test]
    fn a_read_behind_a_false_existence_check_is_unreachable() {
        let code = guarded_read();
        assert_eq!(reachable(&code, &[0], &BTreeMap::from([(0, 0)]), &Memory::default()), [true, true, false, true]);
        assert_eq!(reachable(&code, &[0], &BTreeMap::from([(0, 1)]), &Memory::default()), [true, true, true, true]);
    }

    #[test]
    fn an_unknown_value_keeps_both_branches() {
        let mut code = guarded_read();
        code[0] = 0x79; // r1 = *(u64 *)(r0 + 0): not a constant
        assert_eq!(reachable(&code, &[0], &BTreeMap::new(), &Memory::default()), [true, true, true, true]);
    }

    #[test]
    fn a_copied_answer_still_decides_the_branch() {
        // r1 = <exists>; r3 = r1; if r3 != 0 goto +1; exit; r0 = *(u64 *)(r2 + 0); exit
        let code = [
            insn(0xb7, 1, 0, 0, 1),
            insn(0xbf, 3, 1, 0, 0),
            insn(0x55, 3, 0, 1, 0),
            insn(0x95, 0, 0, 0, 0),
            insn(0x79, 0, 2, 0, 0),
            insn(0x95, 0, 0, 0, 0),
        ]
        .concat();
        assert_eq!(reachable(&code, &[0], &BTreeMap::from([(0, 0)]), &Memory::default()), [true, true, true, true, false, false]);
    }

    #[test]
    fn every_function_of_a_section_is_an_entry() {
        // Two programs in one section: the second starts at instruction 2.
        let code = [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0), insn(0x79, 0, 2, 0, 0), insn(0x95, 0, 0, 0, 0)].concat();
        assert_eq!(reachable(&code, &[0], &BTreeMap::new(), &Memory::default()), [true, true, false, false]);
        assert_eq!(reachable(&code, &[0, 16], &BTreeMap::new(), &Memory::default()), [true, true, true, true]);
    }

    #[test]
    fn a_branch_on_read_only_data_follows_its_value() {
        // r1 = <.rodata + 2>; r1 = *(u8 *)(r1 + 1); if r1 == 0 goto +1; r0 = *(u64 *)(r2 + 0); exit
        let code = [
            insn(0x18, 1, 0, 0, 0),
            insn(0, 0, 0, 0, 0),
            insn(0x71, 1, 1, 1, 0),
            insn(0x15, 1, 0, 1, 0),
            insn(0x79, 0, 2, 0, 0),
            insn(0x95, 0, 0, 0, 0),
        ]
        .concat();
        let memory =
            |byte: Option<u8>| Memory { addresses: BTreeMap::from([(0, (0, 2))]), regions: vec![vec![Some(7), Some(7), Some(7), byte]] };
        let none = BTreeMap::new();
        assert_eq!(reachable(&code, &[0], &none, &memory(Some(0))), [true, false, true, true, false, true]);
        assert_eq!(reachable(&code, &[0], &none, &memory(Some(1))), [true, false, true, true, true, true]);
        assert_eq!(reachable(&code, &[0], &none, &memory(None)), [true, false, true, true, true, true], "any value: both ways");
        assert_eq!(reachable(&code, &[0], &none, &Memory::default()), [true, false, true, true, true, true], "no data: both ways");
    }
}
