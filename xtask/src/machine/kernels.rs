//! The kernels a lesson can be checked on: the host's own, and Debian's 5.10,
//! 6.1 and 6.12 kernels, which `vm` boots under qemu.
//!
//! Each series runs one pinned build (a [`Pin`]: package, version and the
//! .deb's SHA256), so every machine boots the same kernels. A build is fetched
//! once with `apt-get download`, using a private sources list and state folder
//! so the system's own package lists stay untouched. apt checks the package
//! against Debian's signed index; this module checks its SHA256 against that
//! index and against the pin, extracts `vmlinuz` and the kernel's config with
//! `dpkg-deb` (no root needed), and records their SHA256. Every later use
//! re-checks the cached files against that record, so a damaged cache is
//! reported and fetched again, never booted.
//!
//! The cache is per user, outside the workbook (`$XDG_CACHE_HOME`, else
//! `~/.cache`), one folder per build: it survives `cargo clean`, and every
//! clone of the workbook shares one download, whichever builds it pins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::usage_error::UsageError;

/// One kernel series from Debian's archive: the newest package whose name is
/// `prefix` + digits + `suffix` (which leaves out the -rt, -cloud and debug flavours).
#[derive(Debug)]
pub struct Series {
    pub name: &'static str,
    /// The Debian release that ships it, as the kernel list shows it.
    pub release: &'static str,
    /// Debian's name of the architecture it is built for: `amd64` or `arm64`.
    pub arch: &'static str,
    prefix: &'static str,
    suffix: &'static str,
}

/// The amd64 kernels `--kernel` boots.
pub const SERIES: &[Series] = &[
    Series { name: "5.10", release: "Debian 11 bullseye", arch: "amd64", prefix: "linux-image-5.10.0-", suffix: "-amd64" },
    Series { name: "6.1", release: "Debian 12 bookworm", arch: "amd64", prefix: "linux-image-6.1.0-", suffix: "-amd64" },
    Series { name: "6.12", release: "Debian 12 bookworm", arch: "amd64", prefix: "linux-image-6.12.", suffix: "+deb12-amd64" },
];

/// Debian's arm64 kernels: pinned like the amd64 ones, their BTF is what
/// `vmlinux/aarch64/vmlinux.h` is generated from.
pub const ARM64_SERIES: &[Series] = &[
    Series { name: "6.1-arm64", release: "Debian 12 bookworm", arch: "arm64", prefix: "linux-image-6.1.0-", suffix: "-arm64" },
    Series { name: "6.12-arm64", release: "Debian 12 bookworm", arch: "arm64", prefix: "linux-image-6.12.", suffix: "+deb12-arm64" },
];

/// Every series the lock pins, amd64's first.
pub fn pinned_series() -> impl Iterator<Item = &'static Series> {
    SERIES.iter().chain(ARM64_SERIES)
}

/// The pinned series named `name`, of either architecture.
pub fn pinned(name: &str) -> Result<&'static Series> {
    pinned_series().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = pinned_series().map(|s| s.name).collect();
        UsageError(format!("'{name}' is not a kernel series this workbook pins; choose one of {}", names.join(", "))).into()
    })
}

/// Every kernel name `--kernel` accepts, oldest first; `host` last.
pub fn names() -> Vec<&'static str> {
    SERIES.iter().map(|s| s.name).chain(["host"]).collect()
}

/// What a lesson runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Host,
    Debian(&'static Series),
}

impl Choice {
    pub fn name(&self) -> &'static str {
        match self {
            Choice::Host => "host",
            Choice::Debian(series) => series.name,
        }
    }
}

