// A map and a program that load and attach anywhere; the probes about maps,
// links and attach limits use it. getppid is a system call nothing else here traces.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} calls SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int count_getppid(void *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&calls, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
