//! `cargo xtask hint NN`: the hint for the layer the learner is stuck on, step
//! by step. The first time the concept; asked again for the same layer (or
//! with `--more`), the API and where to look. In the learner's language
//! (`--lang`, else the locale: LANG=zh_CN.UTF-8), wrapped for the terminal
//! (`report::wrap`): a translation is one paragraph, never wrapped by hand.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::commands::check;
use crate::report::{json, wrap};
use crate::workbook::feedback;
use crate::workbook::lessons;
use crate::workbook::phrases::Phrases;
use crate::workbook::progress::{self, State};
use crate::workbook::translation::{Language, Translator};

/// `--json`: which hint was given, and how many there are.
#[derive(Debug, Serialize)]
struct HintReport {
    schema: u32,
    command: &'static str,
    lesson: String,
    /// The layer the hint is for; null when the last check matched no layer.
    layer: Option<usize>,
    /// 1: the concept; 2: the API and where to look. 0 when there is no layer hint.
    level: u8,
    /// How many levels this layer's hint has.
    levels: u8,
    text: String,
}

/// `cargo xtask hint`.
#[derive(clap::Args, Debug)]
pub struct HintArgs {
    /// Lesson number, e.g. 01
    pub lesson: String,
    /// The second hint right away: the API and where to look
    #[arg(long)]
    pub more: bool,
    /// One JSON object instead of text, with the hint's level
    #[arg(long)]
    pub json: bool,
    /// The hint's language: `en` or `zh-CN` (default: from LANG, e.g. LANG=zh_CN.UTF-8)
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
}

pub fn hint(root: &Path, args: &HintArgs) -> Result<ExitCode> {
    let (wanted, more, as_json) = (args.lesson.as_str(), args.more, args.json);
    let language = match args.lang.as_deref() {
        Some(code) => Language::parse(root, code)?,
        None => Language::from_env(root),
    };
    let lesson = lessons::find(root, wanted)?;
    let tr = Translator::new(root, &language)?;
    // A lesson's text: one line per paragraph for --json, wrapped for this terminal otherwise.
    let width = wrap::width();
    let flow = |text: &str| if as_json { wrap::unwrap(text) } else { wrap::wrap(text, width) };
    let say = Phrases::of(&tr);
    let layers = &lesson.meta.layers;
    let mut report = HintReport {
        schema: json::SCHEMA,
        command: "hint",
        lesson: lesson.number.clone(),
        layer: None,
        level: 0,
        levels: 0,
        text: String::new(),
    };
    let k = match progress::load(root).get(&lesson.number) {
        Some(State::Passed) => {
            report.text = say.passed(&lesson.number);
            return finish(&report, as_json);
        }
        Some(State::Failing { layer: Some(k) }) => *k,
        Some(State::Failing { layer: None }) => {
            // Not layer 1's hint: the learner may be far past it.
            let transcript = std::fs::read_to_string(check::transcript_path(root, &lesson.number)).unwrap_or_default();
            // The cause the last check named, first, as check printed it; then the hint check gave.
            let causes = std::fs::read_to_string(check::cause_path(root, &lesson.number)).unwrap_or_default();
            let log = std::fs::read_to_string(crate::workbook::run::log_path(root, &lesson.number)).unwrap_or_default();
            let hint = feedback::hint_without_layer(&lesson, &transcript, &log, causes.lines().filter_map(cause_id), &tr);
            let named: Vec<String> = causes.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{}{l}", say.last_cause())).collect();
            report.text = if named.is_empty() {
                flow(&hint)
            } else {
                format!("{}\n\n{}", named.iter().map(|n| flow(n)).collect::<Vec<_>>().join("\n"), flow(&hint))
            };
            return finish(&report, as_json);
        }
        None => {
            if !as_json {
                println!("{}", say.not_checked(&lesson.number));
            }
            1
        }
    };
    let k = k.clamp(1, layers.len());
    let layer = &layers[k - 1];
    // The cause the last check found, when it is not this layer's: its own hint, as check gave it.
    let causes = std::fs::read_to_string(check::cause_path(root, &lesson.number)).unwrap_or_default();
    let named: Vec<String> = causes.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("{}{l}", say.last_cause())).collect();
    // A compile error keeps the learner's layer: name it first, then the layer's hint.
    let transcript = std::fs::read_to_string(check::transcript_path(root, &lesson.number)).unwrap_or_default();
    let compile_error = transcript::Transcript::parse(&transcript).compile_failed().then(|| {
        let log = std::fs::read_to_string(crate::workbook::run::log_path(root, &lesson.number)).unwrap_or_default();
        feedback::unlayered_hint(&lesson.meta, &transcript, &log, &lesson.number, &tr)
    });
    if let Some(id) = feedback::foreign_cause(&lesson, k, causes.lines().filter_map(cause_id)) {
        let mut text = format!(
            "{}\n\n{}{}\n{}",
            named.iter().map(|n| flow(n)).collect::<Vec<_>>().join("\n"),
            say.layer(k, layers.len()),
            tr.text(&layer.name),
            flow(&say.hint_for_cause(id))
        );
        if let Some(error) = &compile_error {
            text = format!("{error}\n\n{text}");
        }
        report = HintReport { layer: Some(k), level: 1, levels: 1, text, ..report };
        return finish(&report, as_json);
    }
    let levels = if layer.more.is_some() { 2 } else { 1 };
    // Asked again for the same layer: one step further.
    let seen = std::fs::read_to_string(level_path(root, &lesson.number)).unwrap_or_default();
    let asked_before = seen.trim() == format!("layer {k}");
    let level = if (more || asked_before) && levels == 2 { 2 } else { 1 };
    if let Some(parent) = level_path(root, &lesson.number).parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(level_path(root, &lesson.number), format!("layer {k}\n"))?;

    let mut text = format!("{}{}\n{}", say.layer(k, layers.len()), tr.text(&layer.name), flow(&tr.text(&layer.hint)));
    // The cause the last check named, first, as check printed it.
    if !named.is_empty() {
        text = format!("{}\n\n{text}", named.join("\n"));
    }
    if let Some(error) = compile_error {
        text = format!("{error}\n\n{text}");
    }
    if level == 2 {
        text.push_str(&format!("\n\n{}", flow(&format!("{}{}", say.more(), tr.text(layer.more.as_deref().unwrap_or_default())))));
    } else if levels == 2 {
        text.push_str(&format!("\n\n{}", flow(&say.ask_again(&lesson.number))));
    }
    report = HintReport { layer: Some(k), level, levels, text, ..report };
    finish(&report, as_json)
}

/// The id a cause line ends with, `(id)`, the same in every language.
fn cause_id(line: &str) -> Option<&str> {
    let id = line.trim_end().strip_suffix(')')?.rsplit_once('(')?.1;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')).then_some(id)
}

fn finish(report: &HintReport, as_json: bool) -> Result<ExitCode> {
    if as_json {
        json::print(report);
    } else {
        println!("{}", report.text);
    }
    Ok(ExitCode::SUCCESS)
}

/// Records which layer's hint was last given, so asking again goes further.
fn level_path(root: &Path, number: &str) -> PathBuf {
    root.join("target/workbook/logs").join(format!("{number}.hint"))
}