impl PartialEq for Series {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Series {}

/// `5.10`, `6.1`, `6.12` or `host`.
pub fn choice(name: &str) -> Result<Choice> {
    let name = name.trim();
    if name == "host" {
        return Ok(Choice::Host);
    }
    SERIES
        .iter()
        .find(|s| s.name == name)
        .map(Choice::Debian)
        .ok_or_else(|| UsageError(format!("'{name}' is not a kernel this workbook knows; choose one of {}", names().join(", "))).into())
}

/// `all`, or names separated by commas or given one by one, in the order of [`names`].
pub fn choices(wanted: &[String]) -> Result<Vec<Choice>> {
    let mut chosen = Vec::new();
    for name in wanted.iter().flat_map(|w| w.split(',')).filter(|w| !w.trim().is_empty()) {
        if name.trim() == "all" {
            chosen.extend(names().into_iter().map(|n| choice(n).expect("known name")));
        } else {
            chosen.push(choice(name)?);
        }
    }
    let order = names();
    chosen.sort_by_key(|c| order.iter().position(|n| *n == c.name()));
    chosen.dedup();
    Ok(chosen)
}

/// `dev verify --arch arm64`'s kernels: `all`, or the arm64 series by their
/// own names (`6.1-arm64`) or their amd64 twins' (`6.1`); there is no host.
pub fn arm64_choices(wanted: &[String]) -> Result<Vec<Choice>> {
    let mut chosen = Vec::new();
    for name in wanted.iter().flat_map(|w| w.split(',')).map(str::trim).filter(|w| !w.is_empty()) {
        if name == "all" {
            chosen.extend(ARM64_SERIES.iter().map(Choice::Debian));
            continue;
        }
        let series = ARM64_SERIES.iter().find(|s| s.name == name || s.name.strip_suffix("-arm64") == Some(name));
        let names: Vec<&str> = ARM64_SERIES.iter().map(|s| s.name).collect();
        chosen.push(Choice::Debian(series.ok_or_else(|| {
            UsageError(format!("'{name}' is not an arm64 kernel this workbook pins; choose `all` or from {}", names.join(", ")))
        })?));
    }
    chosen.sort_by_key(|c| ARM64_SERIES.iter().position(|s| s.name == c.name()));
    chosen.dedup();
    Ok(chosen)
}

/// A Debian kernel in the cache, its files checked.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub series: &'static Series,
    pub manifest: Manifest,
    pub vmlinuz: PathBuf,
    config: String,
}

/// What the cache records about a fetched kernel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub package: String,
    pub version: String,
    /// `uname -r` inside the guest, e.g. `5.10.0-32-amd64`.
    pub release: String,
    /// The package's SHA256 in Debian's signed index.
    pub deb_sha256: String,
    pub vmlinuz_sha256: String,
    pub config_sha256: String,
}

impl Kernel {
    /// Whether the kernel was built with `CONFIG_<option>=y`.
    pub fn has(&self, option: &str) -> bool {
        self.config.lines().any(|l| l == format!("CONFIG_{option}=y"))
    }

    pub fn kprobes(&self) -> bool {
        self.has("KPROBES")
    }

    /// `Debian 6.1.0-56-amd64 (6.1.192-2)`.
    pub fn describe(&self) -> String {
        format!("Debian {} ({})", self.manifest.release, self.manifest.version)
    }

    /// A kernel of `series` that is not in any cache: for tests that never boot it.
    #[cfg(test)]
    pub fn unfetched(series: &'static Series) -> Kernel {
        let manifest = Manifest {
            package: String::new(),
            version: String::new(),
            release: String::new(),
            deb_sha256: String::new(),
            vmlinuz_sha256: String::new(),
            config_sha256: String::new(),
        };
        Kernel { series, manifest, vmlinuz: PathBuf::new(), config: String::new() }
    }
}

/// `$XDG_CACHE_HOME/libbpf-core-workbook/kernels`, else the same under `~/.cache`.
pub fn cache_dir() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .context("neither XDG_CACHE_HOME nor HOME is set, so there is no cache folder for kernels")?;
    Ok(base.join("libbpf-core-workbook/kernels"))
}

/// One Debian kernel build, as a lock file pins it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub package: String,
    pub version: String,
    /// The .deb's SHA256, as Debian's signed index gave it when pinned: the
    /// committed lock is the trust anchor, so no keyring is needed to fetch.
    pub sha256: String,
    /// Where Debian's archive serves the .deb, over HTTPS.
    pub url: String,
}

