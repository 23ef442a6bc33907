// vmlinux.h already defines every kernel type; a UAPI header defines them again.
#include "vmlinux.h"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("raw_tp/sys_enter")
int noop(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
