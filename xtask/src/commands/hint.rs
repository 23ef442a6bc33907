//! `cargo xtask hint NN`: the hint for the layer the learner is stuck on.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::workbook::lessons;
use crate::workbook::progress::{self, State};

pub fn hint(root: &Path, wanted: &str) -> Result<ExitCode> {
    let lesson = lessons::find(root, wanted)?;
    let layers = &lesson.meta.layers;
    let k = match progress::load(root).get(&lesson.number) {
        Some(State::Passed) => {
            println!("lesson {} already passes. The book's chapter explains the fix in full.", lesson.number);
            return Ok(ExitCode::SUCCESS);
        }
        Some(State::Failing { layer: Some(k) }) => *k,
        Some(State::Failing { layer: None }) => {
            println!("(your last check failed in a way no layer describes; here is the first layer's hint)");
            1
        }
        None => {
            println!("(you have not checked lesson {} yet; here is the first layer's hint)", lesson.number);
            1
        }
    };
    let layer = &layers[k.clamp(1, layers.len()) - 1];
    println!("layer {k} of {}: {}", layers.len(), layer.name);
    println!("{}", layer.hint.trim());
    Ok(ExitCode::SUCCESS)
}
