//! `cargo xtask hint NN`: the hint for the layer the learner is stuck on, in
//! the learner's language (`--lang`, else the locale: LANG=zh_CN.UTF-8).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::workbook::lessons;
use crate::workbook::progress::{self, State};
use crate::workbook::translation::{Language, Translator};

pub fn hint(root: &Path, wanted: &str, lang: Option<&str>) -> Result<ExitCode> {
    let language = match lang {
        Some(code) => Language::parse(root, code)?,
        None => {
            let var = |name| std::env::var(name).ok();
            Language::from_locale(root, var("LC_ALL").as_deref(), var("LC_MESSAGES").as_deref(), var("LANG").as_deref())
        }
    };
    let lesson = lessons::find(root, wanted)?;
    let tr = Translator::new(root, &language)?;
    let say = Phrases { english: tr.is_english() };
    let layers = &lesson.meta.layers;
    let k = match progress::load(root).get(&lesson.number) {
        Some(State::Passed) => {
            println!("{}", say.passed(&lesson.number));
            return Ok(ExitCode::SUCCESS);
        }
        Some(State::Failing { layer: Some(k) }) => *k,
        Some(State::Failing { layer: None }) => {
            println!("{}", say.undescribed_failure());
            1
        }
        None => {
            println!("{}", say.not_checked(&lesson.number));
            1
        }
    };
    let layer = &layers[k.clamp(1, layers.len()) - 1];
    println!("{}{}", say.layer(k, layers.len()), tr.text(&layer.name));
    println!("{}", tr.text(&layer.hint));
    Ok(ExitCode::SUCCESS)
}

/// The command's own sentences; the lesson's texts come from the translation.
struct Phrases {
    english: bool,
}

impl Phrases {
    fn passed(&self, lesson: &str) -> String {
        if self.english {
            format!("lesson {lesson} already passes. The book's chapter explains the fix in full.")
        } else {
            format!("第 {lesson} 课已经通过。书中对应章节完整讲解了修复方法。")
        }
    }

    fn undescribed_failure(&self) -> String {
        if self.english {
            "(your last check failed in a way no layer describes; here is the first layer's hint)".into()
        } else {
            "（上一次检查的失败不属于任何一层；下面是第一层的提示）".into()
        }
    }

    fn not_checked(&self, lesson: &str) -> String {
        if self.english {
            format!("(you have not checked lesson {lesson} yet; here is the first layer's hint)")
        } else {
            format!("（你还没有检查过第 {lesson} 课；下面是第一层的提示）")
        }
    }

    fn layer(&self, k: usize, of: usize) -> String {
        if self.english {
            format!("layer {k} of {of}: ")
        } else {
            format!("第 {k} 层（共 {of} 层）：")
        }
    }
}
