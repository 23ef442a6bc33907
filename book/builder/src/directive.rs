//! The builder's directives (`{{#diff}}`, `{{#task}}`, a transcript's
//! `{{#include}}`) all put a block made from files where the directive stands,
//! and a block that cannot be made stops the build: one walk serves them all.

use anyhow::Result;
use regex::{Captures, Regex};

/// `text` with each match of `directive` replaced by what `block` makes of it;
/// the first block that fails is the error.
pub fn replace(text: &str, directive: &Regex, mut block: impl FnMut(&Captures) -> Result<String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for captures in directive.captures_iter(text) {
        let whole = captures.get(0).expect("a match");
        out.push_str(&text[last..whole.start()]);
        out.push_str(&block(&captures)?);
        last = whole.end();
    }
    out.push_str(&text[last..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_match_is_replaced_and_the_first_failure_stops() {
        let number = Regex::new(r"#(\d+)").unwrap();
        let doubled = replace("a #2 b #21.", &number, |c| Ok((c[1].parse::<u32>()? * 2).to_string())).unwrap();
        assert_eq!(doubled, "a 4 b 42.");
        assert_eq!(replace("none", &number, |_| anyhow::bail!("never")).unwrap(), "none");
        let failed = replace("#1 #x #3", &Regex::new(r"#(\w)").unwrap(), |c| Ok(c[1].parse::<u32>()?.to_string()));
        assert!(failed.is_err());
    }
}
