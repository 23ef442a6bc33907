//! The book's error index (`book/src/errors.md`) as diagnose's rules.
//!
//! The index is compiled in and parsed at run time, so a finding links the
//! row as the book has it. Every row of the index is claimed by exactly one
//! entry of [`ENTRIES`], and every entry by one row: a test fails when the
//! book and the rules drift apart. An entry says how to recognise its row in
//! a log or a transcript, and which [`Cause`] it is evidence of.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

pub const ERRORS_MD: &str = include_str!("../../../book/src/errors.md");

/// How bad a finding is: an error stops the program, a warning will stop it
/// on some kernels or later, a note is what diagnose checked and found fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

/// One thing that goes wrong, whatever message shows it.
pub struct Cause {
    pub id: &'static str,
    pub summary: &'static str,
    pub fix: &'static str,
    /// Where the workbook makes it happen for real: `lesson NN layer K` or `probe <name>`.
    pub reproduced_by: &'static [&'static str],
}

pub const CAUSES: &[Cause] = &[
    Cause {
        id: "silenced-log",
        summary: "the loader's print callback drops libbpf's messages, so the failure comes without its reason",
        fix: "hand libbpf's log to a printer: libbpf_rs::set_print(Some((PrintLevel::Info, ...)))",
        reproduced_by: &["lesson 01 layer 1"],
    },
    Cause {
        id: "no-btf",
        summary: "the object has no .BTF section (compiled without -g), so libbpf cannot read its BTF-defined maps",
        fix: "compile with clang -g -O2 -target bpf",
        reproduced_by: &["lesson 01 layer 2"],
    },
    Cause {
        id: "attach-target-not-in-btf",
        summary: "the attach target is not a kernel function or BTF type of this kernel (set_attach_target given a tracepoint name, or a tp_btf/fentry/lsm target this kernel lacks)",
        fix: "drop set_attach_target for tracepoints (SEC() names the target); for fentry/tp_btf/lsm name a function the kernel's BTF has",
        reproduced_by: &["lesson 02 layer 1"],
    },
    Cause {
        id: "tracepoint-never-fires",
        summary: "attached, but nothing reaches the program: the tracepoint is not the one the workload hits (sys_enter_open, not sys_enter_openat), or the link was dropped",
        fix: "attach the tracepoint the system call really takes (strace shows it) and keep the Link alive while you need the program",
        reproduced_by: &["lesson 02 layer 2", "lesson 02 layer 3"],
    },
    Cause {
        id: "kprobe-missing-function",
        summary: "no kernel function of the kprobe's name on this kernel (renamed, inlined), or the kernel has no kprobes",
        fix: "check /proc/kallsyms for the function; prefer SEC(\"ksyscall/<name>\") for system calls, or fentry where allowed",
        reproduced_by: &["lesson 02 layer 4"],
    },
    Cause {
        id: "tracepoint-not-found",
        summary: "libbpf could not find the tracepoint's id: tracefs is not mounted, or no tracepoint has that name",
        fix: "mount tracefs (cargo xtask doctor --fix) and check the name under /sys/kernel/tracing/events/<category>/",
        reproduced_by: &["probe tracefs-not-mounted"],
    },
    Cause {
        id: "raw-tp-wrong-name",
        summary: "a raw_tp/ section names a tracepoint that raw_tp does not know (raw_tp has sys_enter, not sys_enter_<call>)",
        fix: "use SEC(\"raw_tp/sys_enter\") and filter on the syscall id, or SEC(\"tp/syscalls/sys_enter_<call>\")",
        reproduced_by: &["probe raw-tp-wrong-name"],
    },
    Cause {
        id: "tp-without-category",
        summary: "a tracepoint section without its category, such as tp/sys_enter_openat",
        fix: "write the category too: SEC(\"tp/syscalls/sys_enter_openat\")",
        reproduced_by: &["probe tp-without-category"],
    },
    Cause {
        id: "no-kernel-btf",
        summary: "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing), so CO-RE cannot relocate",
        fix: "run on a kernel built with CONFIG_DEBUG_INFO_BTF=y, or give libbpf a BTF file (btf_custom_path)",
        reproduced_by: &["probe no-kernel-btf"],
    },
    Cause {
        id: "core-relocation",
        summary: "a CO-RE relocation names a field or type the kernel does not have",
        fix: "declare a flavor (struct x___new) with the kernel's layout and choose with bpf_core_field_exists()",
        reproduced_by: &["lesson 03 layer 1", "lesson 03 layer 2", "probe relocation-debug-log", "probe flavor-suffix-cut-at-last"],
    },
    Cause {
        id: "kprobe-with-attach-target",
        summary: "set_attach_target was used on a kprobe program, and the kernel refused the load",
        fix: "remove set_attach_target: a kprobe's target is in its SEC() name (or attach_kprobe's argument)",
        reproduced_by: &["probe kprobe-with-attach-target"],
    },
    Cause {
        id: "program-load-failed",
        summary: "the kernel refused a program; the verifier's log after this line says why",
        fix: "read the verifier's last lines; run diagnose on the whole log",
        reproduced_by: &["lesson 03 layer 1"],
    },
    Cause {
        id: "legacy-maps",
        summary: "a legacy map definition in SEC(\"maps\"), which libbpf 1.0 removed",
        fix: "declare the map in SEC(\".maps\") with __uint(type, ...), __type(key, ...) fields",
        reproduced_by: &["lesson 04 layer 3"],
    },
    Cause {
        id: "verifier-rejected",
        summary: "the verifier rejected the program as unsafe; its last log line says why",
        fix: "read the verifier's last lines; compile with -O2",
        reproduced_by: &["probe compiled-at-o0"],
    },
    Cause {
        id: "invalid-mem-access",
        summary: "the program dereferences a value the verifier does not know to be a pointer: a direct read through a kernel pointer, or code compiled without -O2",
        fix: "read kernel memory with BPF_CORE_READ (or use a BTF-typed pointer: tp_btf, fentry, bpf_get_current_task_btf), and compile with -O2",
        reproduced_by: &["probe direct-read-of-kernel-pointer", "probe compiled-at-o0", "lesson 05 layer 2"],
    },
    Cause {
        id: "not-permitted",
        summary: "not root, or a program type this kernel does not allow",
        fix: "run the loader as root (or with CAP_BPF and CAP_PERFMON)",
        reproduced_by: &[],
    },
    Cause {
        id: "percpu-value-too-big",
        summary: "a per-CPU array's value is larger than 32 KiB",
        fix: "make the value smaller, or use a plain array with one entry per CPU",
        reproduced_by: &["probe percpu-value-too-big"],
    },
    Cause {
        id: "xdp-already-attached",
        summary: "an XDP program is already attached to the interface and the no-replace flag (XDP_FLAGS_UPDATE_IF_NOEXIST) forbids replacing it",
        fix: "detach the old program first, or attach without the no-replace flag to replace it",
        reproduced_by: &["probe xdp-attach-twice"],
    },
    Cause {
        id: "kprobe-ambiguous",
        summary: "the kprobe's function name is ambiguous: several kernel symbols have it",
        fix: "attach by address, or with an offset that selects one symbol",
        reproduced_by: &[],
    },
    Cause {
        id: "not-a-bpf-object",
        summary: "the file is not a BPF ELF object, for example one compiled without -target bpf",
        fix: "compile with clang -g -O2 -target bpf",
        reproduced_by: &["probe not-a-bpf-object"],
    },
    Cause {
        id: "include-order",
        summary: "libbpf's headers were included before vmlinux.h",
        fix: "include \"vmlinux.h\" first, then <bpf/bpf_helpers.h> and the others",
        reproduced_by: &["lesson 04 layer 1"],
    },
    Cause {
        id: "stack-limit",
        summary: "the program's locals need more than the 512-byte BPF stack",
        fix: "keep large buffers in a BPF_MAP_TYPE_PERCPU_ARRAY with one entry",
        reproduced_by: &["lesson 04 layer 2"],
    },
    Cause {
        id: "core-read-without-g",
        summary: "BPF_CORE_READ needs debug information to record its relocation, and -g is missing",
        fix: "compile with clang -g -O2 -target bpf",
        reproduced_by: &["probe core-read-without-g"],
    },
    Cause {
        id: "uapi-header",
        summary: "a kernel UAPI header (such as <linux/bpf.h>) is included, and its asm/ headers are not on the include path of a vmlinux.h build",
        fix: "take kernel types from vmlinux.h alone; a header that needs UAPI headers also needs -I/usr/include/<arch>-linux-gnu, whose types may clash with vmlinux.h",
        reproduced_by: &["probe uapi-header-with-vmlinux-h", "probe uapi-header-with-asm-path"],
    },
    Cause {
        id: "vmlinux-h-not-found",
        summary: "clang's include path lacks the folder that holds vmlinux.h",
        fix: "pass -I<folder of vmlinux.h> (bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h)",
        reproduced_by: &["probe vmlinux-h-not-on-include-path"],
    },
    Cause {
        id: "helpers-withheld",
        summary: "the kernel withholds the read helpers (lockdown=confidentiality): the verifier does not know bpf_probe_read",
        fix: "run on a kernel without confidentiality lockdown (cat /sys/kernel/security/lockdown)",
        reproduced_by: &["probe kernel-read-under-lockdown"],
    },
    Cause {
        id: "pin-perf-link",
        summary: "Link::pin on a link that is no kernel BPF link: libbpf attached through a perf event ioctl, as it does before Linux 5.15",
        fix: "on such kernels keep the loader running, or pin the program and its maps instead of the link",
        reproduced_by: &["probe pin-ioctl-attached-tracepoint", "probe pin-tracepoint-link"],
    },
    Cause {
        id: "attached-twice",
        summary: "the same program is already attached to this tracepoint",
        fix: "attach it once and keep that link",
        reproduced_by: &["probe attach-twice"],
    },
    Cause {
        id: "tracepoint-program-limit",
        summary: "the tracepoint already has 64 BPF programs attached",
        fix: "detach programs you no longer need, or share one program",
        reproduced_by: &["probe tracepoint-program-limit"],
    },
    Cause {
        id: "btf-rejected",
        summary: "the kernel refused the object's .BTF, and libbpf loads the program without it: not a failure",
        fix: "nothing to fix; clang 19 writes BTF this kernel refuses at -O0, so compile with -O2",
        reproduced_by: &["probe btf-rejected-at-o0"],
    },
    Cause {
        id: "wrong-size-flavor",
        summary: "a flavor declares a field larger than the kernel's: CO-RE relocates the offset, not the size, so the read takes a neighbour's bytes",
        fix: "declare the field with the kernel's type, or read it with bpf_core_read and bpf_core_field_size",
        reproduced_by: &["probe wrong-size-flavor"],
    },
    Cause {
        id: "map-fd-before-load",
        summary: "bpf_map__fd was called before load: a map gets its file descriptor when load creates it, so it returns -1 and leaves errno as it was",
        fix: "call bpf_map__fd (or use a map's fd in Rust) after load",
        reproduced_by: &["probe map-fd-before-load"],
    },
    Cause {
        id: "user-pointer-kernel-read",
        summary: "a user-space pointer (a system call's argument) read with a kernel read helper, which fails and leaves the buffer empty",
        fix: "read user memory with bpf_core_read_user_str or bpf_probe_read_user_str",
        reproduced_by: &["lesson 04 layer 4", "probe user-pointer-reads"],
    },
];

