//! The book may quote an error message in its prose only if a snapshot the
//! tests reproduce contains it word for word: a lesson's (`cargo xtask verify`
//! runs them on a real kernel) or a probe's (`book/probes`).

use std::sync::LazyLock;

use pulldown_cmark::{Event, Parser};
use regex::Regex;

/// Inline code that reads like a message rather than a name or a command:
/// an errno name, or a word that error messages use.
static MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\bE[A-Z0-9]{3,}\b|\berror\b|\bfailed\b|\bFAILED\b|\bmissing\b|\bunknown\b|not supported|\binvalid\b|exceeded|not found|No such|logged nothing",
    )
    .expect("a valid pattern")
});

/// Whether inline code `text` is a quoted message.
pub fn is_message(text: &str) -> bool {
    MESSAGE.is_match(text)
}

/// The quoted messages in a chapter that none of `snapshots` contains.
pub fn unverified<'a>(chapter: &'a str, snapshots: &[String]) -> Vec<String> {
    Parser::new(chapter)
        .filter_map(|event| match event {
            Event::Code(code) => Some(code.into_string()),
            _ => None,
        })
        .filter(|code| is_message(code))
        .filter(|code| !snapshots.iter().any(|s| s.contains(code.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = "open     FAILED  ENOENT (No such file or directory)\n         libbpf: BTF is required, but is missing or corrupted.\nstopped  at open";

    #[test]
    fn names_and_commands_are_not_messages() {
        for code in ["set_print", "-g", "llvm-readelf -S x.bpf.o | grep BTF", "SEC(\".maps\")", "harness::libbpf_log"] {
            assert!(!is_message(code), "{code}");
        }
        for code in ["ENOENT", "EINVAL", "E2BIG", "unknown type name '__u64'", "BTF is required, but is missing or corrupted."] {
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
}