impl Pin {
    /// `linux-image-6.1.0-56-amd64 6.1.192-2`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.package, self.version)
    }

    /// Its folder in the cache: one per build.
    fn dir(&self, cache: &Path) -> PathBuf {
        cache.join(format!("{}_{}", self.package, self.version))
    }

    fn matches(&self, manifest: &Manifest) -> bool {
        manifest.package == self.package && manifest.version == self.version && manifest.deb_sha256 == self.sha256
    }
}

/// The pinned build of `series`, if the cache holds it and its files match
/// their record. A damaged entry is reported and removed.
pub fn cached(series: &'static Series, pin: &Pin) -> Result<Option<Kernel>> {
    let cache = cache_dir()?;
    let dir = pin.dir(&cache);
    adopt_series_folder(&cache, series, pin, &dir);
    let Ok(text) = std::fs::read_to_string(dir.join("kernel.toml")) else { return Ok(None) };
    let checked = (|| -> Result<Kernel> {
        let manifest: Manifest = toml::from_str(&text)?;
        ensure!(pin.matches(&manifest), "its record names another build");
        let vmlinuz = dir.join("vmlinuz");
        ensure!(sha256(&vmlinuz)? == manifest.vmlinuz_sha256, "vmlinuz does not match its recorded SHA256");
        let config_path = dir.join("config");
        ensure!(sha256(&config_path)? == manifest.config_sha256, "config does not match its recorded SHA256");
        let config = std::fs::read_to_string(&config_path)?;
        Ok(Kernel { series, manifest, vmlinuz, config })
    })();
    match checked {
        Ok(kernel) => Ok(Some(kernel)),
        Err(error) => {
            eprintln!("kernel {}: the cached copy is damaged ({error:#}); removing it", series.name);
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            Ok(None)
        }
    }
}

/// Caches of older checkers kept one folder per series (`kernels/6.1/`):
/// when it holds the pinned build, its files are linked into the build's own
/// folder instead of being fetched again.
fn adopt_series_folder(cache: &Path, series: &Series, pin: &Pin, dir: &Path) {
    let old = cache.join(series.name);
    if dir.exists() {
        return;
    }
    let Ok(text) = std::fs::read_to_string(old.join("kernel.toml")) else { return };
    if !toml::from_str::<Manifest>(&text).is_ok_and(|m| pin.matches(&m)) {
        return;
    }
    let partial = cache.join(format!("{}.partial-{}", series.name, std::process::id()));
    let linked = std::fs::create_dir_all(&partial).is_ok()
        && ["vmlinuz", "config", "kernel.toml"].iter().all(|file| {
            std::fs::hard_link(old.join(file), partial.join(file))
                .or_else(|_| std::fs::copy(old.join(file), partial.join(file)).map(|_| ()))
                .is_ok()
        });
    if !(linked && std::fs::rename(&partial, dir).is_ok()) {
        let _ = std::fs::remove_dir_all(&partial);
    }
}

/// The pinned build of `series`, from the cache or fetched now.
pub fn ensure(series: &'static Series, pin: &Pin) -> Result<Kernel> {
    if let Some(kernel) = cached(series, pin)? {
        return Ok(kernel);
    }
    fetch(series, pin).with_context(|| format!("kernel {}: nothing was cached", series.name))?;
    cached(series, pin)?.context("the kernel was fetched, yet the cache does not hold it")
}

/// The newest build of `series` in Debian's archive now, for a new pin.
pub fn newest(series: &'static Series) -> Result<Pin> {
    let apt = Apt::prepare(&cache_dir()?.join("apt"))?;
    apt.update()?;
    let record = apt.newest(series)?;
    let url = apt.uri(&record, series.arch)?;
    Ok(Pin { package: record.package, version: record.version, sha256: record.sha256, url })
}

