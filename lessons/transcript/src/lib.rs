//! What a lesson's loader writes and the checker reads, kept apart from
//! libbpf so that the checker (`xtask`) builds with nothing but Rust: the
//! transcript's channel, errno names, and the redaction that makes log lines
//! comparable from run to run.

pub mod channel;
pub mod errno;
pub mod load_report;
pub mod redact;
