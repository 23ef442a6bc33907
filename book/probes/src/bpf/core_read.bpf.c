// A CO-RE read that any kernel with BTF satisfies.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

SEC("raw_tp/sys_enter")
int read_pid(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	return BPF_CORE_READ(task, pid) < 0;
}

char LICENSE[] SEC("license") = "GPL";
