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
    /// With --kernels: build for this architecture; `arm64` cross-builds for
    /// aarch64 and boots Debian's arm64 kernels (needs root; makes its build root once)
    #[arg(long, requires = "kernels", conflicts_with = "probes", value_parser = ["x86_64", "amd64", "arm64", "aarch64"])]
    pub arch: Option<String>,
    /// Only the lessons' broken layers and solutions, not other learners' fixes and fakes
    #[arg(long)]
    pub layers_only: bool,
    /// With --arch arm64: make the build root without asking
    #[arg(long, requires = "arch")]
    pub yes: bool,
}

impl VerifyArgs {
    /// Whether the run is the arm64 one.
    pub fn arm64(&self) -> bool {
        matches!(self.arch.as_deref(), Some("arm64" | "aarch64"))
    }

    /// What a snapshot comparison does with a transcript that differs.
    pub fn on_mismatch(&self) -> OnMismatch {
        if self.bless {
            OnMismatch::Bless
        } else {
            OnMismatch::ShowDiff
        }
    }
}
