//! This machine: host facts, cargo builds, the privileged runner, Debian kernels, the qemu VM and its pool, locks, interrupts.

pub mod btf;
pub mod cargo;
pub mod cross;
pub mod deb;
pub mod distro;
pub mod fentry;
pub mod host;
pub mod http;
pub mod interrupt;
pub mod kernel_btf;
pub mod kernel_image;
pub mod kernels;
pub mod load_object;
pub mod lock;
pub mod packages;
pub mod room;
pub mod runner;
pub mod vm;
pub mod vm_pool;

use host::Finding;

/// Every check, in the order doctor prints them.
pub fn findings() -> Vec<Finding> {
    let mut all = vec![
        host::check_architecture(),
        host::check_privileges(),
        host::check_btf(),
        host::check_tracefs(),
        host::check_build_tools(),
        host::check_clang(),
        host::check_libraries(),
        host::check_kprobes(),
        fentry::check(),
        host::check_lockdown(),
    ];
    all.extend(host::check_container());
    all.push(vm::finding(host::host_blocked()));
    all
}
