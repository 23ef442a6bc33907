//! Compiles the BPF program with libbpf-cargo (through the lessons' shared
//! build helper), which passes the usual flags (`-g -O2 -target bpf
//! -D__TARGET_ARCH_<arch>`) and brings libbpf's headers.

fn main() {
    // Only the object, no skeleton: the loader opens it with libbpf at run
    // time, where a bad map definition fails with libbpf's own message.
    bpf_build::object("src/bpf/macros.bpf.c");
}
