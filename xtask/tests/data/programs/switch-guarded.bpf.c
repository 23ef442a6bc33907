/* A read of a field the kernel renamed in 5.14, behind a const volatile
 * switch that is off in the object: the load with the object's defaults
 * passes without verifying it, and diagnose says so. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

const volatile bool show_state = false;

SEC("tp/sched/sched_switch")
int switched(void *ctx)
{
	struct task_struct___old *task = (void *)bpf_get_current_task();
	long state = 0;

	if (show_state)
		state = BPF_CORE_READ(task, state);
	bpf_printk("%ld", state);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
