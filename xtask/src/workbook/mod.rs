//! The workbook's content: lessons and their `lesson.toml`, progress, snapshots, facts about a `.bpf.o`.

pub mod lessons;
pub mod object;
pub mod progress;
pub mod run;
pub mod scratch;
pub mod snapshot;
