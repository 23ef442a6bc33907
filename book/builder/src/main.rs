//! `cargo xtask book [--serve] [--open]`: build the book into book/build/, checked.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
#[command(name = "cargo xtask book", about = "Build the workbook's book into book/build/, checking every include and link")]
struct Cli {
    /// Serve the built book on 127.0.0.1
    #[arg(long)]
    serve: bool,
    /// Port for --serve
    #[arg(long, default_value_t = 3000, requires = "serve")]
    port: u16,
    /// Open the built book in a browser
    #[arg(long)]
    open: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let workbook = book_builder::Workbook::here();
    let out = match book_builder::build(&workbook) {
        Ok(out) => out,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let index = out.join("index.html");
    println!("built {}", index.strip_prefix(&workbook.root).unwrap_or(&index).display());

    if cli.open {
        let target = if cli.serve { format!("http://127.0.0.1:{}/", cli.port) } else { index.display().to_string() };
        if !open_in_browser(&target) {
            println!("could not open a browser; open {target} yourself");
        }
    }
    if cli.serve {
        if let Err(error) = book_builder::serve::serve(&out, cli.port) {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Hands `target` to the desktop's opener. Openers usually return at once; one
/// that is still running after a few seconds has started something, so it counts.
fn open_in_browser(target: &str) -> bool {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let Ok(mut child) = Command::new(opener).arg(target).spawn() else { return false };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => return false,
        }
    }
    true
}
