//! The workbook's checker: `cargo xtask <command>` for learners and workshops,
//! `cargo xtask dev <command>` for the workbook's maintainers.
//!
//! Layers, each importing only from the ones below it (the `layers` test checks this):
//! - `commands/`: one file per subcommand, a short composition of the layers below;
//! - `report/`: terminal text, `--json` objects and the compatibility record;
//! - `workbook/`: lessons, progress, snapshots, scratch copies, lesson runs; may use `machine/`;
//! - `machine/`: this machine's facts, cargo, the runner, kernels, the VM, locks; knows nothing of lessons;
//! - `usage_error`: bad input from the user, which any layer may report.

mod commands;
mod machine;
mod report;
mod usage_error;
mod workbook;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::book::BookArgs;
use commands::check::CheckArgs;
use commands::diagnose::DiagnoseArgs;
use commands::doctor::DoctorArgs;
use commands::hint::HintArgs;
use commands::kernels::KernelsArgs;
use commands::list::ListArgs;
use commands::preflight::PreflightArgs;
use commands::reset::ResetArgs;
use commands::restore::RestoreArgs;
use commands::room::{AgendaArgs, ExportArgs, ImportArgs, JoinArgs, ServeArgs};
use commands::setup::SetupArgs;
use commands::solution::SolutionArgs;
use commands::test::TestArgs;
use commands::verify_args::VerifyArgs;
use commands::watch::WatchArgs;
use commands::{
    book, check, diagnose, doctor, hint, kernels, list, matrix, preflight, reset, restore, room, setup, solution, test, verify, vmlinux,
    watch,
};
use machine::interrupt;
use report::{json, terminal};
use usage_error::UsageError;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Check, hint and verify the libbpf CO-RE workbook's lessons",
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// The learner's and the workshop's commands; the maintainers' are under `dev`.
#[derive(Subcommand)]
enum Command {
    /// Every lesson, its title, and where you are with it (the default)
    List(ListArgs),
    /// Build a lesson, run it on the kernel, and compare with the fixed outcome
    Check(CheckArgs),
    /// Check a lesson again each time you save one of its files
    Watch(WatchArgs),
    /// Put a lesson's starting files back (yours are saved in .backups/ first)
    Reset(ResetArgs),
    /// Bring back your files from the newest backup that reset or solution made
    Restore(RestoreArgs),
    /// Show the solution as a diff against your files
    Solution(SolutionArgs),
    /// The hint for the layer you are stuck on
    Hint(HintArgs),
    /// Check this machine for what the lessons need, with the fix for each problem
    Doctor(DoctorArgs),
    /// Diagnose a BPF object, a .bpf.c, or a libbpf log or error text (`-` reads standard input)
    Diagnose(DiagnoseArgs),
    /// Fetch the Debian 5.10, 6.1 and 6.12 builds kernels.lock pins into a cache (once), and list every kernel
    Kernels(KernelsArgs),
    /// Build the book into book/build/, checking every include and link
    Book(BookArgs),
    /// A workshop's live view: the instructor serves it, learners join it
    Room {
        #[command(subcommand)]
        action: RoomAction,
    },
    /// Install what the lessons need (asks first), build their dependencies, then check lesson 01
    Setup(SetupArgs),
    /// Before a workshop (attendees): setup, doctor --deep, the offline book and, with --vm, qemu and
    /// Debian's kernels; then a short report to send the instructor
    Preflight(PreflightArgs),
    /// The workbook's maintainers: self-test, CI's test, the book's translation, kernel pins
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
}

#[derive(Subcommand)]
enum RoomAction {
    /// Serve the room's page (instructor); prints the learners' token and the page's address
    Serve(ServeArgs),
    /// Join a room (learner): sends doctor's findings now, then each check sends where you are, never your code
    Join(JoinArgs),
    /// Leave the room: checks send nothing any more
    Leave,
    /// Write every record of this workbook to a file the instructor can `room import`
    Export(ExportArgs),
    /// Add learners' `room export` files to a running room (instructor)
    Import(ImportArgs),
    /// Print the workshop's agenda, each lesson timed by the room's measured median, or estimated (instructor)
    Agenda(AgendaArgs),
    /// (internal) queue the record on stdin, if any, and send the queue; a check runs it in the background
    #[command(hide = true)]
    Send,
}

