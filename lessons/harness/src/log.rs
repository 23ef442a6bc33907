//! libbpf's log, captured so a failed stage can show the lines that explain it.

use std::io::Write;
use std::sync::Mutex;

use libbpf_rs::PrintLevel;

static LOG: Mutex<Vec<(PrintLevel, String)>> = Mutex::new(Vec::new());

/// At most this many log lines per failed stage; the rest stay in the full log.
const MAX_KEY_LINES: usize = 8;

/// A `set_print` callback: keeps every message for the transcript and writes
/// it to the checker's log file (stderr when run by hand), where the
/// checker saves the full log.
pub fn libbpf_log(level: PrintLevel, message: String) {
    match log_file() {
        Some(mut file) => {
            let _ = file.write_all(message.as_bytes());
        }
        None => {
            let _ = std::io::stderr().lock().write_all(message.as_bytes());
        }
    }
    LOG.lock().unwrap_or_else(|e| e.into_inner()).push((level, message));
}

/// Opens the log file now, before the program runs, as the channel is: an
/// open later would be one more `openat` for the lesson's program to count.
pub(crate) fn open() {
    log_file();
}

/// The file the checker names in `WORKBOOK_LIBBPF_LOG`, opened once.
fn log_file() -> Option<&'static std::fs::File> {
    static FILE: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let path = std::env::var_os(transcript::channel::LIBBPF_LOG_VAR).filter(|p| !p.is_empty())?;
        std::fs::OpenOptions::new().append(true).open(path).ok()
    })
    .as_ref()
}

pub(crate) fn mark() -> usize {
    LOG.lock().unwrap_or_else(|e| e.into_inner()).len()
}

pub(crate) fn key_lines_since(mark: usize) -> Vec<String> {
    let log = LOG.lock().unwrap_or_else(|e| e.into_inner());
    let warnings =
        log[mark.min(log.len())..].iter().filter(|(level, _)| matches!(level, PrintLevel::Warn)).map(|(_, message)| message.as_str());
    key_lines(warnings)
}

/// Picks the lines worth reading from warn-level messages: libbpf's own lines,
/// and from a verifier log only the CO-RE lines and the verifier's last word.
fn key_lines<'a>(messages: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut key = Vec::new();
    let mut verifier: Option<Vec<&str>> = None;
    for line in messages.flat_map(str::lines) {
        if line.contains("-- BEGIN PROG LOAD LOG --") {
            verifier = Some(Vec::new());
        } else if line.contains("-- END PROG LOAD LOG --") {
            key.extend(verifier.take().map(verifier_key_lines).unwrap_or_default());
        } else if let Some(lines) = verifier.as_mut() {
            lines.push(line);
        } else if !line.trim().is_empty() {
            key.push(line.trim_end().to_string());
        }
    }
    if key.len() > MAX_KEY_LINES {
        let more = key.len() - MAX_KEY_LINES + 1;
        key.truncate(MAX_KEY_LINES - 1);
        key.push(format!("(… {more} more lines in the full log)"));
    }
    key
}

fn verifier_key_lines(lines: Vec<&str>) -> Vec<String> {
    let body: Vec<&str> = lines
        .into_iter()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.starts_with("processed ") && !l.starts_with("verification time"))
        .collect();
    let mut key: Vec<&str> = body.iter().copied().filter(|l| l.contains("CO-RE")).collect();
    if let Some(last) = body.last() {
        if !key.contains(last) {
            key.push(last);
        }
    }
    key.into_iter().map(|l| format!("verifier: {l}")).collect()
}

#[cfg(test)]
mod tests {
    use super::key_lines;

    #[test]
    fn keeps_libbpf_lines_and_the_verifier_reason() {
        let messages = [
            "libbpf: prog 'on_switch': BPF program load failed: -EINVAL\n",
            "libbpf: prog 'on_switch': -- BEGIN PROG LOAD LOG --\n0: R1=ctx() R10=fp0\n; int on_switch(...)\n1: <invalid CO-RE relocation>\nfailed to resolve CO-RE relocation <byte_off> [5] struct t.state (0:0 @ offset 0)\nprocessed 2 insns (limit 1000000)\n-- END PROG LOAD LOG --\n",
            "libbpf: prog 'on_switch': failed to load: -EINVAL\n",
        ];
        assert_eq!(
            key_lines(messages.into_iter()),
            [
                "libbpf: prog 'on_switch': BPF program load failed: -EINVAL",
                "verifier: 1: <invalid CO-RE relocation>",
                "verifier: failed to resolve CO-RE relocation <byte_off> [5] struct t.state (0:0 @ offset 0)",
                "libbpf: prog 'on_switch': failed to load: -EINVAL",
            ]
        );
    }

    #[test]
    fn a_verifier_rejection_keeps_its_last_line() {
        let log = "libbpf: prog 'p': -- BEGIN PROG LOAD LOG --\n0: (b7) r0 = 0\nR1 invalid mem access 'scalar'\nprocessed 3 insns\n-- END PROG LOAD LOG --\n";
        assert_eq!(key_lines([log].into_iter()), ["verifier: R1 invalid mem access 'scalar'"]);
    }

    #[test]
    fn long_logs_are_cut_with_a_pointer_to_the_rest() {
        let log = (0..20).map(|i| format!("libbpf: line {i}\n")).collect::<String>();
        let key = key_lines([log.as_str()].into_iter());
        assert_eq!(key.len(), 8);
        assert_eq!(key[7], "(… 13 more lines in the full log)");
    }
}
