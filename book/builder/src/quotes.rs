//! The book may quote an error message in its prose only if a snapshot the
//! tests reproduce contains it word for word: a lesson's (`cargo xtask dev verify`
//! runs them on a real kernel) or a probe's (`book/probes`).
//!
//! Some messages change with the kernel: the same failure, at the same stage,
//! printed in other words by another kernel. Such a message may be quoted only
//! where the text names the kernels whose snapshots print it, and only from a
//! case measured on every kernel of the matrix.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use regex::Regex;

use crate::workbook::{Kernels, Snapshot};

/// Inline code that reads like a message rather than a name or a command:
/// an errno name, or a word that error messages use.
static MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\bE[A-Z0-9]{3,}\b|\berror\b|\bfailed\b|\bFAILED\b|\bmissing\b|\bunknown\b|not supported|\binvalid\b|exceeded|not found|No such|logged nothing|\bcannot\s",
    )
    .expect("a valid pattern")
});

/// Whether inline code `text` is a quoted message.
pub fn is_message(text: &str) -> bool {
    MESSAGE.is_match(text)
}

/// The quoted messages in a chapter that none of `snapshots` contains.
pub fn unverified(chapter: &str, snapshots: &[String]) -> Vec<String> {
    Parser::new(chapter)
        .filter_map(|event| match event {
            Event::Code(code) => Some(code.into_string()),
            _ => None,
        })
        .filter(|code| is_message(code))
        .filter(|code| !snapshots.iter().any(|s| s.contains(code.as_str())))
        .collect()
}

/// One case (a lesson's state, or a probe) as the kernels printed it.
#[derive(Debug, Clone)]
pub struct Case {
    /// The snapshots' common name, e.g. `layer-1` or `kernel-read-under-lockdown`.
    pub name: String,
    pub variants: Vec<Variant>,
    /// Matrix kernels no snapshot of this case speaks for: never measured there.
    pub unmeasured: Vec<String>,
}

/// One snapshot of a case, and the kernels it speaks for.
#[derive(Debug, Clone)]
pub struct Variant {
    pub kernels: Vec<String>,
    pub transcript: String,
}

/// Groups one folder's snapshots into cases. The snapshot without `@` is the
/// host's; `<name>@<kernel>` is a matrix kernel's; `<name>@kprobes` speaks for
/// the matrix kernels (they have kprobes) without a snapshot of their own.
/// `absent_means_same`: a lesson keeps a kernel's snapshot only where it
/// differs (`dev verify --bless`), so the host's then speaks for the rest too; a
/// probe runs on another kernel only where `vm.toml` asks, always with its own.
pub fn cases(snapshots: &[Snapshot], kernels: &Kernels, absent_means_same: bool) -> Vec<Case> {
    let mut by_name: BTreeMap<&str, Vec<(Option<&str>, &Snapshot)>> = BTreeMap::new();
    for snapshot in snapshots {
        let (name, on) = match snapshot.name.split_once('@') {
            Some((name, on)) => (name, Some(on)),
            None => (snapshot.name.as_str(), None),
        };
        by_name.entry(name).or_default().push((on, snapshot));
    }
    by_name
        .into_iter()
        .map(|(name, snapshots)| {
            let own: Vec<&str> = snapshots.iter().filter_map(|(on, _)| *on).filter(|on| kernels.matrix.iter().any(|k| k == on)).collect();
            let rest: Vec<String> = kernels.matrix.iter().filter(|k| !own.contains(&k.as_str())).cloned().collect();
            let has_kprobes = snapshots.iter().any(|(on, _)| *on == Some("kprobes"));
            let mut variants = Vec::new();
            for (on, snapshot) in &snapshots {
                let speaks_for = match on {
                    None if absent_means_same && !has_kprobes => std::iter::once(kernels.host.clone()).chain(rest.clone()).collect(),
                    None => vec![kernels.host.clone()],
                    Some("kprobes") => rest.clone(),
                    Some(kernel) => vec![kernel.to_string()],
                };
                variants.push(Variant { kernels: speaks_for, transcript: snapshot.transcript.clone() });
            }
            let spoken: BTreeSet<&String> = variants.iter().flat_map(|v| &v.kernels).collect();
            let unmeasured = kernels.matrix.iter().filter(|k| !spoken.contains(k)).cloned().collect();
            Case { name: name.to_string(), variants, unmeasured }
        })
        .collect()
}

/// The stage a transcript stopped at (`stopped  at load`), if it failed.
fn stopped_at(transcript: &str) -> Option<transcript::Stage> {
    transcript::Transcript::parse(transcript).stopped_at()
}

