//! What a lesson's loader writes and the checker reads, kept apart from
//! libbpf so that the checker (`xtask`) builds with nothing but Rust: the
//! transcript's lines ([`Line`]), its channel, errno names, and the redaction
//! that makes log lines comparable from run to run.

pub mod channel;
pub mod errno;
pub mod line;
pub mod load_report;
pub mod redact;

pub use line::{Level, Line, Stage, Transcript};
