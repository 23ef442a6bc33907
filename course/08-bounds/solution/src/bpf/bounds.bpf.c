// SPDX-License-Identifier: GPL-2.0
// Keeps a copy of every byte the loader writes to one file descriptor.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define CAPTURE_SIZE 4096
// The longest write the program copies; the loader writes no longer ones.
#define MAX_WRITE 256

// Set by the loader before load: whose writes, and to which descriptor.
const volatile u32 loader_tgid;
const volatile u32 watched_fd;

// The bytes copied so far, one write after the other; the loader reads them.
struct capture {
	u64 used;
	u64 writes;
	char data[CAPTURE_SIZE];
} captured;

SEC("tp/syscalls/sys_enter_write")
int copy_write(struct trace_event_raw_sys_enter *ctx)
{
	const void *buf = (const void *)ctx->args[1];
	/* 64 bits, as count is: a u32 length lets clang check a zero-extended
	 * copy and pass the unchecked register to the helper. */
	u64 len = ctx->args[2];
	u64 used;

	if (bpf_get_current_pid_tgid() >> 32 != loader_tgid || ctx->args[0] != watched_fd)
		return 0;
	used = captured.used;
	/* Room for the longest write: then no copy can pass the end of data. */
	if (used > CAPTURE_SIZE - MAX_WRITE)
		return 0;
	if (len > MAX_WRITE)
		return 0;
	if (bpf_probe_read_user(captured.data + used, len, buf))
		return 0;
	captured.used = used + len;
	captured.writes++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
