//! What the self-test shows: each state's outcome on each kernel as a cell,
//! judged by [`crate::workbook::judge`], the table of cells, the record the
//! compatibility page is checked against (or rewritten from, with `--bless`),
//! and the timings.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Result;

use crate::machine::vm;
use crate::report::compatibility::{self, Cell, Mark};
use crate::workbook::judge::{self, summary};
use crate::workbook::lessons::Lesson;
use crate::workbook::run::Run;
use crate::workbook::selftest::{LessonRuns, Outcome, State, Target, Timings};

/// Judges every cell of a lesson, in [`judge::order`]; prints what is wrong,
/// and with `bless` writes the snapshots.
pub fn cells(runs: &LessonRuns, targets: &[Target], bless: bool) -> Result<Vec<Vec<Cell>>> {
    let lesson = &runs.lesson;
    for problem in &runs.problems {
        println!("lesson {}: ✗ {problem}", lesson.number);
    }
    let order = judge::order(targets);
    // The snapshots this run has written or claimed: any other is from an earlier run.
    let mut taken = bless.then(BTreeSet::new);
    let mut cells = Vec::new();
    for (s, state) in runs.states.iter().enumerate() {
        let mut row: Vec<Cell> = targets.iter().map(|_| Cell { mark: Mark::NotRun, outcome: String::new() }).collect();
        for &t in &order {
            let kernel = targets[t].name();
            row[t] = match &runs.outcomes[s][t] {
                None => Cell { mark: Mark::NotRun, outcome: "not run".to_string() },
                Some(Outcome::Skipped(reason)) => {
                    let short = reason.split(" (").next().unwrap_or(reason);
                    Cell { mark: Mark::Skipped, outcome: format!("skipped: {short}") }
                }
                Some(Outcome::NotRun(reason)) => Cell { mark: Mark::NotRun, outcome: format!("not run: {reason}") },
                Some(Outcome::GuestFailed(reason)) => {
                    println!("lesson {} {} on {kernel}: ✗ {reason}", lesson.number, state.label);
                    Cell { mark: Mark::Unexpected, outcome: "guest failed".to_string() }
                }
                Some(Outcome::Ran(run)) => {
                    let verdict = judge::judge(lesson, state, targets[t].facts(), run, taken.as_mut())?;
                    let unchecked = verdict
                        .as_ref()
                        .err()
                        .filter(|why| *why != judge::DIFFERS)
                        .and_then(|_| judge::unchecked(lesson, state, &run.transcript));
                    if let Some(reason) = unchecked {
                        // Neither as documented nor not: the check that would show the layer did not run.
                        println!("lesson {} {} on {kernel}: – portability not proven: {reason}", lesson.number, state.label);
                        row[t] = Cell {
                            mark: Mark::Skipped,
                            outcome: format!("{}; portability not proven: {reason}", summary(&run.transcript)),
                        };
                        continue;
                    }
                    if let Err(why) = &verdict {
                        println!("lesson {} {} on {kernel}: ✗ {why}", lesson.number, state.label);
                        save_log(lesson, state, kernel, run);
                    }
                    let mark = if verdict.is_ok() { Mark::AsDocumented } else { Mark::Unexpected };
                    Cell { mark, outcome: summary(&run.transcript) }
                }
            };
        }
        cells.push(row);
    }
    Ok(cells)
}

/// Whether a lesson's row is all as documented (or skipped): no cell unexpected or not run, no problem found while building.
pub fn lesson_passed(runs: &LessonRuns, cells: &[Vec<Cell>]) -> bool {
    let wrong = cells.iter().flatten().filter(|c| matches!(c.mark, Mark::Unexpected | Mark::NotRun)).count();
    wrong == 0 && runs.problems.is_empty()
}

/// Whether no kernel of the run could run any of a lesson's states: every
/// cell skipped. Such a lesson is reported as skipped, not passed.
pub fn lesson_skipped(cells: &[Vec<Cell>]) -> bool {
    let mut all = cells.iter().flatten().peekable();
    all.peek().is_some() && all.all(|c| c.mark == Mark::Skipped)
}

/// Keeps the full transcript and libbpf log of a run that went wrong.
fn save_log(lesson: &Lesson, state: &State, kernel: &str, run: &Run) {
    let root = crate::workbook::root();
    let path = root.join("target/xtask/matrix/logs").join(format!("{}-{}@{kernel}.log", lesson.number, state.name));
    let text = format!("{}\n\n--- libbpf log ---\n{}", run.transcript, run.log);
    if std::fs::create_dir_all(path.parent().expect("a parent")).is_ok() && std::fs::write(&path, text).is_ok() {
        println!("    transcript and libbpf log: {}", path.strip_prefix(&root).unwrap_or(&path).display());
    }
}

pub fn print_table(results: &[(&LessonRuns, Vec<Vec<Cell>>)], targets: &[Target]) {
    let mut rows: Vec<Vec<String>> =
        vec![["lesson", "state"].iter().map(|s| s.to_string()).chain(targets.iter().map(|t| t.name().to_string())).collect()];
    for (runs, cells) in results {
        for (s, state) in runs.states.iter().enumerate() {
            let lesson = if s == 0 { runs.lesson.number.clone() } else { String::new() };
            let mut row = vec![lesson, state.label.clone()];
            row.extend(cells[s].iter().map(|c| format!("{} {}", c.mark.symbol(), c.outcome)));
            rows.push(row);
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0).min(if c == 1 { 44 } else { 40 }))
        .collect();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(text, &w)| {
                let shown: String = text.chars().take(w).collect();
                format!("{shown:<w$}")
            })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    println!("\n✓ as the lesson documents   ✗ not as documented   – skipped   ? not run");
}

