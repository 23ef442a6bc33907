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
    /// Where the workbook makes it happen for real: `lesson NN layer K`, `probe <name>`, or
    /// `log <name>`, a real log of the pasted-log corpus (`xtask/tests/data/logs`).
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
        reproduced_by: &["lesson 02 layer 1", "lesson 07 layer 1"],
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
        reproduced_by: &["lesson 02 layer 4", "lesson 06 layer 1"],
    },
    Cause {
        id: "uprobe-path-not-found",
        summary: "libbpf found no file for the uprobe: a name without a '/' is looked up in $PATH (one with .so in it in LD_LIBRARY_PATH and the library folders)",
        fix: "give the file's path: /proc/self/exe or std::env::current_exe() for the program itself, a soname such as libc.so.6 for a library",
        reproduced_by: &["lesson 09 layer 1"],
    },
    Cause {
        id: "uprobe-symbol-not-found",
        summary: "neither symbol table of the file has a function of the uprobe's name: a mangled Rust or C++ name, a function inlined everywhere and dropped by the linker, or one another file defines",
        fix: "find the symbol with nm; in Rust, #[no_mangle] and #[inline(never)]; or attach by offset",
        reproduced_by: &["lesson 09 layer 2"],
    },
    Cause {
        id: "uprobe-never-hit",
        summary: "the uprobes attached, and one sees none of its function's calls: the optimiser inlined the function, so its callers never run the instruction the uprobe replaced, or the link was dropped",
        fix: "#[inline(never)] on the function (a debug build hides the inlining, a release build shows it), and keep each Link alive while you need the program",
        reproduced_by: &["lesson 09 layer 3"],
    },
    Cause {
        id: "uretprobe-argument-register",
        summary: "a uretprobe reads an argument's register (BPF_UPROBE, PT_REGS_PARM1): at the return it holds whatever the function left there",
        fix: "declare the program with BPF_URETPROBE, or read PT_REGS_RC(ctx)",
        reproduced_by: &["lesson 09 layer 4"],
    },
    Cause {
        id: "thread-id-filter",
        summary: "the process filter compares the lower half of bpf_get_current_pid_tgid(), the thread's id: only the main thread's equals the process id",
        fix: "compare bpf_get_current_pid_tgid() >> 32, the tgid",
        reproduced_by: &["lesson 09 layer 5"],
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
        summary: "a CO-RE relocation cannot be applied: it names a field or type the kernel does not have, or reads a field directly with a size it cannot be adjusted to",
        fix: "declare a flavor (struct x___new) with the kernel's layout and choose with bpf_core_field_exists()",
        reproduced_by: &[
            "lesson 03 layer 1",
            "lesson 03 layer 2",
            "probe relocation-debug-log",
            "probe flavor-suffix-cut-at-last",
            "probe direct-load-signed-wider",
        ],
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
        reproduced_by: &["lesson 04 layer 4", "lesson 06 layer 3", "probe user-pointer-reads"],
    },
    Cause {
        id: "btf-ctx-beyond-prototype",
        summary: "a BTF-typed program (fentry, fexit, tp_btf) read its context past the target's prototype: an argument the function does not have, or at fentry the result, which only fexit sees",
        fix: "declare BPF_PROG's arguments as the target's FUNC_PROTO has them (bpftool btf dump file /sys/kernel/btf/vmlinux), and read the result in an fexit program",
        reproduced_by: &["lesson 07 layer 2"],
    },
    Cause {
        id: "kernel-pointer-user-read",
        summary: "a kernel pointer (an fentry argument the BTF types as a kernel struct, such as struct filename's name) read with a user read helper, which fails with -EFAULT",
        fix: "read kernel memory with bpf_probe_read_kernel_str; the target's BTF prototype says what each argument is",
        reproduced_by: &["lesson 07 layer 3"],
    },
    Cause {
        id: "syscall-wrapper-args",
        summary: "a kprobe on a system call's function read the call's arguments as that function's own: on x86_64 since 4.17 it is a wrapper (__x64_sys_<call>) whose one argument is a pt_regs * holding the user's registers",
        fix: "use SEC(\"ksyscall/<call>\") with BPF_KSYSCALL, or read the wrapper's pt_regs with PT_REGS_PARM1_CORE_SYSCALL and its siblings",
        reproduced_by: &["lesson 06 layer 2"],
    },
    Cause {
        id: "null-check-missing",
        summary: "a pointer that may be NULL (a map lookup's or bpf_ringbuf_reserve's result) is used without a NULL check",
        fix: "check it before use: if (!value) return 0;",
        reproduced_by: &["log lookup-without-null-check"],
    },
    Cause {
        id: "unreleased-reference",
        summary: "a reference the program took (bpf_ringbuf_reserve, a socket lookup) is not released on every path to exit",
        fix: "release it on every path: bpf_ringbuf_submit or bpf_ringbuf_discard before each return after the reserve",
        reproduced_by: &["log ring-buffer-reserve-not-submitted"],
    },
    Cause {
        id: "used-after-release",
        summary: "the program uses memory after giving it back: a ring buffer record written after bpf_ringbuf_submit or bpf_ringbuf_discard, whose pointer the verifier then no longer trusts",
        fix: "fill in the record completely, then submit it; do not touch it afterwards",
        reproduced_by: &["log ring-buffer-record-used-after-submit"],
    },
    Cause {
        id: "unbounded-value",
        summary: "a size or an index the verifier cannot bound: it may be negative, or larger than the memory it is used on",
        fix: "give it an unsigned type and bound it on both sides before use: if (len > sizeof(buf)) return 0; (or len &= sizeof(buf) - 1)",
        reproduced_by: &[
            "log size-may-be-negative",
            "log index-unbounded",
            "lesson 08 layer 1",
            "lesson 08 layer 2",
            "lesson 08 layer 3",
            "lesson 08 layer 4",
        ],
    },
    Cause {
        id: "gpl-only-helper",
        summary: "the program calls a GPL-only helper (bpf_printk, bpf_probe_read_kernel, BPF_CORE_READ...), and its license is not GPL-compatible or missing",
        fix: "declare a GPL-compatible license: char LICENSE[] SEC(\"license\") = \"GPL\"; (or \"Dual BSD/GPL\")",
        reproduced_by: &["log gpl-helper-in-dual-mit-bsd-program", "log no-license-section"],
    },
    Cause {
        id: "program-too-large",
        summary: "the verifier walked a million instructions without finishing: a loop it explores one iteration at a time, or too many paths",
        fix: "use bpf_loop() or a smaller bound for long loops, and split work across tail calls or programs",
        reproduced_by: &["log program-too-large"],
    },
    Cause {
        id: "helper-not-allowed",
        summary: "the program calls a helper its program type may not use (or this kernel does not have)",
        fix: "use a helper this program type offers, or a program type that offers this one (bpftool feature probe lists them)",
        reproduced_by: &["log helper-not-for-this-program-type"],
    },
    Cause {
        id: "map-definition-refused",
        summary: "the kernel refused to create a map: its definition breaks a rule of its map type, such as a key or value type on a ring buffer",
        fix: "declare the map as its map type requires; a ring buffer, for example, takes only __uint(type, BPF_MAP_TYPE_RINGBUF) and __uint(max_entries, <a power-of-two multiple of the page size>)",
        reproduced_by: &["log ring-buffer-with-key"],
    },
    Cause {
        id: "bitfield-read",
        summary: "a bitfield read with BPF_CORE_READ, which takes the field's address: a bitfield has none",
        fix: "read bitfields with BPF_CORE_READ_BITFIELD_PROBED(ptr, field) (or BPF_CORE_READ_BITFIELD on a BTF pointer)",
        reproduced_by: &["log bitfield-read-with-core-read"],
    },
    Cause {
        id: "field-not-in-vmlinux-h",
        summary: "the field is not in this vmlinux.h: the kernel it was made from renamed or removed it",
        fix: "use the field this kernel has; for kernels that have the old one, declare a flavor (struct x___old) and choose with bpf_core_field_exists()",
        reproduced_by: &["log field-not-in-vmlinux-h"],
    },
    Cause {
        id: "rodata-after-load",
        summary: "the loader writes a read-only global (rodata) through the loaded skeleton: after load the kernel has frozen that map, so libbpf-rs gives only a & reference to it",
        fix: "set read-only globals on the open skeleton, before load (open_object.maps.rodata_data)",
        reproduced_by: &["lesson 05 layer 1"],
    },
    Cause {
        id: "data-loc-string",
        summary: "a tracepoint field declared __data_loc holds a 32-bit offset and length of the string inside the record, not the string nor a pointer to it",
        fix: "read the string at (void *)ctx + (field & 0xFFFF)",
        reproduced_by: &["lesson 05 layer 3"],
    },
    Cause {
        id: "wait-status-exit-code",
        summary: "task->exit_code holds a wait status: the exit code is in bits 8 to 15 and the signal in the low bits, so the value read is 256 times the code",
        fix: "(exit_code >> 8) & 0xff",
        reproduced_by: &["lesson 05 layer 3", "lesson 05 layer 4"],
    },
    Cause {
        id: "map-key-size",
        summary: "a map looked up or updated from user space with a key or value whose size is not the one the map declares, such as a u64 key for a map of u32 keys",
        fix: "build the key and value from the types the map declares (map.key_size() and map.value_size() give their sizes)",
        reproduced_by: &["log map-key-size-mismatch"],
    },
];

