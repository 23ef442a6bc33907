//! Files out of a Debian package, read in Rust: the `.deb` is an `ar`
//! archive whose `data.tar.xz` (or `.zst`) holds the files. No `dpkg-deb`,
//! so a kernel can be unpacked on any distribution. Reading stops once the
//! wanted files are out: a kernel's `./boot/` comes first, its modules after.

use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Writes each file of `deb` whose path (`boot/...`, without Debian's
/// leading `./`) `wanted` accepts into `dir`, under
/// its file name; stops after `count` files. Returns the names written.
pub fn extract(deb: &Path, dir: &Path, count: usize, wanted: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let file = std::fs::File::open(deb).with_context(|| format!("opening {}", deb.display()))?;
    let mut archive = ar::Archive::new(BufReader::new(file));
    while let Some(entry) = archive.next_entry() {
        let entry = entry.with_context(|| format!("{} is not a Debian package", deb.display()))?;
        let member = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        let input = BufReader::new(entry);
        // Read as a stream: dropping the reader after the last wanted file stops the decompression.
        match member.as_str() {
            "data.tar.xz" => return files_from_tar(lzma_rust2::XzReader::new(input, false), dir, count, wanted),
            "data.tar.zst" => {
                let zstd = ruzstd::decoding::StreamingDecoder::new(input).map_err(|e| anyhow::anyhow!("{e}"))?;
                return files_from_tar(zstd, dir, count, wanted);
            }
            "data.tar" => return files_from_tar(input, dir, count, wanted),
            other if other.starts_with("data.tar") => {
                bail!("the package's {other} is compressed in a format the workbook does not read (only xz and zstd)")
            }
            _ => continue,
        }
    }
    bail!("{} holds no data.tar", deb.display())
}

fn files_from_tar(data: impl Read, dir: &Path, count: usize, wanted: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let mut written = Vec::new();
    let mut tar = tar::Archive::new(data);
    for entry in tar.entries().context("reading the package's data.tar")? {
        let mut entry = entry.context("reading the package's data.tar")?;
        // Debian writes `./boot/...`; compare without the `./`.
        let path = entry.path()?.to_string_lossy().trim_start_matches("./").to_string();
        if !entry.header().entry_type().is_file() || !wanted(&path) {
            continue;
        }
        let name = Path::new(&path).file_name().context("a file entry has a name")?.to_string_lossy().into_owned();
        let mut out = std::fs::File::create(dir.join(&name)).with_context(|| format!("writing {name}"))?;
        std::io::copy(&mut entry, &mut out).with_context(|| format!("unpacking {path}"))?;
        written.push(name);
        if written.len() == count {
            break;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A package made here the way Debian makes them: an ar archive with an
    /// xz-compressed data.tar after debian-binary and the control archive.
    #[test]
    fn takes_the_wanted_files_out_of_an_xz_package() {
        let dir = std::env::temp_dir().join(format!("workbook-deb-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut tar = tar::Builder::new(Vec::new());
        for (path, body) in [
            ("./boot/vmlinuz-9.9.9-test", &b"kernel"[..]),
            ("./boot/config-9.9.9-test", b"CONFIG_BPF=y\n"),
            ("./lib/modules/x.ko", b"module"),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, path, body).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        let mut writer = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
        std::io::Write::write_all(&mut writer, &tar).unwrap();
        let xz = writer.finish().unwrap();
        let deb = dir.join("test.deb");
        let mut archive = ar::Builder::new(std::fs::File::create(&deb).unwrap());
        for (name, body) in [("debian-binary", &b"2.0\n"[..]), ("control.tar.xz", b""), ("data.tar.xz", &xz[..])] {
            archive.append(&ar::Header::new(name.as_bytes().to_vec(), body.len() as u64), body).unwrap();
        }
        drop(archive);

        let names = extract(&deb, &dir, 2, |p| p.starts_with("boot/")).unwrap();
        assert_eq!(names, ["vmlinuz-9.9.9-test", "config-9.9.9-test"]);
        assert_eq!(std::fs::read(dir.join("config-9.9.9-test")).unwrap(), b"CONFIG_BPF=y\n");
        assert!(!dir.join("x.ko").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
