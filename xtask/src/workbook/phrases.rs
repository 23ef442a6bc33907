//! The sentences `check` and `hint` say themselves, in the learner's
//! language; the lessons' own texts (layer names, hints) come from the book's
//! translation (`translation`). A phrase is whole, with its values in place,
//! so a translation can put them where its grammar wants them.

use crate::workbook::error_index::{self, Finding};
use crate::workbook::translation::Translator;

/// The commands' own sentences, in English or Simplified Chinese.
#[derive(Debug, Clone, Copy)]
pub struct Phrases {
    pub english: bool,
}

impl Phrases {
    pub fn english() -> Phrases {
        Phrases { english: true }
    }

    pub fn of(tr: &Translator) -> Phrases {
        Phrases { english: tr.is_english() }
    }

    fn say(&self, english: impl Into<String>, chinese: impl Into<String>) -> String {
        if self.english {
            english.into()
        } else {
            chinese.into()
        }
    }

    pub fn passed(&self, lesson: &str) -> String {
        self.say(
            format!("lesson {lesson} already passes. The book's chapter explains the fix in full."),
            format!("第 {lesson} 课已经通过。书中对应章节完整讲解了修复方法。"),
        )
    }

    pub fn not_checked(&self, lesson: &str) -> String {
        self.say(
            format!("(you have not checked lesson {lesson} yet; here is the first layer's hint)"),
            format!("（你还没有检查过第 {lesson} 课；下面是第一层的提示）"),
        )
    }

    pub fn last_cause(&self) -> String {
        self.say("the last check's cause: ", "上次检查找到的原因：")
    }

    pub fn layer(&self, k: usize, of: usize) -> String {
        self.say(format!("layer {k} of {of}: "), format!("第 {k} 层（共 {of} 层）："))
    }

    pub fn more(&self) -> String {
        self.say("more: ", "进一步提示：")
    }

    pub fn ask_again(&self, lesson: &str) -> String {
        self.say(
            format!("(run `cargo xtask hint {lesson}` again, or with --more, for the API and where to look)"),
            format!("（再运行一次 `cargo xtask hint {lesson}`，或加上 --more，可以看到相关 API 以及该去哪里找）"),
        )
    }

    pub fn lesson_title(&self, lesson: &str, title: &str) -> String {
        self.say(format!("lesson {lesson} · {title}"), format!("第 {lesson} 课 · {title}"))
    }

    pub fn under_qemu(&self, kernel: &str) -> String {
        self.say(format!(" · on {kernel} under qemu"), format!(" · 在 qemu 中的 {kernel} 上"))
    }

    // What a failing check says, label by label.

    pub fn not_yet(&self) -> String {
        self.say("not yet:", "还没有通过：")
    }

    pub fn not_proven(&self) -> String {
        self.say("not proven:", "尚未证明：")
    }

    pub fn stopped_at(&self, stage: &str) -> String {
        self.say(format!("stopped at {stage}"), format!("停在了{}阶段", stage_in_chinese(stage)))
    }

    pub fn ran_to_the_end(&self) -> String {
        self.say("it ran to the end, but its transcript is not a working program's", "程序运行到了最后，但它的记录与正常工作的程序不同")
    }

    pub fn kept_compile(&self) -> String {
        self.say(
            "your change does not compile (its first error is below); once it does, the layer you were on is still to fix",
            "你的改动无法编译（第一个错误见下方）；编译通过之后，你之前所在的那一层仍然需要修复",
        )
    }

    pub fn kept_stage(&self, stage: &str) -> String {
        self.say(
            format!("stopped at {stage}: a new failure, not the layer's own symptom; your change to that layer caused it, and the layer is still to fix"),
            format!("停在了{}阶段：这是一个新的失败，不是这一层本身的症状；是你对这一层的改动引起的，这一层仍然需要修复", stage_in_chinese(stage)),
        )
    }

    pub fn kept_ran(&self) -> String {
        self.say(
            "it ran to the end, but not as a working program does, and not with the layer's own symptom: your change to that layer did this, and the layer is still to fix",
            "程序运行到了最后，但结果与正常工作的程序不同，也不是这一层本身的症状：这是你对这一层的改动造成的，这一层仍然需要修复",
        )
    }

    pub fn timed_out(&self, seconds: u64) -> Vec<String> {
        if self.english {
            vec![
                format!("the program did not finish within {seconds} s, so the checker stopped it."),
                "A loader that waits for an event that never comes, or handles events without end, does this.".into(),
                "Nothing it loaded stays in the kernel.".into(),
            ]
        } else {
            vec![
                format!("程序没有在 {seconds} 秒内结束，所以检查器停止了它。"),
                "等待一个永远不会到来的事件，或者无休止地处理事件的加载器会这样。".into(),
                "它加载的任何东西都不会留在内核中。".into(),
            ]
        }
    }