/// Where the wording of `quote` depends on the kernel: in each case where two
/// kernels stop at the same stage and only one prints `quote`, the kernels
/// whose snapshots print it, and the case. Empty when the wording is the same
/// on every kernel (a different outcome, such as a load that succeeds on one
/// kernel, is not a different wording).
pub fn wording<'a>(quote: &str, cases: &'a [Case]) -> Vec<(&'a Case, BTreeSet<String>)> {
    let mut found = Vec::new();
    for case in cases {
        let mut kernels = BTreeSet::new();
        for with in case.variants.iter().filter(|v| v.transcript.contains(quote)) {
            let stage = stopped_at(&with.transcript);
            let reworded = stage.is_some()
                && case.variants.iter().any(|other| stopped_at(&other.transcript) == stage && !other.transcript.contains(quote));
            if reworded {
                kernels.extend(with.kernels.iter().cloned());
            }
        }
        if !kernels.is_empty() {
            found.push((case, kernels));
        }
    }
    found
}

/// Whether `text` names kernel `kernel` (`6.1`, not the `6.1` of `6.12` or `16.1`).
pub fn names_kernel(text: &str, kernel: &str) -> bool {
    text.match_indices(kernel).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + kernel.len()..].chars();
        let clear_before = !before.is_some_and(|c| c.is_ascii_digit() || c == '.');
        let clear_after = match after.next() {
            Some(c) if c.is_ascii_digit() => false,
            Some('.') => !after.next().is_some_and(|c| c.is_ascii_digit()),
            _ => true,
        };
        clear_before && clear_after
    })
}

