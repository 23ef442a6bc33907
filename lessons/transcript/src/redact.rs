//! Makes transcript lines stable between runs, machines and edits.
//!
//! What varies: BTF type ids (`[123]`), kernel and user addresses, pids, file
//! descriptor numbers, and instruction counts in the verifier's summary.

/// Returns `line` with run-specific values replaced by placeholders.
pub fn line(line: &str) -> String {
    let line = bracketed_numbers(line);
    let line = hex_addresses(&line);
    let line = numbers_after(&line, "pid ");
    let line = numbers_after(&line, "FD ");
    let line = numbers_after(&line, "processed ");
    numbers_after(&line, "max_states_per_insn ")
}

/// `[42]` → `[N]`: BTF type ids change whenever the program changes.
fn bracketed_numbers(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with(']') {
            out.push('N');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// `0xffff8881...` → `0xADDR` for anything long enough to be an address.
fn hex_addresses(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("0x") {
        out.push_str(&rest[..at + 2]);
        rest = &rest[at + 2..];
        let digits = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if digits >= 8 {
            out.push_str("ADDR");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// `pid 4242` → `pid N`, for a given prefix.
fn numbers_after(line: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::line;

    #[test]
    fn btf_ids_become_n() {
        assert_eq!(
            line("failed to resolve CO-RE relocation <byte_off> [5] struct task_struct___pre514.state (0:0 @ offset 0)"),
            "failed to resolve CO-RE relocation <byte_off> [N] struct task_struct___pre514.state (0:0 @ offset 0)"
        );
    }

    #[test]
    fn addresses_pids_and_counts_are_redacted() {
        assert_eq!(line("map at 0xffff888104a2c000 ok"), "map at 0xADDR ok");
        assert_eq!(line("child pid 31337 sleeping"), "child pid N sleeping");
        assert_eq!(
            line("failed to create BPF link for perf_event FD 8: -EEXIST"),
            "failed to create BPF link for perf_event FD N: -EEXIST"
        );
        assert_eq!(
            line("processed 12 insns (limit 1000000) max_states_per_insn 0"),
            "processed N insns (limit 1000000) max_states_per_insn N"
        );
    }

    #[test]
    fn stable_text_is_left_alone() {
        for stable in
            ["relo #0: no matching targets found", "1: <invalid CO-RE relocation>", "call 0xbad2310", "array [] and [x]", "ends with ["]
        {
            assert_eq!(line(stable), stable);
        }
    }
}