    pub fn unproven(&self) -> Vec<String> {
        if self.english {
            vec![
                "the program could not be tested against the other kernel layout here (the `portable` line says why).".into(),
                "`cargo xtask setup` fetches what that needs; check again then. Until it is proven, the lesson does not pass.".into(),
            ]
        } else {
            vec![
                "这里无法针对另一种内核布局测试这个程序（`portable` 那一行说明了原因）。".into(),
                "`cargo xtask setup` 会获取所需的东西；之后再检查一次。在得到证明之前，这一课不算通过。".into(),
            ]
        }
    }

    pub fn rustc_warned(&self) -> String {
        self.say("rustc warned about your code:", "rustc 对你的代码给出了警告：")
    }

    pub fn cause(&self) -> String {
        self.say("cause:", "原因：")
    }

    pub fn place(&self) -> String {
        self.say("where:", "位置：")
    }

    pub fn hint(&self) -> String {
        self.say("hint:", "提示：")
    }

    pub fn verifier_stopped(&self, place: &str, code: &str, instruction: Option<&str>) -> String {
        match (self.english, instruction) {
            (true, Some(i)) => format!("the verifier stopped at {place}: `{code}` (instruction {i})"),
            (true, None) => format!("the verifier stopped at {place}: `{code}`"),
            (false, Some(i)) => format!("验证器停在了 {place}：`{code}`（指令 {i}）"),
            (false, None) => format!("验证器停在了 {place}：`{code}`"),
        }
    }

    pub fn ask_hint(&self, lesson: &str) -> String {
        self.say(format!("`cargo xtask hint {lesson}` helps"), format!("`cargo xtask hint {lesson}` 可以帮你"))
    }

    pub fn stuck(&self, lesson: &str) -> String {
        self.say(format!("stuck? `cargo xtask hint {lesson}` says more"), format!("卡住了？`cargo xtask hint {lesson}` 会说得更多"))
    }

    pub fn full_log(&self, path: &str) -> String {
        self.say(format!("full log (libbpf, or the compilers): {path}"), format!("完整日志（libbpf 的，或编译器的）：{path}"))
    }

    pub fn first_compile_error(&self, error: &str) -> String {
        self.say(
            format!("your change does not compile; here is the first error:\n  {error}"),
            format!("你的改动无法编译；这是第一个错误：\n  {error}"),
        )
    }

    pub fn panicked(&self) -> String {
        self.say(
            "the loader panicked; the panic line above says where. No layer of this lesson panics.",
            "加载器 panic 了；上方的 panic 那一行说明了位置。这一课没有哪一层会 panic。",
        )
    }

    pub fn unknown_failure(&self, lesson: &str) -> String {
        self.say(
            format!("this is not one of the lesson's known failures: compare your transcript with a working program's (`cargo xtask check {lesson}` prints both); undo your last change if it made things worse."),
            format!("这不是本课已知的失败之一：把你的记录和正常工作的程序的记录比较一下（`cargo xtask check {lesson}` 会同时打印两者）；如果上一次改动让情况变糟了，就撤销它。"),
        )
    }

    pub fn unplanned_with_cause(&self) -> String {
        self.say(
            "this failure is none of the lesson's planned layers, and the cause above is what the rules find in your program and its run: start there.",
            "这个失败不属于本课设计的任何一层；上方的原因是规则在你的程序及其运行中找到的：从那里入手。",
        )
    }

    /// The hint when the cause found is not what the learner's layer plans:
    /// the cause's own concept, without the fix's code; a general word where
    /// the cause has none of its own.
    pub fn hint_for_cause(&self, id: &str) -> String {
        match self.own_hint_for_cause(id) {
            Some(hint) => hint,
            None => self.say(
                "the cause above is not what this layer is about: your program does something the lesson did not plan for, and the layer's own hint would lead elsewhere. Start from the cause; once it is gone, this layer's hint applies again.",
                "上方的原因不是这一层要讲的：你的程序做了一件本课没有预料到的事，这一层自己的提示会把你引到别处。从这个原因入手；它消失之后，这一层的提示就又适用了。",
            ),
        }
    }

    /// The cause's own concept, when it has one.
    pub fn own_hint_for_cause(&self, id: &str) -> Option<String> {
        cause_hint(id).map(|(english, chinese)| self.say(english, chinese))
    }