fn fetch(series: &'static Series, pin: &Pin) -> Result<()> {
    let cache = cache_dir()?;
    remove_abandoned(&cache, series.name);
    eprintln!("kernel {}: fetching {} from Debian's archive", series.name, pin.describe());

    // Everything happens in a private folder that becomes the cache entry
    // only once complete, so an interrupted fetch leaves nothing usable behind.
    let partial = cache.join(format!("{}.partial-{}", series.name, std::process::id()));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(&partial)?;
    let outcome = (|| -> Result<()> {
        let deb = partial.join("kernel.deb");
        download(&pin.url, &deb)?;
        let actual = sha256(&deb)?;
        ensure!(actual == pin.sha256, "{} has SHA256 {actual}, but the lock pins {}; the download was deleted", pin.url, pin.sha256);
        let release = extract_boot_files(&deb, &partial)?;
        std::fs::remove_file(&deb)?;
        let manifest = Manifest {
            package: pin.package.clone(),
            version: pin.version.clone(),
            release,
            deb_sha256: pin.sha256.clone(),
            vmlinuz_sha256: sha256(&partial.join("vmlinuz"))?,
            config_sha256: sha256(&partial.join("config"))?,
        };
        std::fs::write(partial.join("kernel.toml"), toml::to_string(&manifest)?)?;
        Ok(())
    })();
    if let Err(error) = outcome {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(error);
    }
    let dir = pin.dir(&cache);
    if dir.exists() {
        // Another run finished the same fetch first; keep its copy.
        std::fs::remove_dir_all(&partial)?;
    } else {
        std::fs::rename(&partial, &dir)?;
    }
    eprintln!("kernel {}: verified against the pinned SHA256 and cached in {}", series.name, dir.display());
    Ok(())
}

/// Removes what interrupted fetches left: `<name>.partial-<pid>` of processes that are gone.
fn remove_abandoned(cache: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(cache) else { return };
    let prefix = format!("{name}.partial-");
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let Some(pid) = file.strip_prefix(&prefix) else { continue };
        if !Path::new("/proc").join(pid).exists() {
            eprintln!("kernel {name}: removing an interrupted download ({})", path.display());
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Downloads `url` to `to` over HTTPS, with the workbook's one HTTP client.
fn download(url: &str, to: &Path) -> Result<()> {
    let response = crate::machine::http::agent(None).get(url).call().with_context(|| format!("downloading {url}"))?;
    ensure!(response.status() == 200, "downloading {url}: the archive answered {}", response.status());
    let mut body = response.into_body().into_reader();
    let mut file = std::fs::File::create(to).with_context(|| format!("writing {}", to.display()))?;
    std::io::copy(&mut body, &mut file).with_context(|| format!("downloading {url}"))?;
    Ok(())
}

/// Unpacks `boot/vmlinuz-*` and `boot/config-*` into `dir` as `vmlinuz` and
/// `config`; returns the kernel release their names carry.
fn extract_boot_files(deb: &Path, dir: &Path) -> Result<String> {
    let names = crate::machine::deb::extract(deb, dir, 2, |path| path.starts_with("boot/vmlinuz-") || path.starts_with("boot/config-"))?;
    let mut release = None;
    for name in names {
        if let Some(r) = name.strip_prefix("vmlinuz-") {
            release = Some(r.to_string());
            std::fs::rename(dir.join(&name), dir.join("vmlinuz"))?;
        } else {
            std::fs::rename(dir.join(&name), dir.join("config"))?;
        }
    }
    ensure!(dir.join("config").exists(), "{} holds no boot/config-*", deb.display());
    release.with_context(|| format!("{} holds no boot/vmlinuz-*", deb.display()))
}

/// The SHA256 of a file, as `sha256sum` prints it.
pub fn sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

pub const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// Where this machine's apt gets Debian packages from, and Debian's security
/// updates: the first matching entry of its sources, else deb.debian.org.
fn mirrors() -> (String, String) {
    let entries = system_sources();
    let is_debian = |suite: &str| {
        let codename = suite.split('-').next().unwrap_or_default();
        ["bullseye", "bookworm", "trixie", "forky", "sid", "stable", "oldstable", "testing", "unstable"].contains(&codename)
    };
    let find = |security: bool| {
        entries
            .iter()
            .find(|(uri, suites)| uri.starts_with("http") && suites.iter().any(|s| is_debian(s) && s.ends_with("-security") == security))
            .map(|(uri, _)| uri.trim_end_matches('/').to_string())
    };
    (
        find(false).unwrap_or_else(|| "http://deb.debian.org/debian".to_string()),
        find(true).unwrap_or_else(|| "http://deb.debian.org/debian-security".to_string()),
    )
}

/// (URI, suites) of every entry in `/etc/apt/sources.list` and `sources.list.d`.
fn system_sources() -> Vec<(String, Vec<String>)> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    let mut entries = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        match file.extension().and_then(|e| e.to_str()) {
            Some("sources") => entries.extend(parse_deb822(&text)),
            Some("list") => entries.extend(parse_one_line(&text)),
            _ => {}
        }
    }
    entries
}

