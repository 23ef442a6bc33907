//! What the prose says about a transcript must be what the transcript shows.
//! A chapter or a hint may not state a count, cite a line, or count with a
//! line, that the snapshots it speaks of contradict:
//!
//! - "opens a file five times", where the run chooses the count and the
//!   transcript shows `observed … of N`;
//! - "the note line", where the layer's transcript has no `note` line;
//! - "the compile line counts these records", where no compile line holds a count;
//! - "load fails with EINVAL" or "attach says ok", where no transcript's
//!   `load` line failed with EINVAL, or no `attach` line says ok;
//! - "1/4" in a workshop's progress, where the workbook has five lessons.
//!
//! English and Chinese phrasings both; the Chinese edition is checked too.

use std::sync::LazyLock;

use regex::Regex;
use transcript::Line;

use crate::Snapshot;

/// The labels of a transcript's lines that prose can cite by name.
const LINES: &str = "compile|portable|open|load|attach|observed|note|stopped|panic|timeout";

/// "opens a file five times", "打开一个文件五次": a count of what the loader does.
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bopens?\s+(?:a|the|one)\s+file\s+(?P<en>\w+)\s+times\b|打开一个文件(?P<zh>[一二三四五六七八九十两\d]+)次")
        .expect("a valid pattern")
});
/// "the note line", "(the note line)", "note 一行": a line of the transcript by its name.
static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)\bthe\s+(?P<en>{LINES})\s+line\b|\((?P<paren>{LINES})\s+line\)|(?P<zh>{LINES}) ?一行"))
        .expect("a valid pattern")
});
/// "the compile line counts", "compile 一行会统计": a line said to hold a count.
static COUNTING_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)\bthe\s+(?P<en>{LINES})\s+line(?:\s+of\s+(?:a|the|each|every)\s+transcript)?\s+counts\s+(?P<what>(?:\w+\s+){{0,2}}\w+)|(?P<zh>{LINES}) ?一行(?:会|也)?统计(?P<zhwhat>\S{{0,8}})"))
        .expect("a valid pattern")
});
/// Relocations, or their records, as the thing a line counts.
static RELOCATIONS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)relocation|record|重定位|记录").expect("a valid pattern"));
static RELOCATION_COUNT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\d+ (?:CO-RE )?relocation").expect("a valid pattern"));
static ANY_COUNT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d").expect("a valid pattern"));
/// "load fails with EINVAL", "attach says ok", "加载以 EINVAL 失败": a stage's outcome.
static STAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?P<en>compile|open|load|attach)\s+(?:then\s+)?(?P<verb>fails|failed|says\s+ok)(?:\s+with\s+(?P<errno>E[A-Z0-9]{2,}))?|(?P<zh>open|load|attach|加载|附加) ?以 ?(?P<zherrno>E[A-Z0-9]{2,}) ?失败",
    )
    .expect("a valid pattern")
});
/// What a transcript's observed line says: `0 of N file opens by this process`.
static OBSERVED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^ *(\S+) of (\S+)").expect("a valid pattern"));

