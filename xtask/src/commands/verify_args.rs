//! `cargo xtask dev verify`'s arguments, shared by the self-test on this
//! machine (`verify`) and on other kernels (`matrix`): in either module, the
//! other's import of them would close a cycle.

use crate::workbook::snapshot::OnMismatch;

/// `cargo xtask dev verify`; with `--kernels`, the matrix (`commands::matrix`).
#[derive(clap::Args, Debug, Default, Clone)]
pub struct VerifyArgs {
    /// Lesson numbers; all lessons when none are given
    pub lessons: Vec<String>,
    /// Write the observed transcripts as the new snapshots
    #[arg(long)]
    pub bless: bool,
    /// Run on these kernels too: `all`, or names like 5.10,6.1,6.12,host; prints the matrix
    #[arg(long)]
    pub kernels: Vec<String>,
    /// With --kernels: report how long the builds and each boot took
    #[arg(long, requires = "kernels")]
    pub timings: bool,
    /// With --kernels: run only the book's probes that need another kernel (book/probes/vm.toml)
    #[arg(long, requires = "kernels", conflicts_with_all = ["lessons", "timings"])]
    pub probes: bool,
}

impl VerifyArgs {
    /// What a snapshot comparison does with a transcript that differs.
    pub fn on_mismatch(&self) -> OnMismatch {
        if self.bless {
            OnMismatch::Bless
        } else {
            OnMismatch::ShowDiff
        }
    }
}