pub fn cause(id: &str) -> &'static Cause {
    CAUSES.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no cause {id}"))
}

/// What a log or transcript shows, read once for every entry's test.
#[derive(Debug, Default)]
pub struct Evidence {
    lines: Vec<String>,
    /// (stage, errno name): a transcript's `FAILED` line gives the stage; elsewhere it is unknown.
    errnos: Vec<(Option<String>, String)>,
    nothing_logged: bool,
}

impl Evidence {
    pub fn read(text: &str) -> Evidence {
        static FAILED: OnceLock<Regex> = OnceLock::new();
        static NAMED: OnceLock<Regex> = OnceLock::new();
        let failed = FAILED.get_or_init(|| Regex::new(r"^(compile|open|load|attach)\s+FAILED\s+(\S+)").unwrap());
        let named = NAMED.get_or_init(|| Regex::new(r"\b(E[A-Z0-9]{3,}|LIBBPF_ERRNO__[A-Z]+)\b").unwrap());
        let mut evidence = Evidence::default();
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(m) = failed.captures(trimmed) {
                evidence.errnos.push((Some(m[1].to_string()), m[2].to_string()));
            }
            for m in named.captures_iter(trimmed) {
                if errno_known(&m[1]) {
                    evidence.errnos.push((None, m[1].to_string()));
                }
            }
            if let Some(number) = transcript::errno::from_message(trimmed) {
                if let Some(name) = transcript::errno::name(number) {
                    evidence.errnos.push((None, name));
                }
            }
            for (text, name) in STRERROR {
                if trimmed.contains(text) {
                    evidence.errnos.push((None, name.to_string()));
                }
            }
            evidence.nothing_logged |= trimmed == "(libbpf logged nothing)";
            evidence.lines.push(trimmed.to_string());
        }
        evidence
    }

    /// Whether any line contains `needle`.
    pub fn says(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.contains(needle))
    }

    fn line_with(&self, needle: &str) -> Option<&str> {
        self.lines.iter().find(|l| l.contains(needle)).map(String::as_str)
    }

    /// Whether `errno` failed `stage`: a transcript names the stage; a bare
    /// log or error text counts for every stage it does not show passing.
    pub fn failed(&self, stage: &str, errno: &str) -> bool {
        let staged = self.errnos.iter().any(|(s, _)| s.is_some());
        self.errnos.iter().any(|(s, e)| {
            e == errno && (s.as_deref() == Some(stage) || (!staged && s.is_none() && !self.passed(stage)))
        })
    }

    /// A transcript shows `stage` passing, and never failing.
    pub fn passed(&self, stage: &str) -> bool {
        let starts = |l: &str, word: &str| l.strip_prefix(stage).is_some_and(|rest| rest.trim_start().starts_with(word) && rest.starts_with(' '));
        self.lines.iter().any(|l| starts(l, "ok")) && !self.lines.iter().any(|l| starts(l, "FAILED"))
    }

    fn core_message(&self) -> bool {
        CORE_MESSAGES.iter().any(|m| self.says(m))
    }

    /// The verifier printed its reasoning (instruction lines, register states).
    fn verifier_spoke(&self) -> bool {
        self.lines.iter().any(|l| l.starts_with("verifier:") || l.contains("processed ") || l.contains(": R"))
    }
}

