// The same direct read through a BTF-typed pointer, in a tp_btf program.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tp_btf/sys_enter")
int read_tgid(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return task->tgid == 0;
}

char LICENSE[] SEC("license") = "GPL";
