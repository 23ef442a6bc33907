//! Talking to the instructor's room over HTTP or HTTPS, and running a sender
//! detached, so no check waits for the network.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub use workshop_room::record::{AGE_HEADER, KEY_HEADER};

use crate::machine::http;

/// A record that has not arrived by then stays queued; the sender tries again later.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// `http://host:port/` + `path`.
pub fn endpoint(url: &str, path: &str) -> String {
    format!("{}/{path}", url.trim_end_matches('/'))
}

/// A room address: `http://host:port` or `https://host[:port]/path`, with or without a trailing slash.
pub fn check_url(url: &str) -> Result<()> {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
        bail!("the room's address starts with http:// or https:// (as `cargo xtask room serve` prints it), not {url:?}");
    };
    if rest.trim_end_matches('/').is_empty() || rest.contains(char::is_whitespace) {
        bail!("{url:?} is not a room's address, e.g. http://192.168.1.10:7878/");
    }
    Ok(())
}

/// Who posts: the room's learner token, and the learner's own key, which
/// binds their id on the room's first record from them.
pub struct Credentials<'a> {
    pub token: &'a str,
    pub key: &'a str,
}

/// Posts `json` to the room's `path`; `age` is how many seconds ago the check
/// behind it ended (a queued record is older than its delivery). `Ok(())` only
/// when the room accepted it.
pub fn post(url: &str, path: &str, who: &Credentials, age: u64, json: &str, timeout: Duration) -> Result<()> {
    let response = http::agent(Some(timeout))
        .post(endpoint(url, path))
        .header("Authorization", format!("Bearer {}", who.token))
        .header(KEY_HEADER, who.key)
        .header(AGE_HEADER, age.to_string())
        .header("Content-Type", "application/json")
        .send(json)
        .with_context(|| format!("cannot reach the room at {url}"))?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        401 => bail!("the room at {url} refused the token"),
        403 => bail!("the room at {url} knows this learner by another key (a copied .room.toml?)"),
        code => bail!("the room at {url} answered {code}"),
    }
}

/// Runs this program again with `args`, `input` on its stdin, and returns at
/// once: the caller never waits for it, and whatever happens to it cannot fail the caller.
pub fn run_detached(args: &[&str], input: &[u8]) -> Result<()> {
    let program = std::env::current_exe().context("finding the checker's own program")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: Ctrl-C on the check does not cut it short.
        .process_group(0)
        .spawn()
        .context("starting the room sender")?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A record is far smaller than a pipe's buffer, so this write never blocks.
    stdin.write_all(input)?;
    drop(stdin);
    // Reaped by a thread, so a long `watch` leaves no zombies; nobody waits on it.
    std::thread::spawn(move || child.wait());
    Ok(())
}