const CORE_MESSAGES: [&str; 3] =
    ["failed to resolve CO-RE relocation", "<invalid CO-RE relocation>", "no matching targets found"];

/// strerror texts, as Rust and older libbpf versions print them.
const STRERROR: [(&str, &str); 10] = [
    ("No such file or directory", "ENOENT"),
    ("No such process", "ESRCH"),
    ("Invalid argument", "EINVAL"),
    ("Operation not supported", "EOPNOTSUPP"),
    ("Permission denied", "EACCES"),
    ("Operation not permitted", "EPERM"),
    ("Argument list too long", "E2BIG"),
    ("Device or resource busy", "EBUSY"),
    ("Cannot assign requested address", "EADDRNOTAVAIL"),
    ("Unknown error 4001", "LIBBPF_ERRNO__FORMAT"),
];

fn errno_known(name: &str) -> bool {
    (1..200).chain(4000..4014).any(|n| transcript::errno::name(n).as_deref() == Some(name))
}

/// One row of the error index and how to recognise it.
pub struct Entry {
    /// The row's first cell, without backticks.
    pub cell: &'static str,
    pub stage: &'static str,
    /// Tells apart rows with the same first cell and stage.
    pub meaning_has: &'static str,
    pub cause: &'static str,
    pub matches: fn(&Evidence) -> bool,
}

