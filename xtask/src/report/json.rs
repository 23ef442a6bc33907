//! `--json` on `list`, `check` and `doctor`: one JSON object on stdout, so an
//! instructor can collect a room's status with a script. The layout is
//! versioned by `schema`; fields are only ever added within one version, and a
//! change that renames, removes or retypes a field raises it. The book's
//! workshop guide documents every field; `tests` below pin them.

use serde::Serialize;

use crate::machine::host::{Finding, Status};
use crate::workbook::lessons::Lesson;
use crate::workbook::progress::{Record, State};

pub const SCHEMA: u32 = 1;

/// Prints `report` as one line of JSON.
pub fn print(report: &impl Serialize) {
    println!("{}", serde_json::to_string(report).expect("reports always serialize"));
}

/// Who and where: lets a script tell 30 machines' reports apart.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Machine {
    pub host: Option<String>,
    pub user: Option<String>,
    pub kernel: Option<String>,
}

impl Machine {
    pub fn this() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let user =
            ["SUDO_USER", "USER", "LOGNAME"].iter().find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty())).or_else(user_from_passwd);
        Machine { host: read("/proc/sys/kernel/hostname"), user, kernel: read("/proc/sys/kernel/osrelease") }
    }
}

/// The name /etc/passwd gives this process's real user id.
fn user_from_passwd() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&uid.as_str())).then(|| fields[0].to_string())
    })
}

/// One lesson and where the learner is with it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LessonStatus {
    pub number: String,
    pub slug: String,
    pub title: String,
    /// "not-started", "failing" or "passed".
    pub state: &'static str,
    /// The layer being failed, 1-based; null unless failing at a known layer.
    pub layer: Option<usize>,
    pub layer_name: Option<String>,
    pub layers: usize,
    /// When a check last recorded the state, in seconds since 1970 UTC.
    pub checked_at: Option<u64>,
    /// Passed, and the learner's files have changed since that pass.
    pub changed_since_passed: bool,
}