/// `cargo xtask dev …`: what the workbook's maintainers run.
#[derive(Subcommand)]
enum DevCommand {
    /// Self-test: every lesson fails as documented, every solution passes
    Verify(VerifyArgs),
    /// The maintainers' test (CI runs it): installs what it needs (asks first), then
    /// cargo test, dev test-book and dev verify --kernels all --timings
    Test(TestArgs),
    /// Test the book: build it, read every lesson chapter in headless Chromium, run the book's probes
    TestBook,
    /// After changing the book's English: regenerate book/po/messages.pot and merge it
    /// into each translation (needs gettext's msgmerge)
    UpdatePo,
    /// Pin the newest Debian builds of 5.10, 6.1 and 6.12 (and of 6.1-arm64 and
    /// 6.12-arm64) in kernels.lock, then fetch them
    UpdateKernels {
        /// Only these series (e.g. 6.12-arm64); every one when none is given
        series: Vec<String>,
    },
    /// Regenerate vmlinux.h for this machine's architecture from the running kernel,
    /// or for a pinned Debian kernel's architecture from its BTF
    Vmlinux {
        /// A series from kernels.lock, e.g. 6.12-arm64 for vmlinux/aarch64/vmlinux.h
        #[arg(long)]
        kernel: Option<String>,
    },
    /// Diagnose programs no rule was written for: Debian's libbpf-tools objects (--deb),
    /// or bcc's libbpf-tools broken as xtask/corpus/bcc-breakages.toml says (--bcc), scored
    Corpus(commands::corpus::CorpusArgs),
}

/// The new spelling of a maintainers' command that moved under `dev`, if
/// `args` (without the program's name) use the old one.
fn moved(args: &[String]) -> Option<String> {
    let (first, rest) = args.split_first()?;
    let has = |flag: &str| rest.iter().any(|a| a == flag);
    let others = |flag: &str| rest.iter().filter(|a| *a != flag).cloned().collect::<Vec<_>>();
    let (command, kept) = match first.as_str() {
        "verify" | "test" | "vmlinux" => (first.clone(), rest.to_vec()),
        "book" if has("--update-po") => ("update-po".to_string(), others("--update-po")),
        "book" if has("--test") => ("test-book".to_string(), others("--test")),
        "kernels" if has("--update") => ("update-kernels".to_string(), others("--update")),
        _ => return None,
    };
    Some(std::iter::once(format!("cargo xtask dev {command}")).chain(kept).collect::<Vec<_>>().join(" "))
}

