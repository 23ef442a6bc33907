//! The workbook's checker: `cargo xtask <command>`.
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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
    /// Every lesson, its title, and where you are with it (the default)
    List {
        /// One JSON object instead of text (schema in the book's workshop guide)
        #[arg(long)]
        json: bool,
    },
    /// Build a lesson, run it on the kernel, and compare with the fixed outcome
    Check {
        /// Lesson number, e.g. 01
        lesson: String,
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
        /// Run it on another kernel under qemu, no root needed: 5.10, 6.1, 6.12 (or host)
        #[arg(long)]
        kernel: Option<String>,
    },
    /// Check a lesson again each time you save one of its files
    Watch {
        /// Lesson number, e.g. 01
        lesson: String,
        /// Poll for changes instead of waiting for file events
        #[arg(long)]
        poll: bool,
    },
    /// Put a lesson's starting files back (yours are saved in .backups/ first)
    Reset {
        /// Lesson number, e.g. 01
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        lesson: Option<String>,
        /// Every lesson
        #[arg(long)]
        all: bool,
        /// Do not ask first
        #[arg(long)]
        yes: bool,
    },
    /// Bring back your files from the newest backup that reset or solution made
    Restore {
        /// Lesson number, e.g. 01
        lesson: String,
        /// A backup folder in .backups/ (default: the newest for the lesson)
        #[arg(long, value_name = "BACKUP")]
        from: Option<String>,
        /// Do not ask first
        #[arg(long)]
        yes: bool,
    },
    /// Show the solution as a diff against your files
    Solution {
        /// Lesson number, e.g. 01
        lesson: String,
        /// Write the solution over your files (yours are saved in .backups/ first)
        #[arg(long)]
        apply: bool,
        /// Do not ask first
        #[arg(long)]
        yes: bool,
    },
    /// The hint for the layer you are stuck on
    Hint {
        /// Lesson number, e.g. 01
        lesson: String,
        /// The second hint right away: the API and where to look
        #[arg(long)]
        more: bool,
        /// One JSON object instead of text, with the hint's level
        #[arg(long)]
        json: bool,
        /// The hint's language: `en` or `zh-CN` (default: from LANG, e.g. LANG=zh_CN.UTF-8)
        #[arg(long, value_name = "LANG")]
        lang: Option<String>,
    },
    /// Check this machine for what the lessons need, with the fix for each problem
    Doctor {
        /// Mount tracefs (needs root)
        #[arg(long)]
        fix: bool,
        /// Also build lesson 01's solution and load, attach and observe it, as a check would
        #[arg(long)]
        deep: bool,
        /// One JSON object instead of text
        #[arg(long)]
        json: bool,
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
        /// With --kernels: run only the book's probes that need another kernel (book/probes/vm.toml)
        #[arg(long, requires = "kernels", conflicts_with_all = ["lessons", "timings"])]
        probes: bool,
    },
    /// Fetch the Debian 5.10, 6.1 and 6.12 builds kernels.lock pins into a cache (once), and list every kernel
    Kernels {
        /// Only list; fetch nothing
        #[arg(long, conflicts_with = "update")]
        list: bool,
        /// Pin the newest builds in Debian's archive in kernels.lock, then fetch them
        #[arg(long)]
        update: bool,
    },
    /// Regenerate vmlinux.h for this machine's architecture from the running kernel
    Vmlinux,
    /// Build the book into book/build/, checking every include and link
    Book {
        /// Serve it on http://127.0.0.1:3000/, or where --listen says
        #[arg(long, conflicts_with = "test")]
        serve: bool,
        /// The port for --serve
        #[arg(long, requires = "serve", conflicts_with = "listen")]
        port: Option<u16>,
        /// Address and port for --serve; 0.0.0.0:3000 serves it to the room's laptops
        #[arg(long, value_name = "ADDR", requires = "serve")]
        listen: Option<String>,
        /// Also write the offline book: every edition in one .tar.gz, in book/offline/, that opens from disk with search
        #[arg(long, conflicts_with_all = ["test", "lang"])]
        bundle: bool,
        /// Open it in a browser
        #[arg(long, conflicts_with = "test")]
        open: bool,
        /// Test it: build it and read every lesson chapter in headless Chromium
        #[arg(long)]
        test: bool,
        /// Build only this edition: `en`, or a translation in book/po/ (e.g. `zh-CN`)
        #[arg(long, value_name = "LANG", conflicts_with = "test")]
        lang: Option<String>,
        /// After changing the English: regenerate book/po/messages.pot and merge it
        /// into each translation (needs gettext's msgmerge)
        #[arg(long, conflicts_with_all = ["serve", "open", "test", "lang"])]
        update_po: bool,
    },
    /// Diagnose a BPF object, a .bpf.c, or a libbpf log or error text (`-` reads standard input)
    Diagnose {
        /// A .bpf.o, a .bpf.c, or a text file of libbpf or verifier output; `-` for standard input
        file: String,
        /// The kernel to check against: 5.10, 6.1, 6.12 or host (the default)
        #[arg(long)]
        kernel: Option<String>,
        /// One JSON object instead of text (schema in the book's "Diagnose your own program")
        #[arg(long)]
        json: bool,
    },
    /// A workshop's live view: the instructor serves it, learners join it
    Room {
        #[command(subcommand)]
        action: RoomAction,
    },
    /// Install what the lessons need (asks first), build their dependencies, then check lesson 01
    Setup {
        /// Install without asking
        #[arg(long)]
        yes: bool,
        /// Prepare lessons under qemu instead (no root needed later): qemu, busybox, Debian's kernels
        #[arg(long)]
        vm: bool,
    },
    /// Before a workshop (attendees): setup, doctor --deep, the offline book and, with --vm, qemu and
    /// Debian's kernels; then a short report to send the instructor
    Preflight {
        /// Install without asking
        #[arg(long)]
        yes: bool,
        /// Also prepare the qemu route the fast-finisher steps use (up to 234 MB of kernels)
        #[arg(long)]
        vm: bool,
    },
    /// The maintainers' test (CI runs it): installs what it needs (asks first), then
    /// cargo test, book --test and verify --kernels all --timings
    Test {
        /// Install without asking
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum RoomAction {
    /// Serve the room's page (instructor); prints the learners' token and the page's address
    Serve {
        /// Address and port to listen on; 0.0.0.0:7878 lets the room's laptops reach it
        #[arg(long, value_name = "ADDR", default_value = room::DEFAULT_LISTEN)]
        listen: String,
        /// Where the room is kept, and reloaded from after a restart (default: .room-server/ in the workbook)
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// The learners' token (they post records with it); kept in the state folder, new if none
        #[arg(long)]
        token: Option<String>,
        /// The instructor's token (it reads the page and status.json); kept in the state folder, new if none
        #[arg(long)]
        instructor_token: Option<String>,
        /// A failing learner with no progress for this many minutes is stuck
        #[arg(long, value_name = "MINUTES", default_value_t = 10)]
        stuck_after: u64,
        /// A learner with no check for this many minutes is idle
        #[arg(long, value_name = "MINUTES", default_value_t = 5)]
        idle_after: u64,
        /// Print each record received as one line of JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Join a room (learner): sends doctor's findings now, then each check sends where you are, never your code
    Join {
        /// The room's address (http:// or https://), as `room serve` printed it
        #[arg(required_unless_present = "offline")]
        url: Option<String>,
        /// Your name on the instructor's page (a label: rename freely)
        #[arg(long)]
        name: String,
        /// The learners' token, as `room serve` printed it
        #[arg(long, required_unless_present = "offline")]
        token: Option<String>,
        /// No room to reach: keep each check's record for `room export`
        #[arg(long, conflicts_with_all = ["url", "token"])]
        offline: bool,
    },
    /// Leave the room: checks send nothing any more
    Leave,
    /// Write every record of this workbook to a file the instructor can `room import`
    Export {
        /// The file to write (default: room-NAME-ID.json in the workbook)
        #[arg(long, value_name = "FILE")]
        to: Option<PathBuf>,
    },
    /// Add learners' `room export` files to a running room (instructor)
    Import {
        files: Vec<PathBuf>,
        /// The room's address
        #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:7878/")]
        room: String,
        /// The instructor's token
        #[arg(long)]
        token: String,
    },
    /// (internal) queue the record on stdin, if any, and send the queue; a check runs it in the background
    #[command(hide = true)]
    Send,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::List { json: false });
    // Snapshots are compared, never written, unless a maintainer blesses them.
    // insta reads both once, so they are set before any comparison.
    let bless = matches!(command, Command::Verify { bless: true, .. });
    let root = match workbook::find_root() {
        Ok(root) => root,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    std::env::set_var("INSTA_WORKSPACE_ROOT", &root);
    std::env::set_var("INSTA_UPDATE", if bless { "always" } else { "no" });
    // Only shortens insta's closing line, which otherwise suggests `cargo insta test`.
    std::env::set_var("INSTA_CARGO_INSTA", "1");
    let json = match command {
        Command::List { json }
        | Command::Check { json, .. }
        | Command::Doctor { json, .. }
        | Command::Hint { json, .. }
        | Command::Diagnose { json, .. } => json,
        _ => false,
    };
    // With --json stdout holds only the JSON object; check and watch show
    // their own diff, in the learner's terms, instead of insta's.
    if json || matches!(command, Command::Check { .. } | Command::Watch { .. } | Command::Setup { .. } | Command::Preflight { .. }) {
        std::env::set_var("INSTA_OUTPUT", "none");
    }
    // Commands that run a lesson's loader stop it before they exit on Ctrl-C.
    if matches!(
        command,
        Command::Check { .. }
            | Command::Watch { .. }
            | Command::Verify { .. }
            | Command::Setup { .. }
            | Command::Test { .. }
            | Command::Room { .. }
            | Command::Preflight { .. }
    ) {
        interrupt::catch();
    }

    let name = command_name(&command);
    let outcome = match command {
        Command::List { json } => list::list(&root, json),
        Command::Check { lesson, json, kernel } => check::check(&root, &lesson, json, kernel.as_deref()),
        Command::Watch { lesson, poll } => watch::watch(&root, &lesson, poll),
        Command::Reset { lesson, all, yes } => reset::reset(&root, lesson.as_deref(), all, yes),
        Command::Restore { lesson, from, yes } => restore::restore(&root, &lesson, from.as_deref(), yes),
        Command::Solution { lesson, apply, yes } => solution::solution(&root, &lesson, apply, yes),
        Command::Hint { lesson, more, json, lang } => hint::hint(&root, &lesson, more, json, lang.as_deref()),
        Command::Doctor { fix, json, deep } => doctor::doctor(&root, fix, json, deep),
        Command::Verify { kernels, probes: true, .. } => matrix::verify_probes(&root, &kernels),
        Command::Verify { lessons, bless, kernels, timings, .. } if !kernels.is_empty() => {
            matrix::verify(&root, &lessons, &kernels, bless, timings)
        }
        Command::Verify { timings: true, .. } => Err(UsageError("--timings goes with --kernels".into()).into()),
        Command::Verify { lessons, bless, .. } => verify::verify(&root, &lessons, bless),
        Command::Kernels { list, update } => kernels::kernels(&root, list, update),
        Command::Vmlinux => vmlinux::regenerate(&root),
        Command::Book { serve, port, listen, bundle, open, test, lang, update_po } => {
            book::book(&root, book::Options { serve, port, listen, bundle, open, test, lang, update_po })
        }
        Command::Diagnose { file, kernel, json } => diagnose::diagnose(&root, &file, kernel.as_deref(), json),
        Command::Setup { yes, vm } => setup::setup(&root, yes, vm),
        Command::Preflight { yes, vm } => preflight::preflight(&root, yes, vm),
        Command::Test { yes } => test::test(&root, yes),
        Command::Room { action } => match action {
            RoomAction::Serve { listen, state, token, instructor_token, stuck_after, idle_after, json } => {
                room::serve(room::ServeOptions {
                    listen,
                    state: state.unwrap_or_else(|| room::default_state(&root)),
                    learners_token: token,
                    instructor_token,
                    settings: workbook::room::Settings { stuck_after, idle_after },
                    echo: json,
                })
            }
            RoomAction::Join { url, name, token, offline: _ } => room::join(&root, url.as_deref(), &name, token.as_deref()),
            RoomAction::Leave => room::leave(&root),
            RoomAction::Export { to } => room::export(&root, to.as_deref()),
            RoomAction::Import { files, room: url, token } => room::import(&files, &url, &token),
            RoomAction::Send => room::send(&root),
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
        Command::List { .. } => "list",
        Command::Check { .. } => "check",
        Command::Watch { .. } => "watch",
        Command::Reset { .. } => "reset",
        Command::Restore { .. } => "restore",
        Command::Solution { .. } => "solution",
        Command::Hint { .. } => "hint",
        Command::Doctor { .. } => "doctor",
        Command::Verify { .. } => "verify",
        Command::Kernels { .. } => "kernels",
        Command::Vmlinux => "vmlinux",
        Command::Book { .. } => "book",
        Command::Setup { .. } => "setup",
        Command::Diagnose { .. } => "diagnose",
        Command::Test { .. } => "test",
        Command::Preflight { .. } => "preflight",
        Command::Room { .. } => "room",
    }
}
