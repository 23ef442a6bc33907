//! Rules that read the BPF program's C source, for causes no object or log
//! shows: a kernel layout chosen by the preprocessor, a kernel read of a
//! pointer that comes from user memory, a bound checked after the call the
//! verifier judged. `check` applies them to the lesson's sources, `diagnose`
//! to a `.bpf.c` it is given: the same rules, the same cause for the same code.

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

use crate::workbook::error_index::{Evidence, Finding, Severity};

/// One C file of a BPF program: its name (as the verifier's `@ file.bpf.c:N` has it) and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// The `.c` files under `dir`, as they are now.
pub fn read(dir: &Path) -> Vec<Source> {
    let Ok(files) = crate::workbook::scratch::files_under(dir) else { return Vec::new() };
    let mut sources: Vec<Source> = files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .filter_map(|p| Some(Source { name: p.file_name()?.to_str()?.to_string(), text: std::fs::read_to_string(&p).ok()? }))
        .collect();
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    sources
}

/// Every cause the sources show, with the failure's log for the rules that
/// start where the verifier stopped.
pub fn findings(sources: &[Source], log: &str) -> Vec<Finding> {
    let mut found = Vec::new();
    for source in sources {
        let code = code_of(&source.text);
        found.extend(bound_after_use(source, &code, log));
        found.extend(compile_time_kernel_choice(&code));
        found.extend(kernel_reads_of_user_memory(&code));
        found.extend(insert_with_exist(&code));
    }
    found
}

