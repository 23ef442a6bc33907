//! `cargo xtask hint NN`: the hint for the layer the learner is stuck on, step
//! by step. The first time the concept; asked again for the same layer (or
//! with `--more`), the API and where to look.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::commands::check;
use crate::report::json;
use crate::workbook::lessons;
use crate::workbook::progress::{self, State};

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

pub fn hint(root: &Path, wanted: &str, more: bool, as_json: bool) -> Result<ExitCode> {
    let lesson = lessons::find(root, wanted)?;
    let layers = &lesson.meta.layers;
    let mut report =
        HintReport { schema: json::SCHEMA, command: "hint", lesson: lesson.number.clone(), layer: None, level: 0, levels: 0, text: String::new() };
    let k = match progress::load(root).get(&lesson.number) {
        Some(State::Passed) => {
            report.text = format!("lesson {} already passes. The book's chapter explains the fix in full.", lesson.number);
            return finish(&report, as_json);
        }
        Some(State::Failing { layer: Some(k) }) => *k,
        Some(State::Failing { layer: None }) => {
            // Not layer 1's hint: the learner may be far past it.
            let transcript = std::fs::read_to_string(check::transcript_path(root, &lesson.number)).unwrap_or_default();
            report.text = check::unlayered_hint(&lesson.meta, &transcript, &lesson.number);
            return finish(&report, as_json);
        }
        None => {
            if !as_json {
                println!("(you have not checked lesson {} yet; here is the first layer's hint)", lesson.number);
            }
            1
        }
    };
    let k = k.clamp(1, layers.len());
    let layer = &layers[k - 1];
    let levels = if layer.more.is_some() { 2 } else { 1 };
    // Asked again for the same layer: one step further.
    let seen = std::fs::read_to_string(level_path(root, &lesson.number)).unwrap_or_default();
    let asked_before = seen.trim() == format!("layer {k}");
    let level = if (more || asked_before) && levels == 2 { 2 } else { 1 };
    if let Some(parent) = level_path(root, &lesson.number).parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(level_path(root, &lesson.number), format!("layer {k}\n"))?;

    let mut text = format!("layer {k} of {}: {}\n{}", layers.len(), layer.name, layer.hint.trim());
    if level == 2 {
        text.push_str(&format!("\n\nmore: {}", layer.more.as_deref().unwrap_or_default().trim()));
    } else if levels == 2 {
        text.push_str(&format!("\n\n(run `cargo xtask hint {}` again, or with --more, for the API and where to look)", lesson.number));
    }
    report = HintReport { layer: Some(k), level, levels, text, ..report };
    finish(&report, as_json)
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