    // A passing check, and what the loader printed.

    pub fn works(&self, lesson: &str) -> String {
        self.say(
            format!("lesson {lesson} works: it loads, attaches and sees what it exists for"),
            format!("第 {lesson} 课可以工作了：它能加载、附加，并观察到它要观察的事件"),
        )
    }

    pub fn note(&self) -> String {
        self.say("note:", "注意：")
    }

    pub fn untested(&self, layers: &str, lesson: &str) -> String {
        self.say(
            format!(
                "untested here, where the kernel has no kprobes: {layers}. `cargo xtask check {lesson} --kernel 6.12` tests it under qemu."
            ),
            format!("这里的内核没有 kprobe，因此没有测试：{layers}。`cargo xtask check {lesson} --kernel 6.12` 会在 qemu 中测试它。"),
        )
    }

    pub fn next(&self, lesson: &str) -> String {
        self.say(format!("next: cargo xtask check {lesson}"), format!("下一步：cargo xtask check {lesson}"))
    }

    pub fn own_output(&self) -> String {
        self.say("your program's own output (shown, not compared):", "你的程序自己的输出（仅显示，不比较）：")
    }

    pub fn own_stderr(&self) -> String {
        self.say("your program's stderr (shown, not compared):", "你的程序的 stderr（仅显示，不比较）：")
    }

    pub fn callback_logged(&self) -> String {
        self.say(
            "libbpf did log: your own print callback received it and wrote it to stderr (above), so the transcript, which reads only what reaches the harness's callback, shows nothing",
            "libbpf 确实输出了日志：你自己的打印回调收到了它并写到了 stderr（见上方），而记录只读取到达测试框架回调的内容，所以什么也没显示",
        )
    }

    /// The learner's diff: its heading, then the labels of the two sides.
    pub fn diff_headings(&self) -> (String, String, String) {
        if self.english {
            ("where it parts from a working program:".into(), "yours:".into(), "a working program:".into())
        } else {
            ("与正常工作的程序开始不同的地方：".into(), "你的：".into(), "正常工作的程序：".into())
        }
    }

    pub fn nothing_here(&self) -> String {
        self.say("(nothing here)", "（这里什么也没有）")
    }

    pub fn more_lines(&self, count: usize) -> String {
        self.say(format!("(… {count} more lines)"), format!("（…… 还有 {count} 行）"))
    }
}

impl Phrases {
    /// A cause as `check` names it: its summary, then its id (the same in
    /// every language, for the book's error index and for scripts). In
    /// Chinese the summary is the cause's own; where the rules said more of
    /// this program, the code or log line they rest on follows it.
    pub fn cause_line(&self, finding: &Finding) -> String {
        if self.english {
            return format!("{} ({})", finding.summary, finding.cause);
        }
        let Some(chinese) = cause_in_chinese(finding.cause) else {
            return format!("{} ({})", finding.summary, finding.cause);
        };
        let generic = error_index::CAUSES.iter().any(|c| c.id == finding.cause && c.summary == finding.summary);
        match finding.evidence.as_deref().filter(|_| !generic) {
            Some(evidence) => format!("{chinese}（依据：{}）({})", evidence_in_chinese(evidence), finding.cause),
            None => format!("{chinese} ({})", finding.cause),
        }
    }
}

/// The rules' evidence with its English framing in Chinese; the code or log line it quotes stays as it is.
fn evidence_in_chinese(evidence: &str) -> String {
    if let Some((number, code)) = evidence.strip_prefix("line ").and_then(|rest| rest.split_once(": ")) {
        if number.chars().all(|c| c.is_ascii_digit()) {
            return format!("第 {number} 行：{code}");
        }
    }
    if let Some((program, section)) = evidence.strip_prefix("program ").and_then(|rest| rest.split_once(" in ")) {
        return format!("{section} 中的程序 {program}");
    }
    if let Some((kind, section)) = evidence.split_once(" relocation in ") {
        return format!("{section} 中的 {kind} 重定位");
    }
    evidence.to_string()
}

/// A transcript's stage in Chinese, with its own name, which the transcript shows.
pub fn stage_in_chinese(stage: &str) -> String {
    let name = match stage {
        "compile" => "编译",
        "portable" => "可移植性检查",
        "open" => "打开",
        "load" => "加载",
        "attach" => "附加",
        "run" => "运行",
        _ => return format!(" {stage} "),
    };
    format!("{name}（{stage}）")
}

