// A program the verifier accepts even unoptimised. At -O0, clang 19 leaves
// the function's parameter unnamed in .BTF, and the kernel refuses that BTF.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_getppid")
int count(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