/// Most specific first: a message beats an errno.
pub const ENTRIES: &[Entry] = &[
    // A silenced log first: with the log back, the rest is easier to see.
    Entry { cell: "A failure with nothing from libbpf", stage: "any", meaning_has: "", cause: "silenced-log", matches: |e| e.nothing_logged && !e.failed("open", "ESRCH") && !e.failed("attach", "EINVAL") },
    // clang's messages
    Entry { cell: "unknown type name '__u64' (in bpf_helper_defs.h)", stage: "compile", meaning_has: "", cause: "include-order", matches: |e| e.says("unknown type name '__u64'") },
    Entry { cell: "Looks like the BPF stack limit is exceeded", stage: "compile", meaning_has: "", cause: "stack-limit", matches: |e| e.says("BPF stack limit") },
    Entry { cell: "using builtin_preserve_access_index() without -g", stage: "compile", meaning_has: "", cause: "core-read-without-g", matches: |e| e.says("builtin_preserve_access_index() without -g") },
    Entry { cell: "'asm/types.h' file not found", stage: "compile", meaning_has: "", cause: "uapi-header", matches: |e| e.lines.iter().any(|l| l.contains("'asm/") && l.contains("file not found")) },
    Entry { cell: "typedef redefinition with different types (and other redefinitions)", stage: "compile", meaning_has: "", cause: "uapi-header", matches: |e| e.says("error: redefinition of") || e.says("error: typedef redefinition") },
    Entry { cell: "'vmlinux.h' file not found", stage: "compile", meaning_has: "", cause: "vmlinux-h-not-found", matches: |e| e.says("'vmlinux.h' file not found") },
    // libbpf's messages
    Entry { cell: "BTF is required, but is missing or corrupted.", stage: "open", meaning_has: "", cause: "no-btf", matches: |e| e.says("BTF is required, but is missing or corrupted") },
    Entry { cell: "legacy map definitions in 'maps' section are not supported by libbpf v1.0+", stage: "open", meaning_has: "", cause: "legacy-maps", matches: |e| e.says("legacy map definitions in 'maps' section") },
    Entry { cell: "failed to resolve CO-RE relocation", stage: "load", meaning_has: "", cause: "core-relocation", matches: |e| e.says("failed to resolve CO-RE relocation") },
    Entry { cell: "<invalid CO-RE relocation>", stage: "load", meaning_has: "", cause: "core-relocation", matches: |e| e.says("<invalid CO-RE relocation>") },
    Entry { cell: "relo #0: no matching targets found", stage: "load", meaning_has: "", cause: "core-relocation", matches: |e| e.says("no matching targets found") },
    Entry { cell: "kernel BTF is missing at '/sys/kernel/btf/vmlinux'", stage: "load", meaning_has: "", cause: "no-kernel-btf", matches: |e| (e.says("kernel BTF is missing at") || e.says("failed to find valid kernel BTF")) && !e.passed("load") },
    Entry { cell: "failed to determine tracepoint 'syscalls/sys_enter_openat' perf event ID: -ENOENT", stage: "attach", meaning_has: "", cause: "tracepoint-not-found", matches: |e| e.says("failed to determine tracepoint") },
    Entry { cell: "failed to attach to raw tracepoint 'sys_enter_openat': -ENOENT", stage: "attach", meaning_has: "", cause: "raw-tp-wrong-name", matches: |e| e.says("failed to attach to raw tracepoint") },
    Entry { cell: "failed to create kprobe '_do_fork+0x0' perf event: -ENOENT", stage: "attach", meaning_has: "", cause: "kprobe-missing-function", matches: |e| e.says("failed to create kprobe") || e.says("failed to add legacy kprobe event") },
    // The verifier's messages
    Entry { cell: "EINVAL", stage: "load", meaning_has: "lockdown", cause: "helpers-withheld", matches: |e| e.says("unknown func bpf_probe_read") },
    Entry { cell: "invalid mem access 'scalar' (after a register, such as R0 or R1)", stage: "load", meaning_has: "", cause: "invalid-mem-access", matches: |e| e.says("invalid mem access") },
    // errnos with the stage that tells them apart
    Entry { cell: "ENOENT · No such file or directory (os error 2)", stage: "open", meaning_has: "", cause: "no-btf", matches: |e| e.failed("open", "ENOENT") },
    Entry { cell: "ENOENT", stage: "attach", meaning_has: "tracefs", cause: "tracepoint-not-found", matches: |e| e.failed("attach", "ENOENT") && e.says("tracepoint") && !e.says("raw tracepoint") },
    Entry { cell: "ENOENT", stage: "attach", meaning_has: "kprobe", cause: "kprobe-missing-function", matches: |e| e.failed("attach", "ENOENT") && e.says("kprobe") },
    Entry { cell: "ENOENT", stage: "attach", meaning_has: "raw_tp/ section", cause: "raw-tp-wrong-name", matches: |e| e.failed("attach", "ENOENT") && e.says("raw tracepoint") },
    Entry { cell: "ESRCH · No such process (os error 3)", stage: "open", meaning_has: "", cause: "attach-target-not-in-btf", matches: |e| e.failed("open", "ESRCH") || e.says("failed to find kernel BTF type ID") },
    Entry { cell: "ESRCH", stage: "load", meaning_has: "", cause: "no-kernel-btf", matches: |e| e.failed("load", "ESRCH") && !e.says("failed to find kernel BTF type ID") },
    Entry { cell: "EINVAL · Invalid argument (os error 22)", stage: "load", meaning_has: "", cause: "core-relocation", matches: |e| e.failed("load", "EINVAL") && e.core_message() },
    Entry { cell: "EINVAL", stage: "load", meaning_has: "kprobe", cause: "kprobe-with-attach-target", matches: |e| e.failed("load", "EINVAL") && !e.core_message() && !e.verifier_spoke() },
    Entry { cell: "EINVAL", stage: "attach", meaning_has: "", cause: "tp-without-category", matches: |e| e.failed("attach", "EINVAL") },
    Entry { cell: "EINVAL", stage: "pin", meaning_has: "", cause: "pin-perf-link", matches: |e| e.says("Link::pin failed") || (e.says("pin") && e.failed("pin", "EINVAL")) },
    Entry { cell: "EEXIST · File exists (os error 17)", stage: "attach", meaning_has: "", cause: "attached-twice", matches: |e| e.failed("attach", "EEXIST") },
    Entry { cell: "E2BIG", stage: "attach", meaning_has: "", cause: "tracepoint-program-limit", matches: |e| e.failed("attach", "E2BIG") },
    Entry { cell: "EOPNOTSUPP · Operation not supported (os error 95)", stage: "open", meaning_has: "", cause: "legacy-maps", matches: |e| e.failed("open", "EOPNOTSUPP") },
    Entry { cell: "EACCES · Permission denied (os error 13)", stage: "load", meaning_has: "", cause: "verifier-rejected", matches: |e| e.failed("load", "EACCES") },
    Entry { cell: "EPERM · Operation not permitted (os error 1)", stage: "load", meaning_has: "", cause: "not-permitted", matches: |e| e.failed("load", "EPERM") },
    Entry { cell: "E2BIG · Argument list too long (os error 7)", stage: "load", meaning_has: "", cause: "percpu-value-too-big", matches: |e| e.failed("load", "E2BIG") },
    Entry { cell: "EBUSY · Device or resource busy (os error 16)", stage: "attach", meaning_has: "", cause: "xdp-already-attached", matches: |e| e.failed("attach", "EBUSY") || e.says("XDP program already attached") },
    Entry { cell: "EADDRNOTAVAIL", stage: "attach", meaning_has: "", cause: "kprobe-ambiguous", matches: |e| e.failed("attach", "EADDRNOTAVAIL") },
    Entry { cell: "4001 · Unknown error 4001 (LIBBPF_ERRNO__FORMAT)", stage: "open", meaning_has: "", cause: "not-a-bpf-object", matches: |e| e.failed("open", "LIBBPF_ERRNO__FORMAT") || e.says("is not a valid eBPF object file") },
    // A generic load failure, after every specific one.
    Entry { cell: "BPF program load failed: -EINVAL", stage: "load", meaning_has: "", cause: "program-load-failed", matches: |e| e.says("BPF program load failed") },
    // No message at all
    Entry { cell: "bpf_map__fd returns -1, errno unchanged", stage: "open", meaning_has: "", cause: "map-fd-before-load", matches: |e| e.says("bpf_map__fd") && (e.says("returned -1") || e.says("returns -1")) },
    Entry { cell: ".BTF rejected by the kernel, and the program still loads", stage: "load", meaning_has: "", cause: "btf-rejected", matches: |e| e.says("BTF is optional, ignoring") },
    Entry { cell: "A value read through a hand-written flavor is too large, or holds a neighbour's bytes", stage: "run", meaning_has: "", cause: "wrong-size-flavor", matches: |e| e.says("bpf_core_field_size says") },
    Entry { cell: "Attach says ok, the program counts nothing", stage: "run", meaning_has: "", cause: "tracepoint-never-fires", matches: |e| e.says("observed 0 of") },
    Entry { cell: "A string read from a system call argument is empty", stage: "run", meaning_has: "", cause: "user-pointer-kernel-read", matches: |e| e.says("(\"\")") || e.says("bpf_probe_read_kernel_str -ERANGE") },
];

