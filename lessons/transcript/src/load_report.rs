//! The lines `tools/load-object` prints about one real open and load, and
//! their parser: libbpf's log, message by message, then the outcome. One
//! line each, tab-separated, so a message's own text needs no escaping
//! beyond its newlines, which become separate `log` lines.

use std::fmt;

// The levels are the transcript's own: a probe's `log` lines show them too.
pub use crate::line::Level;
use crate::line::Stage;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportLine {
    /// One line of a libbpf message, at the message's level.
    Log { level: Level, text: String },
    /// The object opened and loaded.
    Loaded,
    /// A stage (`open` or `load`) failed with libbpf's error, as it renders.
    Failed { stage: Stage, error: String },
}

impl fmt::Display for ReportLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportLine::Log { level, text } => write!(f, "log\t{}\t{}", level.as_str(), text.replace(['\n', '\t'], " ")),
            ReportLine::Loaded => f.write_str("loaded"),
            ReportLine::Failed { stage, error } => write!(f, "failed\t{stage}\t{}", error.replace(['\n', '\t'], " ")),
        }
    }
}

impl ReportLine {
    /// The lines of one libbpf message at `level`.
    pub fn log(level: Level, message: &str) -> Vec<ReportLine> {
        message.trim_end().lines().map(|text| ReportLine::Log { level, text: text.to_string() }).collect()
    }

    /// Parses a line [`Display`](fmt::Display) wrote; `None` for anything else.
    pub fn parse(line: &str) -> Option<ReportLine> {
        let mut fields = line.splitn(3, '\t');
        match (fields.next()?, fields.next(), fields.next()) {
            ("loaded", None, None) => Some(ReportLine::Loaded),
            ("failed", Some(stage), Some(error)) => Some(ReportLine::Failed { stage: Stage::named(stage)?, error: error.into() }),
            ("log", Some(level), Some(text)) => Some(ReportLine::Log { level: Level::named(level)?, text: text.into() }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_reads_back_as_written() {
        let lines = [
            ReportLine::Log { level: Level::Warn, text: "libbpf: prog 'p': failed to load: -EINVAL".into() },
            ReportLine::Log { level: Level::Debug, text: "0: R1=ctx() R10=fp0".into() },
            ReportLine::Loaded,
            ReportLine::Failed { stage: Stage::Load, error: "Invalid argument (os error 22)".into() },
        ];
        for line in lines {
            assert_eq!(ReportLine::parse(&line.to_string()), Some(line));
        }
        assert_eq!(ReportLine::parse("compile  ok"), None);
    }

    #[test]
    fn a_message_of_several_lines_becomes_several_log_lines() {
        let lines = ReportLine::log(Level::Info, "a\nb\n");
        assert_eq!(lines.len(), 2);
        assert_eq!(ReportLine::parse(&lines[1].to_string()), Some(ReportLine::Log { level: Level::Info, text: "b".into() }));
    }
}
