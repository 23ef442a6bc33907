//! Transcripts compared with a lesson's insta snapshots (`snapshots/<name>.snap`).

use std::panic;
use std::path::Path;

/// Compares `transcript` with `dir/<name>.snap` through insta. On a mismatch
/// insta prints the diff and this returns false. `INSTA_UPDATE`, set once in
/// `main`, decides whether a mismatch is also written out.
pub fn matches(dir: &Path, name: &str, transcript: &str) -> bool {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        let quiet = panic::take_hook();
        panic::set_hook(Box::new(|_| {}));
        let outcome = panic::catch_unwind(|| insta::assert_snapshot!(name, transcript));
        panic::set_hook(quiet);
        outcome.is_ok()
    })
}
