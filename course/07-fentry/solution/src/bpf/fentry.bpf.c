// SPDX-License-Identifier: GPL-2.0
// Reads one thread's unlinkat(2) inside the kernel: the directory, the name, and what the call returned.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NAME_LEN 256

// Set by the loader while the program runs: the thread whose unlinkat to read.
u32 target_tid;

// What the program read of that thread's unlinkat; the loader reads it.
struct unlink_call {
	u64 calls;
	u64 returns;
	s64 dfd;
	s64 ret;
	s64 read; /* what the string read returned: its length, or -errno */
	char name[NAME_LEN];
} seen;

// do_unlinkat has a BTF FUNC on every kernel of the matrix: fentry reads its
// arguments as the prototype there declares them.
SEC("fentry/do_unlinkat")
int BPF_PROG(read_unlink, int dfd, struct filename *name)
{
	if ((u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	seen.calls++;
	seen.dfd = dfd;
	/* A kernel pointer the verifier trusts: name->name is a plain load. */
	seen.read = bpf_probe_read_kernel_str(seen.name, sizeof(seen.name), name->name);
	return 0;
}

// Only fexit sees the result; by then do_unlinkat has freed the name.
SEC("fexit/do_unlinkat")
int BPF_PROG(unlink_done, int dfd, struct filename *name, int ret)
{
	if ((u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	seen.returns++;
	seen.ret = ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