/// Rows of the index that describe no failure: their findings are notes.
const NOT_FAILURES: &[&str] = &["btf-rejected"];

/// A row of the error index as the book has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The section's heading, e.g. "By errno".
    pub section: String,
    /// The section's anchor in the built book, e.g. `errors.html#by-errno`.
    pub link: String,
    pub cells: Vec<String>,
    /// The "see" column's pages, as links into the built book.
    pub see: Vec<String>,
}

impl Row {
    pub fn entry_text(&self) -> &str {
        &self.cells[0]
    }
}

/// Every table row of the error index, header rows left out.
pub fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| parse(ERRORS_MD))
}

pub fn parse(markdown: &str) -> Vec<Row> {
    let link = Regex::new(r"\[[^\]]*\]\(([^)]+)\)").unwrap();
    let mut rows = Vec::new();
    let mut section = String::new();
    let lines: Vec<&str> = markdown.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim().to_string();
            continue;
        }
        let is_separator = |l: &str| l.starts_with("|--") || l.starts_with("| --");
        if !line.starts_with('|') || is_separator(line) || lines.get(i + 1).is_some_and(|next| is_separator(next)) {
            continue;
        }
        let cells: Vec<String> =
            line.trim().trim_matches('|').split('|').map(|c| c.trim().replace('`', "")).collect();
        let see = cells.last().map(|c| link.captures_iter(c).map(|m| m[1].replace(".md", ".html")).collect()).unwrap_or_default();
        rows.push(Row { link: format!("errors.html#{}", anchor(&section)), section: section.clone(), cells, see });
    }
    rows
}

