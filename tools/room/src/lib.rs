//! The workshop room's server: the room's state and journal, its two tokens,
//! the instructor's pages and the HTTP serving, and the agenda timed by the
//! room's medians. Its own crate, with no
//! Unix-only dependency and no libbpf, so that the instructor runs it on a
//! macOS or Windows laptop with a plain `cargo room serve`; the
//! checker (`cargo xtask room serve`) runs the same code. The learner's side
//! (joining, queueing and sending records) stays in the checker.

pub mod agenda;
pub mod cli;
pub mod page;
pub mod record;
pub mod server;
pub mod state;