pub fn cause(id: &str) -> &'static Cause {
    CAUSES.iter().find(|c| c.id == id).unwrap_or_else(|| panic!("no cause {id}"))
}

/// What a log or transcript shows, read once for every entry's test.
#[derive(Debug, Default)]
pub struct Evidence {
    lines: Vec<String>,
    /// The errnos the failure shows, by name. A transcript's are those of its `FAILED` line.
    errnos: Vec<String>,
    /// The stage that failed: a transcript's `FAILED` line names it, else
    /// libbpf's (or the loader's) wording shows it; unknown for a bare errno.
    stage: Option<&'static str>,
    nothing_logged: bool,
}

/// The stages in the order a load goes through them.
const STAGES: [&str; 5] = ["compile", "open", "load", "attach", "pin"];

/// The stage a line of libbpf, its loader or clang speaks of, by its words.
fn stage_of(line: &str) -> Option<&'static str> {
    static CLANG_ERROR: OnceLock<Regex> = OnceLock::new();
    let clang = CLANG_ERROR.get_or_init(|| Regex::new(r"\.(c|h):\d+:\d+: (fatal )?error: ").unwrap());
    const ATTACH: [&str; 6] =
        ["failed to attach", "failed to auto-attach", "perf event", "failed to determine tracepoint", "failed to add legacy", "Link::pin"];
    const LOAD: [&str; 8] = [
        "BPF program load failed",
        "failed to load",
        "PROG LOAD LOG",
        "failed to create",
        "bpf_create_map_xattr",
        "failed to prepare load attributes",
        "Couldn't load trivial BPF program",
        "failed to resolve CO-RE relocation",
    ];
    const OPEN: [&str; 5] =
        ["libbpf: elf:", "failed to open", "BTF is required", "is not a valid eBPF object file", "failed to initialize skeleton"];
    if ATTACH.iter().any(|w| line.contains(w)) {
        Some(if line.contains("Link::pin") { "pin" } else { "attach" })
    } else if LOAD.iter().any(|w| line.contains(w)) {
        Some("load")
    } else if OPEN.iter().any(|w| line.contains(w)) {
        Some("open")
    } else if clang.is_match(line) {
        Some("compile")
    } else {
        None
    }
}

