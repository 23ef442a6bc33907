// SPDX-License-Identifier: GPL-2.0
/* Lesson 03: read the state of one task from its task_struct each time it is switched out. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* Which field the state came from, for the loader to report. */
#define FIELD_STATE 1   /* task_struct.state, before Linux 5.14 */
#define FIELD___STATE 2 /* task_struct.__state, Linux 5.14 and later */

/* task_struct as it was before Linux 5.14. libbpf drops the ___pre514 suffix
 * (a "flavor") when it matches this type against the kernel's task_struct,
 * and relocates only the fields declared here. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/* task_struct since Linux 5.14, declared here too, so the program compiles
 * whichever kernel's vmlinux.h it is built against. */
struct task_struct___v514 {
	unsigned int __state;
} __attribute__((preserve_access_index));

/* Set by the loader before load: the task to watch. */
const volatile pid_t watched_pid = 0;

/* What the program saw at the watched task's latest switch-out. */
long last_state = 0;
__u32 field_read = 0;
__u32 switch_outs = 0;

static __always_inline long task_state(void *task)
{
	struct task_struct___v514 *now = task;

	if (bpf_core_field_exists(now->__state))
		return BPF_CORE_READ(now, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)task, state);
}

SEC("tp/sched/sched_switch")
int on_switch(struct trace_event_raw_sched_switch *ctx)
{
	if (ctx->prev_pid != watched_pid)
		return 0;
	/* The tracepoint fires before the switch: the current task is prev. */
	last_state = task_state((void *)bpf_get_current_task());
	switch_outs++;
	return 0;
}
