// Reports the resident file pages of each program that starts, reading
// mm_struct the way code written for Linux 6.1 and older does.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* mm_struct::rss_stat until Linux 6.2, which made it an array of per-CPU counters. */
struct mm_rss_stat___old {
	atomic_long_t count[4];
};

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} file_pages SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task)
{
	struct mm_struct___old *mm = (void *)BPF_CORE_READ(task, mm);
	long pages = BPF_CORE_READ(mm, rss_stat.count[0].counter);

	bpf_ringbuf_output(&file_pages, &pages, sizeof(pages), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
