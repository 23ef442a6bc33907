//! `cargo xtask book [--lang LANG] [--serve [--listen ADDR]] [--open] [--bundle]`:
//! build the book into book/build/ (and each translation into book/build/<lang>/),
//! checked; `--bundle` also packs it for reading offline. `--update-po` is
//! `cargo xtask dev update-po`.

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
#[command(name = "cargo xtask book", about = "Build the workbook's book into book/build/, checking every include and link")]
struct Cli {
    /// Build only this edition: `en`, or a translation in book/po/ (e.g. `zh-CN`)
    #[arg(long, value_name = "LANG")]
    lang: Option<String>,
    /// Write book/po/messages.pot from the English sources and merge it into each
    /// translation with gettext's msgmerge; then translate what is new or fuzzy
    #[arg(long, conflicts_with_all = ["serve", "open", "lang"])]
    update_po: bool,
    /// Serve the built book on 127.0.0.1:3000, or where --listen says
    #[arg(long)]
    serve: bool,
    /// Port for --serve, on 127.0.0.1
    #[arg(long, default_value_t = 3000, requires = "serve", conflicts_with = "listen")]
    port: u16,
    /// Address and port for --serve: 0.0.0.0:3000 serves the room's laptops
    #[arg(long, value_name = "ADDR", requires = "serve")]
    listen: Option<std::net::SocketAddr>,
    /// Also write the offline book, every edition in one .tar.gz that opens from disk, search included
    #[arg(long, conflicts_with = "lang")]
    bundle: bool,
    /// Open the built book in a browser
    #[arg(long)]
    open: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let workbook = book_builder::Workbook::here();
    if cli.update_po {
        return match update_po(&workbook) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let editions = match cli.lang.as_deref() {
        Some(lang) => Ok(vec![book_builder::Edition::parse(Some(lang))]),
        None => book_builder::editions(&workbook),
    };
    let editions = match editions {
        Ok(editions) => editions,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let mut built = Vec::new();
    for edition in editions {
        let started = Instant::now();
        match book_builder::build_edition(&workbook, &edition) {
            Ok(out) => {
                let index = out.join("index.html");
                println!(
                    "built {} in {:.1}s",
                    index.strip_prefix(&workbook.root).unwrap_or(&index).display(),
                    started.elapsed().as_secs_f64()
                );
                built.push(out);
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    // The site's top is the English book's folder; a translation is a folder inside it.
    let site = workbook.build_dir();
    let Some(first) = built.first() else {
        eprintln!("error: no edition was built");
        return ExitCode::FAILURE;
    };
    let index = first.join("index.html");

    if cli.bundle {
        // The handout travels with the offline book, and sits beside it.
        match book_builder::handout::write(&workbook, &site.join("handout")) {
            Ok(pdf) => println!("wrote {}", pdf.strip_prefix(&workbook.root).unwrap_or(&pdf).display()),
            Err(error) => {
                eprintln!("error: the handout: {error:#}");
                return ExitCode::FAILURE;
            }
        }
        let archive = workbook.book_dir().join("offline").join(book_builder::bundle::FILE_NAME);
        match book_builder::bundle::write(&site, &archive) {
            Ok(files) => println!(
                "wrote {} ({files} files): unpack it anywhere and open {}/index.html (简体中文: {}/zh-CN/index.html)",
                archive.strip_prefix(&workbook.root).unwrap_or(&archive).display(),
                book_builder::bundle::TOP,
                book_builder::bundle::TOP
            ),
            Err(error) => {
                eprintln!("error: {error:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    let listen = cli.listen.unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], cli.port)));
    if cli.open {
        let page = first.strip_prefix(&site).unwrap_or(Path::new("")).display().to_string();
        let target = if cli.serve {
            format!("http://127.0.0.1:{}/{}", listen.port(), if page.is_empty() { String::new() } else { format!("{page}/") })
        } else {
            index.display().to_string()
        };
        if !open_in_browser(&target) {
            println!("could not open a browser; open {target} yourself");
        }
    }
    if cli.serve {
        if let Err(error) = book_builder::serve::serve(&site, listen) {
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

/// Regenerates the template and merges it into every translation: changed
/// messages come back `fuzzy`, new ones empty, for the translator to finish.
fn update_po(workbook: &book_builder::Workbook) -> anyhow::Result<()> {
    use anyhow::Context;
    let template = book_builder::i18n::write_template(workbook)?;
    println!("wrote {}", template.strip_prefix(&workbook.root).unwrap_or(&template).display());
    for language in book_builder::i18n::languages(workbook)? {
        let po = book_builder::i18n::translation_path(workbook, &language);
        let status = Command::new("msgmerge")
            .args(["--quiet", "--update", "--backup=none", "--no-wrap"])
            .arg(&po)
            .arg(&template)
            .status()
            .context("running msgmerge (Debian's `gettext` package)")?;
        anyhow::ensure!(status.success(), "msgmerge failed on {}", po.display());
        // Messages the English no longer has are dropped rather than kept as `#~` comments.
        let status = Command::new("msgattrib").args(["--no-obsolete", "--no-wrap", "--output-file"]).arg(&po).arg(&po).status()?;
        anyhow::ensure!(status.success(), "msgattrib failed on {}", po.display());
        let coverage =
            book_builder::i18n::coverage(&book_builder::i18n::template(workbook)?, &book_builder::i18n::translation(workbook, &language)?);
        println!("{language}: {}", coverage.summary());
    }
    Ok(())
}