/// What is wrong with the quotes of a chapter whose wording depends on the
/// kernel: each must sit in a paragraph, list item or table row that names
/// every kernel whose snapshots print it, and come from a case measured on
/// every kernel of the matrix. One line per problem.
pub fn kernel_problems(chapter: &str, cases: &[Case]) -> Vec<String> {
    // The innermost paragraph, list item, table row or heading: its text, and the quotes in it.
    let mut units: Vec<(String, Vec<String>)> = Vec::new();
    let mut problems = Vec::new();
    for event in Parser::new_ext(chapter, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Paragraph | Tag::Item | Tag::TableRow | Tag::TableHead | Tag::Heading { .. }) => {
                units.push((String::new(), Vec::new()));
            }
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::TableRow | TagEnd::TableHead | TagEnd::Heading(_)) => {
                let Some((text, quotes)) = units.pop() else { continue };
                for quote in quotes.iter().filter(|q| is_message(q)) {
                    for (case, kernels) in wording(quote, cases) {
                        let unnamed: Vec<&str> = kernels.iter().map(String::as_str).filter(|k| !names_kernel(&text, k)).collect();
                        if !unnamed.is_empty() {
                            problems.push(format!(
                                "quotes `{quote}`, which only some kernels print ({} of `{}`), without naming {}",
                                kernels.iter().cloned().collect::<Vec<_>>().join(", "),
                                case.name,
                                unnamed.join(", ")
                            ));
                        }
                        if !case.unmeasured.is_empty() {
                            problems.push(format!(
                                "quotes `{quote}`, whose wording depends on the kernel, but `{}` was not measured on {}",
                                case.name,
                                case.unmeasured.join(", ")
                            ));
                        }
                    }
                }
                if let Some(parent) = units.last_mut() {
                    parent.0.push_str(&text);
                }
            }
            Event::Text(text) => {
                if let Some(unit) = units.last_mut() {
                    unit.0.push_str(&text);
                }
            }
            Event::Code(code) => {
                if let Some(unit) = units.last_mut() {
                    unit.0.push_str(&code);
                    unit.1.push(code.into_string());
                }
            }
            _ => {}
        }
    }
    problems.dedup();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = "open     FAILED  ENOENT (No such file or directory)\n         libbpf: BTF is required, but is missing or corrupted.\nstopped  at open";

    #[test]
    fn names_and_commands_are_not_messages() {
        for code in ["set_print", "-g", "llvm-readelf -S x.bpf.o | grep BTF", "SEC(\".maps\")", "harness::libbpf_log", "cannot-run"] {
            assert!(!is_message(code), "{code}");
        }
        for code in [
            "ENOENT",
            "EINVAL",
            "E2BIG",
            "unknown type name '__u64'",
            "BTF is required, but is missing or corrupted.",
            "program of this type cannot use helper bpf_probe_read#4",
        ] {
            assert!(is_message(code), "{code}");
        }
    }

    #[test]
    fn a_message_must_be_in_a_snapshot_word_for_word() {
        let chapter = "Open fails with `ENOENT` and `BTF is required, but is missing or corrupted.`; \
                       the fix is `-g`. It never says `BTF is missing or corrupted`.\n\n\
                       ```text\nerror: not inline code, not checked\n```\n";
        let snapshots = [SNAPSHOT.to_string()];
        assert_eq!(unverified(chapter, &snapshots), ["BTF is missing or corrupted"]);
    }

    fn snapshot(name: &str, transcript: &str) -> Snapshot {
        Snapshot { name: name.to_string(), transcript: transcript.to_string() }
    }

    fn kernels() -> Kernels {
        Kernels { host: "6.18".to_string(), matrix: ["5.10", "6.1", "6.12"].map(String::from).to_vec() }
    }

    /// A probe that one kernel lets load, and two refuse in their own words.
    fn lockdown() -> Vec<Snapshot> {
        vec![
            snapshot("lockdown", "open     ok\nload     ok\nattach   ok"),
            snapshot("lockdown@5.10", "open     ok\nload     ok\nattach   ok"),
            snapshot("lockdown@6.1", "open     ok\nload     FAILED  EINVAL\n         verifier: unknown func bpf_probe_read#4\nstopped  at load"),
            snapshot("lockdown@6.12", "open     ok\nload     FAILED  EINVAL\n         verifier: program of this type cannot use helper bpf_probe_read#4\nstopped  at load"),
        ]
    }

    #[test]
    fn kernel_names_are_whole_versions() {
        assert!(names_kernel("on 6.1, and", "6.1"));
        assert!(names_kernel("6.1 和更早的内核", "6.1"));
        assert!(names_kernel("up to 6.1.", "6.1"));
        assert!(!names_kernel("on 6.12", "6.1"));
        assert!(!names_kernel("on 16.1", "6.1"));
        assert!(!names_kernel("6.1.192", "6.1"));
        assert!(names_kernel("5.10 and 6.12", "6.12"));
    }

    #[test]
    fn a_reworded_message_is_told_apart_from_a_different_outcome() {
        let cases = cases(&lockdown(), &kernels(), false);
        let old = wording("unknown func bpf_probe_read#4", &cases);
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].1, BTreeSet::from(["6.1".to_string()]));
        // Both kernels that refuse say EINVAL; the ones that load say nothing: not a wording.
        assert!(wording("EINVAL", &cases).is_empty());
        // A lesson's state that fails on one kernel and passes on another is an outcome.
        let lesson = [
            snapshot("layer-1", "load     FAILED  EINVAL\n         failed to resolve CO-RE relocation\nstopped  at load"),
            snapshot("layer-1@5.10", "load     ok"),
        ];
        assert!(wording("failed to resolve CO-RE relocation", &cases_of_lesson(&lesson)).is_empty());
    }

    fn cases_of_lesson(snapshots: &[Snapshot]) -> Vec<Case> {
        cases(snapshots, &kernels(), true)
    }

    #[test]
    fn a_kernel_dependent_message_must_name_its_kernels() {
        let cases = cases(&lockdown(), &kernels(), false);
        let bad = "Load fails with `unknown func bpf_probe_read#4`.\n\n\
                   | errno | meaning |\n|---|---|\n| `EINVAL` | `program of this type cannot use helper bpf_probe_read#4` on 6.1 |\n";
        let problems = kernel_problems(bad, &cases);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].contains("`unknown func bpf_probe_read#4`") && problems[0].ends_with("without naming 6.1"), "{problems:#?}");
        assert!(problems[1].contains("cannot use helper") && problems[1].ends_with("without naming 6.12"), "{problems:#?}");

        let good = "Up to 6.1, load fails with `unknown func bpf_probe_read#4`.\n\n\
                    | errno | meaning |\n|---|---|\n| `EINVAL` | `program of this type cannot use helper bpf_probe_read#4` (6.12) |\n";
        assert_eq!(kernel_problems(good, &cases), Vec::<String>::new());
    }

    #[test]
    fn a_kernel_dependent_message_must_come_from_every_kernel_of_the_matrix() {
        let mut snapshots = lockdown();
        snapshots.retain(|s| s.name != "lockdown@5.10");
        let cases = cases(&snapshots, &kernels(), false);
        let problems = kernel_problems("On 6.1: `unknown func bpf_probe_read#4`.", &cases);
        assert_eq!(
            problems,
            ["quotes `unknown func bpf_probe_read#4`, whose wording depends on the kernel, but `lockdown` was not measured on 5.10"]
        );
    }
}
