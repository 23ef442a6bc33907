//! Rendering a page in headless Chromium, and reading the text a reader sees.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use regex::Regex;

/// Flags for a quiet, offline, throwaway browser.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
const PATIENCE: Duration = Duration::from_secs(90);

/// `$CHROMIUM`, else the first Chromium on PATH.
pub fn chromium() -> Result<PathBuf> {
    if let Some(chosen) = std::env::var_os("CHROMIUM") {
        return Ok(chosen.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
        .context("no Chromium on PATH: install Debian's `chromium` package, or set CHROMIUM")
}

/// The page's DOM after its scripts ran, as Chromium serialises it.
/// `profile` must be a fresh folder; Chromium keeps its state there.
pub fn dump_dom(chromium: &Path, page: &Path, profile: &Path) -> Result<String> {
    let page = page.canonicalize().with_context(|| format!("no page {}", page.display()))?;
    dump_url(chromium, &format!("file://{}", page.display()), profile)
}

/// [`dump_dom`] of any address, e.g. a page a local server serves.
pub fn dump_url(chromium: &Path, url: &str, profile: &Path) -> Result<String> {
    std::fs::create_dir_all(profile)?;
    let out = profile.join("dom.html");
    let status = run(chromium, profile, &["--dump-dom".to_string()], url, Some(&out))?;
    let dom = std::fs::read_to_string(&out)?;
    if !status.success() || dom.trim().is_empty() {
        bail!("Chromium failed to render {url} ({status})");
    }
    Ok(dom)
}

/// A PNG of `url` as a `width`×`height` window draws it: what a reader sees,
/// fonts included (a DOM dump cannot tell a glyph from a box).
pub fn screenshot(chromium: &Path, url: &str, profile: &Path, out: &Path, (width, height): (u32, u32)) -> Result<()> {
    std::fs::create_dir_all(profile)?;
    let _ = std::fs::remove_file(out);
    let args = [format!("--screenshot={}", out.display()), format!("--window-size={width},{height}"), "--hide-scrollbars".into()];
    let status = run(chromium, profile, &args, url, None)?;
    if !status.success() || !out.is_file() {
        bail!("Chromium took no screenshot of {url} ({status})");
    }
    Ok(())
}

/// `url` printed to a PDF, without the browser's header and footer.
pub fn pdf(chromium: &Path, url: &str, profile: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(profile)?;
    let _ = std::fs::remove_file(out);
    let args = [format!("--print-to-pdf={}", out.display()), "--no-pdf-header-footer".into()];
    let status = run(chromium, profile, &args, url, None)?;
    if !status.success() || !out.is_file() {
        bail!("Chromium printed no PDF of {url} ({status})");
    }
    Ok(())
}

/// Runs headless Chromium on `url` with `args`, within [`PATIENCE`].
fn run(chromium: &Path, profile: &Path, args: &[String], url: &str, stdout: Option<&Path>) -> Result<std::process::ExitStatus> {
    let stdout = match stdout {
        Some(path) => Stdio::from(std::fs::File::create(path)?),
        None => Stdio::null(),
    };
    let mut child = Command::new(chromium)
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", chromium.display()))?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("Chromium did not render {url} within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

static SCRIPT_OR_STYLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<script\b.*?</script>|<style\b.*?</style>").expect("a valid pattern"));
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").expect("a valid pattern"));
static MAIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<main\b[^>]*>(.*)</main>").expect("a valid pattern"));
static H1: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<h1\b[^>]*>(.*?)</h1>").expect("a valid pattern"));

/// The text of an HTML fragment: no tags, no scripts, entities decoded.
pub fn text(html: &str) -> String {
    let html = SCRIPT_OR_STYLE.replace_all(html, "");
    let text = TAG.replace_all(&html, "");
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The page's `<main>` element, where mdBook puts the chapter.
pub fn main_content(dom: &str) -> Option<&str> {
    MAIN.captures(dom).and_then(|c| c.get(1)).map(|m| m.as_str())
}

static SWITCH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"<a\b[^>]*class="language-switch"[^>]*>"#).expect("a valid pattern"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"\s(href|hreflang)="([^"]*)""#).expect("a valid pattern"));

/// The language switch's links in a rendered page, as (language, href).
pub fn language_switches(dom: &str) -> Vec<(String, String)> {
    SWITCH
        .find_iter(dom)
        .map(|tag| {
            let mut found = (String::new(), String::new());
            for attribute in ATTRIBUTE.captures_iter(tag.as_str()) {
                let value = attribute[2].replace("&amp;", "&");
                if &attribute[1] == "href" {
                    found.1 = value;
                } else {
                    found.0 = value;
                }
            }
            found
        })
        .collect()
}

/// The text of the first `<h1>` in `html`.
pub fn first_heading(html: &str) -> Option<String> {
    H1.captures(html).and_then(|c| c.get(1)).map(|m| text(m.as_str()).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_as_a_reader_sees_it() {
        let dom = r##"<html><body><nav>menu</nav><main><h1 id="x"><a href="#x">Lesson 01 · Open &amp; fail</a></h1>
<script>var x = "<b>";</script><pre><code class="hljs"><span class="k">open</span>     FAILED  ENOENT (No such file or directory)
stopped  at open &lt;here&gt; &#39;q&#39;</code></pre></main></body></html>"##;
        let main = main_content(dom).unwrap();
        assert!(!main.contains("menu"));
        assert_eq!(first_heading(main).unwrap(), "Lesson 01 · Open & fail");
        let text = text(main);
        assert!(text.contains("open     FAILED  ENOENT (No such file or directory)\nstopped  at open <here> 'q'"), "{text}");
        assert!(!text.contains("var x"));
    }

    #[test]
    fn finds_the_language_switches() {
        let dom = r#"<div class="right-buttons"><a class="language-switch" href="../03-einval.html" hreflang="en" lang="en">English</a><a href="print.html">p</a></div>"#;
        assert_eq!(language_switches(dom), [("en".to_string(), "../03-einval.html".to_string())]);
    }
}
