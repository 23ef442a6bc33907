//! Talking to the instructor's room over HTTP (ureq), and sending a check's
//! record from a detached process, so no check waits for the network.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::workbook::room::Record;

/// A record that has not arrived by then is dropped; the next check sends a newer one.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(3);

/// Records are small; anything bigger is not a record.
pub const RECORD_LIMIT: u64 = 4096;

/// What the detached sender reads on its stdin.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub url: String,
    pub token: String,
    pub record: Record,
}

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

/// Posts one record; `Ok(())` only when the room accepted it.
pub fn post(delivery: &Delivery, timeout: Duration) -> Result<()> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into();
    let body = serde_json::to_string(&delivery.record)?;
    let response = agent
        .post(endpoint(&delivery.url, "record"))
        .header("Authorization", format!("Bearer {}", delivery.token))
        .header("Content-Type", "application/json")
        .send(body.as_str())
        .with_context(|| format!("cannot reach the room at {}", delivery.url))?;
    match response.status().as_u16() {
        200..=299 => Ok(()),
        401 => bail!("the room at {} refused the token", delivery.url),
        code => bail!("the room at {} answered {code}", delivery.url),
    }
}

/// Sends `delivery` from a detached copy of this program (`room send`) and
/// returns at once: the check never waits for the room, and a room that is
/// down or slow cannot fail it.
pub fn send_in_background(delivery: &Delivery) -> Result<()> {
    let program = std::env::current_exe().context("finding the checker's own program")?;
    let mut child = Command::new(program)
        .args(["room", "send"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: Ctrl-C on the check does not cut the record short.
        .process_group(0)
        .spawn()
        .context("starting the room sender")?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A record is far smaller than a pipe's buffer, so this write never blocks.
    stdin.write_all(serde_json::to_string(delivery)?.as_bytes())?;
    drop(stdin);
    // Reaped by a thread, so a long `watch` leaves no zombies; nobody waits on it.
    std::thread::spawn(move || child.wait());
    Ok(())
}
