//! What the commands show: terminal text, `--json` objects and the compatibility record, built from workbook and machine.

pub mod compatibility;
pub mod diagnose;
pub mod json;
pub mod matrix;
pub mod terminal;
pub mod wrap;