/// `deb [options] uri suite components…` lines.
fn parse_one_line(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next()?.trim();
            let rest = line.strip_prefix("deb ")?.trim_start();
            let rest = match rest.strip_prefix('[') {
                Some(options) => options.split_once(']')?.1,
                None => rest,
            };
            let mut words = rest.split_whitespace();
            Some((words.next()?.to_string(), vec![words.next()?.to_string()]))
        })
        .collect()
}

/// Stanzas of `Types:`, `URIs:`, `Suites:` fields.
fn parse_deb822(text: &str) -> Vec<(String, Vec<String>)> {
    let mut entries = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(':')))
                .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        if !field("Types").iter().any(|t| t == "deb") || field("Enabled").iter().any(|e| e == "no") {
            continue;
        }
        let suites = field("Suites");
        entries.extend(field("URIs").into_iter().map(|uri| (uri, suites.clone())));
    }
    entries
}

/// apt with its own sources list, lists and archive folders under one folder.
struct Apt {
    dir: PathBuf,
}

/// A package's entry in Debian's index.
#[derive(Debug)]
struct Record {
    package: String,
    version: String,
    sha256: String,
}

impl Apt {
    fn prepare(dir: &Path) -> Result<Apt> {
        if !Path::new(KEYRING).exists() {
            bail!("{KEYRING} is missing, so Debian's signatures cannot be checked; install the debian-archive-keyring package");
        }
        for sub in ["lists/partial", "cache/archives/partial", "etc/sources.list.d"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let (debian, security) = mirrors();
        let line = |uri: &str, suite: &str| format!("deb [arch=amd64,arm64 target=Packages signed-by={KEYRING}] {uri} {suite} main\n");
        let sources = [line(&debian, "bullseye"), line(&debian, "bookworm"), line(&security, "bookworm-security")].concat();
        std::fs::write(dir.join("etc/sources.list"), sources)?;
        Ok(Apt { dir: dir.to_path_buf() })
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        let option = |name: &str, value: &Path| format!("{name}={}", value.display());
        for (name, value) in [
            ("Dir::State", self.dir.clone()),
            ("Dir::State::Lists", self.dir.join("lists")),
            ("Dir::Cache", self.dir.join("cache")),
            ("Dir::Etc::SourceList", self.dir.join("etc/sources.list")),
            ("Dir::Etc::SourceParts", self.dir.join("etc/sources.list.d")),
        ] {
            command.arg("-o").arg(option(name, &value));
        }
        command.args(["-o", "Acquire::Languages=none", "-o", "APT::Architectures=amd64,arm64", "-q"]);
        if crate::machine::host::is_root() {
            // apt drops to the _apt user for downloads, who cannot write to this user's cache.
            command.args(["-o", "APT::Sandbox::User=root"]);
        }
        command
    }

    fn run(&self, mut command: Command, what: &str) -> Result<String> {
        let output = command.output().with_context(|| format!("running apt ({what})"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("E:") || l.starts_with("W:")).collect();
        if !output.status.success() || errors.iter().any(|l| l.starts_with("E:")) {
            let detail = if errors.is_empty() { stderr.trim().to_string() } else { errors.join("\n") };
            bail!("{what} failed:\n{detail}");
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Once per run: later fetches in the same run reuse the fresh index.
    fn update(&self) -> Result<()> {
        static UPDATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if UPDATED.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let mut command = self.command("apt-get");
        command.arg("update");
        let output = command.output().context("running apt-get update")?;
        // apt-get update exits 0 when an index fails to download; its warnings say so.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let failures: Vec<&str> =
            stderr.lines().filter(|l| l.starts_with("E:") || l.contains("Failed to fetch") || l.contains("failed to download")).collect();
        if !output.status.success() || !failures.is_empty() {
            let detail = if failures.is_empty() { stderr.trim().to_string() } else { failures.join("\n") };
            bail!("reading Debian's package index (apt-get update) failed:\n{detail}");
        }
        UPDATED.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn newest(&self, series: &Series) -> Result<Record> {
        let pattern = package_pattern(series);
        let mut search = self.command("apt-cache");
        search.args(["search", "--names-only", &pattern]);
        let found = self.run(search, "searching Debian's package index")?;
        let names: Vec<&str> = found.lines().filter_map(|l| l.split(" - ").next()).collect();
        if names.is_empty() {
            bail!("Debian's index has no package named {}N{}", series.prefix, series.suffix);
        }
        let mut show = self.command("apt-cache");
        show.arg("show").args(&names);
        let records = self.run(show, "reading package records")?;
        records
            .split("\n\n")
            .filter_map(parse_record)
            .max_by(|a, b| version_order(&a.version, &b.version))
            .context("apt-cache show gave no usable record")
    }

    /// Where the archive serves the build, as an HTTPS address for the lock.
    fn uri(&self, record: &Record, arch: &str) -> Result<String> {
        let mut command = self.command("apt-get");
        command.args(["download", "--print-uris"]).arg(format!("{}:{arch}={}", record.package, record.version));
        let printed = self.run(command, &format!("locating {}", record.package))?;
        let uri = printed.split('\'').nth(1).context("apt-get download --print-uris printed no address")?;
        Ok(uri.replacen("http://", "https://", 1))
    }
}

/// The names of a series' builds, for `apt-cache search` (a POSIX extended
/// regex, which reads regex's escapes as the characters themselves).
fn package_pattern(series: &Series) -> String {
    format!("^{}[0-9]+{}$", regex::escape(series.prefix), regex::escape(series.suffix))
}

fn parse_record(text: &str) -> Option<Record> {
    let fields: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once(": ")).map(|(k, v)| (k, v.trim())).collect();
    Some(Record {
        package: fields.get("Package")?.to_string(),
        version: fields.get("Version")?.to_string(),
        sha256: fields.get("SHA256")?.to_string(),
    })
}

/// Debian versions compared by their runs of digits and of other characters,
/// numbers as numbers: enough to order one kernel series' releases.
/// Debian's order of two package versions, as dpkg has it: the epoch by
/// value, then the upstream version, then the revision, each compared by
/// `verrevcmp`. Written out: the crates that implement it bring a regex
/// engine and big integers for these few lines.
fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = v.split_once(':').map_or((0, v), |(e, r)| (e.parse().unwrap_or(0), r));
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        (epoch, upstream, revision)
    }
    let ((ea, ua, ra), (eb, ub, rb)) = (split(a), split(b));
    ea.cmp(&eb).then_with(|| verrevcmp(ua, ub)).then_with(|| verrevcmp(ra, rb))
}

/// dpkg's `verrevcmp`: non-digit runs character by character (`~` before
/// the end, the end before letters, letters before other characters), then
/// digit runs by value.
fn verrevcmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn weight(c: Option<u8>) -> i32 {
        match c {
            Some(b'~') => -1,
            None => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(c) => i32::from(c) + 256,
        }
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // The non-digit prefixes, character by character: `~` before the end, the end before anything.
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let (x, y) =
                (weight(a.get(i).copied().filter(|c| !c.is_ascii_digit())), weight(b.get(j).copied().filter(|c| !c.is_ascii_digit())));
            if x != y {
                return x.cmp(&y);
            }
            i += 1;
            j += 1;
        }
        // Then the numbers, by value.
        let number = |v: &[u8], k: &mut usize| {
            let start = *k;
            while *k < v.len() && v[*k].is_ascii_digit() {
                *k += 1;
            }
            std::str::from_utf8(&v[start..*k]).ok().and_then(|d| d.parse::<u128>().ok()).unwrap_or(0)
        };
        let (x, y) = (number(a, &mut i), number(b, &mut j));
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

/// `major.minor` of a release or version string.
pub fn major_minor(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The running kernel's release.
pub fn host_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|r| r.trim().to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm64_runs_name_their_kernels_either_way_and_have_no_host() {
        let wanted = |w: &str| arm64_choices(&[w.to_string()]).map(|c| c.iter().map(|c| c.name()).collect::<Vec<_>>());
        assert_eq!(wanted("6.12,6.1").unwrap(), ["6.1-arm64", "6.12-arm64"]);
        assert_eq!(wanted("all").unwrap(), ["6.1-arm64", "6.12-arm64"]);
        assert_eq!(wanted("6.12-arm64").unwrap(), ["6.12-arm64"]);
        let refused = wanted("host").unwrap_err().to_string();
        assert_eq!(refused, "'host' is not an arm64 kernel this workbook pins; choose `all` or from 6.1-arm64, 6.12-arm64");
    }

    #[test]
    fn orders_versions_as_debian_does() {
        use std::cmp::Ordering::*;
        assert_eq!(version_order("6.12.117-1~deb12u1", "6.12.117-1"), Less, "a ~ sorts before the end");
        assert_eq!(version_order("1~deb12u1", "1"), Less);
        assert_eq!(version_order("1.0~rc1", "1.0~rc2"), Less);
        assert_eq!(version_order("5.10.223-1", "5.10.223-1"), Equal);
        assert_eq!(version_order("1.0a", "1.0"), Greater, "a letter sorts after the end");
        assert_eq!(version_order("1.0-1", "1.0+b1"), Less, "non-letters sort after letters");
    }

    #[test]
    fn orders_kernel_versions_numerically() {
        use std::cmp::Ordering::*;
        assert_eq!(version_order("6.12.117-1~deb12u1", "6.12.74-2~deb12u1"), Greater);
        assert_eq!(version_order("6.1.170-3", "6.1.192-2"), Less);
        assert_eq!(version_order("5.10.223-1", "5.10.223-1"), Equal);
    }

    #[test]
    fn reads_both_sources_formats() {
        let one = "# comment\ndeb [signed-by=/k.gpg] http://mirror.example/debian bookworm main\ndeb-src http://x y main\n";
        assert_eq!(parse_one_line(one), [("http://mirror.example/debian".to_string(), vec!["bookworm".to_string()])]);
        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n";
        let parsed = parse_deb822(deb822);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1], ("http://deb.debian.org/debian-security".to_string(), vec!["bookworm-security".to_string()]));
    }