impl Evidence {
    pub fn read(text: &str) -> Evidence {
        static FAILED: OnceLock<Regex> = OnceLock::new();
        static NAMED: OnceLock<Regex> = OnceLock::new();
        static NUMBERED: OnceLock<Regex> = OnceLock::new();
        let failed = FAILED.get_or_init(|| Regex::new(r"^(compile|open|load|attach|pin)\s+FAILED\s+(\S+)").unwrap());
        let named = NAMED.get_or_init(|| Regex::new(r"\b(E[A-Z0-9]{3,}|LIBBPF_ERRNO__[A-Z]+)\b").unwrap());
        // `failed to load BPF object: -13`, libbpf 1.1's `failed to load: -13`, `(err = -1)`.
        let numbered = NUMBERED.get_or_init(|| Regex::new(r"(?:: |= |\()-(\d{1,4})\b").unwrap());
        let mut evidence = Evidence::default();
        let (mut transcript_stage, mut transcript_errnos) = (None, Vec::new());
        let mut worded_stage: Option<&'static str> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(m) = failed.captures(trimmed) {
                let stage = STAGES.iter().copied().find(|s| *s == &m[1]);
                transcript_stage = transcript_stage.or(stage);
                transcript_errnos.push(m[2].to_string());
            }
            if let Some(stage) = stage_of(trimmed) {
                let later = |s: &str| STAGES.iter().position(|x| *x == s);
                if worded_stage.is_none_or(|w| later(stage) > later(w)) {
                    worded_stage = Some(stage);
                }
            }
            for m in named.captures_iter(trimmed) {
                if errno_known(&m[1]) {
                    evidence.errnos.push(m[1].to_string());
                }
            }
            // A verifier line such as `size cannot be determined: -22` is no failure of the load.
            let a_failure = ["fail", "Fail", "Error", "error"].iter().any(|w| trimmed.contains(w));
            for m in numbered.captures_iter(trimmed).filter(|_| a_failure) {
                if let Some(name) = m[1].parse().ok().and_then(transcript::errno::name) {
                    evidence.errnos.push(name);
                }
            }
            if let Some(number) = transcript::errno::from_message(trimmed) {
                if let Some(name) = transcript::errno::name(number) {
                    evidence.errnos.push(name);
                }
            }
            for (text, name) in STRERROR {
                if trimmed.contains(text) {
                    evidence.errnos.push(name.to_string());
                }
            }
            evidence.nothing_logged |= trimmed == "(libbpf logged nothing)";
            evidence.lines.push(trimmed.to_string());
        }
        if transcript_stage.is_some() {
            evidence.errnos = transcript_errnos;
        }
        evidence.stage = transcript_stage.or(worded_stage);
        evidence
    }

    /// Each program's run count, as the kernel counted it at the latest
    /// observation (the transcript's `ran:` notes); empty when it did not count.
    pub fn program_runs(&self) -> Vec<(String, u64)> {
        let transcript = transcript::Transcript::parse(&self.lines.join("\n"));
        transcript.program_runs().into_iter().map(|(name, runs)| (name.to_string(), runs)).collect()
    }

    /// Whether any line contains `needle`.
    /// `exit code N, not M` where N is M shifted left by 8: a wait status read as the code.
    fn exit_code_as_wait_status(&self) -> bool {
        static SHIFTED: OnceLock<Regex> = OnceLock::new();
        let shifted = SHIFTED.get_or_init(|| Regex::new(r"exit code (\d+), not (\d+)").unwrap());
        self.lines.iter().filter_map(|l| shifted.captures(l)).any(|m| {
            let (seen, wanted) = (m[1].parse::<u64>().unwrap_or(0), m[2].parse::<u64>().unwrap_or(0));
            // The whole status is the code times 256; its low byte alone, the signal, is 0 for a process that exited.
            wanted != 0 && (seen == wanted << 8 || seen == 0)
        })
    }

    pub fn says(&self, needle: &str) -> bool {
        self.lines.iter().any(|l| l.contains(needle))
    }

    fn line_with(&self, needle: &str) -> Option<&str> {
        self.lines.iter().find(|l| l.contains(needle)).map(String::as_str)
    }

    /// Whether `errno` failed `stage`. A bare errno, at no known stage,
    /// fails none: EINVAL at open, load and attach are different failures.
    pub fn failed(&self, stage: &str, errno: &str) -> bool {
        self.stage == Some(stage) && self.errnos.iter().any(|e| e == errno)
    }

    /// A transcript shows `stage` passing, and never failing.
    pub fn passed(&self, stage: &str) -> bool {
        let starts =
            |l: &str, word: &str| l.strip_prefix(stage).is_some_and(|rest| rest.trim_start().starts_with(word) && rest.starts_with(' '));
        self.lines.iter().any(|l| starts(l, "ok")) && !self.lines.iter().any(|l| starts(l, "FAILED"))
    }

    fn core_message(&self) -> bool {
        CORE_MESSAGES[..2].iter().any(|m| self.says(m)) || self.unresolved_relocation()
    }

    /// libbpf's debug line `relo #N: no matching targets found` is printed for
    /// an existence check that is simply false too, and for a read it then
    /// poisons (`w/ invalid insn`) behind such a check: the verifier fails only
    /// if it reaches one. So it tells of the failure only when nothing else failed.
    fn unresolved_relocation(&self) -> bool {
        // A verifier that gave its own reason rejected the program for that reason.
        self.says(CORE_MESSAGES[2]) && !self.map_refused() && self.errnos.iter().all(|e| e == "EINVAL") && self.verifier_verdict().is_none()
    }

    /// The verifier printed its reasoning (instruction lines, register states).
    fn verifier_spoke(&self) -> bool {
        self.lines.iter().any(|l| l.starts_with("verifier:") || l.contains("processed ") || l.contains(": R"))
    }

    /// The verifier's `invalid mem access '<type>'`: the type of what was dereferenced.
    fn invalid_access_of(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| l.split_once("invalid mem access '").and_then(|(_, rest)| rest.split('\'').next()))
    }

    /// The register of `R6 invalid mem access '…'`.
    fn invalid_access_register(&self) -> Option<&str> {
        self.lines.iter().find_map(|l| l.split_once(" invalid mem access '").map(|(register, _)| register.trim_start_matches("verifier: ")))
    }

    /// The types the verifier gave `register` before (`R6=ringbuf_mem(…)`), in order.
    fn types_held_by(&self, register: &str) -> Vec<&str> {
        let prefix = format!("{register}=");
        let mut types = Vec::new();
        for line in &self.lines {
            for (at, _) in line.match_indices(&prefix) {
                let starts_a_word = at == 0 || matches!(line.as_bytes()[at - 1], b' ' | b';');
                let rest = &line[at + prefix.len()..];
                let name = &rest[..rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len())];
                if starts_a_word && !name.is_empty() {
                    types.push(name);
                }
            }
        }
        types
    }

    /// A scalar dereferenced through a register that held a pointer: the
    /// verifier turned it into a number, as a release does to a ring buffer record.
    fn scalar_was_a_pointer(&self) -> bool {
        let Some(register) = self.invalid_access_register() else { return false };
        self.types_held_by(register).iter().any(|t| is_pointer_type(t))
    }

    /// A record the program gave back, then used: a reference-counted pointer (`ref_obj_id`) released before the access.
    fn used_after_release(&self) -> bool {
        let released = self.says("call bpf_ringbuf_submit")
            || self.says("call bpf_ringbuf_discard")
            || self.lines.iter().any(|l| l.contains("call ") && l.contains("_release#"));
        // 'inv' on older kernels; while the record was the program's its
        // register held `ringbuf_mem`, `alloc_mem` (6.1) or `mem` (5.10).
        released && matches!(self.invalid_access_of(), Some("scalar" | "inv")) && self.scalar_was_a_pointer()
    }

    /// The variable a leaked ring buffer record was reserved into, and where:
    /// `Unreleased reference id=2 alloc_insn=5` points at the instruction whose
    /// source line is `struct event *e = bpf_ringbuf_reserve(...); @ file.bpf.c:11`.
    fn reserved_record(&self) -> Option<(String, String)> {
        static RESERVED: OnceLock<Regex> = OnceLock::new();
        let pattern = RESERVED.get_or_init(|| Regex::new(r"([A-Za-z_]\w*)\s*=\s*bpf_ringbuf_reserve\(").unwrap());
        let line = self.line_with("Unreleased reference id=")?;
        let instruction = line.split_once("alloc_insn=")?.1.split(|c: char| !c.is_ascii_digit()).next()?;
        let at = self.lines.iter().position(|l| l.starts_with(&format!("{instruction}: ")))?;
        let (code, place) = self.lines[..at].iter().rev().find_map(|l| l.strip_prefix("; ").and_then(|s| s.rsplit_once(" @ ")))?;
        let name = pattern.captures(code)?[1].to_string();
        Some((name, place.to_string()))
    }

    /// A maybe-NULL pointer where a helper needs a valid one: `R3 type=map_value_or_null expected=fp, …`.
    fn null_passed_to_helper(&self) -> bool {
        self.lines.iter().any(|l| {
            l.split_once(" type=")
                .is_some_and(|(_, rest)| rest.split(' ').next().is_some_and(|t| t.ends_with("_or_null")) && rest.contains("expected="))
        })
    }

    /// A map's creation failed with EINVAL (libbpf 1.6+ names it, older versions give the text).
    fn map_refused(&self) -> bool {
        self.lines.iter().any(|l| {
            l.contains("map '")
                && l.contains("failed to create")
                && (l.contains("EINVAL") || l.contains("Invalid argument") || l.ends_with("-22"))
        })
    }

    /// libbpf-rs refused a map access whose key or value is not of the map's size: `key_size 8 != 4`.
    fn map_size_refused(&self) -> bool {
        static SIZES: OnceLock<Regex> = OnceLock::new();
        let sizes = SIZES.get_or_init(|| Regex::new(r"\b(key|value)_size \d+ != \d+").unwrap());
        self.lines.iter().any(|l| sizes.is_match(l))
    }

    /// The verifier's verdict: its last lines before the statistics, and
    /// the source line it was at (`; *count += 1; @ file.bpf.c:12`).
    pub fn verifier_verdict(&self) -> Option<String> {
        let last = self.verifier_last_words()?;
        let verdict = last.verdict.join(" / ");
        Some(match last.source {
            Some((code, place)) => format!("{verdict} (at {place}: {code})"),
            None => verdict,
        })
    }

    /// The end of the verifier's log: the instruction it stopped at, its
    /// verdict, and the source line (code, `file.bpf.c:N`) that instruction comes from.
    pub fn verifier_last_words(&self) -> Option<VerifierLastWords<'_>> {
        let end = self
            .lines
            .iter()
            .position(|l| (l.starts_with("processed ") && l.contains(" insns")) || l.ends_with("-- END PROG LOAD LOG --"))?;
        let is_instruction = |l: &str| l.split_once(": ").is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let is_statistics = |l: &str| l.starts_with("verification time") || l.starts_with("stack depth");
        let mut start = end;
        while start > 0 {
            let line = &self.lines[start - 1];
            if is_instruction(line) || line.starts_with("; ") || line.contains("BEGIN PROG LOAD LOG") || line.is_empty() {
                break;
            }
            start -= 1;
        }
        let verdict: Vec<&str> = self.lines[start..end].iter().map(String::as_str).filter(|l| !is_statistics(l)).collect();
        if verdict.is_empty() {
            return None;
        }
        let instruction = self.lines[..start].last().map(String::as_str).filter(|l| is_instruction(l));
        // The verifier prints no source line for an instruction libbpf poisoned: the last one printed is an earlier line's.
        let poisoned = instruction.is_some_and(|i| i.contains("<invalid CO-RE relocation>"));
        let source =
            self.lines[..start].iter().rev().find_map(|l| l.strip_prefix("; ").and_then(|s| s.rsplit_once(" @ "))).filter(|_| !poisoned);
        Some(VerifierLastWords { instruction, verdict, source })
    }
}

/// The end of a verifier log, as [`Evidence::verifier_last_words`] reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct VerifierLastWords<'a> {
    /// The instruction it stopped at, e.g. `8: (79) r1 = *(u64 *)(r0 +0)`.
    pub instruction: Option<&'a str>,
    /// Its reasons, e.g. `R0 invalid mem access 'map_value_or_null'`.
    pub verdict: Vec<&'a str>,
    /// (code, `file.bpf.c:N`) of the source line the instruction comes from.
    pub source: Option<(&'a str, &'a str)>,
}

const CORE_MESSAGES: [&str; 3] = ["failed to resolve CO-RE relocation", "<invalid CO-RE relocation>", "no matching targets found"];

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

