//! `cargo xtask check NN`: build a lesson, run it, compare with the fixed outcome, and record where the learner is.

use std::path::Path;
use std::process::ExitCode;

use anstream::println;
use anyhow::Result;
use transcript::Transcript;

use crate::machine::kernels::{self, Choice};
use crate::machine::lock;
use crate::machine::vm;
use crate::machine::{host, kernel_btf};
use crate::report::json::{self, CheckReport, FindingReport, LessonStatus, Machine};
use crate::report::terminal::{self, paint, DIM, FAIL, PASS, TITLE, WARN};
use crate::report::wrap;
use crate::workbook::advice;
use crate::workbook::feedback::{self, Feedback, Look};
use crate::workbook::kernel_lock;
use crate::workbook::lessons::{self, Lesson};
use crate::workbook::phrases::Phrases;
use crate::workbook::portability;
use crate::workbook::progress::{self, State};
use crate::workbook::room;
use crate::workbook::run::{build_lesson, current_layer, log_path, run_built, stopped_at};
use crate::workbook::snapshot;
use crate::workbook::translation::{Language, Translator};

/// `cargo xtask check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Lesson number, e.g. 01
    pub lesson: String,
    /// One JSON object instead of text
    #[arg(long)]
    pub json: bool,
    /// Run it on another kernel under qemu, no root needed: 5.10, 6.1, 6.12 (or host)
    #[arg(long)]
    pub kernel: Option<String>,
    /// The feedback's language: `en` or `zh-CN` (default: from LANG, e.g. LANG=zh_CN.UTF-8)
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

