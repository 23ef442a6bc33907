// SPDX-License-Identifier: GPL-2.0
// Counts the loader's calls to square(), a function of its own binary, and to
// libc's atoi(), and adds up the values square() returned.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

// Set by the loader before load: whose calls count.
const volatile u32 loader_tgid;

// What the program saw; the loader reads them. Several threads call at once.
u64 square_calls;
u64 square_returns;
u64 square_total; /* the sum of the values square() returned */
u64 atoi_calls;

// Whether the loader is calling.
static bool by_loader(void)
{
	u32 pid = bpf_get_current_pid_tgid();

	return pid == loader_tgid;
}

SEC("uprobe")
int BPF_UPROBE(enter_square, u64 x)
{
	if (by_loader())
		__sync_fetch_and_add(&square_calls, 1);
	return 0;
}

// At the return: the value square() returns.
SEC("uretprobe")
int BPF_UPROBE(leave_square, u64 ret)
{
	if (!by_loader())
		return 0;
	__sync_fetch_and_add(&square_returns, 1);
	__sync_fetch_and_add(&square_total, ret);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(enter_atoi, const char *text)
{
	if (by_loader())
		__sync_fetch_and_add(&atoi_calls, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