/// A verifier register type that is a pointer: not a number (`scalar`, or
/// `inv` on older kernels), a spilled-stack marker (`P`) or an id.
fn is_pointer_type(name: &str) -> bool {
    !name.starts_with("scalar") && !name.starts_with("inv") && name != "P" && !name.chars().all(|c| c.is_ascii_digit())
}

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
    Entry {
        cell: "A failure with nothing from libbpf",
        stage: "any",
        meaning_has: "",
        cause: "silenced-log",
        matches: |e| e.nothing_logged && !e.failed("open", "ESRCH") && !e.failed("attach", "EINVAL"),
    },
    // clang's messages
    Entry {
        cell: "unknown type name '__u64' (in bpf_helper_defs.h)",
        stage: "compile",
        meaning_has: "",
        cause: "include-order",
        matches: |e| e.says("unknown type name '__u64'"),
    },
    Entry {
        cell: "Looks like the BPF stack limit is exceeded",
        stage: "compile",
        meaning_has: "",
        cause: "stack-limit",
        matches: |e| e.says("BPF stack limit"),
    },
    Entry {
        cell: "using builtin_preserve_access_index() without -g",
        stage: "compile",
        meaning_has: "",
        cause: "core-read-without-g",
        matches: |e| e.says("builtin_preserve_access_index() without -g"),
    },
    Entry {
        cell: "'asm/types.h' file not found",
        stage: "compile",
        meaning_has: "",
        cause: "uapi-header",
        matches: |e| e.lines.iter().any(|l| l.contains("'asm/") && l.contains("file not found")),
    },
    Entry {
        cell: "typedef redefinition with different types (and other redefinitions)",
        stage: "compile",
        meaning_has: "",
        cause: "uapi-header",
        matches: |e| e.says("error: redefinition of") || e.says("error: typedef redefinition"),
    },
    Entry {
        cell: "'vmlinux.h' file not found",
        stage: "compile",
        meaning_has: "",
        cause: "vmlinux-h-not-found",
        matches: |e| e.says("'vmlinux.h' file not found"),
    },
    Entry {
        cell: "address of bit-field requested",
        stage: "compile",
        meaning_has: "",
        cause: "bitfield-read",
        matches: |e| e.says("address of bit-field requested") || e.says("to bit-field"),
    },
    Entry {
        cell: "no member named 'state' in 'struct task_struct'",
        stage: "compile",
        meaning_has: "",
        cause: "field-not-in-vmlinux-h",
        matches: |e| e.says("error: no member named '"),
    },
    // libbpf's messages
    Entry {
        cell: "BTF is required, but is missing or corrupted.",
        stage: "open",
        meaning_has: "",
        cause: "no-btf",
        matches: |e| e.says("BTF is required, but is missing or corrupted"),
    },
    Entry {
        cell: "legacy map definitions in 'maps' section are not supported by libbpf v1.0+",
        stage: "open",
        meaning_has: "",
        cause: "legacy-maps",
        matches: |e| e.says("legacy map definitions in 'maps' section"),
    },
    Entry {
        cell: "failed to resolve CO-RE relocation",
        stage: "load",
        meaning_has: "",
        cause: "core-relocation",
        matches: |e| e.says("failed to resolve CO-RE relocation"),
    },
    Entry {
        cell: "<invalid CO-RE relocation>",
        stage: "load",
        meaning_has: "",
        cause: "core-relocation",
        matches: |e| e.says("<invalid CO-RE relocation>"),
    },
    Entry {
        cell: "relo #0: no matching targets found",
        stage: "load",
        meaning_has: "",
        cause: "core-relocation",
        matches: Evidence::unresolved_relocation,
    },
    Entry {
        cell: "kernel BTF is missing at '/sys/kernel/btf/vmlinux'",
        stage: "load",
        meaning_has: "",
        cause: "no-kernel-btf",
        matches: |e| (e.says("kernel BTF is missing at") || e.says("failed to find valid kernel BTF")) && !e.passed("load"),
    },
    Entry {
        cell: "failed to determine tracepoint 'syscalls/sys_enter_openat' perf event ID: -ENOENT",
        stage: "attach",
        meaning_has: "",
        cause: "tracepoint-not-found",
        matches: |e| e.says("failed to determine tracepoint"),
    },
    Entry {
        cell: "failed to attach to raw tracepoint 'sys_enter_openat': -ENOENT",
        stage: "attach",
        meaning_has: "",
        cause: "raw-tp-wrong-name",
        matches: |e| e.says("failed to attach to raw tracepoint"),
    },
    Entry {
        cell: "map 'events': failed to create: -EINVAL",
        stage: "load",
        meaning_has: "",
        cause: "map-definition-refused",
        matches: Evidence::map_refused,
    },
    Entry {
        cell: "E0594, cannot assign to a field of rodata, which is behind a & reference",
        stage: "compile",
        meaning_has: "",
        cause: "rodata-after-load",
        matches: |e| e.says("E0594") && e.says("rodata"),
    },
    Entry {
        cell: "A string from a tracepoint's record is empty (lesson 05 reports filename \"\", not the child's path)",
        stage: "run",
        meaning_has: "",
        cause: "data-loc-string",
        matches: |e| e.lines.iter().any(|l| l.starts_with("wrong") && l.contains("filename \"\"")),
    },
    Entry {
        cell: "An exit code 256 times too large (lesson 05 reports exit code 768, not 3)",
        stage: "run",
        meaning_has: "",
        cause: "wait-status-exit-code",
        matches: Evidence::exit_code_as_wait_status,
    },
    // libbpf-rs's own check, made before it calls libbpf.
    Entry { cell: "key_size 8 != 4", stage: "run", meaning_has: "", cause: "map-key-size", matches: Evidence::map_size_refused },
    Entry {
        cell: "failed to resolve full path for 'uprobe': -ENOENT",
        stage: "attach",
        meaning_has: "",
        cause: "uprobe-path-not-found",
        matches: |e| e.says("failed to resolve full path for"),
    },
    Entry {
        cell: "elf: 'square' is 0 in symtab for '/proc/self/exe': should not be 0 in a shared library",
        stage: "attach",
        meaning_has: "",
        cause: "uprobe-symbol-not-found",
        // libbpf 1.x says "is 0" for a name it found nowhere when the file has both symbol tables.
        matches: |e| e.says("is 0 in symtab for") || e.says("elf: failed to find symbol"),
    },
    Entry {
        cell: "failed to create kprobe '_do_fork+0x0' perf event: -ENOENT",
        stage: "attach",
        meaning_has: "",
        cause: "kprobe-missing-function",
        matches: |e| e.says("failed to create kprobe") || e.says("failed to add legacy kprobe event"),
    },
    // The verifier's messages
    // Up to 6.9 the verifier says `unknown func`; since 6.10, `program of this type cannot use helper`.
    Entry {
        cell: "EINVAL",
        stage: "load",
        meaning_has: "lockdown",
        cause: "helpers-withheld",
        matches: |e| e.says("unknown func bpf_probe_read#4") || e.says("cannot use helper bpf_probe_read#4"),
    },
    // 'inv' is what kernels before 5.18 call a scalar.
    Entry {
        cell: "invalid mem access 'scalar' (after a register, such as R0 or R1)",
        stage: "load",
        meaning_has: "",
        cause: "invalid-mem-access",
        matches: |e| matches!(e.invalid_access_of(), Some("scalar" | "inv")) && !e.scalar_was_a_pointer(),
    },
    Entry {
        cell: "invalid mem access 'map_value_or_null'",
        stage: "load",
        meaning_has: "",
        cause: "null-check-missing",
        matches: |e| e.invalid_access_of().is_some_and(|t| t.ends_with("_or_null")) || e.null_passed_to_helper(),
    },
    Entry {
        cell: "R6 invalid mem access 'scalar' (after bpf_ringbuf_submit)",
        stage: "load",
        meaning_has: "",
        cause: "used-after-release",
        matches: Evidence::used_after_release,
    },
    Entry {
        cell: "Unreleased reference id=2 alloc_insn=5",
        stage: "load",
        meaning_has: "",
        cause: "unreleased-reference",
        matches: |e| e.says("Unreleased reference id="),
    },
    Entry {
        cell: "R2 min value is negative, either use unsigned or 'var &= const'",
        stage: "load",
        meaning_has: "",
        cause: "unbounded-value",
        matches: |e| {
            e.says("min value is negative")
                || e.says("unbounded memory access")
                || e.says("with unbounded min value")
                // Bounded, but the largest offset and size together pass the end.
                || e.says("max value is outside of the allowed memory range")
        },
    },
    Entry {
        cell: "cannot call GPL-restricted function from non-GPL compatible program",
        stage: "load",
        meaning_has: "",
        cause: "gpl-only-helper",
        // A BTF pointer (tp_btf, fentry) is GPL-only too: `Cannot access kernel 'struct task_struct' from non-GPL compatible program`.
        matches: |e| e.says("cannot call GPL-restricted function") || e.says("from non-GPL compatible program"),
    },
    Entry {
        cell: "BPF program is too large. Processed 1000001 insn",
        stage: "load",
        meaning_has: "",
        cause: "program-too-large",
        matches: |e| e.says("BPF program is too large"),
    },
    Entry {
        cell: "program of this type cannot use helper bpf_sk_release#86",
        stage: "load",
        meaning_has: "",
        cause: "helper-not-allowed",
        matches: |e| {
            let helper_refused = |l: &String| {
                (l.contains("program of this type cannot use helper ")
                    || l.contains("unknown func ")
                    || l.contains(" not supported for program type "))
                    && !l.contains("bpf_probe_read#4")
            };
            e.lines.iter().any(helper_refused)
        },
    },
    // errnos with the stage that tells them apart
    Entry {
        cell: "ENOENT · No such file or directory (os error 2)",
        stage: "open",
        meaning_has: "",
        cause: "no-btf",
        matches: |e| e.failed("open", "ENOENT"),
    },
    Entry {
        cell: "ENOENT",
        stage: "attach",
        meaning_has: "tracefs",
        cause: "tracepoint-not-found",
        matches: |e| e.failed("attach", "ENOENT") && e.says("tracepoint") && !e.says("raw tracepoint"),
    },
    Entry {
        cell: "ENOENT",
        stage: "attach",
        meaning_has: "kprobe",
        cause: "kprobe-missing-function",
        matches: |e| e.failed("attach", "ENOENT") && e.says("kprobe"),
    },
    Entry {
        cell: "ENOENT",
        stage: "attach",
        meaning_has: "raw_tp/ section",
        cause: "raw-tp-wrong-name",
        matches: |e| e.failed("attach", "ENOENT") && e.says("raw tracepoint"),
    },
    Entry {
        cell: "failed to find kernel BTF type ID of 'sys_unlinkat': -ESRCH",
        stage: "load",
        meaning_has: "",
        cause: "attach-target-not-in-btf",
        matches: |e| !e.failed("open", "ESRCH") && e.says("failed to find kernel BTF type ID") && placeholder_target(e).is_none(),
    },
    Entry {
        cell: "ESRCH · No such process (os error 3)",
        stage: "open",
        meaning_has: "",
        cause: "attach-target-not-in-btf",
        matches: |e| e.failed("open", "ESRCH") && placeholder_target(e).is_none(),
    },
    Entry {
        cell: "ESRCH",
        stage: "load",
        meaning_has: "",
        cause: "no-kernel-btf",
        matches: |e| e.failed("load", "ESRCH") && !e.says("failed to find kernel BTF type ID"),
    },
    Entry {
        cell: "EINVAL · Invalid argument (os error 22)",
        stage: "load",
        meaning_has: "",
        cause: "core-relocation",
        matches: |e| e.failed("load", "EINVAL") && e.core_message(),
    },
    Entry {
        cell: "EINVAL",
        stage: "load",
        meaning_has: "kprobe",
        cause: "kprobe-with-attach-target",
        matches: |e| e.failed("load", "EINVAL") && e.says("BPF program load failed") && !e.core_message() && !e.verifier_spoke(),
    },
    Entry { cell: "EINVAL", stage: "attach", meaning_has: "", cause: "tp-without-category", matches: |e| e.failed("attach", "EINVAL") },
    Entry {
        cell: "EINVAL",
        stage: "pin",
        meaning_has: "",
        cause: "pin-perf-link",
        matches: |e| e.says("Link::pin failed") || (e.says("pin") && e.failed("pin", "EINVAL")),
    },
    Entry {
        cell: "EEXIST · File exists (os error 17)",
        stage: "attach",
        meaning_has: "",
        cause: "attached-twice",
        matches: |e| e.failed("attach", "EEXIST"),
    },
    Entry { cell: "E2BIG", stage: "attach", meaning_has: "", cause: "tracepoint-program-limit", matches: |e| e.failed("attach", "E2BIG") },
    Entry {
        cell: "EOPNOTSUPP · Operation not supported (os error 95)",
        stage: "open",
        meaning_has: "",
        cause: "legacy-maps",
        matches: |e| e.failed("open", "EOPNOTSUPP"),
    },
    Entry {
        cell: "EACCES · Permission denied (os error 13)",
        stage: "load",
        meaning_has: "",
        cause: "verifier-rejected",
        matches: |e| e.failed("load", "EACCES"),
    },
    Entry {
        cell: "EPERM · Operation not permitted (os error 1)",
        stage: "load",
        meaning_has: "",
        cause: "not-permitted",
        matches: |e| e.failed("load", "EPERM"),
    },
    Entry {
        cell: "E2BIG · Argument list too long (os error 7)",
        stage: "load",
        meaning_has: "",
        cause: "percpu-value-too-big",
        matches: |e| e.failed("load", "E2BIG") && e.says("failed to create"),
    },
    Entry {
        cell: "EBUSY · Device or resource busy (os error 16)",
        stage: "attach",
        meaning_has: "",
        cause: "xdp-already-attached",
        matches: |e| e.failed("attach", "EBUSY") || e.says("XDP program already attached"),
    },
    Entry {
        cell: "EADDRNOTAVAIL",
        stage: "attach",
        meaning_has: "",
        cause: "kprobe-ambiguous",
        matches: |e| e.failed("attach", "EADDRNOTAVAIL"),
    },
    Entry {
        cell: "4001 · Unknown error 4001 (LIBBPF_ERRNO__FORMAT)",
        stage: "open",
        meaning_has: "",
        cause: "not-a-bpf-object",
        matches: |e| e.failed("open", "LIBBPF_ERRNO__FORMAT") || e.says("is not a valid eBPF object file"),
    },
    // A generic load failure, after every specific one.
    Entry {
        cell: "BPF program load failed: -EINVAL",
        stage: "load",
        meaning_has: "",
        cause: "program-load-failed",
        matches: |e| e.says("BPF program load failed"),
    },
    // No message at all
    Entry {
        cell: "bpf_map__fd returns -1, errno unchanged",
        stage: "open",
        meaning_has: "",
        cause: "map-fd-before-load",
        matches: |e| e.says("bpf_map__fd") && (e.says("returned -1") || e.says("returns -1")),
    },
    Entry {
        cell: ".BTF rejected by the kernel, and the program still loads",
        stage: "load",
        meaning_has: "",
        cause: "btf-rejected",
        matches: |e| e.says("BTF is optional, ignoring"),
    },
    Entry {
        cell: "A value read through a hand-written flavor is too large, or holds a neighbour's bytes",
        stage: "run",
        meaning_has: "",
        cause: "wrong-size-flavor",
        matches: |e| e.says("bpf_core_field_size says"),
    },
    Entry {
        cell: "Attach says ok, the program counts nothing",
        stage: "run",
        meaning_has: "",
        cause: "tracepoint-never-fires",
        matches: |e| e.says("observed 0 of"),
    },
    Entry {
        cell: "invalid bpf_context access off=16 size=8",
        stage: "load",
        meaning_has: "",
        cause: "btf-ctx-beyond-prototype",
        // The full log's line before names the missing argument; a transcript
        // keeps the last line only, where BPF_PROG's u64 reads (size=8) tell
        // it from a tracepoint's narrower fields.
        matches: |e| {
            e.says("-th argument") || e.lines.iter().any(|l| l.contains("invalid bpf_context access off=") && l.ends_with(" size=8"))
        },
    },
    Entry {
        cell: "A name read in an fentry program fails with -EFAULT",
        stage: "run",
        meaning_has: "",
        cause: "kernel-pointer-user-read",
        matches: |e| e.says("the name could not be read: the read returned -14 (EFAULT)"),
    },
    Entry {
        cell: "A system call's arguments read in a kprobe are not the ones passed",
        stage: "run",
        meaning_has: "",
        cause: "syscall-wrapper-args",
        matches: |e| e.says("dfd is not the directory passed") || e.says("flags are not the ones passed"),
    },
    Entry {
        cell: "Uprobes attach, and one sees none of its function's calls",
        stage: "run",
        meaning_has: "",
        cause: "uprobe-never-hit",
        matches: |e| e.says("no call, no return"),
    },
    Entry {
        cell: "A uretprobe adds up values the function never returned",
        stage: "run",
        meaning_has: "",
        cause: "uretprobe-argument-register",
        matches: |e| e.says("values it did not return"),
    },
    Entry {
        cell: "A process filter lets the main thread's calls through, and no other thread's",
        stage: "run",
        meaning_has: "",
        cause: "thread-id-filter",
        matches: |e| e.says("the main thread's calls only"),
    },
    Entry {
        cell: "A string read from a system call argument is empty",
        stage: "run",
        meaning_has: "",
        cause: "user-pointer-kernel-read",
        matches: |e| {
            e.says("(\"\")")
                || e.says("bpf_probe_read_kernel_str -ERANGE")
                || e.says("the path could not be read: the read returned -34 (ERANGE)")
        },
    },
];

