// SPDX-License-Identifier: GPL-2.0
// Sends the name of each file the loader's process opens to user space.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define FILENAME_LEN 512

// The loader writes its process id here after load; only its opens are sent.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} loader_tgid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

// Room for one file name per CPU: the BPF stack holds only 512 bytes.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, char[FILENAME_LEN]);
} scratch SEC(".maps");

SEC("tp/syscalls/sys_enter_openat")
int report_openat(struct trace_event_raw_sys_enter *ctx)
{
	const char *path = (const char *)ctx->args[1];
	u32 zero = 0, *tgid;
	char *filename;

	tgid = bpf_map_lookup_elem(&loader_tgid, &zero);
	if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
		return 0;
	filename = bpf_map_lookup_elem(&scratch, &zero);
	if (!filename)
		return 0;
	// path points into the calling process's memory, not the kernel's. The read
	// can still fail, for example on a page not yet in memory: then send nothing.
	if (bpf_probe_read_user_str(filename, FILENAME_LEN, path) < 0)
		return 0;
	bpf_ringbuf_output(&events, filename, FILENAME_LEN, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
