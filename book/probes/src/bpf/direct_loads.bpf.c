// Direct loads, with no read helper, through BTF-typed pointers and flavors
// that declare a field wider than the kernel's. libbpf resizes the load of an
// unsigned integer (or a pointer) to the kernel's size; a signed one it refuses.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

// The kernel's field is an `unsigned int`.
struct task_struct___wide_unsigned {
	unsigned long flags;
} __attribute__((preserve_access_index));

// The kernel's field is a `pid_t`, a signed int.
struct task_struct___wide_signed {
	long pid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} watched_tgid SEC(".maps");

// What the program saw, by index: see the probes.
enum { LOCAL_SIZE, THROUGH_FLAVOR, THROUGH_KERNEL_TYPE, RESULTS };

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

SEC("tp_btf/sys_enter")
int unsigned_wider(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_struct___wide_unsigned *wide = (void *)task;
	__u32 zero = 0, *tgid = bpf_map_lookup_elem(&watched_tgid, &zero);

	if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
		return 0;
	put(LOCAL_SIZE, sizeof(wide->flags));
	put(THROUGH_FLAVOR, wide->flags);
	put(THROUGH_KERNEL_TYPE, task->flags);
	return 0;
}

SEC("tp_btf/sys_enter")
int signed_wider(void *ctx)
{
	struct task_struct___wide_signed *wide = (void *)bpf_get_current_task_btf();

	return wide->pid == 0;
}

char LICENSE[] SEC("license") = "GPL";