/// Rows of the index that describe no failure: their findings are notes.
const NOT_FAILURES: &[&str] = &["btf-rejected"];

/// A row of the error index as the book has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The section's heading, e.g. "By errno".
    pub section: String,
    /// The row's own anchor in the built book, e.g. `errors.html#enoent-open`;
    /// the section's (`errors.html#by-errno`) for a row without one.
    pub link: String,
    pub cells: Vec<String>,
    /// The "see" column's pages, as links into the built book.
    pub see: Vec<String>,
    /// The "fix" column: what to change, in words; none in a table without one.
    pub fix: Option<String>,
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
    let row_anchor = Regex::new(r#"^<a id="([^"]+)"></a>"#).unwrap();
    let mut rows = Vec::new();
    let mut section = String::new();
    let (mut see_column, mut fix_column) = (None, None);
    let lines: Vec<&str> = markdown.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim().to_string();
            continue;
        }
        let is_separator = |l: &str| l.starts_with("|--") || l.starts_with("| --");
        let split = |l: &str| -> Vec<String> { l.trim().trim_matches('|').split('|').map(|c| c.trim().replace('`', "")).collect() };
        if line.starts_with('|') && lines.get(i + 1).is_some_and(|next| is_separator(next)) {
            // Columns are found by their header, so a column added at the end moves none.
            let header = split(line);
            let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
            (see_column, fix_column) = (column("see"), column("fix"));
            continue;
        }
        if !line.starts_with('|') || is_separator(line) {
            continue;
        }
        let mut cells = split(line);
        let own = row_anchor.captures(&cells[0]).map(|m| (m[0].len(), m[1].to_string()));
        let id = match own {
            Some((tag, id)) => {
                cells[0].replace_range(..tag, "");
                id
            }
            None => anchor(&section),
        };
        let see_cell = see_column.map_or(cells.last(), |k| cells.get(k));
        let see = see_cell.map(|c| link.captures_iter(c).map(|m| m[1].replace(".md", ".html")).collect()).unwrap_or_default();
        let fix = fix_column.and_then(|k| cells.get(k)).filter(|c| !c.is_empty()).cloned();
        rows.push(Row { link: format!("errors.html#{id}"), section: section.clone(), cells, see, fix });
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
        row.cells.len() >= 4 && row.cells[0] == self.cell && row.cells[1] == self.stage && row.cells[2].contains(self.meaning_has)
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
        Finding {
            severity,
            cause,
            summary: summary.into(),
            fix: fix.into(),
            index: None,
            see: Vec::new(),
            reproduced_by: Vec::new(),
            evidence: None,
        }
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

