// SPDX-License-Identifier: GPL-2.0
// Counts openat() calls per process.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

// A BTF-defined map: libbpf reads its type and size from the object's .BTF.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);   // tgid: the process id as user space knows it
	__type(value, u64); // openat calls seen
} openat_count SEC(".maps");

SEC("tp/syscalls/sys_enter_openat")
int count_openat(void *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *count;

	count = bpf_map_lookup_elem(&openat_count, &tgid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&openat_count, &tgid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
