// Two flavors of task_struct: libbpf drops the suffix from the last "___" on,
// so the second one is looked up as task_struct___v1, which no kernel has.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___v1 {
	int pid;
} __attribute__((preserve_access_index));

struct task_struct___v1___v2 {
	int pid;
} __attribute__((preserve_access_index));

SEC("raw_tp/sys_enter")
int one_suffix(void *ctx)
{
	struct task_struct___v1 *task = (void *)bpf_get_current_task();
	return BPF_CORE_READ(task, pid) < 0;
}

SEC("raw_tp/sys_enter")
int two_suffixes(void *ctx)
{
	struct task_struct___v1___v2 *task = (void *)bpf_get_current_task();
	return BPF_CORE_READ(task, pid) < 0;
}

char LICENSE[] SEC("license") = "GPL";