/// What `prose` claims that `snapshots`, the transcripts it speaks of,
/// contradict: one sentence each, quoting the claim.
pub fn contradicted(prose: &str, snapshots: &[Snapshot]) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<Line> = snapshots.iter().flat_map(|s| transcript::line::lines(&s.transcript)).collect();
    let starting = |word: &str| -> Vec<&Line> { lines.iter().filter(|l| l.label().eq_ignore_ascii_case(word)).collect() };

    for claim in COUNT.captures_iter(prose) {
        let said = claim.name("en").or(claim.name("zh")).map_or("", |m| m.as_str());
        let Some(said_n) = number(said) else { continue };
        let observed = lines.iter().filter_map(|l| match l {
            Line::Observed(text) => Some(text.as_str()),
            _ => None,
        });
        let totals: Vec<&str> = observed.filter_map(|t| OBSERVED.captures(t)).map(|c| c.get(2).map_or("", |m| m.as_str())).collect();
        if totals.contains(&"N") {
            problems.push(format!("{:?}: the run chooses how many times (the transcript shows `of N`), so no count is right", &claim[0]));
        } else if !totals.is_empty() && !totals.iter().any(|t| t.parse() == Ok(said_n)) {
            problems.push(format!("{:?}: the transcripts count {}", &claim[0], totals.join(", ")));
        }
    }
    for claim in LINE.captures_iter(prose) {
        let word = claim.name("en").or(claim.name("paren")).or(claim.name("zh")).map_or("", |m| m.as_str());
        if starting(word).is_empty() {
            problems.push(format!("{:?}: the transcripts it speaks of have no `{}` line", &claim[0], word.to_lowercase()));
        }
    }
    for claim in COUNTING_LINE.captures_iter(prose) {
        let word = claim.name("en").or(claim.name("zh")).map_or("", |m| m.as_str());
        let what = claim.name("what").or(claim.name("zhwhat")).map_or("", |m| m.as_str());
        // What it counts: relocations (their records), or anything, then any number will do.
        let count = if RELOCATIONS.is_match(what) { &*RELOCATION_COUNT } else { &*ANY_COUNT };
        if !starting(word).iter().any(|l| count.is_match(&l.text())) {
            problems.push(format!("{:?}: no `{}` line of the transcripts it speaks of holds that count", &claim[0], word.to_lowercase()));
        }
    }
    for claim in STAGE.captures_iter(prose) {
        let stage = match claim.name("en").or(claim.name("zh")).map_or("", |m| m.as_str()) {
            "加载" => "load".to_string(),
            "附加" => "attach".to_string(),
            stage => stage.to_lowercase(),
        };
        let failed = claim.name("verb").is_none_or(|v| !v.as_str().to_lowercase().contains("ok"));
        let errno = claim.name("errno").or(claim.name("zherrno")).map(|m| m.as_str());
        let shown = |line: &&Line| match line {
            Line::Failed { detail, .. } => {
                failed && errno.is_none_or(|e| detail.as_deref().and_then(|d| d.split_whitespace().next()) == Some(e))
            }
            Line::Ok { .. } => !failed,
            _ => false,
        };
        if !starting(&stage).iter().any(shown) {
            let what = match (failed, errno) {
                (true, Some(errno)) => format!("failed with {errno}"),
                (true, None) => "FAILED".to_string(),
                (false, _) => "ok".to_string(),
            };
            problems.push(format!("{:?}: no `{stage}` line of the transcripts it speaks of says {what}", &claim[0]));
        }
    }
    problems
}

/// A learner's progress, `passed/total`, in the fenced blocks of `chapter`,
/// where `total` is not the number of lessons the workbook has.
pub fn wrong_totals(chapter: &str, lessons: usize) -> Vec<String> {
    let mut problems = Vec::new();
    let mut fenced = false;
    for line in chapter.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            continue;
        }
        for token in line.split_whitespace() {
            let Some((passed, total)) = token.split_once('/') else {
                continue;
            };
            let (Ok(passed), Ok(total)) = (passed.parse::<usize>(), total.parse::<usize>()) else {
                continue;
            };
            if passed <= total && total != lessons {
                problems.push(format!("{token:?} in {:?}: the workbook has {lessons} lessons", line.trim()));
            }
        }
    }
    problems
}