/// A cause's concept, in English and Chinese: what to think about, never the fix's code.
fn cause_hint(id: &str) -> Option<(&'static str, &'static str)> {
    Some(match id {
        "silenced-log" => (
            "libbpf explains every failure in its log, and the loader decides where that log goes. Where does yours send it?",
            "libbpf 会在日志中解释每一次失败，而日志去向由加载器决定。你的加载器把它送到了哪里？",
        ),
        "no-btf" => (
            "libbpf reads the maps' definitions from the object's BTF, which clang writes only when it is asked for debug information. What does the BPF build's clang command lack?",
            "libbpf 从对象文件的 BTF 中读取 map 的定义，而 clang 只有在被要求生成调试信息时才会写出 BTF。BPF 构建的 clang 命令缺了什么？",
        ),
        "tp-without-category" => (
            "A tracepoint's section names two things, the category and the event, as the folders under /sys/kernel/tracing/events/ do; libbpf splits the name at the slash. Which part is missing from yours?",
            "tracepoint 的段名包含两部分：类别和事件，与 /sys/kernel/tracing/events/ 下的目录一致；libbpf 在斜杠处把名字分开。你的段名缺了哪一部分？",
        ),
        "raw-tp-wrong-name" => (
            "raw_tp programs attach to the kernel's raw tracepoints, which are not the per-system-call events of tracefs. Which raw tracepoint do system calls go through?",
            "raw_tp 程序附加到内核的原始 tracepoint 上，它们不是 tracefs 中按系统调用划分的事件。系统调用经过的是哪一个原始 tracepoint？",
        ),
        "tracepoint-not-found" => (
            "libbpf looks the tracepoint up in tracefs by its category and name. Is tracefs mounted, and does that folder exist under events/?",
            "libbpf 按类别和名字在 tracefs 中查找 tracepoint。tracefs 挂载了吗？events/ 下有那个目录吗？",
        ),
        "kprobe-missing-function" => (
            "A kprobe attaches to a kernel function by its symbol name, and system call functions are named differently across kernels and architectures. Which symbol does this kernel have (/proc/kallsyms)?",
            "kprobe 按符号名附加到内核函数上，而系统调用函数的名字在不同内核和架构上并不相同。这个内核里有的是哪个符号（/proc/kallsyms）？",
        ),
        "attach-target-not-in-btf" => (
            "The attach target is looked up in the kernel's BTF, which has functions and types, not tracepoint names. Does this program type need a target given at all, beyond its section name?",
            "附加目标是在内核的 BTF 中查找的，BTF 里有函数和类型，没有 tracepoint 的名字。这种程序类型除了段名之外，还需要另外指定目标吗？",
        ),
        "tracepoint-never-fires" => (
            "The program attached, yet it never ran. Either it is attached where the workload never passes, or nothing keeps the attachment alive while the workload runs. Which one is it?",
            "程序已经附加，却从未运行。要么它附加在工作负载不经过的地方，要么在工作负载运行时没有东西让这个附加保持存活。是哪一种？",
        ),
        "program-drops-every-event" => (
            "The program runs, but records nothing: a condition in it turns every event away. Look at each filter and early return: are the two sides of a comparison the same kind of value?",
            "程序运行了，却什么也没记录：其中某个条件把每个事件都挡在了外面。看看每个过滤条件和提前返回：比较的两边是同一种值吗？",
        ),
        "compile-time-kernel-choice" => (
            "The preprocessor runs once, where the object is compiled, before the object has met any kernel. What can the program ask at load time instead, of the running kernel's own types?",
            "预处理器只在编译对象文件的地方运行一次，那时对象还没有遇到任何内核。程序能不能改为在加载时，向正在运行的内核的类型信息提问？",
        ),
        "core-relocation" => (
            "libbpf could not match a field or type the object names with the running kernel's BTF. Which name in the relocation does this kernel lack, and what does it have instead?",
            "libbpf 无法把对象引用的某个字段或类型与正在运行的内核的 BTF 对应起来。重定位中的哪个名字是这个内核没有的？它有的又是什么？",
        ),
        "field-not-in-vmlinux-h" => (
            "vmlinux.h declares the types of the kernel it was generated from. A field that kernel renamed or dropped is not there: how does a CO-RE program declare a layout vmlinux.h does not have?",
            "vmlinux.h 声明的是生成它的那个内核的类型。那个内核改名或删掉的字段不在其中：CO-RE 程序怎样声明 vmlinux.h 里没有的布局？",
        ),
        "invalid-mem-access" => (
            "The verifier lets a program follow a pointer with `->` only when it knows what the pointer points to; to it, this address is a plain number. How do CO-RE programs read kernel memory they reach through such a pointer?",
            "只有知道指针指向什么时，验证器才允许程序用 `->` 访问它；对验证器来说，这个地址只是一个普通的数。CO-RE 程序怎样读取通过这种指针访问到的内核内存？",
        ),
        "null-check-missing" => (
            "A map lookup or a ring buffer reservation can give NULL, and the verifier refuses any use of that pointer until the program has tested it. Where is it used before it is tested?",
            "map 查找或 ring buffer 预留都可能返回 NULL，在程序检查它之前，验证器拒绝对这个指针的任何使用。它在哪里被检查之前就用上了？",
        ),
        "unreleased-reference" => (
            "A reserved ring buffer record belongs to the program until it hands it back, on every path out of the function. Which return leaves it held?",
            "预留的 ring buffer 记录在交还之前都属于程序，函数的每一条退出路径都必须交还它。哪一个 return 没有交还？",
        ),
        "used-after-release" => (
            "Once a record is submitted or discarded it is the kernel's again, and the program may not touch it. What is written after it was handed back?",
            "记录一旦提交或丢弃，就又归内核所有，程序不能再碰它。交还之后又写了什么？",
        ),
        "unbounded-value" => (
            "The verifier needs to know, at each call, that a size or an index stays within the memory it is used on. What does it know of this value there: can it be negative, or too large?",
            "验证器需要在每次调用处知道一个大小或下标不会超出它所用的内存。在那里它对这个值知道些什么：它可能是负数，或者太大吗？",
        ),
        "bound-after-use" => (
            "The verifier judges each instruction with what it knows at that point, in the order the program runs. A check that comes after the call bounds nothing for the call.",
            "验证器按程序执行的顺序，用每条指令处已知的信息来判断它。放在调用之后的检查，对这次调用不起任何约束作用。",
        ),
        "stack-limit" => (
            "A BPF program has 512 bytes of stack for all its local variables. Where could a large buffer live instead?",
            "BPF 程序的所有局部变量一共只有 512 字节的栈。大的缓冲区还可以放在哪里？",
        ),
        "include-order" => (
            "libbpf's headers use the kernel types that vmlinux.h declares, so the order of the includes matters. Which must come first?",
            "libbpf 的头文件要用到 vmlinux.h 声明的内核类型，所以包含的顺序很重要。哪一个必须放在最前面？",
        ),
        "uapi-header" => (
            "vmlinux.h already declares every kernel type; a kernel UAPI header declares some of them again and pulls in headers of its own that a BPF build does not have. Does the program need that include at all?",
            "vmlinux.h 已经声明了所有内核类型；内核 UAPI 头文件会再声明其中一部分，还会引入 BPF 构建中没有的头文件。程序真的需要这个包含吗？",
        ),
        "vmlinux-h-not-found" => (
            "clang finds vmlinux.h only in the folders its include path names. Which folder holds it, and does the build tell clang?",
            "clang 只在包含路径列出的目录中查找 vmlinux.h。它在哪个目录里？构建告诉 clang 了吗？",
        ),
        "legacy-maps" => (
            "libbpf 1.0 reads maps only from their BTF definitions, in a section of their own. How are maps declared today?",
            "libbpf 1.0 只从 map 的 BTF 定义读取 map，而这些定义在专门的段中。现在的 map 是怎样声明的？",
        ),
        "map-definition-refused" => (
            "Each map type has its own rules for what its definition holds. A ring buffer is not looked up by a key: what does its definition need, and what must it leave out?",
            "每种 map 类型对其定义中能有什么都有自己的规则。ring buffer 不是按 key 查找的：它的定义需要什么，又必须省掉什么？",
        ),
        "gpl-only-helper" => (
            "Some helpers are only for programs with a GPL-compatible license, and the kernel reads the license from the object itself. What in the object tells the kernel its license?",
            "有些辅助函数只允许 GPL 兼容许可证的程序使用，而内核从对象文件本身读取许可证。对象中是什么告诉内核它的许可证的？",
        ),
        "helper-not-allowed" => (
            "Each program type may call only some helpers. Is this helper one this program type has, on this kernel?",
            "每种程序类型只能调用一部分辅助函数。这个辅助函数是这种程序类型在这个内核上能用的吗？",
        ),
        "user-pointer-kernel-read" => (
            "A system call's arguments point into the calling process's memory, not the kernel's, and the read helpers come in pairs for the two. Which one reads user memory?",
            "系统调用的参数指向调用进程的内存，而不是内核的内存；读取辅助函数对这两种内存是成对提供的。哪一个读的是用户内存？",
        ),
        "kernel-pointer-user-read" => (
            "This pointer is the kernel's own, as its BTF type says, and a helper for user memory fails on it. Which read helper fits kernel memory?",
            "正如它的 BTF 类型所示，这个指针是内核自己的，读用户内存的辅助函数读它会失败。哪个读取辅助函数适合内核内存？",
        ),
        "rodata-after-load" => (
            "Read-only data is frozen when the object is loaded, so the loader can set it only between open and load. Where in your loader does the write happen?",
            "只读数据在对象加载时就被冻结了，所以加载器只能在打开和加载之间设置它。你的加载器在哪里写的？",
        ),
        "data-loc-string" => (
            "A __data_loc field is not the string: one 32-bit number holds where the string lies in the record and how long it is. Which half is which?",
            "__data_loc 字段不是字符串本身：一个 32 位的数同时存放了字符串在记录中的位置和它的长度。哪一半是哪一个？",
        ),
        "wait-status-exit-code" => (
            "task->exit_code holds a wait status, not the exit code: the code and the signal share the number. Which bits hold the code?",
            "task->exit_code 保存的是 wait 状态而不是退出码：退出码和信号共用这个数。哪几位是退出码？",
        ),
        "thread-id-filter" => (
            "bpf_get_current_pid_tgid() packs two ids in one number, the thread's and the process's. Which half does the filter compare, and which does it mean?",
            "bpf_get_current_pid_tgid() 把两个 id 放在一个数里：线程的和进程的。过滤条件比较的是哪一半？它想要的是哪一半？",
        ),
        "update-flag-refuses-new-key" => (
            "The last argument of a map update says when the update may happen: only for a key already there, only for a new one, or either way. Which of the three does this line need, where the lookup found nothing?",
            "map 更新的最后一个参数规定了更新在什么情况下可以发生：只对已有的 key、只对新的 key，或者两者皆可。在查找什么也没找到的地方，这一行需要的是哪一种？",
        ),
        "map-key-size" => (
            "A map lookup from user space passes the key and value as bytes, whose size must be exactly the map's declared one. What size does the map declare, and what does the loader pass?",
            "从用户空间查找 map 时，key 和 value 以字节传递，它们的大小必须与 map 声明的完全一致。map 声明的大小是多少？加载器传的是多少？",
        ),
        _ => return None,
    })
}

