// SPDX-License-Identifier: GPL-2.0
// Counts the file opens and the new threads or processes of one process.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

// Set by the loader before load: only this process counts.
const volatile u32 target_tgid = 0;

u64 opens = 0;
u64 clones = 0;

static bool from_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

// glibc opens files with openat(2); open(2) is only a legacy entry point.
SEC("tp/syscalls/sys_enter_openat")
int count_opens(void *ctx)
{
	if (from_target())
		__sync_fetch_and_add(&opens, 1);
	return 0;
}

// Every fork, vfork, clone and clone3 goes through this kernel function,
// called _do_fork until Linux 5.10 renamed it.
SEC("kprobe/kernel_clone")
int count_clones(struct pt_regs *ctx)
{
	if (from_target())
		__sync_fetch_and_add(&clones, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