/// Checks the compatibility record against this run's cells, or with
/// `bless` rewrites it; prints what differs and what the page still lacks.
/// Returns a few words on the record, and whether it is stale.
pub fn compare_with_record(
    root: &Path,
    results: &[(&LessonRuns, Vec<Vec<Cell>>)],
    targets: &[Target],
    bless: bool,
) -> Result<(String, bool)> {
    // The page documents the lessons' own states; the cases are the self-test's.
    let record: Vec<compatibility::LessonRecord> = results
        .iter()
        .map(|(runs, cells)| {
            let own: Vec<usize> = (0..runs.states.len()).filter(|&s| runs.states[s].case.is_none()).collect();
            compatibility::LessonRecord {
                lesson: &runs.lesson,
                states: own.iter().map(|&s| (runs.states[s].name.clone(), runs.states[s].label.clone())).collect(),
                cells: own.iter().map(|&s| cells[s].clone()).collect(),
            }
        })
        .collect();
    let kernel_rows: Vec<(String, String)> = targets.iter().map(|t| (t.name().to_string(), t.describe())).collect();
    let measured = compatibility::merge(root, &kernel_rows, &record)?;
    let recorded = compatibility::load(root).unwrap_or_default();
    let page = format!("{} and {}", compatibility::RESULTS, compatibility::PAGE);
    let mut stale = false;
    let verdict = if bless {
        compatibility::write(root, &measured)?;
        format!("{page} rewritten")
    } else {
        let differences = compatibility::differences(&recorded, &measured);
        if differences.is_empty() {
            format!("{page} agree with this run")
        } else {
            stale = true;
            println!("\n{page} do not say what this run measured:");
            differences.iter().for_each(|d| println!("  {d}"));
            println!("if that is what the workbook should say now: cargo xtask dev verify --kernels all --bless, and commit both");
            format!("{page} are stale")
        }
    };
    let gaps = compatibility::staleness(root, if bless { &measured } else { &recorded })?;
    if !gaps.is_empty() {
        println!("\nthe compatibility page is not complete yet (a full run, --kernels all, fills it):");
        gaps.iter().for_each(|g| println!("  {g}"));
    }
    Ok((verdict, stale))
}

pub fn print_timings(timing: &Timings, total: f64) {
    println!("\ntimings");
    println!("  total                 {total:6.1} s");
    let build_total: f64 = timing.builds.iter().map(|b| b.2).sum();
    let states: usize = timing.builds.iter().map(|b| b.1).sum();
    println!(
        "  builds and host runs  {build_total:6.1} s   {states} states ({} of them kept from an earlier build of the same inputs); {} host runs took {:.1} s",
        timing.reused, timing.host_runs, timing.host_seconds
    );
    // A lesson's share of the wall time: its builds and host runs, and the
    // boots' wall time in proportion to its guests' time (boots side by side
    // share the CPUs, so the guest times add up to more than the wall's).
    let guest = |lesson: &str| timing.guest_seconds.iter().find(|(l, _)| l == lesson).map_or(0.0, |(_, s)| *s);
    let all_guests: f64 = timing.guest_seconds.iter().map(|(_, s)| s).sum::<f64>() + timing.probes_guest_seconds;
    for (lesson, count, seconds) in &timing.builds {
        let vm = guest(lesson);
        let vm_text = if vm > 0.0 {
            format!("; VM runs {vm:.1} s of guest time; share of the wall time {:.1} s", seconds + timing.boots_wall * vm / all_guests)
        } else {
            String::new()
        };
        println!("    lesson {lesson}           {seconds:6.1} s   {count} states{vm_text}");
    }
    let probes = timing.probes_guest_seconds;
    if probes > 0.0 {
        println!(
            "    the book's probes             VM runs {probes:.1} s of guest time; share of the wall time {:.1} s",
            timing.boots_wall * probes / all_guests
        );
    }
    if timing.boots.is_empty() {
        return;
    }
    let boots: usize = timing.boots.iter().map(|b| b.2.len()).sum();
    let runs: usize = timing.boots.iter().map(|b| b.1).sum();
    println!("  VM boots              {:6.1} s   {boots} boots, {runs} runs, {} at a time", timing.boots_wall, timing.boots_side_by_side);
    for (kernel, count, seconds) in &timing.boots {
        let each: Vec<String> = seconds.iter().map(|s| format!("{s:.1} s")).collect();
        let reboots = if seconds.len() > count.div_ceil(vm::JOBS_PER_BOOT) { " (booted again after a guest failure)" } else { "" };
        println!("    {kernel:<20}{:6.1} s   {count} runs{reboots}", seconds.iter().sum::<f64>());
        if seconds.len() > 1 {
            println!("                          boots: {}", each.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(mark: Mark) -> Cell {
        Cell { mark, outcome: String::new() }
    }

    #[test]
    fn a_lesson_is_skipped_only_when_nothing_of_it_ran() {
        assert!(lesson_skipped(&[vec![cell(Mark::Skipped)], vec![cell(Mark::Skipped)]]));
        assert!(!lesson_skipped(&[vec![cell(Mark::Skipped)], vec![cell(Mark::AsDocumented)]]));
        assert!(!lesson_skipped(&[vec![cell(Mark::Skipped), cell(Mark::NotRun)]]));
        assert!(!lesson_skipped(&[]));
    }
}
