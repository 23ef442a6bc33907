//! `cargo xtask doctor`: what this machine offers the lessons, and the exact fix for what it lacks.

use std::process::ExitCode;

use anyhow::Result;

use crate::machine::{self, host, host::TRACEFS};
use crate::report::json;
use crate::report::terminal::{paint, BAD, GOOD, WARN};

pub fn doctor(fix: bool, json: bool) -> Result<ExitCode> {
    if fix && !host::tracefs_mounted() {
        if matches!(host::privileges(), host::Privileges::Root | host::Privileges::Sudo) {
            host::mount_tracefs()?;
            if !json {
                println!("mounted tracefs at {TRACEFS}");
            }
        } else {
            eprintln!("--fix mounts tracefs as root or through sudo without a password; run: sudo mount -t tracefs tracefs {TRACEFS}");
        }
    }
    let findings = machine::findings();
    let problems = findings.iter().filter(|f| f.status == host::Status::Problem).count();
    if json {
        json::print(&json::DoctorReport::new(json::Machine::this(), &findings));
        return Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    for finding in &findings {
        let style = match finding.status {
            host::Status::Ok => GOOD,
            host::Status::Problem => BAD,
            host::Status::Note => WARN,
        };
        let text = finding.to_string();
        let (status, rest) = text.split_at(8);
        anstream::println!("{}{rest}", paint(style, status));
    }
    if problems == 0 {
        anstream::println!("\n{}", paint(GOOD, "ready: every lesson can run here"));
        Ok(ExitCode::SUCCESS)
    } else {
        anstream::println!("\n{}", paint(BAD, format!("{problems} problem{} to fix first", if problems == 1 { "" } else { "s" })));
        Ok(ExitCode::FAILURE)
    }
}
