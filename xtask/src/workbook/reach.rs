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

/// A register's value on every path that reaches an instruction: `None` when unknown.
type Registers = [Option<i64>; 11];

const CLASS_LD: u8 = 0x00;
const CLASS_LDX: u8 = 0x01;
const CLASS_ALU: u8 = 0x04;
const CLASS_JMP: u8 = 0x05;
const CLASS_JMP32: u8 = 0x06;
const CLASS_ALU64: u8 = 0x07;

/// The instructions reachable from the section's functions (their byte
/// offsets: each is a program or a subprogram another section may call),
/// given the value each existence check takes (by its instruction's byte
/// offset, as `.BTF.ext` records it).
pub fn reachable(code: &[u8], functions: &[u64], answers: &BTreeMap<u32, i64>) -> Vec<bool> {
    let count = code.len() / 8;
    let insn = |i: usize| -> [u8; 8] { code[i * 8..i * 8 + 8].try_into().unwrap() };
    let mut seen: Vec<Option<Registers>> = vec![None; count];
    let mut work: Vec<(usize, Registers)> = functions.iter().map(|&at| (at as usize / 8, [None; 11])).collect();
    while let Some((at, state)) = work.pop() {
        if at >= count {
            continue;
        }
        let merged = match &seen[at] {
            None => state,
            Some(old) => {
                let joined: Registers = std::array::from_fn(|r| if old[r] == state[r] { old[r] } else { None });
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
        match op & 0x07 {
            CLASS_LD if op == 0x18 => {
                regs[dst] = answers.get(&((at * 8) as u32)).copied();
                work.push((at + 2, regs));
            }
            CLASS_LD | CLASS_LDX => {
                regs[dst] = None;
                work.push((next, regs));
            }
            CLASS_ALU | CLASS_ALU64 => {
                let operand = if op & 0x08 == 0 { Some(imm) } else { regs[src] };
                regs[dst] = match answers.get(&((at * 8) as u32)) {
                    Some(answer) => Some(*answer),
                    None => alu(op & 0xf0, regs[dst], operand, op & 0x07 == CLASS_ALU),
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
                        work.push(((next as i64 + imm).max(0) as usize, [None; 11]));
                    }
                    regs[..6].fill(None);
                    work.push((next, regs));
                }
                0x90 => {}
                jump => {
                    let right = if op & 0x08 == 0 { Some(imm) } else { regs[src] };
                    let taken = (next as i64 + off).max(0) as usize;
                    match compare(jump, regs[dst], right, op & 0x07 == CLASS_JMP32) {
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
        assert_eq!(reachable(&code, &[0], &BTreeMap::from([(0, 0)])), [true, true, false, true]);
        assert_eq!(reachable(&code, &[0], &BTreeMap::from([(0, 1)])), [true, true, true, true]);
    }

    #[test]
    fn an_unknown_value_keeps_both_branches() {
        let mut code = guarded_read();
        code[0] = 0x79; // r1 = *(u64 *)(r0 + 0): not a constant
        assert_eq!(reachable(&code, &[0], &BTreeMap::new()), [true, true, true, true]);
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
        assert_eq!(reachable(&code, &[0], &BTreeMap::from([(0, 0)])), [true, true, true, true, false, false]);
    }

    #[test]
    fn every_function_of_a_section_is_an_entry() {
        // Two programs in one section: the second starts at instruction 2.
        let code = [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0), insn(0x79, 0, 2, 0, 0), insn(0x95, 0, 0, 0, 0)].concat();
        assert_eq!(reachable(&code, &[0], &BTreeMap::new()), [true, true, false, false]);
        assert_eq!(reachable(&code, &[0, 16], &BTreeMap::new()), [true, true, true, true]);
    }
}