fn main() -> ExitCode {
    // The copy sudo starts to see whether fentry programs run here, as root.
    if std::env::var_os(machine::fentry::PROBE_ENV).is_some() {
        return machine::fentry::answer_probe();
    }
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    if let Some(now) = moved(&args) {
        eprintln!("error: the maintainers' commands moved under `dev`: {now}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::List(ListArgs::default()));
    let root = match workbook::find_root() {
        Ok(root) => root,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let json = match &command {
        Command::List(args) => args.json,
        Command::Check(args) => args.json,
        Command::Doctor(args) => args.json,
        Command::Hint(args) => args.json,
        Command::Diagnose(args) => args.json,
        _ => false,
    };
    // Commands that run a lesson's loader stop it before they exit on Ctrl-C.
    if matches!(
        command,
        Command::Check(_)
            | Command::Watch(_)
            | Command::Setup(_)
            | Command::Room { .. }
            | Command::Preflight(_)
            | Command::Dev { command: DevCommand::Verify(_) | DevCommand::Test(_) }
    ) {
        interrupt::catch();
    }

    let name = command_name(&command);
    let outcome = match &command {
        Command::List(args) => list::list(&root, args),
        Command::Check(args) => check::check(&root, args),
        Command::Watch(args) => watch::watch(&root, args),
        Command::Reset(args) => reset::reset(&root, args),
        Command::Restore(args) => restore::restore(&root, args),
        Command::Solution(args) => solution::solution(&root, args),
        Command::Hint(args) => hint::hint(&root, args),
        Command::Doctor(args) => doctor::doctor(&root, args),
        Command::Diagnose(args) => diagnose::diagnose(&root, args),
        Command::Kernels(args) => kernels::kernels(&root, args),
        Command::Book(args) => book::book(&root, args),
        Command::Setup(args) => setup::setup(&root, args),
        Command::Preflight(args) => preflight::preflight(&root, args),
        Command::Room { action } => match action {
            RoomAction::Serve(args) => room::serve(&root, args),
            RoomAction::Join(args) => room::join(&root, args),
            RoomAction::Leave => room::leave(&root),
            RoomAction::Export(args) => room::export(&root, args),
            RoomAction::Import(args) => room::import(args),
            RoomAction::Agenda(args) => room::agenda(&root, args),
            RoomAction::Send => room::send(&root),
        },
        Command::Dev { command } => match command {
            DevCommand::Verify(args) if args.probes => matrix::verify_probes(&root, args),
            DevCommand::Verify(args) if !args.kernels.is_empty() => matrix::verify(&root, args, matrix::Record::Enforced),
            DevCommand::Verify(args) => verify::verify(&root, args),
            DevCommand::Test(args) => test::test(&root, args),
            DevCommand::TestBook => book::test(&root),
            DevCommand::UpdatePo => book::update_po(&root),
            DevCommand::UpdateKernels { series } => kernels::update(&root, series),
            DevCommand::Vmlinux { kernel } => vmlinux::regenerate(&root, kernel.as_deref()),
            DevCommand::Corpus(args) => commands::corpus::corpus(&root, args),
        },
    };
    let error = match outcome {
        Ok(code) => return code,
        Err(error) => error,
    };
    let code = if error.downcast_ref::<UsageError>().is_some() {
        2
    } else if error.downcast_ref::<interrupt::Interrupted>().is_some() {
        130
    } else {
        1
    };
    if json {
        json::print(&json::ErrorReport::new(name, format!("{error:#}")));
    }
    if error.downcast_ref::<UsageError>().is_some() || error.downcast_ref::<terminal::NotConfirmed>().is_some() {
        eprintln!("error: {error}");
    } else {
        eprintln!("error: {error:#}");
    }
    ExitCode::from(code)
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::List(_) => "list",
        Command::Check(_) => "check",
        Command::Watch(_) => "watch",
        Command::Reset(_) => "reset",
        Command::Restore(_) => "restore",
        Command::Solution(_) => "solution",
        Command::Hint(_) => "hint",
        Command::Doctor(_) => "doctor",
        Command::Diagnose(_) => "diagnose",
        Command::Kernels(_) => "kernels",
        Command::Book(_) => "book",
        Command::Setup(_) => "setup",
        Command::Preflight(_) => "preflight",
        Command::Room { .. } => "room",
        Command::Dev { command } => match command {
            DevCommand::Verify(_) => "dev verify",
            DevCommand::Test(_) => "dev test",
            DevCommand::TestBook => "dev test-book",
            DevCommand::UpdatePo => "dev update-po",
            DevCommand::UpdateKernels { .. } => "dev update-kernels",
            DevCommand::Vmlinux { .. } => "dev vmlinux",
            DevCommand::Corpus(_) => "dev corpus",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_maintainers_old_spellings_name_the_new_ones() {
        assert_eq!(moved(&words("verify 01 --bless")).as_deref(), Some("cargo xtask dev verify 01 --bless"));
        assert_eq!(moved(&words("test --yes")).as_deref(), Some("cargo xtask dev test --yes"));
        assert_eq!(moved(&words("vmlinux")).as_deref(), Some("cargo xtask dev vmlinux"));
        assert_eq!(moved(&words("book --update-po")).as_deref(), Some("cargo xtask dev update-po"));
        assert_eq!(moved(&words("book --test")).as_deref(), Some("cargo xtask dev test-book"));
        assert_eq!(moved(&words("kernels --update")).as_deref(), Some("cargo xtask dev update-kernels"));
        for still in ["book --serve", "kernels --list", "check 01", "dev verify", ""] {
            assert_eq!(moved(&words(still)), None, "{still}");
        }
    }

    #[test]
    fn every_new_spelling_parses() {
        for line in ["verify 01 --bless", "test --yes", "vmlinux", "book --update-po", "book --test", "kernels --update"] {
            let now = moved(&words(line)).unwrap();
            let argv = words(&now.replacen("cargo xtask", "xtask", 1));
            assert!(Cli::try_parse_from(&argv).is_ok(), "{now}");
        }
    }

    #[test]
    fn the_command_tree_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