/// Causes that say no more than "the kernel refused it": any other finding replaces them.
const GENERIC: [&str; 2] = ["program-load-failed", "verifier-rejected"];

/// Causes the verifier's own words name: their evidence is its verdict.
const VERIFIER_CAUSES: [&str; 10] = [
    "used-after-release",
    "invalid-mem-access",
    "null-check-missing",
    "unreleased-reference",
    "unbounded-value",
    "gpl-only-helper",
    "program-too-large",
    "helper-not-allowed",
    "helpers-withheld",
    "verifier-rejected",
];

/// A `dummy_…` target libbpf could not find: a placeholder that the
/// object's loader replaces (set_attach_target) before load.
fn placeholder_target(evidence: &Evidence) -> Option<String> {
    let line = evidence.line_with("failed to find kernel BTF type ID of 'dummy_")?;
    let (_, rest) = line.split_once("type ID of '")?;
    rest.split('\'').next().map(str::to_string)
}

/// The causes a log, an error text or a transcript shows, most specific
/// first, one finding per cause. An errno counts only at the stage libbpf's
/// wording (or a transcript) shows; a message of the index outranks any
/// errno row, and a specific cause the generic "the kernel refused it".
pub fn match_text(text: &str) -> Vec<Finding> {
    let evidence = Evidence::read(text);
    let mut seen = BTreeSet::new();
    let mut findings: Vec<(bool, Finding)> = Vec::new();
    for entry in ENTRIES.iter().filter(|e| (e.matches)(&evidence)) {
        if !seen.insert(entry.cause) {
            continue;
        }
        let severity = if NOT_FAILURES.contains(&entry.cause) { Severity::Note } else { Severity::Error };
        let mut finding = Finding::from_entry(entry.cause, Some(entry), severity);
        let verdict = VERIFIER_CAUSES.contains(&entry.cause).then(|| evidence.verifier_verdict()).flatten();
        let quoted = [entry.cell, "FAILED", "(libbpf logged nothing)", "observed"].iter().find_map(|n| evidence.line_with(n));
        if let Some(line) = verdict.or(quoted.map(str::to_string)) {
            finding = finding.evidence(line);
        }
        let by_errno = entry.row().is_some_and(|r| r.section == "By errno");
        findings.push((by_errno, refine(finding, &evidence)));
    }
    let explained = findings.iter().any(|(by_errno, f)| !by_errno && !GENERIC.contains(&f.cause) && f.severity == Severity::Error);
    let mut findings: Vec<Finding> = findings.into_iter().filter(|(by_errno, _)| !(explained && *by_errno)).map(|(_, f)| f).collect();
    if findings.iter().any(|f| !GENERIC.contains(&f.cause)) {
        findings.retain(|f| !GENERIC.contains(&f.cause));
    }
    // The verifier's rejection says more than libbpf's "load failed".
    if findings.len() > 1 {
        findings.retain(|f| f.cause != "program-load-failed");
    }
    if let Some(target) = placeholder_target(&evidence) {
        findings.push(
            Finding::plain(
                "placeholder-target",
                Severity::Note,
                format!("{target} is a placeholder: the object's loader sets the real target at run time (set_attach_target before load); this load ran without it"),
                format!("if this is your loader, call set_attach_target on the program before load (or turn the program off with set_autoload(false)); {target} itself is no kernel function"),
            )
            .evidence(evidence.line_with("dummy_").unwrap_or_default().to_string()),
        );
    }
    if findings.is_empty() && evidence.stage.is_none() {
        if let Some(errno) = evidence.errnos.first() {
            findings.push(Finding::plain(
                "stage-unknown",
                Severity::Note,
                format!("{errno} with no stage: it means different things at open, load and attach, and nothing here says which failed"),
                "give libbpf's whole log (print callback at Info or Debug): its lines name the stage",
            ));
        }
    }
    findings
}

