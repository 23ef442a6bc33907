//! This machine: host facts, cargo builds, the privileged runner, Debian kernels, the qemu VM, locks, interrupts.

pub mod cargo;
pub mod host;
pub mod interrupt;
pub mod kernels;
pub mod lock;
pub mod runner;
pub mod vm;