/// The text with comments blanked out, line for line (so line numbers hold).
fn code_of(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let mut kept = String::new();
        let mut rest = line;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(end) => {
                        rest = &rest[end + 2..];
                        in_block = false;
                    }
                    None => break,
                }
            } else {
                let block = rest.find("/*");
                let comment = rest.find("//");
                match (block, comment) {
                    (Some(b), c) if c.is_none_or(|c| b < c) => {
                        kept.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    (_, Some(c)) => {
                        kept.push_str(&rest[..c]);
                        break;
                    }
                    _ => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        lines.push(kept);
    }
    lines
}

fn word(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap()
}

/// `#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)`: BCC compiles on the
/// machine it runs on, so the preprocessor can pick the kernel's layout; a
/// CO-RE object is compiled once for every kernel.
fn compile_time_kernel_choice(code: &[String]) -> Option<Finding> {
    static CONDITION: OnceLock<Regex> = OnceLock::new();
    static DEFINED: OnceLock<Regex> = OnceLock::new();
    let condition = CONDITION.get_or_init(|| word(r"^\s*#\s*(?:if|elif)\b.*\b(LINUX_VERSION_CODE|LINUX_KERNEL_VERSION|KERNEL_VERSION)\b"));
    let defined = DEFINED.get_or_init(|| word(r"^\s*#\s*(?:include\s*[<\x22]linux/version\.h[>\x22]|define\s+LINUX_VERSION_CODE\b)"));
    let (number, line) = code.iter().enumerate().find(|(_, l)| condition.is_match(l))?;
    let line = line.trim();
    let uses_code = line.contains("LINUX_VERSION_CODE");
    let has_version = code.iter().any(|l| defined.is_match(l));
    let why = if line.contains("LINUX_KERNEL_VERSION") {
        "LINUX_KERNEL_VERSION is libbpf's value of the running kernel, known at load time: to the preprocessor it is an unknown name, counted as 0, so the same branch is kept for every kernel"
    } else if uses_code && !has_version {
        "LINUX_VERSION_CODE is not even defined here (neither vmlinux.h nor libbpf's headers define it, <linux/version.h> does), so the preprocessor counts it as 0 and always keeps the oldest kernel's branch"
    } else {
        "LINUX_VERSION_CODE is the version of the headers the object was built with, fixed in the object, whatever kernel it later runs on"
    };
    Some(
        Finding::plain(
            "compile-time-kernel-choice",
            Severity::Error,
            format!(
                "the program chooses the kernel's layout when it is compiled (`{line}`, line {}): {why}. One CO-RE object runs on many kernels, so the choice has to be made when it loads, against the running kernel's BTF",
                number + 1
            ),
            "keep both reads in the object and let libbpf choose at load time: bpf_core_field_exists() (or bpf_core_type_exists(), or LINUX_KERNEL_VERSION in a plain if)",
        )
        .evidence(format!("line {}: {line}", number + 1)),
    )
}

/// Kernel read helpers and macros, with the argument (0-based) that is the address they read.
const KERNEL_READS: &[(&str, usize)] = &[
    ("bpf_probe_read_kernel", 2),
    ("bpf_probe_read_kernel_str", 2),
    ("bpf_core_read", 2),
    ("bpf_core_read_str", 2),
    ("BPF_CORE_READ_INTO", 1),
    ("BPF_CORE_READ_STR_INTO", 1),
    ("BPF_CORE_READ", 0),
];

/// A kernel read (`bpf_probe_read_kernel_str`, `bpf_core_read`…) of an address
/// that comes from user memory: a system call's argument, directly or
/// through the variables it is assigned to. The verifier cannot tell user
/// and kernel addresses apart (both are numbers), so the read loads, fails
/// at run time, and leaves the buffer empty.
fn kernel_reads_of_user_memory(code: &[String]) -> Vec<Finding> {
    static SEED: OnceLock<Regex> = OnceLock::new();
    static MACRO_ARGS: OnceLock<Regex> = OnceLock::new();
    static ASSIGNMENT: OnceLock<Regex> = OnceLock::new();
    // A system call's arguments: a sys_enter tracepoint's args[], the syscall-aware PT_REGS macros.
    let seed = SEED.get_or_init(|| word(r"->\s*args\s*\[|\bPT_REGS_PARM\d_(?:CORE_)?SYSCALL\s*\("));
    // BPF_KSYSCALL(name, const char *path, ...) and BPF_UPROBE(name, char *buf, ...): the pointers are user memory.
    let macro_args = MACRO_ARGS.get_or_init(|| word(r"\bBPF_(?:KSYSCALL|UPROBE|URETPROBE)\s*\(\s*\w+\s*,([^)]*)\)"));
    let assignment = ASSIGNMENT.get_or_init(|| word(r"(\w+)\s*(?:\[[^\]]*\])?\s*=([^=][^;]*)"));
    let text = code.join("\n");
    let mut user: Vec<(String, String)> = Vec::new(); // (name, where it comes from)
    for m in macro_args.captures_iter(&text) {
        for parameter in m[1].split(',').filter(|p| p.contains('*')) {
            if let Some(name) = last_identifier(parameter) {
                user.push((name, "a pointer argument of a system call (or of a user-space function)".to_string()));
            }
        }
    }
    // Assignments, until nothing new: `path = (const char *)ctx->args[1]`, then `p = path + 1`.
    loop {
        let mut grew = false;
        for m in assignment.captures_iter(&text) {
            let (name, value) = (m[1].to_string(), m[2].to_string());
            if user.iter().any(|(n, _)| *n == name) {
                continue;
            }
            let origin = if seed.is_match(&value) {
                Some(format!("`{}`, a system call's argument", value.trim()))
            } else {
                user.iter().find(|(n, _)| mentions(&value, n)).map(|(n, _)| format!("`{n}`, which holds user memory's address"))
            };
            if let Some(origin) = origin {
                user.push((name, origin));
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    let mut found = Vec::new();
    for (number, line) in code.iter().enumerate() {
        for (helper, index) in KERNEL_READS {
            let Some(arguments) = call_arguments(line, helper) else { continue };
            let Some(address) = arguments.get(*index) else { continue };
            let from = if seed.is_match(address) {
                Some((address.clone(), "a system call's argument".to_string()))
            } else {
                user.iter().find(|(n, _)| mentions(address, n)).map(|(n, origin)| (n.clone(), origin.clone()))
            };
            let Some((name, origin)) = from else { continue };
            found.push(
                Finding::of("user-pointer-kernel-read", Severity::Error)
                    .summary(format!(
                        "`{helper}` at line {} reads `{name}` as kernel memory, but it is the address of user memory: it comes from {origin}. The verifier cannot tell the two apart, so the program loads; the read fails when it runs, and leaves the buffer empty",
                        number + 1
                    ))
                    .evidence(format!("line {}: {}", number + 1, line.trim())),
            );
        }
    }
    found
}

/// A key inserted with BPF_EXIST where the lookup just found none, as in
/// `if (count) ... else bpf_map_update_elem(..., BPF_EXIST)`: BPF_EXIST
/// updates only a key already there, so the insert fails every time.
fn insert_with_exist(code: &[String]) -> Vec<Finding> {
    let mut found = Vec::new();
    for (number, line) in code.iter().enumerate() {
        let Some(arguments) = call_arguments(line, "bpf_map_update_elem") else { continue };
        if arguments.get(3).map(String::as_str) != Some("BPF_EXIST") {
            continue;
        }
        // The branch taken when the lookup found nothing: an `else`, or `if (!x)`, just before.
        let before = &code[number.saturating_sub(3)..=number];
        let missing = before.iter().any(|l| {
            let l = l.trim();
            l.starts_with("else") || l.starts_with("} else") || (l.starts_with("if") && l.contains("(!"))
        });
        if !missing {
            continue;
        }
        found.push(
            Finding::plain(
                "update-flag-refuses-new-key",
                Severity::Error,
                format!(
                    "line {} adds a key the lookup did not find with BPF_EXIST, which updates only a key that is already in the map: the update fails every time, and the key never gets into the map",
                    number + 1
                ),
                "insert a new key with BPF_NOEXIST (or BPF_ANY)",
            )
            .evidence(format!("line {}: {}", number + 1, line.trim())),
        );
    }
    found
}

/// Whether `text` names the identifier `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn last_identifier(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .rfind(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// The arguments of the first call of `function` on `line`, split at the
/// top level's commas; None when the line does not call it (or the call goes
/// on past the line).
fn call_arguments(line: &str, function: &str) -> Option<Vec<String>> {
    let start = line.match_indices(function).find(|(at, _)| {
        let before = line[..*at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && line[at + function.len()..].trim_start().starts_with('(')
    })?;
    let open = start.0 + function.len() + line[start.0 + function.len()..].find('(')?;
    let (mut depth, mut arguments, mut current) = (0usize, Vec::new(), String::new());
    for c in line[open + 1..].chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' if depth == 0 => {
                arguments.push(current.trim().to_string());
                return Some(arguments);
            }
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                arguments.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    None
}

/// The verifier judged a call (or an access) with what it knew there, and
/// the program checks the value only later: a check protects the code after
/// it, never a call before it.
fn bound_after_use(source: &Source, code: &[String], log: &str) -> Option<Finding> {
    let evidence = Evidence::read(log);
    let last = evidence.verifier_last_words()?;
    let (stopped_code, place, at) = match last.source {
        Some((stopped_code, place)) => {
            let (file, line) = place.rsplit_once(':')?;
            if file != source.name {
                return None;
            }
            (stopped_code.to_string(), place.to_string(), line.trim().parse::<usize>().ok()?.checked_sub(1)?)
        }
        // Kernels before 6.2 print no source lines: the helper the verifier stopped at finds
        // the line, when the program calls it once.
        None => {
            let at = line_of_last_call(code, log)?;
            (code[at].clone(), format!("{}:{}", source.name, at + 1), at)
        }
    };
    let stopped_code = stopped_code.as_str();
    let (start, end) = function_around(code, at)?;
    // The register the verdict names is the call's argument of that number (R1 the first).
    let register = last.verdict.iter().find_map(|v| {
        let rest = v.strip_prefix('R')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<usize>().ok().filter(|n| (1..=5).contains(n))
    });
    let called = call_in(stopped_code);
    let candidates: Vec<String> = match (register, &called) {
        (Some(r), Some((_, arguments))) => arguments.get(r - 1).map(|a| identifiers(a)).unwrap_or_default(),
        _ => identifiers(stopped_code),
    };
    for name in candidates {
        let checked = |range: std::ops::Range<usize>| range.into_iter().find(|&i| compares(&code[i], &name));
        if checked(start..at).is_some() {
            continue;
        }
        let Some(later) = checked(at + 1..end) else { continue };
        let what = called.as_ref().map_or_else(|| format!("`{}`", stopped_code.trim()), |(f, _)| format!("the call to {f}"));
        return Some(
            Finding::plain(
                "bound-after-use",
                Severity::Error,
                format!(
                    "the verifier judges {what} at line {} with what it knows there, and `{name}` is not checked until line {}: a check bounds a value only for the code after it, never for a call it follows",
                    at + 1,
                    later + 1
                ),
                format!("check {name} before it is used (move the check at line {} above line {})", later + 1, at + 1),
            )
            .evidence(format!("{place}: {}", stopped_code.trim())),
        );
    }
    None
}

/// The line that calls the helper of the log's last `call name#id`, when exactly one line does.
fn line_of_last_call(code: &[String], log: &str) -> Option<usize> {
    static CALL: OnceLock<Regex> = OnceLock::new();
    let call = CALL.get_or_init(|| word(r"\(85\) call ([A-Za-z_][A-Za-z0-9_]*)#\d+"));
    let helper = call.captures_iter(log).last()?.get(1)?.as_str().to_string();
    let mut lines = code.iter().enumerate().filter(|(_, l)| l.contains(&format!("{helper}(")));
    let (at, _) = lines.next()?;
    lines.next().is_none().then_some(at)
}

/// The first and one-past-last line of the function whose body holds line `at`:
/// C as the lessons write it, a body's braces at the start of their lines.
fn function_around(code: &[String], at: usize) -> Option<(usize, usize)> {
    let start = (0..=at).rev().find(|&i| code[i].starts_with('{'))?;
    let end = (at..code.len()).find(|&i| code[i].starts_with('}')).unwrap_or(code.len());
    Some((start, end))
}

/// The first function called on a line of code, with its arguments.
fn call_in(code: &str) -> Option<(String, Vec<String>)> {
    static CALL: OnceLock<Regex> = OnceLock::new();
    let call = CALL.get_or_init(|| word(r"\b([a-z_][a-z0-9_]*)\s*\("));
    call.captures_iter(code)
        .map(|m| m[1].to_string())
        .filter(|f| !["if", "while", "for", "switch", "return", "sizeof"].contains(&f.as_str()))
        .find_map(|f| call_arguments(code, &f).map(|a| (f, a)))
}

/// The variable names of an expression: not called, not a field after `.` or `->`, not a keyword or a constant.
fn identifiers(expression: &str) -> Vec<String> {
    static NAME: OnceLock<Regex> = OnceLock::new();
    let name = NAME.get_or_init(|| word(r"[A-Za-z_][A-Za-z0-9_]*"));
    let mut found: Vec<String> = Vec::new();
    for m in name.find_iter(expression) {
        let (before, after) = (&expression[..m.start()], expression[m.end()..].trim_start());
        let field = before.ends_with('.') || before.ends_with("->");
        let called = after.starts_with('(');
        let constant = m.as_str().chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit());
        let keyword = ["if", "return", "sizeof", "const", "void", "char", "int", "long", "unsigned"].contains(&m.as_str());
        if !(field || called || constant || keyword || found.iter().any(|f| f == m.as_str())) {
            found.push(m.as_str().to_string());
        }
    }
    found
}

/// Whether a line of code bounds `name`: compares it (`<`, `>`, `<=`, `>=`) or masks it (`&=`, `%=`).
fn compares(line: &str, name: &str) -> bool {
    line.match_indices(name).any(|(at, _)| {
        let before = &line[..at];
        let after = &line[at + name.len()..];
        let whole = !before.chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !whole || before.ends_with('.') || before.ends_with("->") {
            return false;
        }
        let next = after.trim_start();
        let previous = before.trim_end();
        let compared_after = (next.starts_with('<') && !next.starts_with("<<")) || (next.starts_with('>') && !next.starts_with(">>"));
        let compared_before = (previous.ends_with('<') && !previous.ends_with("<<"))
            || (previous.ends_with('>') && !previous.ends_with(">>") && !previous.ends_with("->"))
            || previous.ends_with("<=")
            || previous.ends_with(">=");
        compared_after || compared_before || next.starts_with("&=") || next.starts_with("%=")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Vec<Source> {
        vec![Source { name: "prog.bpf.c".into(), text: text.into() }]
    }

    fn causes(text: &str, log: &str) -> Vec<&'static str> {
        findings(&source(text), log).iter().map(|f| f.cause).collect()
    }

    #[test]
    fn a_kernel_layout_chosen_by_the_preprocessor_is_named_with_or_without_its_header() {
        let choice =
            "#include \"vmlinux.h\"\n#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0)\nx = t->__state;\n#else\nx = t->state;\n#endif\n";
        let found = findings(&source(choice), "");
        assert_eq!(found[0].cause, "compile-time-kernel-choice");
        assert!(found[0].summary.contains("not even defined") && found[0].summary.contains("line 2"), "{}", found[0].summary);
        let with_header = format!("#include <linux/version.h>\n{choice}");
        let found = findings(&source(&with_header), "");
        assert!(found[0].summary.contains("version of the headers"), "{}", found[0].summary);
        // libbpf's run-time value in a plain `if` is the right way; in a comment it is no code.
        assert!(causes("if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 14, 0))\n// #if LINUX_VERSION_CODE\n", "").is_empty());
    }

    #[test]
    fn a_kernel_read_of_a_system_call_argument_is_found_through_the_variables_it_passes() {
        let program = "int f(struct trace_event_raw_sys_enter *ctx)\n{\n\tconst char *path = (const char *)ctx->args[1];\n\tconst char *p = path;\n\tbpf_probe_read_kernel_str(buf, sizeof(buf), p);\n\tbpf_probe_read_kernel(&t, sizeof(t), task);\n}\n";
        let found = findings(&source(program), "");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].cause, "user-pointer-kernel-read");
        assert!(found[0].summary.contains("line 5") && found[0].summary.contains("`p`"), "{}", found[0].summary);
        let ksyscall = "int BPF_KSYSCALL(on_open, int dfd, const char *name)\n{\n\tbpf_core_read_str(buf, sizeof(buf), name);\n}\n";
        assert_eq!(causes(ksyscall, ""), ["user-pointer-kernel-read"]);
        // A user read of it is right; a kernel read of a kernel pointer too.
        assert!(causes(&program.replace("bpf_probe_read_kernel_str", "bpf_probe_read_user_str"), "").is_empty());
    }

    const AFTER: &str = "int copy(void *ctx)\n{\n\tu64 len = get();\n\tif (bpf_probe_read_user(data, len, buf))\n\t\treturn 0;\n\tif (len > MAX)\n\t\treturn 0;\n\treturn 0;\n}\n";
    const LOG: &str = "0: R1=ctx()\n; if (bpf_probe_read_user(data, len, buf)) @ prog.bpf.c:4\n9: (85) call bpf_probe_read_user#112\nR2 unbounded memory access, use 'var &= const' or 'if (var < const)'\nprocessed 9 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0";

    #[test]
    fn a_bound_checked_after_the_call_the_verifier_stopped_at_is_named() {
        let found = findings(&source(AFTER), LOG);
        assert_eq!(found[0].cause, "bound-after-use", "{found:?}");
        assert!(found[0].summary.contains("`len` is not checked until line 6"), "{}", found[0].summary);
        // Checked before the call too: the verifier's complaint is about something else.
        let before = AFTER.replace("\tu64 len = get();\n", "\tu64 len = get();\n\tif (len >= MAX)\n\t\treturn 0;\n");
        assert!(!causes(&before, &LOG.replace(":4", ":6")).contains(&"bound-after-use"));
        // The verifier's file is another one: nothing to say of this one.
        assert!(causes(AFTER, &LOG.replace("prog.bpf.c", "other.bpf.c")).is_empty());
        // A kernel that prints no source lines (before 6.2): the helper it stopped at finds the line,
        // when only one line calls it.
        let no_source: String = LOG.lines().filter(|l| !l.starts_with(';')).collect::<Vec<_>>().join("\n");
        assert_eq!(findings(&source(AFTER), &no_source)[0].cause, "bound-after-use");
        let twice = AFTER.replace("\tif (len > MAX)", "\tbpf_probe_read_user(data, 1, buf);\n\tif (len > MAX)");
        assert!(!causes(&twice, &no_source).contains(&"bound-after-use"), "two calls: no line to name");
    }

    #[test]
    fn a_new_key_inserted_with_bpf_exist_is_named() {
        let program = "\tcount = bpf_map_lookup_elem(&m, &k);\n\tif (count)\n\t\t__sync_fetch_and_add(count, 1);\n\telse\n\t\tbpf_map_update_elem(&m, &k, &one, BPF_EXIST);\n";
        assert_eq!(causes(program, ""), ["update-flag-refuses-new-key"]);
        assert!(causes(&program.replace("BPF_EXIST", "BPF_NOEXIST"), "").is_empty());
        // Updating a key the program knows is there is what BPF_EXIST is for.
        assert!(causes("\tbpf_map_update_elem(&m, &k, &v, BPF_EXIST);\n", "").is_empty());
    }

    #[test]
    fn a_comparison_is_not_a_shift_nor_a_field_access() {
        assert!(compares("if (len > MAX_WRITE)", "len"));
        assert!(compares("if (MAX >= len)", "len"));
        assert!(compares("len &= 255;", "len"));
        assert!(!compares("x = len >> 2;", "len"));
        assert!(!compares("x = e->len;", "len"));
        assert!(!compares("if (length > 2)", "len"));
    }
}
