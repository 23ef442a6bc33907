//! The workbook's checker: `cargo xtask <command>`.

mod book;
mod cargo;
mod check;
mod compatibility;
mod doctor;
mod kernels;
mod lessons;
mod matrix;
mod object;
mod progress;
mod runner;
mod setup;
mod snapshot;
mod verify;
mod vm;
mod vmlinux;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Check, hint and verify the libbpf CO-RE workbook's lessons",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Every lesson, its title, and where you are with it (the default)
    List,
    /// Build a lesson, run it on the kernel, and compare with the fixed outcome
    Check {
        /// Lesson number, e.g. 01
        lesson: String,
        /// Run it on another kernel under qemu, no root needed: 5.10, 6.1, 6.12 (or host)
        #[arg(long)]
        kernel: Option<String>,
    },
    /// The hint for the layer you are stuck on
    Hint {
        /// Lesson number, e.g. 01
        lesson: String,
    },
    /// Check this machine for what the lessons need, with the fix for each problem
    Doctor {
        /// Mount tracefs (needs root)
        #[arg(long)]
        fix: bool,
    },
    /// Self-test: every lesson fails as documented, every solution passes
    Verify {
        /// Lesson numbers; all lessons when none are given
        lessons: Vec<String>,
        /// Write the observed transcripts as the new snapshots (for maintainers)
        #[arg(long)]
        bless: bool,
        /// Run on these kernels too: `all`, or names like 5.10,6.1,6.12,host; prints the matrix
        #[arg(long)]
        kernels: Vec<String>,
        /// With --kernels: report how long the builds and each boot took
        #[arg(long)]
        timings: bool,
    },
    /// Fetch Debian's 5.10, 6.1 and 6.12 kernels into a cache (once), and list every kernel
    Kernels {
        /// Only list; fetch nothing
        #[arg(long)]
        list: bool,
    },
    /// Regenerate vmlinux.h for this machine's architecture from the running kernel
    Vmlinux,
    /// Build the book into book/build/, checking every include and link
    Book {
        /// Serve it on http://127.0.0.1:3000/
        #[arg(long, conflicts_with = "test")]
        serve: bool,
        /// The port for --serve
        #[arg(long, requires = "serve")]
        port: Option<u16>,
        /// Open it in a browser
        #[arg(long, conflicts_with = "test")]
        open: bool,
        /// Test it: build it and read every lesson chapter in headless Chromium
        #[arg(long)]
        test: bool,
    },
    /// Install what the lessons need (asks first), then check lesson 01
    Setup {
        /// Install without asking
        #[arg(long)]
        yes: bool,
    },
}

/// Bad input from the user: reported in one line, exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The workbook's top folder.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workbook")
        .to_path_buf()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Snapshots are compared, never written, unless a maintainer blesses them.
    // insta reads both once, so they are set before any comparison.
    let bless = matches!(cli.command, Some(Command::Verify { bless: true, .. }));
    std::env::set_var("INSTA_WORKSPACE_ROOT", root());
    std::env::set_var("INSTA_UPDATE", if bless { "always" } else { "no" });
    // Only shortens insta's closing line, which otherwise suggests `cargo insta test`.
    std::env::set_var("INSTA_CARGO_INSTA", "1");

    let root = root();
    let outcome = match cli.command.unwrap_or(Command::List) {
        Command::List => lessons::list(&root),
        Command::Check { lesson, kernel } => check::check(&root, &lesson, kernel.as_deref()),
        Command::Hint { lesson } => check::hint(&root, &lesson),
        Command::Doctor { fix } => doctor::doctor(fix),
        Command::Verify { lessons, bless, kernels, timings } if !kernels.is_empty() => {
            matrix::verify(&root, &lessons, &kernels, bless, timings)
        }
        Command::Verify { timings: true, .. } => Err(UsageError("--timings goes with --kernels".into()).into()),
        Command::Verify { lessons, bless, .. } => verify::verify(&root, &lessons, bless),
        Command::Kernels { list } => kernels::command(list),
        Command::Vmlinux => vmlinux::regenerate(&root),
        Command::Book { serve, port, open, test } => book::book(&root, serve, port, open, test),
        Command::Setup { yes } => setup::setup(&root, yes),
    };
    match outcome {
        Ok(code) => code,
        Err(error) if error.downcast_ref::<UsageError>().is_some() => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
