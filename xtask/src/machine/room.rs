//! Talking to the instructor's room over HTTP (ureq), and running a sender
//! detached, so no check waits for the network.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// A record that has not arrived by then is dropped; the next check sends a newer one.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// `http://host:port/` + `path`.
pub fn endpoint(url: &str, path: &str) -> String {
    format!("{}/{path}", url.trim_end_matches('/'))
}

/// A room address: `http://host:port`, with or without a trailing slash.
pub fn check_url(url: &str) -> Result<()> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("the room's address starts with http:// (as `cargo xtask room serve` prints it), not {url:?}");
    };
    if rest.trim_end_matches('/').is_empty() || rest.contains(char::is_whitespace) {
        bail!("{url:?} is not a room's address, e.g. http://192.168.1.10:7878/");
    }
    Ok(())
}

/// Posts `json` to the room's `path` with its token; `Ok(())` only when the room accepted it.
pub fn post(url: &str, path: &str, token: &str, json: &str, timeout: Duration) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into();
    let response = agent
        .post(endpoint(url, path))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(json)
        .with_context(|| format!("cannot reach the room at {url}"))?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        401 => bail!("the room at {url} refused the token"),
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
