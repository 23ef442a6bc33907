// Flavors that declare task_struct's 4-byte fields as 8-byte longs. CO-RE
// accepts any integer for an integer, and BPF_CORE_READ reads the local size.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___long {
	long __state;
	long pid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} watched_tgid SEC(".maps");

// What the program saw, by index: see RESULTS in the probe.
enum { STATE_LOCAL_SIZE, STATE_KERNEL_SIZE, PID_LOCAL_SIZE, PID_KERNEL_SIZE, PID_AS_LONG, PID_SIZED, RESULTS };

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
int read_sizes(void *ctx)
{
	struct task_struct___long *task = (void *)bpf_get_current_task();
	__u32 zero = 0, *tgid = bpf_map_lookup_elem(&watched_tgid, &zero);
	__u64 pid_sized = 0;

	if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
		return 0;
	put(STATE_LOCAL_SIZE, sizeof(task->__state));
	put(STATE_KERNEL_SIZE, bpf_core_field_size(task->__state));
	put(PID_LOCAL_SIZE, sizeof(task->pid));
	put(PID_KERNEL_SIZE, bpf_core_field_size(task->pid));
	put(PID_AS_LONG, BPF_CORE_READ(task, pid));
	// The size the kernel's field has, relocated at load.
	bpf_core_read(&pid_sized, bpf_core_field_size(task->pid), &task->pid);
	put(PID_SIZED, pid_sized);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
