//! The offline book: every built edition in one .tar.gz. mdBook's pages use
//! relative links and load the search index as a script, so the unpacked
//! folder opens from disk (file://), search included, with no server.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

/// The archive's name, and the folder it unpacks into.
pub const FILE_NAME: &str = "libbpf-core-workbook-book.tar.gz";
pub const TOP: &str = "libbpf-core-workbook-book";

/// Packs the built site `site` (English at its top, each translation in a
/// folder of its own) into `archive`; returns how many files it holds.
pub fn write(site: &Path, archive: &Path) -> Result<usize> {
    anyhow::ensure!(site.join("index.html").is_file(), "{} holds no built book", site.display());
    if let Some(dir) = archive.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = File::create(archive).with_context(|| format!("writing {}", archive.display()))?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    tar.mode(tar::HeaderMode::Deterministic);
    let mut files = 0;
    add(&mut tar, site, site, &mut files)?;
    tar.into_inner()?.finish()?;
    Ok(files)
}

fn add(tar: &mut tar::Builder<GzEncoder<File>>, site: &Path, dir: &Path, files: &mut usize) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let inside = Path::new(TOP).join(path.strip_prefix(site)?);
        if entry.file_type()?.is_dir() {
            add(tar, site, &path, files)?;
        } else {
            tar.append_path_with_name(&path, &inside).with_context(|| format!("packing {}", path.display()))?;
            *files += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn every_file_goes_under_one_folder_and_comes_back_the_same() {
        let dir = std::env::temp_dir().join(format!("bundle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let site = dir.join("site");
        std::fs::create_dir_all(site.join("zh-CN")).unwrap();
        std::fs::write(site.join("index.html"), "<p>en</p>").unwrap();
        std::fs::write(site.join("searchindex-1.js"), "window.search = {}").unwrap();
        std::fs::write(site.join("zh-CN/index.html"), "<p>简体中文</p>").unwrap();
        let archive = dir.join("out").join(FILE_NAME);
        assert_eq!(write(&site, &archive).unwrap(), 3);

        let mut unpacked = std::collections::BTreeMap::new();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(File::open(&archive).unwrap()));
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            unpacked.insert(entry.path().unwrap().display().to_string(), text);
        }
        let expected = [
            (format!("{TOP}/index.html"), "<p>en</p>"),
            (format!("{TOP}/searchindex-1.js"), "window.search = {}"),
            (format!("{TOP}/zh-CN/index.html"), "<p>简体中文</p>"),
        ];
        assert_eq!(unpacked, expected.into_iter().map(|(p, t)| (p, t.to_string())).collect());
        assert!(write(&dir.join("nothing"), &archive).is_err(), "a folder with no book is refused");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
