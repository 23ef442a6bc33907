//! `room`: the workshop room's server on its own, for an instructor's laptop
//! of any operating system. `cargo room serve --listen 0.0.0.0:7878`, and
//! afterwards `cargo room agenda`.

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
    /// Print the workshop's agenda, each lesson timed by the room's measured median, or estimated
    Agenda(workshop_room::cli::AgendaArgs),
}

static STOP: AtomicBool = AtomicBool::new(false);

/// Beside where it was started, as `cargo xtask room serve` keeps it at the workbook's top.
const STATE: &str = ".room-server";

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Serve(args) => args,
        Command::Agenda(args) => {
            return match workshop_room::cli::agenda(&args, std::path::Path::new(STATE)) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    if let Some(mistake) = args.mistake() {
        eprintln!("error: {mistake}");
        return ExitCode::from(2);
    }
    if let Err(error) = ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst)) {
        eprintln!("warning: Ctrl-C will close the room abruptly (nothing accepted is lost): {error}");
    }
    let options = args.options(std::path::PathBuf::from(STATE));
    match workshop_room::cli::serve(&options, &|| STOP.load(Ordering::SeqCst)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
