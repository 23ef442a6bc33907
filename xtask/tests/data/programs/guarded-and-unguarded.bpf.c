/* Two reads of a field the kernel renamed in 5.14, in one section: one
 * behind its own existence check, one without. diagnose tells them apart. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

SEC("tp/sched/sched_switch")
int checked(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	long state;

	if (bpf_core_field_exists(((struct task_struct___old *)task)->state))
		state = BPF_CORE_READ((struct task_struct___old *)task, state);
	else
		state = BPF_CORE_READ(task, __state);
	bpf_printk("%ld", state);
	return 0;
}

SEC("tp/sched/sched_switch")
int unchecked(void *ctx)
{
	struct task_struct___old *task = (void *)bpf_get_current_task();

	bpf_printk("%ld", BPF_CORE_READ(task, state));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
