// SPDX-License-Identifier: GPL-2.0
// Reads the arguments of one thread's openat(2): the directory, the path and the flags.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define PATH_LEN 256

// Set by the loader while the program runs: the thread whose openat to read.
u32 target_tid;

// What the program read of that thread's openat; the loader reads it.
struct openat_args {
	u64 calls;
	s64 dfd;
	s64 flags;
	s64 read; /* what the string read returned: its length, or -errno */
	char path[PATH_LEN];
} seen;

// libbpf finds the system call's function by its architecture's prefix
// (__x64_sys_openat here), and BPF_KSYSCALL reads the arguments the user
// passed, which that wrapper keeps in a pt_regs of its own.
SEC("ksyscall/openat")
int BPF_KSYSCALL(read_openat, int dfd, const char *filename, int flags)
{
	if ((u32)bpf_get_current_pid_tgid() != target_tid)
		return 0;
	seen.calls++;
	seen.dfd = dfd;
	seen.flags = flags;
	/* filename points into the process's memory, not the kernel's. */
	seen.read = bpf_probe_read_user_str(seen.path, sizeof(seen.path), filename);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
