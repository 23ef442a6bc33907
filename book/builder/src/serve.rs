//! A small static file server for the built book (tiny_http): on the loopback
//! address unless told to serve a room (`--listen 0.0.0.0:3000`). tiny_http
//! reads each connection on a thread of its own and a few workers answer, so a
//! room of readers does not queue behind a slow one.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use tiny_http::{Header, Response, Server};

/// Requests answered at once; a slow reader holds up only its own worker.
const WORKERS: usize = 4;

pub fn serve(dir: &Path, listen: SocketAddr) -> Result<()> {
    let server =
        Server::http(listen).map_err(|e| anyhow::anyhow!("listening on {listen}: {e} (is another server there? try another port)"))?;
    let port = server.server_addr().to_ip().context("the server listens on no IP address")?.port();
    if listen.ip().is_unspecified() {
        println!("serving the book on every address, port {port}: the room opens http://THIS-MACHINE:{port}/  (Ctrl-C stops it)");
        println!("THIS-MACHINE is this machine's address on the room's network (`ip -brief address` lists them)");
    } else {
        println!("serving the book at http://{listen}/  (Ctrl-C stops it; run the command again after editing)");
    }
    run(dir, server);
    Ok(())
}

/// Answers every request to `server` with a file under `dir`, until the process stops.
fn run(dir: &Path, server: Server) {
    let server = std::sync::Arc::new(server);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, dir) = (server.clone(), dir.to_path_buf());
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let response = answer(&dir, request.url());
                    if let Err(error) = request.respond(response) {
                        eprintln!("serve: {error}");
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
}

/// The file a request's path names, or 404.
fn answer(dir: &Path, target: &str) -> Response<std::io::Cursor<Vec<u8>>> {
    match file_for(dir, target).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
        Some((path, body)) => Response::from_data(body).with_header(content_type_header(content_type(&path))),
        None => {
            Response::from_data(b"not found\n".to_vec()).with_status_code(404).with_header(content_type_header("text/plain; charset=utf-8"))
        }
    }
}

fn content_type_header(kind: &str) -> Header {
    Header::from_bytes("Content-Type", kind).expect("a valid header")
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
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// One request over a fresh connection, as a browser sends it; the whole answer.
    fn get(address: std::net::SocketAddr, path: &str) -> String {
        let mut reader = TcpStream::connect(address).unwrap();
        reader.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        write!(reader, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        reader.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn answers_at_once_while_another_connection_hangs() {
        let dir = std::env::temp_dir().join(format!("serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<p>the book</p>").unwrap();
        let server = Server::http("127.0.0.1:0").unwrap();
        let address = server.server_addr().to_ip().unwrap();
        let served = dir.clone();
        std::thread::spawn(move || run(&served, server));
        // A reader that connects and says nothing must not hold up the room.
        let _silent = TcpStream::connect(address).unwrap();
        let answer = get(address, "/");
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("<p>the book</p>"), "{answer}");
        assert!(answer.contains("Content-Type: text/html; charset=utf-8"), "{answer}");
        let missing = get(address, "/missing.html");
        assert!(missing.starts_with("HTTP/1.1 404") && missing.ends_with("not found\n"), "{missing}");
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
