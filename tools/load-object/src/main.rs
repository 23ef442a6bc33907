//! `load-object OBJECT [--btf BTF]`: opens and loads a BPF object with
//! libbpf, as a loader would, and prints libbpf's whole log and the outcome
//! as `transcript::load_report` lines; dropping the object unloads it.
//! `--btf` relocates against another kernel's BTF (`btf_custom_path`).
//! `load-object --include-dir` prints libbpf's header folder.
//!
//! It lives apart from xtask so that xtask builds without libbpf, libelf or
//! zlib: xtask builds and runs it only once setup has installed those.

use std::process::ExitCode;
use std::sync::Mutex;

use libbpf_rs::{ObjectBuilder, PrintLevel};
use transcript::load_report::{Level, ReportLine};
use transcript::Stage;

static LOG: Mutex<Vec<ReportLine>> = Mutex::new(Vec::new());

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--include-dir"] => println!("{}", env!("BPF_INCLUDE")),
        [object] => load(object, None),
        [object, "--btf", btf] => load(object, Some(btf)),
        _ => {
            eprintln!("usage: load-object OBJECT [--btf BTF] | load-object --include-dir");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn load(path: &str, btf: Option<&str>) {
    libbpf_rs::set_print(Some((PrintLevel::Debug, |level, message: String| {
        let level = match level {
            PrintLevel::Warn => Level::Warn,
            PrintLevel::Info => Level::Info,
            PrintLevel::Debug => Level::Debug,
        };
        LOG.lock().unwrap_or_else(|e| e.into_inner()).extend(ReportLine::log(level, &message));
    })));
    let outcome = (|| -> Result<(), (Stage, libbpf_rs::Error)> {
        let mut builder = ObjectBuilder::default();
        if let Some(btf) = btf {
            builder.btf_custom_path(btf).map_err(|e| (Stage::Open, e))?;
        }
        // Opened from memory under the file's own name, which libbpf's messages then show.
        let bytes = std::fs::read(path).map_err(|e| (Stage::Open, libbpf_rs::Error::from(e)))?;
        let name = std::path::Path::new(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        builder.name(&name).map_err(|e| (Stage::Open, e))?;
        let open = builder.open_memory(&bytes).map_err(|e| (Stage::Open, e))?;
        let _loaded = open.load().map_err(|e| (Stage::Load, e))?;
        Ok(())
    })();
    libbpf_rs::set_print(None);
    for line in LOG.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        println!("{line}");
    }
    match outcome {
        Ok(()) => println!("{}", ReportLine::Loaded),
        Err((stage, error)) => println!("{}", ReportLine::Failed { stage, error: format!("{error:#}") }),
    }
}