/// mdBook's heading id: lower case, spaces to dashes, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

impl Entry {
    pub fn claims(&self, row: &Row) -> bool {
        row.cells.len() >= 4
            && row.cells[0] == self.cell
            && row.cells[1] == self.stage
            && row.cells[2].contains(self.meaning_has)
    }

    pub fn row(&self) -> Option<&'static Row> {
        rows().iter().find(|r| self.claims(r))
    }
}

/// A cause recognised in a log or an object, with what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The cause's id, stable for scripts.
    pub cause: &'static str,
    /// One line: what went wrong, specific to this input where diagnose knows more.
    pub summary: String,
    pub fix: String,
    /// The error index row this finding comes from.
    pub index: Option<IndexLink>,
    /// The book's pages that explain it.
    pub see: Vec<String>,
    pub reproduced_by: Vec<&'static str>,
    /// The line of the input it rests on, or the program and section.
    pub evidence: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexLink {
    pub entry: String,
    pub stage: String,
    pub link: String,
}

impl Finding {
    /// A finding of `cause`, linked to the first index row of that cause.
    pub fn of(cause_id: &'static str, severity: Severity) -> Finding {
        let entry = ENTRIES.iter().find(|e| e.cause == cause_id);
        Finding::from_entry(cause_id, entry, severity)
    }

    fn from_entry(cause_id: &'static str, entry: Option<&Entry>, severity: Severity) -> Finding {
        let cause = cause(cause_id);
        let row = entry.and_then(Entry::row);
        Finding {
            severity,
            cause: cause.id,
            summary: cause.summary.to_string(),
            fix: cause.fix.to_string(),
            index: row.map(|r| IndexLink { entry: r.entry_text().to_string(), stage: r.cells[1].clone(), link: r.link.clone() }),
            see: row.map(|r| r.see.clone()).unwrap_or_default(),
            reproduced_by: cause.reproduced_by.to_vec(),
            evidence: None,
        }
    }

    /// A finding outside the error index: what diagnose itself reports.
    pub fn plain(cause: &'static str, severity: Severity, summary: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding { severity, cause, summary: summary.into(), fix: fix.into(), index: None, see: Vec::new(), reproduced_by: Vec::new(), evidence: None }
    }

