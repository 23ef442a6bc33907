// One use of each CO-RE tool the lessons leave out, on the probe's own task,
// so that the probe can say what each one returned on this kernel.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

// Filled in by libbpf at load, from the running kernel and its configuration.
extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig __weak;

// The field before Linux 5.14 renamed it `__state`.
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

// The kernel's list_head, as a program may declare it for itself.
struct list_head___same {
	struct list_head___same *next, *prev;
};

// The same names with other types: it does not match the kernel's.
struct list_head___other {
	long next, prev;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} watched_tgid SEC(".maps");

// What the program saw, by index: see the toolbox probe.
enum {
	PARENT_TGID,
	COMM_LENGTH,
	COMM_BYTES,
	RESET_ON_FORK,
	HAS_STATE,
	HAS_OLD_STATE,
	COMM_SIZE,
	HAS_RINGBUF_TYPE,
	SAME_MATCHES,
	OTHER_MATCHES,
	RINGBUF_OUTPUT_ID,
	KERNEL_VERSION,
	BPF_SYSCALL,
	RESULTS
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RESULTS);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static void put(__u32 index, __u64 value)
{
	bpf_map_update_elem(&results, &index, &value, BPF_ANY);
}

SEC("tp/syscalls/sys_enter_getppid")
int use_toolbox(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 zero = 0, *tgid = bpf_map_lookup_elem(&watched_tgid, &zero);
	pid_t parent = 0;
	char comm[16] = {};
	long length;
	__u64 bytes = 0;

	if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
		return 0;

	// The BPF_CORE_READ family: a chain of fields into a variable, a string, a bitfield.
	BPF_CORE_READ_INTO(&parent, task, real_parent, tgid);
	put(PARENT_TGID, parent);
	length = BPF_CORE_READ_STR_INTO(&comm, task, comm);
	put(COMM_LENGTH, length);
	__builtin_memcpy(&bytes, comm, sizeof(bytes));
	put(COMM_BYTES, bytes);
	put(RESET_ON_FORK, BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork));

	// Questions about the kernel's types, answered by libbpf at load.
	put(HAS_STATE, bpf_core_field_exists(task->__state));
	put(HAS_OLD_STATE, bpf_core_field_exists(((struct task_struct___old *)task)->state));
	put(COMM_SIZE, bpf_core_field_size(task->comm));
	put(HAS_RINGBUF_TYPE, bpf_core_type_exists(struct bpf_ringbuf));
	put(SAME_MATCHES, bpf_core_type_matches(struct list_head___same));
	put(OTHER_MATCHES, bpf_core_type_matches(struct list_head___other));
	put(RINGBUF_OUTPUT_ID, bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_ringbuf_output));

	// Externs libbpf resolves from the running kernel and its configuration.
	put(KERNEL_VERSION, LINUX_KERNEL_VERSION);
	put(BPF_SYSCALL, CONFIG_BPF_SYSCALL);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