pub fn check(root: &Path, args: &CheckArgs) -> Result<ExitCode> {
    let lesson = lessons::find(root, &args.lesson)?;
    let choice = args.kernel.as_deref().map(kernels::choice).transpose()?.unwrap_or(Choice::Host);
    let language = match args.lang.as_deref() {
        Some(code) => Language::parse(root, code)?,
        None => Language::from_env(root),
    };
    Ok(check_lesson_in(root, &lesson, args.json, "check", choice, &language)?.exit_code())
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The program ran (or compiled) and is not fixed yet.
    Failing,
    /// This machine cannot run the lesson: the pre-flight found problems.
    CannotRun,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        if self == Outcome::Passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// One check of `lesson`; `doing` names the command for anyone waiting on its lock.
pub fn check_lesson(root: &Path, lesson: &Lesson, json: bool, doing: &str) -> Result<ExitCode> {
    Ok(check_lesson_on(root, lesson, json, doing, Choice::Host)?.exit_code())
}

/// One check of `lesson` on this kernel (`Choice::Host`) or under qemu, in the locale's language.
pub fn check_lesson_on(root: &Path, lesson: &Lesson, json: bool, doing: &str, choice: Choice) -> Result<Outcome> {
    check_lesson_in(root, lesson, json, doing, choice, &Language::from_env(root))
}

/// [`check_lesson_on`], its feedback in `language`.
pub fn check_lesson_in(root: &Path, lesson: &Lesson, json: bool, doing: &str, choice: Choice, language: &Language) -> Result<Outcome> {
    // The lesson's own words in the learner's language, as `hint` gives them.
    let tr = Translator::new(root, language).unwrap_or_else(|_| Translator::english());
    let say = Phrases::of(&tr);
    // A sudo that wants a password asks now, so the pre-flight can look with the loader's privileges.
    let refused = (choice == Choice::Host && lesson.meta.needs.root).then(host::ask_for_sudo).flatten();
    let refusal = || {
        refused
            .as_ref()
            .map(|said| host::finding("privileges", host::Status::Problem, format!("sudo refused to run the loader as root: {said}"), None))
    };
    let kernel = match choice {
        Choice::Host => None,
        Choice::Debian(series) => {
            // The kernel is fetched only for a machine that can boot it.
            let problems = vm::preflight();
            if !problems.is_empty() {
                return Ok(cannot_run(root, lesson, json, choice, &problems, false, &tr));
            }
            Some(kernels::ensure(series, &kernel_lock::pin(root, series)?)?)
        }
    };
    if choice == Choice::Host {
        let run_problems: Vec<_> = lesson.meta.needs.run_problems_here().into_iter().chain(refusal()).collect();
        if !run_problems.is_empty() {
            let mut problems = host::build_problems();
            let builds_here = problems.is_empty();
            problems.extend(run_problems);
            return Ok(cannot_run(root, lesson, json, choice, &problems, builds_here, &tr));
        }
    }
    if !json {
        let on = kernel.as_ref().map(|k| say.under_qemu(&k.describe())).unwrap_or_default();
        println!("{}", paint(TITLE, format!("{}{on}", say.lesson_title(&lesson.number, &tr.text(&lesson.meta.title)))));
    }
    // Build, run and record as one step, so a second check or `watch` waits
    // instead of rebuilding the binary under this one's feet.
    let _held = lock::lesson(root, &lesson.number, doing)?;
    // The build's tools are looked at while cargo builds: running them takes a
    // noticeable part of a check, and without them the build stops early.
    let (problems, built) = std::thread::scope(|scope| {
        let build = scope.spawn(|| build_lesson(root, lesson, &root.join("target")));
        let problems = match kernel {
            Some(_) => Vec::new(),
            None => {
                let problems = host::build_problems();
                // This kernel's BTF names the cause of a failure after the run.
                // Read from here on, it does not take a core from cargo's start.
                kernel_btf::read_host_in_background();
                problems
            }
        };
        (problems, build.join())
    });
    if !problems.is_empty() {
        return Ok(cannot_run(root, lesson, json, choice, &problems, false, &tr));
    }
    let built = built.map_err(|_| anyhow::anyhow!("the lesson's build panicked"))??;
    let run = run_built(root, lesson, built, kernel.as_ref())?;
    if !json {
        println!("{}", terminal::transcript(&run.transcript));
        show_output(&say.own_output(), &run.prints, say);
        show_output(&say.own_stderr(), &run.stderr, say);
        if transcript::Transcript::parse(&run.transcript).nothing_logged() && run.stderr.lines().any(|l| l.starts_with("libbpf: ")) {
            println!("{} {}", paint(WARN, say.note()), say.callback_logged());
        }
    }
    let log = log_path(root, &lesson.number);
    if let Some(parent) = log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&log, &run.log)?;
    std::fs::write(transcript_path(root, &lesson.number), &run.transcript)?;
    let shown_log = (!run.log.is_empty()).then(|| log.strip_prefix(root).unwrap_or(&log).display().to_string());

    // On a mismatch the learner's diff follows, in their terms (not under --json).
    let kprobes = kernel.as_ref().map_or_else(host::kprobes_available, |k| k.kprobes());
    let expected = snapshot::name_for(&lesson.snapshots(), "fixed", choice.name(), kprobes);
    let passed = snapshot::matches(&lesson.snapshots(), &expected, &run.transcript, snapshot::OnMismatch::Quiet)?;
    let was_on = match progress::load(root).get(&lesson.number) {
        Some(State::Failing { layer }) => *layer,
        _ => None,
    };
    let kept = feedback::layer_kept(&lesson.meta, &run.transcript, passed, was_on);
    let layer = current_layer(&lesson.meta, &run.transcript).or(kept);
    let state = if passed { State::Passed } else { State::Failing { layer } };
    progress::save(root, lesson, state.clone())?;
    // The machine, not the learner, stopped a check whose portability it cannot prove.
    let blocked = (!passed && layer.is_none() && stopped_at(&run.transcript).is_none())
        .then(|| portability::unproven_reason(&run.transcript))
        .flatten();
    room::tell(root, lesson, &state, choice.name(), blocked);
    let record = progress::records(root).remove(&lesson.number);

    // One feedback, printed as text or given whole under --json; `hint` repeats its causes.
    let feedback = (!passed).then(|| Feedback::of(lesson, &run, choice == Choice::Host, layer, kept.is_some(), &tr));
    let causes = feedback.as_ref().map(Feedback::cause_texts).unwrap_or_default();
    std::fs::write(cause_path(root, &lesson.number), causes.join("\n"))?;
    if json {
        json::print(&report(lesson, record.as_ref(), &run.transcript, shown_log, feedback, &tr));
        return Ok(if passed { Outcome::Passed } else { Outcome::Failing });
    }
    let Some(feedback) = feedback else {
        println!("\n{}  {}", paint(PASS, "PASS"), say.works(&lesson.number));
        for note in advice::notes(lesson, !say.english) {
            println!("{} {note}", paint(WARN, say.note()));
        }
        let untested: Vec<String> =
            lesson.meta.layers.iter().filter(|l| l.skip_reason_on(kprobes).is_some()).map(|l| tr.text(&l.name)).collect();
        if !untested.is_empty() {
            println!("{} {}", paint(WARN, say.note()), say.untested(&untested.join(", "), &lesson.number));
        }
        if let Some(next) = next_lesson(root) {
            println!("{}", say.next(&next));
        }
        return Ok(Outcome::Passed);
    };

    if let Some(working) = snapshot::stored(&lesson.snapshots(), &expected) {
        let diff = terminal::learner_diff(&working, &snapshot::compared(&run.transcript), &lesson.meta.conceal, say);
        if !diff.is_empty() {
            println!("\n{diff}");
        }
    }
    let style = |look, text| {
        let style = match look {
            Look::Failed => FAIL,
            Look::Warned => WARN,
            Look::Quiet => DIM,
        };
        paint(style, text)
    };
    for line in feedback.text(say, style, |line| wrap::wrap(&line, wrap::width())) {
        println!("{line}");
    }
    if let Some(log) = shown_log.filter(|_| feedback.hint.is_some()) {
        println!("{}", paint(DIM, say.full_log(&log)));
    }
    Ok(Outcome::Failing)
}

