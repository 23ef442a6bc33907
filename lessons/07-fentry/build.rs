//! Compiles the BPF program and generates its Rust skeleton, `fentry.skel.rs`,
//! with libbpf-cargo (through the lessons' shared build helper).

fn main() {
    bpf_build::skeleton("src/bpf/fentry.bpf.c");
}