/// "five", "5", "五" as a number.
fn number(word: &str) -> Option<u64> {
    const ENGLISH: [&str; 11] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    const CHINESE: [&str; 11] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];
    let word = word.to_lowercase();
    word.parse()
        .ok()
        .or_else(|| ENGLISH.iter().position(|w| *w == word).map(|n| n as u64))
        .or_else(|| CHINESE.iter().position(|w| *w == word).map(|n| n as u64))
        .or_else(|| (word == "两").then_some(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(name: &str, transcript: &str) -> Snapshot {
        Snapshot { name: name.into(), transcript: transcript.into() }
    }

    const LAYER: &str =
        "compile  ok      .BTF present, .BTF.ext present\nopen     ok\nload     ok\nattach   ok\nobserved 0 of N file opens by this process";

    #[test]
    fn a_count_the_run_chooses_is_no_fixed_number() {
        let snapshots = [snapshot("layer-2", LAYER)];
        let found = contradicted("It attaches, opens a file five times and reads the count.", &snapshots);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("\"opens a file five times\""), "{found:?}");
        assert_eq!(contradicted("加载，附加，打开一个文件五次，然后读取计数。", &snapshots).len(), 1);
        assert!(contradicted("It opens a file a number of times the run chooses.", &snapshots).is_empty());
        let fixed = [snapshot("fixed", "observed 5 of 5 file opens")];
        assert!(contradicted("opens a file five times", &fixed).is_empty());
        assert_eq!(contradicted("opens a file 6 times", &fixed).len(), 1);
    }

    #[test]
    fn a_line_cited_by_name_must_be_in_the_transcript() {
        let snapshots = [snapshot("layer-2", LAYER)];
        for prose in ["libbpf attached it (the note line says which)", "nothing attached (the note line)", "note 一行写明了是哪个"]
        {
            let found = contradicted(prose, &snapshots);
            assert!(found.len() == 1 && found[0].contains("no `note` line"), "{prose}: {found:?}");
        }
        assert!(contradicted("the compile line says the object has BTF; the observed line proves it", &snapshots).is_empty());
        let with_note = [snapshot("layer-2", &format!("{LAYER}\nnote     attached: nothing"))];
        assert!(contradicted("(the note line)", &with_note).is_empty());
    }

    #[test]
    fn a_line_said_to_count_must_hold_a_number() {
        let snapshots = [snapshot("layer-1", LAYER)];
        assert_eq!(contradicted("The compile line of a transcript counts these records.", &snapshots).len(), 1);
        assert_eq!(contradicted("输出记录的 compile 一行会统计这些记录的条数。", &snapshots).len(), 1);
        let counted = [snapshot("layer-1", "compile  ok      .BTF present, 2 CO-RE relocations")];
        assert!(contradicted("The compile line counts these records.", &counted).is_empty());
        // A number of errors is no count of relocations.
        let errors = [snapshot("layer-1", "compile  FAILED  clang: 1 error(s)")];
        assert_eq!(contradicted("the compile line counts the relocations", &errors).len(), 1);
        assert!(contradicted("the compile line counts the errors", &errors).is_empty());
        assert_eq!(contradicted("[第 03 课](03-einval.md)：compile 一行统计了重定位条数", &errors).len(), 1);
    }

    #[test]
    fn a_stage_said_to_fail_or_pass_must_do_so_in_the_transcript() {
        let failed = [snapshot("layer-1", "compile  ok\nopen     ok\nload     FAILED  EINVAL (Invalid argument)\nstopped  at load")];
        assert!(contradicted("Load fails with EINVAL, and libbpf names the relocation.", &failed).is_empty());
        assert!(contradicted("加载以 EINVAL 失败", &failed).is_empty());
        assert!(contradicted("open says ok, then load fails", &failed).is_empty());
        for wrong in ["Load fails with ESRCH.", "attach says ok", "open fails", "加载以 ENOENT 失败"] {
            assert_eq!(contradicted(wrong, &failed).len(), 1, "{wrong}");
        }
    }

    #[test]
    fn a_progress_total_is_the_number_of_lessons() {
        let chapter = "Progress 1/4 in prose is not checked.\n\n```text\npc-01   ada     1/4     02 layer 3\npc-02   bob     0/5     01 layer 2\n5.10/6.1 and /sys/kernel\n```\n";
        let found = wrong_totals(chapter, 5);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("\"1/4\""), "{found:?}");
    }
}