    pub fn summary(mut self, summary: impl Into<String>) -> Finding {
        self.summary = summary.into();
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = fix.into();
        self
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Finding {
        self.evidence = Some(evidence.into());
        self
    }
}

/// The causes a log, an error text or a transcript shows, most specific
/// first, one finding per cause.
pub fn match_text(text: &str) -> Vec<Finding> {
    let evidence = Evidence::read(text);
    let mut seen = BTreeSet::new();
    let mut findings = Vec::new();
    for entry in ENTRIES.iter().filter(|e| (e.matches)(&evidence)) {
        if !seen.insert(entry.cause) {
            continue;
        }
        let severity = if NOT_FAILURES.contains(&entry.cause) { Severity::Note } else { Severity::Error };
        let mut finding = Finding::from_entry(entry.cause, Some(entry), severity);
        let quoted = [entry.cell, "FAILED", "(libbpf logged nothing)", "observed"].iter().find_map(|n| evidence.line_with(n));
        if let Some(line) = quoted {
            finding = finding.evidence(line.to_string());
        }
        findings.push(finding);
    }
    // A generic load failure says nothing once a specific cause explains it.
    if findings.len() > 1 {
        findings.retain(|f| f.cause != "program-load-failed");
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_error_index_has_exactly_one_rule_and_every_rule_a_row() {
        let rows = rows();
        assert!(rows.len() >= 20, "the error index has its tables ({} rows read)", rows.len());
        for row in rows {
            let claimed: Vec<&str> = ENTRIES.iter().filter(|e| e.claims(row)).map(|e| e.cause).collect();
            assert_eq!(claimed.len(), 1, "error index row {:?} ({}) is claimed by {claimed:?}", row.cells[0], row.cells[1]);
        }
        for entry in ENTRIES {
            let claimed = rows.iter().filter(|r| entry.claims(r)).count();
            if AWAITING_THEIR_ROW.contains(&entry.cause) {
                assert_eq!(claimed, 0, "the row of {} has landed: remove it from AWAITING_THEIR_ROW", entry.cause);
                continue;
            }
            assert_eq!(claimed, 1, "rule for {:?} ({}) matches {claimed} rows of the error index", entry.cell, entry.stage);
        }
    }

    #[test]
    fn every_cause_has_a_rule_and_every_rule_a_cause() {
        for cause in CAUSES {
            assert!(ENTRIES.iter().any(|e| e.cause == cause.id), "cause {} has no error index row", cause.id);
        }
        for entry in ENTRIES {
            assert!(CAUSES.iter().any(|c| c.id == entry.cause), "{} is no cause", entry.cause);
        }
    }

    /// Causes whose error index row and probe another change brings: their
    /// tests wait for it, and fail once it has landed, so this list empties.
    const AWAITING_THEIR_ROW: &[&str] = &[];

    fn workbook() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
    }

    fn claimed_by(who: &str) -> Vec<&'static str> {
        CAUSES.iter().filter(|c| c.reproduced_by.contains(&who)).map(|c| c.id).collect()
    }