/// Every cause's summary in Simplified Chinese, by id.
pub fn cause_in_chinese(id: &str) -> Option<&'static str> {
    Some(match id {
        "silenced-log" => "加载器的打印回调丢弃了 libbpf 的消息，所以失败时看不到原因",
        "no-btf" => "对象文件没有 .BTF 段（编译时没有加 -g），所以 libbpf 无法读取用 BTF 定义的 map",
        "attach-target-not-in-btf" => "附加目标不是这个内核的内核函数或 BTF 类型（把 tracepoint 的名字传给了 set_attach_target，或者这个内核没有该 tp_btf/fentry/lsm 目标）",
        "tracepoint-never-fires" => "已经附加，但程序从未被触发：这个 tracepoint 不是工作负载实际经过的那个（例如 sys_enter_open 而不是 sys_enter_openat），或者 link 已被丢弃",
        "program-drops-every-event" => "附加点没有问题：程序确实运行了（内核统计了它的运行次数），却什么也没记录。程序中的某个条件对每个事件都不成立：一个永远不匹配的过滤条件（它比较的是什么？两边是同一种值吗？），或者在计数之前就提前返回了",
        "kprobe-missing-function" => "这个内核中没有与 kprobe 同名的内核函数（被改名或被内联），或者内核不支持 kprobe",
        "tracepoint-not-found" => "libbpf 找不到这个 tracepoint 的 id：tracefs 没有挂载，或者没有这个名字的 tracepoint",
        "raw-tp-wrong-name" => "raw_tp/ 段指定了一个 raw_tp 不认识的 tracepoint（raw_tp 只有 sys_enter，没有 sys_enter_<调用名>）",
        "tp-without-category" => "tracepoint 段缺少类别，例如 tp/sys_enter_openat",
        "no-kernel-btf" => "内核没有 BTF（/sys/kernel/btf/vmlinux 不存在），所以 CO-RE 无法重定位",
        "core-relocation" => "一个 CO-RE 重定位无法应用：它引用了内核中不存在的字段或类型，或者直接读取了一个大小无法调整的字段",
        "kprobe-with-attach-target" => "对 kprobe 程序使用了 set_attach_target，内核拒绝了加载",
        "program-load-failed" => "内核拒绝了一个程序；这一行之后验证器的日志说明了原因",
        "legacy-maps" => "在 SEC(\"maps\") 中使用了旧式 map 定义，libbpf 1.0 已经移除了它",
        "verifier-rejected" => "验证器认为程序不安全而拒绝了它；日志的最后一行说明了原因",
        "invalid-mem-access" => "程序解引用了一个验证器不认为是指针的值：直接通过内核指针读取，或者代码没有用 -O2 编译",
        "not-permitted" => "不是 root，或者这个内核不允许这种程序类型",
        "percpu-value-too-big" => "per-CPU 数组的值大于 32 KiB",
        "xdp-already-attached" => "网卡上已经附加了一个 XDP 程序，而 no-replace 标志（XDP_FLAGS_UPDATE_IF_NOEXIST）禁止替换它",
        "kprobe-ambiguous" => "kprobe 的函数名有歧义：有多个内核符号叫这个名字",
        "not-a-bpf-object" => "这个文件不是 BPF ELF 对象，例如编译时没有加 -target bpf",
        "include-order" => "libbpf 的头文件在 vmlinux.h 之前被包含了",
        "stack-limit" => "程序的局部变量需要的空间超过了 512 字节的 BPF 栈",
        "core-read-without-g" => "BPF_CORE_READ 需要调试信息来记录它的重定位，而编译时缺少 -g",
        "uapi-header" => "包含了内核 UAPI 头文件（例如 <linux/bpf.h>），而使用 vmlinux.h 构建时，它的 asm/ 头文件不在包含路径上",
        "vmlinux-h-not-found" => "clang 的包含路径中缺少存放 vmlinux.h 的目录",
        "helpers-withheld" => "内核不提供读取辅助函数（lockdown=confidentiality）：验证器不认识 bpf_probe_read",
        "pin-perf-link" => "对一个不是内核 BPF link 的 link 调用了 Link::pin：libbpf 是通过 perf 事件的 ioctl 附加的，Linux 5.15 之前都是这样",
        "attached-twice" => "同一个程序已经附加到这个 tracepoint 上了",
        "tracepoint-program-limit" => "这个 tracepoint 上已经附加了 64 个 BPF 程序",
        "btf-rejected" => "内核拒绝了对象的 .BTF，libbpf 在没有它的情况下加载了程序：这不算失败",
        "wrong-size-flavor" => "某个 flavor 声明的字段比内核中的大：CO-RE 重定位的是偏移量而不是大小，所以读取会带上相邻字段的字节",
        "map-fd-before-load" => "在加载之前调用了 bpf_map__fd：map 在加载时才被创建并获得文件描述符，所以它返回 -1，errno 保持原样",
        "user-pointer-kernel-read" => "用内核读取辅助函数读取了用户空间的指针（例如系统调用的参数）：验证器分不清这两种地址，所以程序能加载，但读取在运行时失败，缓冲区保持为空",
        "null-check-missing" => "一个可能为 NULL 的指针（map 查找或 bpf_ringbuf_reserve 的结果）在没有检查 NULL 的情况下被使用了",
        "unreleased-reference" => "程序获取的引用（bpf_ringbuf_reserve、socket 查找）没有在每条退出路径上释放",
        "used-after-release" => "程序在归还内存之后又使用了它：在 bpf_ringbuf_submit 或 bpf_ringbuf_discard 之后还写入了 ring buffer 记录，验证器已不再信任那个指针",
        "unbounded-value" => "一个验证器无法确定边界的大小或下标：它可能是负数，或者比它所用的内存还大",
        "bound-after-use" => "验证器按调用处已知的信息来判断这次调用，而那个值直到调用之后才被检查：检查只对它之后的代码起约束作用，不会约束它之前的调用",
        "compile-time-kernel-choice" => "程序在编译时就选定了内核的布局（#if LINUX_VERSION_CODE ...）：这个值是编译时头文件的版本（没有包含 <linux/version.h> 时预处理器把它当作 0），对之后运行它的每个内核都一样。一个 CO-RE 对象要在许多内核上运行，这个选择必须在加载时根据正在运行的内核的 BTF 来做",
        "gpl-only-helper" => "程序调用了仅限 GPL 的辅助函数（bpf_printk、bpf_probe_read_kernel、BPF_CORE_READ……），而它的许可证不兼容 GPL 或者缺失",
        "program-too-large" => "验证器走了一百万条指令还没有结束：一个被逐次展开探索的循环，或者路径太多",
        "helper-not-allowed" => "程序调用了它的程序类型不能使用（或者这个内核没有）的辅助函数",
        "map-definition-refused" => "内核拒绝创建一个 map：它的定义违反了该 map 类型的规则，例如给 ring buffer 指定了 key 或 value 类型",
        "bitfield-read" => "用 BPF_CORE_READ 读取了位域，而它要取字段的地址：位域没有地址",
        "field-not-in-vmlinux-h" => "这个 vmlinux.h 中没有这个字段：生成它的内核改名或删除了这个字段",
        "uprobe-path-not-found" => "libbpf 找不到 uprobe 的文件：不含 '/' 的名字会在 $PATH 里查找（名字里有 .so 的，在 LD_LIBRARY_PATH 和库目录里查找）",
        "uprobe-symbol-not-found" => "文件的两个符号表里都没有这个名字的函数：Rust 或 C++ 的名字被修饰（mangle）过，函数处处被内联、又被链接器丢掉，或者它定义在另一个文件里",
        "uprobe-never-hit" => "uprobe 已经附加，其中一个却看不到它那个函数的任何调用：优化器内联了这个函数，调用方从不执行 uprobe 替换掉的那条指令；或者 link 已被丢弃",
        "uretprobe-argument-register" => "uretprobe 读的是参数的寄存器（BPF_UPROBE、PT_REGS_PARM1）：函数返回时，那里放着函数留下的任意值",
        "thread-id-filter" => "进程过滤比较的是 bpf_get_current_pid_tgid() 的低 32 位，即线程 id：只有主线程的 id 等于进程 id",
        "btf-ctx-beyond-prototype" => "带 BTF 类型的程序（fentry、fexit、tp_btf）读取上下文超出了目标函数原型：读了函数没有的参数，或者在 fentry 里读返回值（只有 fexit 能看到）",
        "kernel-pointer-user-read" => "用读用户内存的辅助函数读了内核指针（BTF 把这个 fentry 参数标成内核结构体，例如 struct filename 的 name），于是返回 -EFAULT",
        "syscall-wrapper-args" => "系统调用函数上的 kprobe 把调用的参数当作这个函数自己的参数来读：x86_64 自 4.17 起，这个函数是一个包装（__x64_sys_<call>），它唯一的参数是保存用户寄存器的 pt_regs *",
        "rodata-after-load" => "加载器通过已加载的 skeleton 写只读全局变量（rodata）：加载之后内核冻结了这个 map，所以 libbpf-rs 只给出它的 & 引用",
        "data-loc-string" => "tracepoint 中声明为 __data_loc 的字段是一个 32 位数，存放字符串在记录里的偏移和长度，既不是字符串本身，也不是指向它的指针",
        "wait-status-exit-code" => "task->exit_code 保存的是 wait 状态：退出码在第 8 到 15 位，低位是信号，所以读到的值是退出码的 256 倍",
        "update-flag-refuses-new-key" => "用 BPF_EXIST 添加一个查找时没有找到的 key，而 BPF_EXIST 只更新 map 中已经存在的 key：这次更新每次都会失败，这个 key 永远进不了 map",
        "map-key-size" => "从用户空间查找或更新 map 时使用的 key 或 value 的大小与 map 声明的不一致，例如对 u32 key 的 map 使用了 u64 key",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_hint_is_a_known_causes_and_names_no_fix() {
        let plain = ["program-drops-every-event", "bound-after-use", "compile-time-kernel-choice", "update-flag-refuses-new-key"];
        let known: Vec<&str> = error_index::CAUSES.iter().map(|c| c.id).chain(plain).collect();
        for id in &known {
            if let Some((english, chinese)) = cause_hint(id) {
                let fix = error_index::CAUSES.iter().find(|c| c.id == *id).map(|c| c.fix);
                assert!(fix.is_none_or(|f| !english.contains(f)), "{id}: the hint gives the fix away");
                assert!(!chinese.is_empty() && !english.is_empty());
            }
        }
        // The stage keeps its own name beside the Chinese one, as the transcript shows it.
        assert_eq!(stage_in_chinese("load"), "加载（load）");
        assert_eq!(evidence_in_chinese("line 43: #if X"), "第 43 行：#if X");
    }

    #[test]
    fn every_cause_check_can_name_has_a_chinese_summary() {
        let plain = ["program-drops-every-event", "bound-after-use", "compile-time-kernel-choice", "update-flag-refuses-new-key"];
        let missing: Vec<&str> =
            error_index::CAUSES.iter().map(|c| c.id).chain(plain).filter(|id| cause_in_chinese(id).is_none()).collect();
        assert!(missing.is_empty(), "no Chinese for {missing:?}");
    }
}
