//! A small static file server for the built book: on the loopback address
//! unless told to serve a room (`--listen 0.0.0.0:3000`). One thread a
//! connection, so a room of readers does not queue behind a slow one.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

pub fn serve(dir: &Path, listen: SocketAddr) -> Result<()> {
    let listener =
        TcpListener::bind(listen).with_context(|| format!("listening on {listen} (is another server there? try another port)"))?;
    let port = listener.local_addr()?.port();
    if listen.ip().is_unspecified() {
        println!("serving the book on every address, port {port}: the room opens http://THIS-MACHINE:{port}/  (Ctrl-C stops it)");
        println!("THIS-MACHINE is this machine's address on the room's network (`ip -brief address` lists them)");
    } else {
        println!("serving the book at http://{listen}/  (Ctrl-C stops it; run the command again after editing)");
    }
    run(dir, listener)
}

/// Answers every connection to `listener` with a file under `dir`, each on a thread of its own.
fn run(dir: &Path, listener: TcpListener) -> Result<()> {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let dir = dir.to_path_buf();
                std::thread::spawn(move || {
                    if let Err(error) = answer(&dir, stream) {
                        eprintln!("serve: {error:#}");
                    }
                });
            }
            Err(error) => eprintln!("serve: {error}"),
        }
    }
    Ok(())
}

fn answer(dir: &Path, mut stream: TcpStream) -> Result<()> {
    let mut request = String::new();
    BufReader::new(&stream).read_line(&mut request)?;
    let target = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, kind, body) = match file_for(dir, target).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
        Some((path, body)) => ("200 OK", content_type(&path), body),
        None => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n".to_vec()),
    };
    write!(stream, "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    stream.write_all(&body)?;
    Ok(())
}

/// The file under `dir` that a request path names; never one outside it.
fn file_for(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let relative = Path::new(path.trim_start_matches('/'));
    if relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let file = dir.join(relative);
    if file.is_dir() {
        Some(file.join("index.html"))
    } else {
        Some(file)
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_at_once_while_another_connection_hangs() {
        let dir = std::env::temp_dir().join(format!("serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<p>the book</p>").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let served = dir.clone();
        std::thread::spawn(move || run(&served, listener));
        // A reader that connects and says nothing must not hold up the room.
        let _silent = TcpStream::connect(address).unwrap();
        let mut reader = TcpStream::connect(address).unwrap();
        reader.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        reader.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut reader, &mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("<p>the book</p>"), "{answer}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn maps_requests_to_files_inside_the_book_only() {
        let dir = Path::new("/book");
        assert_eq!(file_for(dir, "/setup.html?x=1#top"), Some(PathBuf::from("/book/setup.html")));
        assert_eq!(file_for(dir, "/../etc/passwd"), None);
        assert_eq!(file_for(dir, "/a/../../b"), None);
    }
}
