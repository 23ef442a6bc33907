// A kernel pointer dereferenced directly in a tracepoint program: to the
// verifier, bpf_get_current_task() returns a number, not a pointer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_getppid")
int read_tgid(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	return task->tgid == 0;
}

char LICENSE[] SEC("license") = "GPL";