impl LessonStatus {
    pub fn new(lesson: &Lesson, record: Option<&Record>) -> LessonStatus {
        let (state, layer) = match record.map(|r| &r.state) {
            None => ("not-started", None),
            Some(State::Passed) => ("passed", None),
            Some(State::Failing { layer }) => ("failing", *layer),
        };
        LessonStatus {
            number: lesson.number.clone(),
            slug: lesson.dir_name.split_once('-').map_or(lesson.dir_name.as_str(), |(_, slug)| slug).to_string(),
            title: lesson.meta.title.clone(),
            state,
            layer,
            layer_name: layer.and_then(|k| lesson.meta.layers.get(k.wrapping_sub(1))).map(|l| l.name.clone()),
            layers: lesson.meta.layers.len(),
            checked_at: record.and_then(|r| r.checked_at),
            changed_since_passed: record.is_some_and(|r| r.changed_since_passed(lesson)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ListReport {
    pub schema: u32,
    pub command: &'static str,
    pub machine: Machine,
    pub lessons: Vec<LessonStatus>,
    pub passed: usize,
    pub total: usize,
    /// The first lesson that does not pass yet; null when all do.
    pub next: Option<String>,
}

impl ListReport {
    pub fn new(machine: Machine, lessons: Vec<LessonStatus>) -> ListReport {
        ListReport {
            schema: SCHEMA,
            command: "list",
            machine,
            passed: lessons.iter().filter(|l| l.state == "passed").count(),
            total: lessons.len(),
            next: lessons.iter().find(|l| l.state != "passed").map(|l| l.number.clone()),
            lessons,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub schema: u32,
    pub command: &'static str,
    pub machine: Machine,
    /// "passed", "failing", or "cannot-run" (the machine lacks what the lesson needs).
    pub outcome: &'static str,
    /// The lesson as this check left it.
    pub lesson: LessonStatus,
    /// The stage named by `stopped  at`: compile, open, load or attach; null otherwise.
    pub stopped_at: Option<String>,
    pub timed_out: bool,
    /// The transcript, one string per line; empty when the check could not run.
    pub transcript: Vec<String>,
    /// The hint the feedback gives: the current layer's, or one for a failure no layer describes; null when passed.
    pub hint: Option<String>,
    /// Everything a failing check says, as its text does and in the same
    /// language: verdict, causes, where the verifier stopped, layer, hint; null when passed.
    pub feedback: Option<crate::workbook::feedback::Feedback>,
    /// The full log (libbpf's, or the compilers'), relative to the workbook; null when there is none.
    pub log: Option<String>,
    /// What stops the lesson from running here (outcome "cannot-run").
    pub problems: Vec<FindingReport>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FindingReport {
    pub name: &'static str,
    /// "ok", "problem" or "note".
    pub status: &'static str,
    pub detail: String,
    /// The command that fixes it; null when there is none.
    pub fix: Option<String>,
}

impl From<&Finding> for FindingReport {
    fn from(finding: &Finding) -> FindingReport {
        FindingReport {
            name: finding.name,
            status: match finding.status {
                Status::Ok => "ok",
                Status::Problem => "problem",
                Status::Note => "note",
            },
            detail: finding.detail.clone(),
            fix: finding.fix.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DoctorReport {
    pub schema: u32,
    pub command: &'static str,
    pub machine: Machine,
    /// True when no finding is a problem.
    pub ready: bool,
    pub findings: Vec<FindingReport>,
}

impl DoctorReport {
    pub fn new(machine: Machine, findings: &[Finding]) -> DoctorReport {
        DoctorReport {
            schema: SCHEMA,
            command: "doctor",
            machine,
            ready: findings.iter().all(|f| f.status != Status::Problem),
            findings: findings.iter().map(FindingReport::from).collect(),
        }
    }
}

/// What every command prints instead when it could not do its job.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    pub schema: u32,
    pub command: &'static str,
    pub machine: Machine,
    pub error: String,
}

impl ErrorReport {
    pub fn new(command: &'static str, error: String) -> ErrorReport {
        ErrorReport { schema: SCHEMA, command, machine: Machine::this(), error }
    }
}

#[cfg(test)]
mod tests {
    //! The schema, pinned: a change here is a change for every script that
    //! reads it, so it must come with a new `SCHEMA` and a note in the book.

    use super::*;
    use serde_json::json;

    fn machine() -> Machine {
        Machine { host: Some("pc-07".into()), user: Some("ada".into()), kernel: Some("6.1.0-18-amd64".into()) }
    }

    fn lesson() -> Lesson {
        crate::workbook::lessons::find(&crate::workbook::root(), "01").unwrap()
    }

    #[test]
    fn list_schema() {
        let failing = Record { state: State::Failing { layer: Some(2) }, checked_at: Some(1_764_300_000), files: None };
        let passed = Record { state: State::Passed, checked_at: Some(1_764_300_100), files: None };
        let lessons = vec![
            LessonStatus::new(&lesson(), Some(&passed)),
            LessonStatus::new(&lesson(), Some(&failing)),
            LessonStatus::new(&lesson(), None),
        ];
        let report = serde_json::to_value(ListReport::new(machine(), lessons)).unwrap();
        let title = "Open fails: the missing BTF";
        assert_eq!(
            report,
            json!({
                "schema": 1,
                "command": "list",
                "machine": {"host": "pc-07", "user": "ada", "kernel": "6.1.0-18-amd64"},
                "lessons": [
                    {"number": "01", "slug": "open-fails", "title": title, "state": "passed",
                     "layer": null, "layer_name": null, "layers": 2, "checked_at": 1_764_300_100, "changed_since_passed": false},
                    {"number": "01", "slug": "open-fails", "title": title, "state": "failing",
                     "layer": 2, "layer_name": "BTF required, but missing", "layers": 2, "checked_at": 1_764_300_000, "changed_since_passed": false},
                    {"number": "01", "slug": "open-fails", "title": title, "state": "not-started",
                     "layer": null, "layer_name": null, "layers": 2, "checked_at": null, "changed_since_passed": false},
                ],
                "passed": 1,
                "total": 3,
                "next": "01",
            })
        );
    }

    #[test]
    fn check_schema() {
        let record = Record { state: State::Failing { layer: Some(1) }, checked_at: Some(1_764_300_000), files: None };
        let report = CheckReport {
            schema: SCHEMA,
            command: "check",
            machine: machine(),
            outcome: "failing",
            lesson: LessonStatus::new(&lesson(), Some(&record)),
            stopped_at: Some("open".into()),
            timed_out: false,
            transcript: vec!["open     FAILED  ENOENT (No such file or directory)".into(), "stopped  at open".into()],
            hint: Some("read libbpf's log".into()),
            feedback: None,
            log: Some("target/workbook/logs/01.log".into()),
            problems: vec![],
        };
        assert_eq!(
            serde_json::to_value(report).unwrap(),
            json!({
                "schema": 1,
                "command": "check",
                "machine": {"host": "pc-07", "user": "ada", "kernel": "6.1.0-18-amd64"},
                "outcome": "failing",
                "lesson": {"number": "01", "slug": "open-fails", "title": "Open fails: the missing BTF",
                           "state": "failing", "layer": 1, "layer_name": "an open that fails in silence", "layers": 2,
                           "checked_at": 1_764_300_000, "changed_since_passed": false},
                "stopped_at": "open",
                "timed_out": false,
                "transcript": ["open     FAILED  ENOENT (No such file or directory)", "stopped  at open"],
                "hint": "read libbpf's log",
                "feedback": null,
                "log": "target/workbook/logs/01.log",
                "problems": [],
            })
        );
    }

    #[test]
    fn doctor_and_error_schema() {
        let findings = [
            Finding { name: "tracefs", status: Status::Problem, detail: "not mounted".into(), fix: Some("mount it".into()) },
            Finding { name: "kprobes", status: Status::Note, detail: "absent".into(), fix: None },
        ];
        assert_eq!(
            serde_json::to_value(DoctorReport::new(machine(), &findings)).unwrap(),
            json!({
                "schema": 1,
                "command": "doctor",
                "machine": {"host": "pc-07", "user": "ada", "kernel": "6.1.0-18-amd64"},
                "ready": false,
                "findings": [
                    {"name": "tracefs", "status": "problem", "detail": "not mounted", "fix": "mount it"},
                    {"name": "kprobes", "status": "note", "detail": "absent", "fix": null},
                ],
            })
        );
        let mut error = serde_json::to_value(ErrorReport::new("check", "there is no lesson 9".into())).unwrap();
        error["machine"] = json!(null);
        assert_eq!(error, json!({"schema": 1, "command": "check", "machine": null, "error": "there is no lesson 9"}));
    }
}
