// Reads the path openat receives, at the system call's entry, three ways.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} watched_tgid SEC(".maps");

// What the reads returned: 0 the user read, 1 the kernel read.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

SEC("tp/syscalls/sys_enter_openat")
int read_path(struct trace_event_raw_sys_enter *ctx)
{
	const char *user_path = (const char *)ctx->args[1];
	__u32 zero = 0, one = 1, *tgid = bpf_map_lookup_elem(&watched_tgid, &zero);
	char path[64];
	__s64 ret;

	if (!tgid || bpf_get_current_pid_tgid() >> 32 != *tgid)
		return 0;
	ret = bpf_probe_read_user_str(path, sizeof(path), user_path);
	bpf_map_update_elem(&results, &zero, &ret, BPF_ANY);
	ret = bpf_probe_read_kernel_str(path, sizeof(path), user_path);
	bpf_map_update_elem(&results, &one, &ret, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