    #[test]
    fn parses_a_package_record() {
        let text = "Package: linux-image-5.10.0-32-amd64\nVersion: 5.10.223-1\nSize: 55749416\nSHA256: 86a6\nDescription: Linux 5.10";
        let record = parse_record(text).unwrap();
        assert_eq!((record.package.as_str(), record.version.as_str()), ("linux-image-5.10.0-32-amd64", "5.10.223-1"));
        assert!(parse_record("Package: x").is_none());
    }

    #[test]
    fn kernel_names_parse_and_bad_ones_are_usage_errors() {
        let all = choices(&["all".to_string()]).unwrap();
        assert_eq!(all.iter().map(Choice::name).collect::<Vec<_>>(), ["5.10", "6.1", "6.12", "host"]);
        let some = choices(&["host,5.10".to_string(), "5.10".to_string()]).unwrap();
        assert_eq!(some.iter().map(Choice::name).collect::<Vec<_>>(), ["5.10", "host"]);
        let error = choice("4.19").unwrap_err();
        assert!(error.downcast_ref::<UsageError>().is_some());
    }

    #[test]
    fn a_series_pattern_matches_its_builds_only() {
        let series = SERIES.iter().find(|s| s.name == "6.12").unwrap();
        let pattern = regex::Regex::new(&package_pattern(series)).unwrap();
        assert!(pattern.is_match("linux-image-6.12.43+deb12-amd64"));
        for other in ["linux-image-6.12.43+deb12-amd64-unsigned", "linux-image-6.12x43+deb12-amd64", "linux-image-6.12.43deb12-amd64"] {
            assert!(!pattern.is_match(other), "{other}");
        }
    }
}
