// Scratch space in a per-CPU array whose value is over the kernel's 32 KiB limit.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct scratch {
	char bytes[33 * 1024];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

SEC("raw_tp/sys_enter")
int use_scratch(void *ctx)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (s)
		s->bytes[0] = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
