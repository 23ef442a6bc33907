// SPDX-License-Identifier: GPL-2.0
// Sends the name of each file the loader's process opens to user space.
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "vmlinux.h"

#define FILENAME_LEN 512

// The loader writes its process id here after load; only its opens are sent.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} loader_tgid SEC(".maps");

// How libbpf 0.x declared maps; bpf_helpers.h no longer defines this struct.
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") events = {
	.type = BPF_MAP_TYPE_RINGBUF,
	.max_entries = 256 * 1024,
};

SEC("tp/syscalls/sys_enter_openat")
int report_openat(struct trace_event_raw_sys_enter *ctx)
{
	const char *path = (const char *)ctx->args[1];
	u32 zero = 0, *tgid;
	char filename[FILENAME_LEN];

	tgid = bpf_map_lookup_elem(&loader_tgid, &zero);
	if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
		return 0;
	bpf_core_read_str(filename, sizeof(filename), path);
	bpf_ringbuf_output(&events, filename, sizeof(filename), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