    /// Every probe is diagnosed first as the cause that claims it, in every
    /// snapshot (one per kernel) that shows a failure, and in one at least; a
    /// probe no cause claims shows no failure of the index.
    #[test]
    fn every_probe_snapshot_names_its_cause() {
        let folder = workbook().join("book/probes/snapshots");
        let mut by_probe: std::collections::BTreeMap<String, Vec<Vec<&str>>> = Default::default();
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let probe = stem.split('@').next().unwrap().to_string();
            let found: Vec<&str> = match_text(&std::fs::read_to_string(&path).unwrap()).iter().map(|f| f.cause).collect();
            by_probe.entry(probe).or_default().push(found);
        }
        assert!(by_probe.len() >= 10, "{} probes", by_probe.len());
        for (probe, variants) in by_probe {
            let claimed = claimed_by(&format!("probe {probe}"));
            if claimed.is_empty() {
                assert!(variants.iter().all(Vec::is_empty), "probe {probe}: no cause claims it, yet it is diagnosed as {variants:?}");
                continue;
            }
            let first_is_claimed = |found: &Vec<&str>| found.first().is_some_and(|f| claimed.contains(f));
            assert!(variants.iter().any(first_is_claimed), "probe {probe}: diagnosed as {variants:?}, its cause is one of {claimed:?}");
            assert!(variants.iter().all(|v| v.is_empty() || first_is_claimed(v)), "probe {probe}: diagnosed as {variants:?}, its cause is one of {claimed:?}");
        }
    }

    /// A lesson transcript that shows a failure names its layer's cause. (A
    /// layer whose failure needs another kernel is named by its object, in
    /// the diagnose integration test.)
    #[test]
    fn every_failing_lesson_transcript_names_its_layers_cause() {
        let mut count = 0;
        for lesson in std::fs::read_dir(workbook().join("lessons")).unwrap().map(|e| e.unwrap().path()) {
            let Ok(snapshots) = std::fs::read_dir(lesson.join("snapshots")) else { continue };
            let number = lesson.file_name().unwrap().to_string_lossy()[..2].to_string();
            for path in snapshots.map(|e| e.unwrap().path()) {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                let Some(layer) = name.strip_prefix("layer-").map(|l| l.split('@').next().unwrap().to_string()) else { continue };
                // Lesson 05's other layers are a rustc error and two wrong values: no
                // libbpf or verifier text exists for diagnose to name.
                if number == "05" && layer != "2" {
                    continue;
                }
                let found: Vec<&str> = match_text(&std::fs::read_to_string(&path).unwrap()).iter().map(|f| f.cause).collect();
                let claimed = claimed_by(&format!("lesson {number} layer {layer}"));
                assert!(!claimed.is_empty(), "lesson {number} layer {layer}: no cause claims it");
                assert!(found.is_empty() || found.iter().any(|f| claimed.contains(f)), "lesson {number} {name}: diagnosed as {found:?}, its cause is one of {claimed:?}");
                count += 1;
            }
        }
        assert!(count >= 10, "{count} lesson transcripts");
    }

    /// What a cause says reproduces it exists.
    #[test]
    fn every_reproduction_a_cause_names_exists() {
        for cause in CAUSES {
            for who in cause.reproduced_by {
                if let Some(probe) = who.strip_prefix("probe ") {
                    let snapshot = workbook().join(format!("book/probes/snapshots/{probe}.snap"));
                    let awaited = AWAITING_THEIR_ROW.contains(&cause.id);
                    assert!(snapshot.exists() != awaited, "{}: {who}: snapshot exists: {}, awaited: {awaited}", cause.id, snapshot.exists());
                } else {
                    let rest = who.strip_prefix("lesson ").unwrap_or_else(|| panic!("{}: {who}", cause.id));
                    let (number, layer) = rest.split_once(" layer ").unwrap();
                    let lesson = std::fs::read_dir(workbook().join("lessons"))
                        .unwrap()
                        .map(|e| e.unwrap().path())
                        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{number}-")))
                        .unwrap_or_else(|| panic!("{}: no lesson {number}", cause.id));
                    let manifest = std::fs::read_to_string(lesson.join("lesson.toml")).unwrap();
                    let layers = manifest.lines().filter(|l| l.trim() == "[[layer]]").count();
                    assert!(layer.parse::<usize>().unwrap() <= layers, "{}: {who} does not exist", cause.id);
                }
            }
        }
    }

    #[test]
    fn rows_carry_their_section_anchor_and_pages() {
        let row = rows().iter().find(|r| r.cells[0].starts_with("EOPNOTSUPP")).unwrap();
        assert_eq!(row.link, "errors.html#by-errno");
        assert_eq!(row.see, ["04-macros.html#maps-are-declared-in-btf-now"]);
        let clang = rows().iter().find(|r| r.cells[0].contains("asm/types.h")).unwrap();
        assert_eq!(clang.link, "errors.html#clangs-messages");
    }

    #[test]
    fn a_bare_rust_error_names_every_cause_of_its_errno_and_stage() {
        let causes: Vec<_> = match_text("Error: No such process (os error 3)").iter().map(|f| f.cause).collect();
        assert_eq!(causes, ["attach-target-not-in-btf", "no-kernel-btf"]);
    }

    #[test]
    fn a_message_outranks_its_errno() {
        let log = "libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+\nError: Operation not supported (os error 95)";
        let findings = match_text(log);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].cause, "legacy-maps");
        assert_eq!(findings[0].evidence.as_deref(), Some("libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+"));
    }

    #[test]
    fn text_without_a_known_failure_has_no_finding() {
        assert!(match_text("open     ok\nload     ok\nhello").is_empty());
    }

    #[test]
    fn map_fd_before_load_is_recognised() {
        let transcript = "open     ok\nobserved bpf_map__fd before load returned -1; errno is still 0\nload     ok";
        assert_eq!(match_text(transcript)[0].cause, "map-fd-before-load");
    }

    #[test]
    fn a_stage_that_passed_is_not_blamed() {
        let transcript = "open     ok\nlog      info  libbpf: Error loading .BTF into kernel: -EINVAL. BTF is optional, ignoring.\nload     ok\nattach   ok\nobserved Invalid argument (os error 22)";
        let found: Vec<_> = match_text(transcript).iter().map(|f| (f.cause, f.severity)).collect();
        assert_eq!(found, [("btf-rejected", Severity::Note)]);
        let later = "open     ok\nload     ok\nattach   ok\nattach   FAILED  ENOENT (No such file or directory)\n         libbpf: prog 'p': failed to create kprobe 'x+0x0' perf event: -ENOENT";
        assert_eq!(match_text(later)[0].cause, "kprobe-missing-function");
    }
}
