// A CO-RE read of a field no kernel has.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___probe {
	long no_such_field;
} __attribute__((preserve_access_index));

SEC("raw_tp/sys_enter")
int read_missing(void *ctx)
{
	struct task_struct___probe *task = (void *)bpf_get_current_task();
	return BPF_CORE_READ(task, no_such_field) != 0;
}

char LICENSE[] SEC("license") = "GPL";