/// What a finding can say more precisely with the log at hand.
fn refine(finding: Finding, evidence: &Evidence) -> Finding {
    match finding.cause {
        // libbpf's own words: the loader was root, so a privilege is not what is missing.
        "not-permitted" if evidence.says("while running as root") => finding
            .summary("EPERM although the loader runs as root: not a missing privilege, nor RLIMIT_MEMLOCK (libbpf's 'ulimit -l' hint is a guess; since 5.11 the kernel charges BPF memory to the cgroup). The kernel refuses this program itself, and its log does not say why")
            .fix("find what this kernel allows: try the same hook with another program type (a tracepoint or kprobe instead of fentry or lsm), check lockdown (cat /sys/kernel/security/lockdown), and any LSM that may refuse BPF"),
        // Only a dereference names the pointer; a helper's argument list does not say which one.
        "null-check-missing" if evidence.invalid_access_of().is_some() => match evidence.verifier_last_words().and_then(|w| w.source).and_then(|(code, _)| dereferenced_name(code)) {
            Some(name) => finding.fix(format!("check {name} before use: if (!{name}) return 0;")),
            None => finding,
        },
        // The kernel's run count tells an attach point nothing hits from a
        // program that runs and drops every event: one symptom, two causes.
        "tracepoint-never-fires" => {
            let runs = evidence.program_runs();
            let ran: Vec<String> = runs.iter().filter(|(_, n)| *n > 0).map(|(name, n)| format!("{name} {n} times")).collect();
            if runs.is_empty() {
                finding
            } else if ran.is_empty() {
                let names: Vec<&str> = runs.iter().map(|(name, _)| name.as_str()).collect();
                finding.summary(format!(
                    "attached, but the program never ran: the kernel counted 0 runs of {}. Nothing reaches its attach point: it is not the one the workload hits (sys_enter_open, not sys_enter_openat), or the link was dropped before the workload ran",
                    names.join(", ")
                ))
            } else {
                let Finding { index, see, evidence: line, .. } = finding;
                Finding {
                    index,
                    see,
                    evidence: line,
                    ..Finding::plain(
                        "program-drops-every-event",
                        Severity::Error,
                        format!(
                            "the attach point works: the program ran ({}, as the kernel counts them), yet recorded nothing. A condition in it is false for every event: a filter that never matches (what does it compare, and are both sides the same kind of value?), or an early return before the count",
                            ran.join(", ")
                        ),
                        "print what the filter compares (bpf_printk, then cat /sys/kernel/tracing/trace_pipe) and compare it with the value the loader set",
                    )
                }
            }
        }
        "unreleased-reference" => match evidence.reserved_record() {
            Some((name, place)) => finding.fix(format!(
                "{name}, reserved at {place}, must be given back on every path: bpf_ringbuf_submit({name}, 0) or bpf_ringbuf_discard({name}, 0) before each return"
            )),
            None => finding,
        },
        "map-definition-refused" => match evidence.line_with("map '").and_then(|l| l.split_once("map '")).and_then(|(_, rest)| rest.split('\'').next()) {
            Some(map) => finding.fix(format!("declare map {map} as its map type requires; a ring buffer, for example, takes only __uint(type, BPF_MAP_TYPE_RINGBUF) and __uint(max_entries, <a power-of-two multiple of the page size>), no key or value")),
            None => finding,
        },
        "field-not-in-vmlinux-h" => match no_member(evidence) {
            Some((field, within, suggestion)) => {
                let like = suggestion.map(|s| format!(" (clang suggests `{s}`)")).unwrap_or_default();
                finding
                    .summary(format!("{within} has no field `{field}` in this vmlinux.h{like}: the kernel it was made from renamed or removed it"))
                    .fix(format!("read the field this kernel has; if older kernels have `{field}`, declare a flavor (struct {}___old {{ ... {field}; }}) and choose with bpf_core_field_exists()", within.trim_start_matches("struct ")))
            }
            None => finding,
        },
        _ => finding,
    }
}

