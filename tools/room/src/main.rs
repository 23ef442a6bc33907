//! `room`: the workshop room's server on its own, for an instructor's laptop
//! of any operating system. `cargo room serve --listen 0.0.0.0:7878`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "room", about = "The workshop room's server: who is stuck, live")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the room's page until Ctrl-C
    Serve(workshop_room::cli::ServeArgs),
}

static STOP: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let Command::Serve(args) = Cli::parse().command;
    if let Some(mistake) = args.mistake() {
        eprintln!("error: {mistake}");
        return ExitCode::from(2);
    }
    if let Err(error) = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst)) {
        eprintln!("warning: Ctrl-C will close the room abruptly (nothing accepted is lost): {error}");
    }
    // Beside where it was started, as `cargo xtask room serve` keeps it at the workbook's top.
    let options = args.options(std::path::PathBuf::from(".room-server"));
    match workshop_room::cli::serve(&options, &|| STOP.load(Ordering::SeqCst)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
