// SPDX-License-Identifier: GPL-2.0
/* Lesson 05: report every process's exec and exit to user space, with its
 * parent, its exit code and how long it ran. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

enum event_kind {
	EVENT_EXEC = 1,
	EVENT_EXIT = 2,
};

/* One record in the ring buffer; the loader reads it through the skeleton's types. */
struct event {
	enum event_kind kind;
	pid_t pid;
	pid_t ppid;
	unsigned int exit_code;
	u64 duration_ns;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME_LEN + 1];
};

/* Never written: it makes libbpf-cargo generate `struct event` for the loader. */
struct event unused_event = {};

/* Set by the loader before load. Non-zero: send no exec events, and only the
 * exits of processes that ran at least this long. */
const volatile u64 min_duration_ns = 0;

/* When each process exec'd, by process id. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, pid_t);
	__type(value, u64);
} exec_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Who the current task is: process id, parent's process id, and name. */
static __always_inline void fill_task(struct event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	e->pid = bpf_get_current_pid_tgid() >> 32;
	/* task is a plain number to the verifier: read through it with CO-RE. */
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

SEC("tp/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	pid_t pid = bpf_get_current_pid_tgid() >> 32;
	u64 now = bpf_ktime_get_ns();
	struct event *e;

	bpf_map_update_elem(&exec_start, &pid, &now, BPF_ANY);
	if (min_duration_ns)
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->kind = EVENT_EXEC;
	e->exit_code = 0;
	e->duration_ns = 0;
	fill_task(e);
	/* A string in a tracepoint record: the low 16 bits of its __data_loc
	 * field are its offset in the record, the high 16 its length. */
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				  (void *)ctx + (ctx->__data_loc_filename & 0xFFFF));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int on_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 id = bpf_get_current_pid_tgid();
	pid_t pid = id >> 32, tid = (u32)id;
	u64 *started, duration_ns = 0;
	struct event *e;

	/* A thread ending is not the process ending. */
	if (pid != tid)
		return 0;

	started = bpf_map_lookup_elem(&exec_start, &pid);
	if (started)
		duration_ns = bpf_ktime_get_ns() - *started;
	bpf_map_delete_elem(&exec_start, &pid);
	/* Not seen exec'ing: it started before the program, forked without exec, or
	 * its exec did not fit in exec_start (8192 entries). Its age is unknown. */
	if (min_duration_ns && (!started || duration_ns < min_duration_ns))
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->kind = EVENT_EXIT;
	e->duration_ns = duration_ns;
	/* exit_code is a wait status: the code the process gave is bits 8 to 15. */
	e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
	e->filename[0] = '\0';
	fill_task(e);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
