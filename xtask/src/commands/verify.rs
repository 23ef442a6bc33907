//! `cargo xtask dev verify [NN…]`: the workbook's self-test on this machine's
//! kernel, which is `dev verify --kernels host`: one engine, one judge (the
//! compatibility record is reported, not judged: `--kernels` judges it). In a
//! scratch copy, never in the learner's files, every lesson must fail layer
//! by layer exactly as its snapshots say, the layer fixes must add up to
//! `solution/`, the solution must pass, and other learners' fixes and fakes
//! must pass and fail as `check` would judge them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::commands::matrix;
use crate::commands::verify_args::VerifyArgs;

pub fn verify(root: &Path, args: &VerifyArgs) -> Result<ExitCode> {
    matrix::verify(root, &VerifyArgs { kernels: vec!["host".to_string()], ..args.clone() }, matrix::Record::Reported)
}
