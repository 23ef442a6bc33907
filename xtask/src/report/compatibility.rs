//! The book's compatibility page: each lesson on each kernel, as the last
//! matrix run measured it. `cargo xtask dev verify --kernels …` records its
//! outcomes in `book/compatibility.json` and renders the page from that file;
//! a test fails when the page, the record and the lessons on disk disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::machine::kernels;
use crate::workbook::kernel_lock::{self, LOCK};
use crate::workbook::lessons::{self, Lesson};

pub const RESULTS: &str = "book/compatibility.json";
pub const PAGE: &str = "book/src/compatibility.md";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    /// What the lesson documents for that kernel.
    AsDocumented,
    Unexpected,
    Skipped,
    NotRun,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::AsDocumented => "✓",
            Mark::Unexpected => "✗",
            Mark::Skipped => "–",
            Mark::NotRun => "?",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub mark: Mark,
    /// What happened, in a few words: `stops at load`, `sees 5 of 5`.
    pub outcome: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Kernel name → what ran under that name.
    pub kernels: BTreeMap<String, String>,
    pub lessons: Vec<LessonResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LessonResult {
    pub number: String,
    pub title: String,
    /// Of the lesson's files when it ran; any change makes the record stale.
    pub fingerprint: String,
    pub states: Vec<StateResult>,
    pub notes: Vec<Note>,
    /// When the arm64 columns were measured, and of which files: they come
    /// from their own, slower run (`dev verify --arch arm64`), so they carry
    /// their own date and fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm64: Option<Measured>,
}

/// When and on which lesson files a run measured a lesson's cells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    /// `YYYY-MM-DD`, UTC.
    pub date: String,
    pub fingerprint: String,
}

/// The arm64 columns' kernel names, `6.1-arm64` and `6.12-arm64`.
pub fn arm64_names() -> Vec<&'static str> {
    kernels::ARM64_SERIES.iter().map(|s| s.name).collect()
}

/// Every column of the page: the amd64 kernels, the host, then arm64's.
fn columns() -> Vec<&'static str> {
    kernels::names().into_iter().chain(arm64_names()).collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateResult {
    pub name: String,
    pub label: String,
    /// Kernel name → outcome.
    pub cells: BTreeMap<String, Cell>,
}

/// A lesson's explanation of an outcome particular to one kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub kernel: String,
    pub state: String,
    pub text: String,
}

/// One lesson's outcomes from a matrix run: `cells[state][kernel]`, kernels
/// in the order given to [`record`].
pub struct LessonRecord<'a> {
    pub lesson: &'a Lesson,
    /// (snapshot name, label) of each state.
    pub states: Vec<(String, String)>,
    pub cells: Vec<Vec<Cell>>,
}

pub fn load(root: &Path) -> Option<Results> {
    serde_json::from_str(&std::fs::read_to_string(root.join(RESULTS)).ok()?).ok()
}

/// The record with a run's outcomes merged in; nothing is written. A lesson
/// changed since its last amd64 run starts afresh, but for its arm64 cells,
/// which keep their own fingerprint until an arm64 run replaces them; an
/// arm64 run touches only the arm64 cells.
pub fn merge(root: &Path, kernels_run: &[(String, String)], lessons_run: &[LessonRecord]) -> Result<Results> {
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    merge_on(root, kernels_run, lessons_run, &today)
}

