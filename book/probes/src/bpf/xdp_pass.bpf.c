// An XDP program that lets every packet through; the probe attaches it twice.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pass(struct xdp_md *ctx) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