/// The one pointer a source line dereferences (`*count += 1;`, `e->pid = 1;`), if only one.
fn dereferenced_name(code: &str) -> Option<String> {
    static DEREFERENCE: OnceLock<Regex> = OnceLock::new();
    let pattern = DEREFERENCE.get_or_init(|| Regex::new(r"\*\s*([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*(?:->|\[)").unwrap());
    let mut names: Vec<&str> = pattern.captures_iter(code).filter_map(|m| m.get(1).or(m.get(2)).map(|n| n.as_str())).collect();
    names.sort();
    names.dedup();
    match names.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// clang's `no member named 'f' in 'struct s'; did you mean 'g'?`: (f, struct s, g).
fn no_member(evidence: &Evidence) -> Option<(String, String, Option<String>)> {
    static NO_MEMBER: OnceLock<Regex> = OnceLock::new();
    let pattern = NO_MEMBER.get_or_init(|| Regex::new(r"no member named '([^']+)' in '([^']+)'(?:; did you mean '([^']+)'\?)?").unwrap());
    let line = evidence.line_with("error: no member named '")?;
    let m = pattern.captures(line)?;
    Some((m[1].to_string(), m[2].to_string(), m.get(3).map(|s| s.as_str().to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_error_index_has_exactly_one_rule_and_every_rule_a_row() {
        let rows = rows();
        assert!(rows.len() >= 20, "the error index has its tables ({} rows read)", rows.len());
        let wrong: Vec<String> = rows
            .iter()
            .filter_map(|row| {
                let claimed: Vec<&str> = ENTRIES.iter().filter(|e| e.claims(row)).map(|e| e.cause).collect();
                (claimed.len() != 1).then(|| format!("row {:?} ({}) is claimed by {claimed:?}", row.cells[0], row.cells[1]))
            })
            .collect();
        assert!(wrong.is_empty(), "error index rows without exactly one rule:\n{}", wrong.join("\n"));
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

    /// Whether `snapshot` (`layer-2@6.1-arm64`) is of a kernel and state the
    /// lesson in `course` explains under `[kernel_notes]`.
    fn noted(course: &std::path::Path, snapshot: &str) -> bool {
        let Some((state, kernel)) = snapshot.split_once('@') else { return false };
        // Read as plain TOML: the lessons module already depends on this one.
        let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(course.join("lesson.toml")).unwrap()).unwrap();
        manifest.get("kernel_notes").and_then(|notes| notes.get(kernel)).is_some_and(|notes| notes.get(state).is_some())
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
            assert!(
                variants.iter().all(|v| v.is_empty() || first_is_claimed(v)),
                "probe {probe}: diagnosed as {variants:?}, its cause is one of {claimed:?}"
            );
        }
    }

    /// A lesson transcript that shows a failure names its layer's cause. (A
    /// layer whose failure needs another kernel is named by its object, in
    /// the diagnose integration test.)
    #[test]
    fn every_failing_lesson_transcript_names_its_layers_cause() {
        let mut count = 0;
        for lesson in std::fs::read_dir(workbook().join("course")).unwrap().map(|e| e.unwrap().path()) {
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
                // arm64's failed kernel read of a user pointer is -EFAULT, which a user
                // read of a page not yet touched gives too: no text names the cause there.
                if name.ends_with("-arm64")
                    && match_text(&std::fs::read_to_string(&path).unwrap()).iter().all(|f| f.cause == "stage-unknown")
                {
                    continue;
                }
                let found: Vec<&str> = match_text(&std::fs::read_to_string(&path).unwrap()).iter().map(|f| f.cause).collect();
                let claimed = claimed_by(&format!("lesson {number} layer {layer}"));
                assert!(!claimed.is_empty(), "lesson {number} layer {layer}: no cause claims it");
                // A kernel whose outcome the lesson explains in a note (arm64's missing
                // `sys_enter_open`, say) fails otherwise, as the note says.
                if noted(&lesson, &name) {
                    continue;
                }
                assert!(
                    found.is_empty() || found.iter().any(|f| claimed.contains(f)),
                    "lesson {number} {name}: diagnosed as {found:?}, its cause is one of {claimed:?}"
                );
                count += 1;
            }
        }
        assert!(count >= 10, "{count} lesson transcripts");
        let attach = workbook().join("course/02-attach");
        assert!(noted(&attach, "layer-2@6.1-arm64") && !noted(&attach, "layer-2@5.10") && !noted(&attach, "layer-2"));
    }

    /// What a cause says reproduces it exists; a log of the pasted-log corpus is diagnosed as that cause.
    #[test]
    fn every_reproduction_a_cause_names_exists() {
        for cause in CAUSES {
            for who in cause.reproduced_by {
                if let Some(log) = who.strip_prefix("log ") {
                    let path = workbook().join(format!("xtask/tests/data/logs/{log}.log"));
                    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {who}: {e}", cause.id));
                    let found: Vec<&str> = match_text(&text).iter().map(|f| f.cause).collect();
                    assert_eq!(found.first(), Some(&cause.id), "{}: {who} is diagnosed as {found:?}", cause.id);
                } else if let Some(probe) = who.strip_prefix("probe ") {
                    let snapshot = workbook().join(format!("book/probes/snapshots/{probe}.snap"));
                    let awaited = AWAITING_THEIR_ROW.contains(&cause.id);
                    assert!(
                        snapshot.exists() != awaited,
                        "{}: {who}: snapshot exists: {}, awaited: {awaited}",
                        cause.id,
                        snapshot.exists()
                    );
                } else {
                    let rest = who.strip_prefix("lesson ").unwrap_or_else(|| panic!("{}: {who}", cause.id));
                    let (number, layer) = rest.split_once(" layer ").unwrap();
                    let lesson = std::fs::read_dir(workbook().join("course"))
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
        assert_eq!((row.link.as_str(), row.section.as_str()), ("errors.html#eopnotsupp-open", "By errno"));
        assert_eq!(row.see, ["04-macros.html#maps-are-declared-in-btf-now"]);
        let clang = rows().iter().find(|r| r.cells[0].contains("asm/types.h")).unwrap();
        assert_eq!(clang.link, "errors.html#asm-types-h-file-not-found");
        let parsed = parse("## By errno\n\n| what | stage |\n|---|---|\n| `EPERM` | load |\n");
        assert_eq!(
            (parsed[0].cells[0].as_str(), parsed[0].link.as_str()),
            ("EPERM", "errors.html#by-errno"),
            "a row without its own anchor"
        );
        assert_eq!(row.fix.as_deref(), Some("Declare the map as a BTF-defined map in .maps."), "the fix column, last");
        let old = parse(
            "## By errno\n\n| what | stage | meaning | see |\n|---|---|---|---|\n| `EPERM` | load | m | [lesson 01](01-open-fails.md) |\n",
        );
        assert_eq!(
            (old[0].see.as_slice(), old[0].fix.as_deref()),
            (&["01-open-fails.html".to_string()][..], None),
            "a table without a fix column"
        );
        let short = parse("## By errno\n\n| what | stage | meaning | see | fix |\n|---|---|---|---|---|\n| `EPERM` | load | m | [lesson 01](01-open-fails.md) |\n");
        assert_eq!((short[0].see.len(), short[0].fix.as_deref()), (1, None), "a row written before the fix column was added");
    }

    #[test]
    fn a_bare_errno_names_no_cause_only_the_missing_stage() {
        for bare in
            ["Error: No such process (os error 3)", "Error: Invalid argument (os error 22)", "Error: Operation not permitted (os error 1)"]
        {
            let found: Vec<_> = match_text(bare).iter().map(|f| (f.cause, f.severity)).collect();
            assert_eq!(found, [("stage-unknown", Severity::Note)], "{bare}");
        }
    }

    #[test]
    fn libbpfs_wording_gives_the_errno_its_stage() {
        let attach = "failed to attach BPF programs: -22";
        assert_eq!(match_text(attach)[0].cause, "tp-without-category");
        let load = "libbpf: map 'scratch': failed to create: -E2BIG\nError: Argument list too long (os error 7)";
        assert_eq!(match_text(load).iter().map(|f| f.cause).collect::<Vec<_>>(), ["percpu-value-too-big"]);
        let open = "libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+\nfailed to open BPF object: Operation not supported";
        assert_eq!(match_text(open).iter().map(|f| f.cause).collect::<Vec<_>>(), ["legacy-maps"]);
    }

    #[test]
    fn the_lockdown_rule_reads_both_wordings_of_the_verifier() {
        for said in ["unknown func bpf_probe_read#4", "program of this type cannot use helper bpf_probe_read#4"] {
            let log = format!(
                "libbpf: prog 'p': BPF program load failed: -EINVAL\n0: R1=ctx() R10=fp0\n{said}\nprocessed 3 insns (limit 1000000)"
            );
            assert_eq!(match_text(&log).iter().map(|f| f.cause).collect::<Vec<_>>(), ["helpers-withheld"], "{said}");
        }
        let other = "libbpf: prog 'p': BPF program load failed: -EINVAL\nprogram of this type cannot use helper bpf_sk_release#86\nprocessed 4 insns";
        assert_eq!(match_text(other)[0].cause, "helper-not-allowed");
    }

    #[test]
    fn the_scalar_rule_needs_a_scalar_and_a_null_pointer_gets_the_null_check() {
        let access =
            |what: &str| format!("libbpf: prog 'p': BPF program load failed: -EACCES\nR0 invalid mem access '{what}'\nprocessed 8 insns");
        let cause = |what: &str| match_text(&access(what)).iter().map(|f| f.cause).collect::<Vec<_>>();
        assert_eq!(cause("scalar"), ["invalid-mem-access"]);
        assert_eq!(cause("inv"), ["invalid-mem-access"]);
        assert_eq!(cause("map_value_or_null"), ["null-check-missing"]);
        assert_eq!(cause("ringbuf_mem_or_null"), ["null-check-missing"]);
        assert_eq!(cause("ctx"), ["verifier-rejected"]);
    }

    #[test]
    fn a_verifier_finding_quotes_its_verdict_and_source_line() {
        let log = std::fs::read_to_string(workbook().join("xtask/tests/data/logs/lookup-without-null-check.log")).unwrap();
        let findings = match_text(&log);
        assert_eq!(findings.len(), 1, "a specific cause replaces the generic ones: {findings:?}");
        assert_eq!(
            findings[0].evidence.as_deref(),
            Some("R0 invalid mem access 'map_value_or_null' (at nullcheck.bpf.c:12: *count += 1;)")
        );
        let leak = std::fs::read_to_string(workbook().join("xtask/tests/data/logs/ring-buffer-reserve-not-submitted.log")).unwrap();
        let evidence = match_text(&leak)[0].evidence.clone().unwrap();
        assert!(evidence.starts_with("Unreleased reference id=2 alloc_insn=5 / BPF_EXIT instruction"), "{evidence}");
    }

    #[test]
    fn fix_lines_name_the_programs_own_variables() {
        let read = |name: &str| std::fs::read_to_string(workbook().join(format!("xtask/tests/data/logs/{name}.log"))).unwrap();
        assert_eq!(match_text(&read("lookup-without-null-check"))[0].fix, "check count before use: if (!count) return 0;");
        assert_eq!(
            match_text(&read("ring-buffer-reserve-not-submitted"))[0].fix,
            "e, reserved at unreleased.bpf.c:11, must be given back on every path: bpf_ringbuf_submit(e, 0) or bpf_ringbuf_discard(e, 0) before each return"
        );
        assert_eq!(dereferenced_name("e->pid = bpf_get_current_pid_tgid() >> 32;").as_deref(), Some("e"));
        assert_eq!(dereferenced_name("a->b = *c;"), None, "two candidates: no guess");
    }

    #[test]
    fn eperm_as_root_is_not_blamed_on_privileges() {
        let log = std::fs::read_to_string(workbook().join("xtask/tests/data/logs/fentry-eperm-as-root.log")).unwrap();
        let finding = &match_text(&log)[0];
        assert_eq!(finding.cause, "not-permitted");
        assert!(finding.summary.contains("runs as root") && !finding.fix.contains("run the loader as root"), "{finding:?}");
    }

    #[test]
    fn a_placeholder_target_is_a_note() {
        let log = std::fs::read_to_string(workbook().join("xtask/tests/data/logs/placeholder-target-not-set.log")).unwrap();
        let found: Vec<_> = match_text(&log).iter().map(|f| (f.cause, f.severity)).collect();
        assert_eq!(found, [("placeholder-target", Severity::Note)]);
    }

    #[test]
    fn a_missing_field_names_the_field_and_clangs_suggestion() {
        let log = "x.bpf.c:8:106: error: no member named 'state' in 'struct task_struct'; did you mean 'stats'?";
        let finding = &match_text(log)[0];
        assert_eq!(finding.cause, "field-not-in-vmlinux-h");
        assert!(
            finding.summary.starts_with("struct task_struct has no field `state`") && finding.summary.contains("`stats`"),
            "{}",
            finding.summary
        );
        assert!(finding.fix.contains("struct task_struct___old"), "{}", finding.fix);
    }

    #[test]
    fn a_message_outranks_its_errno() {
        let log = "libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+\nError: Operation not supported (os error 95)";
        let findings = match_text(log);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].cause, "legacy-maps");
        assert_eq!(
            findings[0].evidence.as_deref(),
            Some("libbpf: elf: legacy map definitions in 'maps' section are not supported by libbpf v1.0+")
        );
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

#[cfg(test)]
mod run_count_tests {
    use super::*;

    fn transcript(runs: &[(&str, u64)]) -> String {
        let mut text = "attach   ok\nobserved 0 of N file opens by this process\nnote     attached: tracepoint sys_enter_openat, as the kernel reports it".to_string();
        for (name, n) in runs {
            text.push_str(&format!("\nnote     {}", transcript::line::runs_note(name, *n, true)));
        }
        text
    }

    #[test]
    fn a_program_that_ran_and_counted_nothing_is_a_condition_not_the_attach_point() {
        let found = match_text(&transcript(&[("count_opens", 1234)]));
        assert_eq!(found[0].cause, "program-drops-every-event", "{found:?}");
        assert!(found[0].summary.contains("count_opens 1234 times"), "{}", found[0].summary);
        let never = match_text(&transcript(&[("count_opens", 0)]));
        assert_eq!(never[0].cause, "tracepoint-never-fires");
        assert!(never[0].summary.contains("never ran"), "{}", never[0].summary);
        // Without the kernel's count, the symptom alone says no more than before.
        let unknown = match_text(&transcript(&[]));
        assert_eq!(unknown[0].cause, "tracepoint-never-fires");
        assert_eq!(unknown[0].summary, cause("tracepoint-never-fires").summary);
    }
}