fn merge_on(root: &Path, kernels_run: &[(String, String)], lessons_run: &[LessonRecord], today: &str) -> Result<Results> {
    let arm64_run = kernels_run.iter().any(|(name, _)| arm64_names().contains(&name.as_str()));
    let mut results = load(root).unwrap_or_default();
    for (name, description) in kernels_run {
        results.kernels.insert(name.clone(), description.clone());
    }
    for run in lessons_run {
        let fingerprint = fingerprint(&run.lesson.dir, &run.lesson.course)?;
        let fresh = LessonResult {
            number: run.lesson.number.clone(),
            title: run.lesson.meta.title.clone(),
            fingerprint: fingerprint.clone(),
            states: run
                .states
                .iter()
                .map(|(name, label)| StateResult { name: name.clone(), label: label.clone(), cells: BTreeMap::new() })
                .collect(),
            notes: notes(run.lesson),
            arm64: None,
        };
        let position = results.lessons.iter().position(|l| l.number == run.lesson.number);
        let entry = match position {
            Some(i) if results.lessons[i].fingerprint == fingerprint || arm64_run => &mut results.lessons[i],
            Some(i) => {
                let old = std::mem::replace(&mut results.lessons[i], fresh);
                let entry = &mut results.lessons[i];
                entry.arm64 = old.arm64;
                for state in &mut entry.states {
                    let Some(was) = old.states.iter().find(|s| s.name == state.name) else { continue };
                    state
                        .cells
                        .extend(was.cells.iter().filter(|(k, _)| arm64_names().contains(&k.as_str())).map(|(k, c)| (k.clone(), c.clone())));
                }
                entry
            }
            None => {
                results.lessons.push(fresh);
                results.lessons.last_mut().expect("just pushed")
            }
        };
        entry.title = run.lesson.meta.title.clone();
        entry.notes = notes(run.lesson);
        if arm64_run {
            entry.arm64 = Some(Measured { date: today.to_string(), fingerprint: fingerprint.clone() });
        }
        for (s, (name, label)) in run.states.iter().enumerate() {
            let position = entry.states.iter().position(|state| state.name == *name);
            let state = match position {
                Some(i) => &mut entry.states[i],
                None => {
                    entry.states.push(StateResult { name: name.clone(), label: label.clone(), cells: BTreeMap::new() });
                    entry.states.last_mut().expect("just pushed")
                }
            };
            for (t, (kernel, _)) in kernels_run.iter().enumerate() {
                state.cells.insert(kernel.clone(), run.cells[s][t].clone());
            }
        }
    }
    let on_disk: Vec<String> = lessons::all(root)?.into_iter().map(|l| l.number).collect();
    results.lessons.retain(|l| on_disk.contains(&l.number));
    results.lessons.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(results)
}

/// Rewrites the record and the page from `results`.
pub fn write(root: &Path, results: &Results) -> Result<()> {
    let results_path = root.join(RESULTS);
    let page_path = root.join(PAGE);
    std::fs::create_dir_all(page_path.parent().expect("the page has a folder"))?;
    std::fs::write(&results_path, serde_json::to_string_pretty(results)? + "\n")
        .with_context(|| format!("writing {}", results_path.display()))?;
    std::fs::write(&page_path, render(results)).with_context(|| format!("writing {}", page_path.display()))?;
    Ok(())
}

/// How a run's merged record differs from the committed one, in words. The
/// host's description is left out: it names the machine that ran the
/// matrix, and another machine's run may only confirm its outcomes.
pub fn differences(recorded: &Results, measured: &Results) -> Vec<String> {
    let mut differences = Vec::new();
    for (kernel, now) in &measured.kernels {
        let before = recorded.kernels.get(kernel);
        if kernel != "host" && before != Some(now) {
            differences.push(format!("kernel {kernel}: recorded {:?}, this run {now:?}", before.map_or("nothing", String::as_str)));
        }
    }
    for lesson in &measured.lessons {
        let Some(old) = recorded.lessons.iter().find(|l| l.number == lesson.number) else {
            differences.push(format!("lesson {} is not in the record", lesson.number));
            continue;
        };
        if old.fingerprint != lesson.fingerprint {
            differences.push(format!("lesson {} changed since the record was made", lesson.number));
            continue;
        }
        if old.arm64.as_ref().map(|m| &m.fingerprint) != lesson.arm64.as_ref().map(|m| &m.fingerprint) {
            differences.push(format!("lesson {} changed since its arm64 cells were measured", lesson.number));
        }
        if old.title != lesson.title || old.notes != lesson.notes {
            differences.push(format!("lesson {}'s title or kernel notes changed", lesson.number));
        }
        for state in &lesson.states {
            let before = old.states.iter().find(|s| s.name == state.name);
            for (kernel, cell) in &state.cells {
                let was = before.and_then(|s| s.cells.get(kernel));
                if was != Some(cell) {
                    let shown = |c: Option<&Cell>| c.map_or("nothing".to_string(), |c| format!("{} {}", c.mark.symbol(), c.outcome));
                    differences.push(format!(
                        "lesson {} {} on {kernel}: recorded {}, this run {}",
                        lesson.number,
                        state.label,
                        shown(was),
                        shown(Some(cell))
                    ));
                }
            }
        }
    }
    for old in &recorded.lessons {
        if !measured.lessons.iter().any(|l| l.number == old.number) {
            differences.push(format!("lesson {} is in the record but not in lessons/", old.number));
        }
    }
    differences
}

