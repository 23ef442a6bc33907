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

SEC("tp/sched/sched_switch")
int on_switch(struct trace_event_raw_sched_switch *ctx)
{
	/* The tracepoint fires before the switch, so the current task is prev. */
	void *prev = (void *)bpf_get_current_task();

	if (ctx->prev_pid != watched_pid)
		return 0;

	/* libbpf resolves the check at load time; the verifier then drops the
	 * branch this kernel cannot take, with its unresolvable relocation. */
	if (bpf_core_field_exists(struct task_struct___pre514, state)) {
		last_state = BPF_CORE_READ((struct task_struct___pre514 *)prev, state);
		field_read = FIELD_STATE;
	} else {
		last_state = BPF_CORE_READ((struct task_struct___v514 *)prev, __state);
		field_read = FIELD___STATE;
	}
	switch_outs++;
	return 0;
}