/// Says why this machine cannot run `lesson` yet, in text or JSON, and tells
/// the room; `builds_here` when none of `problems` is the build's.
fn cannot_run(
    root: &Path,
    lesson: &Lesson,
    json: bool,
    choice: Choice,
    problems: &[host::Finding],
    builds_here: bool,
    tr: &Translator,
) -> Outcome {
    // The room sees the machine blocking the lesson, and why, not a learner stuck on it.
    let why: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.name, p.detail)).collect();
    room::tell(root, lesson, &State::Failing { layer: None }, choice.name(), Some(why.join("; ")));
    if json {
        let record = progress::records(root).remove(&lesson.number);
        json::print(&CheckReport {
            outcome: "cannot-run",
            problems: problems.iter().map(FindingReport::from).collect(),
            ..report(lesson, record.as_ref(), "", None, None, tr)
        });
        return Outcome::CannotRun;
    }
    eprintln!("lesson {} cannot run on this machine yet:", lesson.number);
    for problem in problems {
        eprintln!("{problem}");
    }
    // qemu helps where the kernel or privileges fall short, not where the build does.
    if choice == Choice::Host && builds_here {
        eprintln!("{}", vm::offer(&lesson.number));
    }
    Outcome::CannotRun
}

/// At most this many lines of each of the loader's own outputs are shown.
const PRINTS_SHOWN: usize = 20;

/// The loader's own output on one stream, under `title`, when there is any.
fn show_output(title: &str, output: &str, say: Phrases) {
    if output.trim().is_empty() {
        return;
    }
    println!("{}", paint(DIM, title));
    for line in output.lines().take(PRINTS_SHOWN) {
        println!("{}", paint(DIM, format!("  | {line}")));
    }
    let more = output.lines().count().saturating_sub(PRINTS_SHOWN);
    if more > 0 {
        println!("{}", paint(DIM, format!("  | {}", say.more_lines(more))));
    }
}

/// Where `check` keeps the causes it named, for `hint`.
pub fn cause_path(root: &Path, number: &str) -> std::path::PathBuf {
    root.join("target/workbook/logs").join(format!("{number}.cause"))
}

/// Where `check` keeps the last run's transcript, for `hint`.
pub fn transcript_path(root: &Path, number: &str) -> std::path::PathBuf {
    root.join("target/workbook/logs").join(format!("{number}.transcript"))
}

/// The `--json` report of a check with this transcript: the same feedback
/// as the text, in the same language.
fn report(
    lesson: &Lesson,
    record: Option<&progress::Record>,
    transcript: &str,
    log: Option<String>,
    feedback: Option<Feedback>,
    tr: &Translator,
) -> CheckReport {
    let mut status = LessonStatus::new(lesson, record);
    status.layer_name = status.layer_name.map(|name| tr.text(&name));
    let hint = if status.state == "passed" { None } else { feedback.as_ref().and_then(|f| f.hint.clone()) };
    CheckReport {
        schema: json::SCHEMA,
        command: "check",
        machine: Machine::this(),
        outcome: if status.state == "passed" { "passed" } else { "failing" },
        stopped_at: stopped_at(transcript).map(str::to_string),
        timed_out: Transcript::parse(transcript).timed_out(),
        transcript: transcript.lines().map(str::to_string).collect(),
        hint,
        feedback,
        log,
        problems: Vec::new(),
        lesson: status,
    }
}

/// The first lesson that does not pass yet.
fn next_lesson(root: &Path) -> Option<String> {
    let states = progress::load(root);
    lessons::all(root).ok()?.into_iter().map(|l| l.number).find(|n| states.get(n) != Some(&State::Passed))
}