/// The lesson's kernel notes, by state (layers in order, then the solution), then kernel.
fn notes(lesson: &Lesson) -> Vec<Note> {
    let states = (1..=lesson.meta.layers.len()).map(|k| format!("layer-{k}")).chain(["fixed".to_string()]);
    let mut notes = Vec::new();
    for state in states {
        for kernel in columns() {
            if let Some(text) = lesson.meta.kernel_notes.get(kernel).and_then(|n| n.get(&state)) {
                notes.push(Note { kernel: kernel.to_string(), state: state.clone(), text: text.trim().to_string() });
            }
        }
    }
    notes
}

/// FNV-1a over the lesson's files (names and contents), all but its README,
/// then over its author data in `course/` (layers, solution, snapshots, cases),
/// all but the arm64 snapshots.
pub fn fingerprint(lesson: &Path, course: &Path) -> Result<String> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (dir, prefix) in [(lesson, ""), (course, "course/")] {
        let mut files = crate::workbook::scratch::files_under(dir)?;
        files.sort();
        for file in files {
            let relative = file.strip_prefix(dir)?;
            if prefix.is_empty() && relative == Path::new("README.md") {
                continue;
            }
            // The arm64 snapshots are what an arm64 run measured, like its cells, not what the lesson is.
            let name = relative.to_string_lossy();
            if arm64_names().iter().any(|kernel| name.ends_with(&format!("@{kernel}.snap"))) {
                continue;
            }
            let name = format!("{prefix}{}", relative.to_string_lossy()).into_bytes();
            let content = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            for byte in name.into_iter().chain([0]).chain(content).chain([0]) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    Ok(format!("{hash:016x}"))
}

/// The page, from the record alone.
pub fn render(results: &Results) -> String {
    let names = columns();
    let mut page = String::new();
    let _ = writeln!(
        page,
        "<!-- Generated from {} by `cargo xtask dev verify --kernels all --bless`. Edits here are overwritten. -->\n",
        Path::new(RESULTS).file_name().unwrap_or_default().to_string_lossy()
    );
    page.push_str(
        "# Compatibility: one build, many kernels

CO-RE promises that one build runs on many kernels. This page is that promise,
measured. Each lesson's broken layers and its solution were compiled once, on
one machine, and the very same binaries ran on every kernel below: three of
Debian's kernels, booted under qemu, and the kernel of the machine that ran the
matrix. The arm64 columns are Debian's arm64 builds of 6.1 and 6.12, booted
under `qemu-system-aarch64`, running the same lesson states built for
aarch64-unknown-linux-gnu; they come from their own run, dated under each
lesson's table.

A cell says what the program did on that kernel. ✓ means it is what the lesson
documents for that kernel: a broken layer fails the way the lesson says, and
the solution works. ✗ means it is not, – that the layer was skipped because
the kernel lacks what it needs, or that the check that shows it could not be
made there (the cell says why), ? that it has not been run. Where a kernel
really behaves differently, the lesson explains why, in the notes under its
table, and its cells say (note).

| kernel | what ran |
|---|---|
",
    );
    for name in &names {
        let ran = results.kernels.get(*name).map_or("not measured yet", String::as_str);
        let _ = writeln!(page, "| {name} | {ran} |");
    }
    for lesson in &results.lessons {
        let _ = writeln!(page, "\n## {} · {}\n", lesson.number, lesson.title);
        let _ = writeln!(page, "| | {} |", names.join(" | "));
        let _ = writeln!(page, "|---|{}", "---|".repeat(names.len()));
        for state in &lesson.states {
            let cells: Vec<String> = names
                .iter()
                .map(|kernel| {
                    let noted = lesson.notes.iter().any(|n| n.kernel == *kernel && n.state == state.name);
                    match state.cells.get(*kernel) {
                        Some(cell) => format!("{} {}{}", cell.mark.symbol(), cell.outcome, if noted { " (note)" } else { "" }),
                        None => "? not run yet".to_string(),
                    }
                })
                .collect();
            let _ = writeln!(page, "| {} | {} |", state.label, cells.join(" | "));
        }
        if let Some(measured) = &lesson.arm64 {
            let _ = writeln!(page, "\nThe arm64 columns were measured on {}.", measured.date);
        }
        if !lesson.notes.is_empty() {
            page.push_str("\nWhere a kernel differs:\n\n");
        }
        // One note the kernels share (both arm64 builds, often) is said once, for all of them.
        let mut said: Vec<(&str, &str, Vec<&str>)> = Vec::new();
        for note in &lesson.notes {
            match said.iter_mut().find(|(state, text, _)| *state == note.state && *text == note.text) {
                Some((_, _, kernels)) => kernels.push(&note.kernel),
                None => said.push((&note.state, &note.text, vec![&note.kernel])),
            }
        }
        for (state, text, kernels) in said {
            let label = lesson.states.iter().find(|s| s.name == state).map_or(state, |s| &s.label);
            let _ = writeln!(page, "- **{}, {label}.** {}", kernels.join(", "), text.replace('\n', " "));
        }
    }
    page.push_str(
        "
## Run it yourself

`cargo xtask check NN --kernel 6.1` runs one lesson on one of these kernels,
without root: `cargo xtask kernels` fetches them from Debian's archive once.
`cargo xtask dev verify --kernels all` reruns the whole matrix and checks this page
against it; `--bless` rewrites it. `cargo xtask dev verify --arch arm64 --kernels all`
does the same for the arm64 columns: it cross-builds the lessons in a Debian 13
root and needs root. The kernels are the builds pinned in `kernels.lock`.
",
    );
    page
}

/// Everything that makes the page out of date, in words.
pub fn staleness(root: &Path, results: &Results) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let page = std::fs::read_to_string(root.join(PAGE)).unwrap_or_default();
    if page != render(results) {
        problems.push(format!("{PAGE} is not what {RESULTS} renders to"));
    }
    for series in kernels::pinned_series() {
        let pin = kernel_lock::pin(root, series)?;
        let measured = results.kernels.get(series.name).map_or("nothing", String::as_str);
        if !measured.contains(&format!("{} ", pin.describe())) {
            problems.push(format!("{RESULTS} measured {measured:?} as {}, but {LOCK} pins {}", series.name, pin.describe()));
        }
    }
    let lessons = lessons::all(root)?;
    for lesson in &lessons {
        let Some(recorded) = results.lessons.iter().find(|l| l.number == lesson.number) else {
            problems.push(format!("lesson {} is not in the last matrix run", lesson.number));
            continue;
        };
        let now = fingerprint(&lesson.dir, &lesson.course)?;
        if recorded.fingerprint != now {
            problems.push(format!("lesson {} changed since the last matrix run", lesson.number));
        }
        match &recorded.arm64 {
            Some(measured) if measured.fingerprint != now => problems.push(format!(
                "lesson {} changed since its arm64 cells were measured on {}: cargo xtask dev verify --arch arm64 --kernels all {} --bless",
                lesson.number, measured.date, lesson.number
            )),
            Some(_) => {}
            None => problems.push(format!(
                "lesson {} has no arm64 cells: cargo xtask dev verify --arch arm64 --kernels all {} --bless",
                lesson.number, lesson.number
            )),
        }
        let states: Vec<String> = (1..=lesson.meta.layers.len()).map(|k| format!("layer-{k}")).chain(["fixed".to_string()]).collect();
        let recorded_states: Vec<&str> = recorded.states.iter().map(|s| s.name.as_str()).collect();
        if recorded_states != states {
            problems.push(format!("lesson {} has states {states:?}, the run had {recorded_states:?}", lesson.number));
        }
        let missing: Vec<&str> =
            columns().into_iter().filter(|kernel| recorded.states.iter().any(|s| !s.cells.contains_key(*kernel))).collect();
        if !missing.is_empty() {
            problems.push(format!("lesson {} has no outcomes on {}", lesson.number, missing.join(", ")));
        }
    }
    for recorded in &results.lessons {
        if !lessons.iter().any(|l| l.number == recorded.number) {
            problems.push(format!("lesson {} is in the record but not in lessons/", recorded.number));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> Results {
        let root = crate::workbook::root();
        let text = std::fs::read_to_string(root.join(RESULTS))
            .unwrap_or_else(|_| panic!("{RESULTS} is missing: run `cargo xtask dev verify --kernels all --bless`"));
        serde_json::from_str(&text).expect("the record parses")
    }

    #[test]
    fn the_compatibility_page_is_current() {
        let problems = staleness(&crate::workbook::root(), &recorded()).unwrap();
        assert!(
            problems.is_empty(),
            "the compatibility page is stale; run `cargo xtask dev verify --kernels all --bless` and commit {PAGE} and {RESULTS}:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn a_lesson_changed_after_its_arm64_cells_makes_the_page_stale() {
        let root = crate::workbook::root();
        let mut changed = recorded();
        let lesson = &mut changed.lessons[0];
        lesson.arm64 = Some(Measured { date: "2026-01-01".into(), fingerprint: "0000000000000000".into() });
        let number = lesson.number.clone();
        let problems = staleness(&root, &changed).unwrap();
        let expected = format!(
            "lesson {number} changed since its arm64 cells were measured on 2026-01-01: cargo xtask dev verify --arch arm64 --kernels all {number} --bless"
        );
        assert!(problems.contains(&expected), "{problems:?}");
        assert!(!problems.iter().any(|p| p.contains("changed since the last matrix run")), "only the arm64 cells are stale: {problems:?}");

        let mut unmeasured = recorded();
        unmeasured.lessons[0].arm64 = None;
        for state in &mut unmeasured.lessons[0].states {
            state.cells.remove("6.12-arm64");
        }
        let problems = staleness(&root, &unmeasured).unwrap();
        assert!(problems.iter().any(|p| p.contains("has no arm64 cells")), "{problems:?}");
        assert!(problems.iter().any(|p| p.ends_with("has no outcomes on 6.12-arm64")), "{problems:?}");
    }

    #[test]
    fn the_page_has_arm64_columns_and_dates_them() {
        let page = render(&recorded());
        assert!(page.contains("| | 5.10 | 6.1 | 6.12 | host | 6.1-arm64 | 6.12-arm64 |"), "{page}");
        assert!(page.contains("The arm64 columns were measured on "));
    }

    #[test]
    fn arm64_notes_mark_their_cells_and_are_said_once_for_both_kernels() {
        let cell = |outcome: &str| Cell { mark: Mark::AsDocumented, outcome: outcome.into() };
        let note = |kernel: &str, text: &str| Note { kernel: kernel.into(), state: "layer-2".into(), text: text.into() };
        let lesson = LessonResult {
            number: "02".into(),
            title: "T".into(),
            fingerprint: String::new(),
            states: vec![StateResult {
                name: "layer-2".into(),
                label: "layer 2: L".into(),
                cells: [("6.1", cell("sees 0 of N")), ("6.1-arm64", cell("stops at attach")), ("6.12-arm64", cell("stops at attach"))]
                    .into_iter()
                    .map(|(k, c)| (k.to_string(), c))
                    .collect(),
            }],
            notes: vec![note("5.10", "old"), note("6.1-arm64", "no open(2)"), note("6.12-arm64", "no open(2)")],
            arm64: None,
        };
        let page = render(&Results { kernels: BTreeMap::new(), lessons: vec![lesson] });
        let row = page.lines().find(|l| l.starts_with("| layer 2: L |")).unwrap();
        assert_eq!(
            row,
            "| layer 2: L | ? not run yet | ✓ sees 0 of N | ? not run yet | ? not run yet | ✓ stops at attach (note) | ✓ stops at attach (note) |"
        );
        assert!(page.contains("- **5.10, layer 2: L.** old\n- **6.1-arm64, 6.12-arm64, layer 2: L.** no open(2)\n"), "{page}");
    }

    #[test]
    fn the_lessons_arm64_notes_reach_the_record() {
        let root = crate::workbook::root();
        let attach = lessons::find(&root, "02").unwrap();
        let found = notes(&attach);
        for kernel in arm64_names() {
            assert!(found.iter().any(|n| n.kernel == kernel && n.state == "layer-2" && n.text.contains("sys_enter_open")), "{found:?}");
        }
    }

    #[test]
    fn staleness_notices_a_changed_lesson_a_missing_cell_and_an_edited_page() {
        let root = crate::workbook::root();
        let mut changed = recorded();
        changed.lessons[0].fingerprint = "0000000000000000".to_string();
        let problems = staleness(&root, &changed).unwrap();
        assert!(problems.iter().any(|p| p.contains("changed since")), "{problems:?}");

        let mut missing = recorded();
        missing.lessons[0].states[0].cells.remove("5.10");
        let problems = staleness(&root, &missing).unwrap();
        assert!(problems.iter().any(|p| p.contains("no outcomes on 5.10")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("is not what")), "the page no longer matches: {problems:?}");

        let mut dropped = recorded();
        dropped.lessons.remove(0);
        let problems = staleness(&root, &dropped).unwrap();
        assert!(problems.iter().any(|p| p.contains("not in the last matrix run")), "{problems:?}");
    }

    #[test]
    fn differences_name_each_changed_cell_and_kernel_but_not_the_host_machine() {
        let recorded = recorded();
        assert!(differences(&recorded, &recorded).is_empty());
        let mut measured = recorded.clone();
        measured.kernels.insert("host".into(), "Linux 9.9, the machine that ran the matrix, natively".into());
        assert!(differences(&recorded, &measured).is_empty(), "another host machine only confirms outcomes");
        measured.kernels.insert("6.1".into(), "Debian's linux-image-6.1.0-99-amd64 6.1.999-1 (Debian 12 bookworm), under qemu".into());
        let cell = measured.lessons[0].states[0].cells.get_mut("5.10").unwrap();
        *cell = Cell { mark: Mark::Unexpected, outcome: "stops at load".into() };
        let found = differences(&recorded, &measured);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("kernel 6.1: recorded") && found[0].contains("6.1.999-1"), "{found:?}");
        assert!(found[1].starts_with("lesson 01 layer 1") && found[1].ends_with("this run ✗ stops at load"), "{found:?}");
    }

    #[test]
    fn staleness_notices_a_record_of_other_kernel_builds_than_the_lock_pins() {
        let mut other = recorded();
        other.kernels.insert("6.1".into(), "Debian's linux-image-6.1.0-57-amd64 6.1.192-3 (Debian 12 bookworm), under qemu".into());
        let problems = staleness(&crate::workbook::root(), &other).unwrap();
        assert!(problems.iter().any(|p| p.contains("kernels.lock pins")), "{problems:?}");
    }

    #[test]
    fn fingerprints_ignore_the_readme_and_see_every_other_file() {
        let top = std::env::temp_dir().join(format!("xtask-fingerprint-{}", std::process::id()));
        let (dir, course) = (top.join("lessons/01-x"), top.join("course/01-x"));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(&course).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(course.join("cases.toml"), "").unwrap();
        let before = fingerprint(&dir, &course).unwrap();
        std::fs::write(dir.join("README.md"), "words").unwrap();
        assert_eq!(fingerprint(&dir, &course).unwrap(), before);
        std::fs::write(course.join("cases.toml"), "[[fake]]").unwrap();
        let with_a_case = fingerprint(&dir, &course).unwrap();
        assert_ne!(with_a_case, before, "the author's data counts");
        std::fs::write(dir.join("src/main.rs"), "fn main() { }").unwrap();
        assert_ne!(fingerprint(&dir, &course).unwrap(), with_a_case);
        std::fs::remove_dir_all(&top).unwrap();
    }
}
