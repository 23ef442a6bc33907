// Programs that load fine; each probe attaches one of them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_openat")
int with_category(void *ctx) { return 0; }

SEC("tp/sys_enter_openat")
int without_category(void *ctx) { return 0; }

SEC("raw_tp/sys_enter_openat")
int raw_wrong_name(void *ctx) { return 0; }

SEC("kprobe/do_sys_openat2")
int on_kprobe(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "GPL";
