//! The learner-facing texts of `lesson.toml` (titles, layer names, hints) in
//! another language. They are messages of the book's gettext translation,
//! `book/po/<lang>.po`, keyed by the English text, so one file and one test
//! keep the book and the hints translated together.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use polib::catalog::Catalog;

use crate::usage_error::UsageError;

/// A language the checker can speak: English, or one with a `book/po/<code>.po`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Language {
    English,
    Translated(String),
}

impl Language {
    /// `en` or a translation's code, as `--lang` takes it (`zh-CN`; `zh_CN` too).
    pub fn parse(root: &Path, code: &str) -> Result<Language> {
        let code = code.replace('_', "-");
        if code == "en" || code.starts_with("en-") {
            return Ok(Language::English);
        }
        let known = translations(root);
        match known.iter().find(|k| k.eq_ignore_ascii_case(&code)) {
            Some(found) => Ok(Language::Translated(found.clone())),
            None => Err(UsageError(format!("no translation for {code:?}; the languages are en, {}", known.join(", "))).into()),
        }
    }

    /// The language this process's locale asks for.
    pub fn from_env(root: &Path) -> Language {
        let var = |name| std::env::var(name).ok();
        Language::from_locale(root, var("LC_ALL").as_deref(), var("LC_MESSAGES").as_deref(), var("LANG").as_deref())
    }

    /// The language a POSIX locale asks for (`LC_ALL`, `LC_MESSAGES`, `LANG`, in
    /// that order, as gettext reads them): `zh_CN.UTF-8` → zh-CN when that
    /// translation exists; anything else is English.
    pub fn from_locale(root: &Path, lc_all: Option<&str>, lc_messages: Option<&str>, lang: Option<&str>) -> Language {
        let locale = [lc_all, lc_messages, lang].into_iter().flatten().find(|v| !v.is_empty()).unwrap_or("C");
        let code = locale.split(['.', '@']).next().unwrap_or_default().replace('_', "-");
        let known = translations(root);
        // A Chinese locale without a translation of its own (zh_TW, zh_HK) still reads the Chinese one.
        let wanted = [code.clone(), code.split('-').next().unwrap_or_default().to_string()];
        wanted
            .iter()
            .find_map(|w| known.iter().find(|k| k.eq_ignore_ascii_case(w) || k.split('-').next() == Some(w)))
            .map_or(Language::English, |k| Language::Translated(k.clone()))
    }
}

/// The translations in `book/po/`, by language code.
pub fn translations(root: &Path) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(root.join("book/po"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "po"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    found.sort();
    found
}

/// Turns the English texts of `lesson.toml` into one language.
pub struct Translator {
    catalog: Option<Catalog>,
}

impl Translator {
    pub fn new(root: &Path, language: &Language) -> Result<Translator> {
        let Language::Translated(code) = language else { return Ok(Translator { catalog: None }) };
        let path = root.join("book/po").join(format!("{code}.po"));
        let catalog = polib::po_file::parse(&path).map_err(|e| anyhow!("{e}")).with_context(|| format!("reading {}", path.display()))?;
        Ok(Translator { catalog: Some(catalog) })
    }

    /// `english` (trimmed, as the book's template holds it) in this language; the
    /// English itself when there is no translation, or only an outdated (fuzzy) one.
    pub fn text(&self, english: &str) -> String {
        let english = english.trim();
        self.catalog
            .as_ref()
            .and_then(|c| c.find_message(None, english, None))
            .filter(|m| m.is_translated() && !m.flags().is_fuzzy())
            .and_then(|m| m.msgstr().ok())
            .unwrap_or(english)
            .to_string()
    }

    /// No translation: every text stays as `lesson.toml` has it.
    pub fn english() -> Translator {
        Translator { catalog: None }
    }

    pub fn is_english(&self) -> bool {
        self.catalog.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workbook::{lessons, root};

    #[test]
    fn a_chinese_locale_picks_the_chinese_translation() {
        let root = root();
        let zh = Language::Translated("zh-CN".into());
        assert_eq!(Language::from_locale(&root, None, None, Some("zh_CN.UTF-8")), zh);
        assert_eq!(Language::from_locale(&root, None, None, Some("zh_TW.UTF-8")), zh);
        assert_eq!(Language::from_locale(&root, Some("C.UTF-8"), None, Some("zh_CN.UTF-8")), Language::English);
        assert_eq!(Language::from_locale(&root, Some(""), Some("zh_CN.GB18030"), Some("en_US.UTF-8")), zh);
        assert_eq!(Language::from_locale(&root, None, None, Some("de_DE.UTF-8")), Language::English);
        assert_eq!(Language::from_locale(&root, None, None, None), Language::English);
        assert_eq!(Language::parse(&root, "zh_CN").unwrap(), zh);
        assert_eq!(Language::parse(&root, "en").unwrap(), Language::English);
        let error = Language::parse(&root, "fr").unwrap_err().to_string();
        assert!(error.contains("no translation for \"fr\"") && error.contains("zh-CN"), "{error}");
    }

    #[test]
    fn every_lesson_title_layer_name_and_hint_has_a_chinese_translation() {
        let root = root();
        let chinese = Translator::new(&root, &Language::Translated("zh-CN".into())).unwrap();
        let mut missing = Vec::new();
        for lesson in lessons::all(&root).unwrap() {
            let mut texts = vec![lesson.meta.title.clone()];
            for layer in &lesson.meta.layers {
                texts.push(layer.name.clone());
                texts.push(layer.hint.clone());
                texts.extend(layer.more.clone());
            }
            texts.extend(lesson.meta.slips.iter().map(|slip| slip.hint.clone()));
            for text in texts {
                let translated = chinese.text(&text);
                if translated == text.trim() || !translated.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
                    missing.push(format!("{}: {:?}", lesson.dir_name, text.trim()));
                }
            }
        }
        assert!(missing.is_empty(), "no Chinese for (cargo xtask dev update-po, then translate book/po/zh-CN.po):\n{}", missing.join("\n"));
    }
}
