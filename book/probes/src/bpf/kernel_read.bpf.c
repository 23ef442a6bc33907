// A CO-RE read of kernel memory, and what the read helper returned. Lockdown's
// confidentiality mode withholds the kernel read helpers; when it does so
// depends on the kernel (at load, or when the helper runs).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} watched_tgid SEC(".maps");

// What the program saw, by index: see the probe.
enum { READ_RETURNED, PID_READ, RESULTS };

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

SEC("raw_tp/sys_enter")
int read_pid(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 zero = 0, *tgid = bpf_map_lookup_elem(&watched_tgid, &zero);
	int pid = 0;
	long returned;

	if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
		return 0;
	// What BPF_CORE_READ does, keeping the helper's return value.
	returned = bpf_core_read(&pid, sizeof(pid), &task->pid);
	put(READ_RETURNED, returned);
	put(PID_READ, pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
