//! The store's small mutable parts: `images.json`, the lock, temp names and atomic
//! writes. `images.json` is replaced by rename, so readers never see half a file and
//! need no lock; writers hold the lock from reading it to renaming the new one.

use super::{Image, ImageStore, LayerInfo};
use crate::image::config::ImageConfig;
use crate::image::{hex, io_ctx, now_rfc3339, ImageError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Index {
    pub(super) images: Vec<ImageRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ImageRecord {
    pub(super) id: String,
    pub(super) manifest_digest: String,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) created: Option<String>,
    #[serde(default)]
    pub(super) layers: Vec<LayerInfo>,
    /// `name@sha256:…` of every manifest or index this image was pulled by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) repo_digests: Vec<String>,
}

impl Index {
    /// Gives `tag` to the image at `pos`, taking it from whichever image had it.
    /// Whether anything changed (false: the image had the tag already and alone).
    pub(super) fn move_tag(&mut self, tag: &str, pos: usize) -> bool {
        let holders = self
            .images
            .iter()
            .filter(|r| r.tags.iter().any(|t| t == tag));
        if holders.count() == 1 && self.images[pos].tags.iter().filter(|t| *t == tag).count() == 1 {
            return false;
        }
        for r in &mut self.images {
            r.tags.retain(|t| t != tag);
        }
        self.images[pos].tags.push(tag.to_string());
        true
    }
}

/// Held while modifying the store; released when dropped (the file closes).
pub(super) struct StoreLock {
    _file: File,
}

impl ImageStore {
    /// Records image `id` (its config, manifest digest and layers) in the index, moves
    /// `tags` to it, and loads it. The caller holds the store lock. An image already
    /// recorded keeps its record, or with `refresh` gets this manifest digest and these
    /// layers.
    pub(super) fn record_image(
        &self,
        id: String,
        manifest_digest: String,
        config: &ImageConfig,
        layers: &[LayerInfo],
        tags: &[String],
        refresh: bool,
    ) -> Result<Image, ImageError> {
        let mut index = self.read_index()?;
        let mut changed = true;
        let pos = match index.images.iter().position(|r| r.id == id) {
            Some(pos) => {
                changed = refresh;
                if refresh {
                    let record = &mut index.images[pos];
                    record.manifest_digest = manifest_digest;
                    record.layers = layers.to_vec();
                }
                pos
            }
            None => {
                index.images.push(ImageRecord {
                    id,
                    manifest_digest,
                    tags: Vec::new(),
                    created: config.created.clone().or_else(|| Some(now_rfc3339())),
                    layers: layers.to_vec(),
                    repo_digests: Vec::new(),
                });
                index.images.len() - 1
            }
        };
        for tag in tags {
            changed |= index.move_tag(tag, pos);
        }
        // A rebuild that changes nothing (every step cached, the tag already here)
        // leaves images.json as it is: no write, no fsync.
        if changed {
            self.write_index(&index)?;
        }
        self.load(&index.images[pos])
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("images.json")
    }

    pub(super) fn read_index(&self) -> Result<Index, ImageError> {
        let path = self.index_path();
        let bytes = match crate::fs::read_whole(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(io_ctx(|| format!("read {}", path.display()))(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| ImageError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// Callers must hold the lock. Compact JSON: the index is rewritten by every commit
    /// and read by every image lookup, and grows with every image (older, pretty-printed
    /// indexes read alike).
    pub(super) fn write_index(&self, index: &Index) -> Result<(), ImageError> {
        let bytes = serde_json::to_vec(index).expect("index serializes");
        self.write_atomic(&self.index_path(), &bytes)
    }

    pub(super) fn lock(&self) -> Result<StoreLock, ImageError> {
        let path = self.root.join("lock");
        let file = crate::lock::lock_exclusive(&path)
            .map_err(io_ctx(|| format!("lock {}", path.display())))?;
        Ok(StoreLock { _file: file })
    }

    /// A fresh name in `tmp/`: `<pid>-<random>-<what>`. The pid lets `open` tell the
    /// temps of dead processes from those still being written.
    pub(super) fn temp_path(&self, what: &str) -> PathBuf {
        let mut rand = [0u8; 8];
        getrandom::getrandom(&mut rand).expect("the kernel provides random bytes");
        self.tmp
            .join(format!("{}-{}-{what}", std::process::id(), hex(&rand)))
    }

    /// Writes `bytes` to `dest` via a synced temp file and a rename.
    pub(super) fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<(), ImageError> {
        let how = crate::paths::Atomic {
            tmp: Some(self.temp_path("file")),
            ..Default::default()
        };
        crate::paths::write_atomic(dest, bytes, &how)
            .map_err(io_ctx(|| format!("write {}", dest.display())))
    }

    /// fsyncs the directory that holds `digest`'s blob (and every name renamed into it).
    pub(super) fn sync_blob_dir(&self, digest: &str) -> Result<(), ImageError> {
        let path = self.blob_path(digest)?;
        let dir = path.parent().unwrap_or(&self.root);
        crate::paths::sync_dir(dir).map_err(io_ctx(|| format!("sync {}", dir.display())))
    }

    /// Stores a small blob (config, manifest; its data synced, its name not yet): the
    /// digest, and whether it was new. The caller syncs the blob directory once for
    /// several (`sync_blob_dir`) before images.json names them.
    pub(super) fn put_blob_unsynced_dir(&self, bytes: &[u8]) -> Result<(String, bool), ImageError> {
        let digest = format!("sha256:{}", hex(&Sha256::digest(bytes)));
        let path = self.blob_path(&digest)?;
        if path.exists() {
            return Ok((digest, false));
        }
        let how = crate::paths::Atomic {
            tmp: Some(self.temp_path("file")),
            sync_dir: false,
            ..Default::default()
        };
        crate::paths::write_atomic(&path, bytes, &how)
            .map_err(io_ctx(|| format!("write {}", path.display())))?;
        Ok((digest, true))
    }

    /// Moves a finished temp blob into place unless an identical blob is already there.
    pub(super) fn publish_blob(&self, tmp: TempPath, digest: &str) -> Result<(), ImageError> {
        let dest = self.blob_path(digest)?;
        if dest.exists() {
            return Ok(()); // `tmp` is removed on drop
        }
        fs::rename(tmp.path(), &dest).map_err(io_ctx(|| {
            format!("store blob {}", crate::image::short_digest(digest))
        }))?;
        tmp.keep();
        Ok(())
    }

    /// Removes temps whose creating process is gone. Runs on every `open`, so it
    /// costs one readdir of an (almost always) empty directory.
    pub(super) fn clean_stale_temps(&self) -> Result<(), ImageError> {
        let entries =
            fs::read_dir(&self.tmp).map_err(io_ctx(|| format!("read {}", self.tmp.display())))?;
        let mut stale = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<i32>().ok());
            let alive = pid.is_some_and(|pid| {
                pid == std::process::id() as i32
                    || unsafe { libc::kill(pid, 0) } == 0
                    || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
            });
            if !alive {
                stale.push(entry.path());
            }
        }
        if stale.is_empty() {
            return Ok(());
        }
        let _lock = self.lock()?;
        for path in stale {
            remove_any(&path);
        }
        Ok(())
    }
}

/// Removes a file or a directory tree, ignoring errors (used for best-effort cleanup).
pub(super) fn remove_any(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => drop(fs::remove_dir_all(path)),
        Ok(_) => drop(fs::remove_file(path)),
        Err(_) => {}
    }
}

/// A temp file or directory removed on drop unless `keep` was called (after a rename).
pub(super) struct TempPath {
    path: Option<PathBuf>,
}

impl TempPath {
    pub(super) fn new(path: PathBuf) -> TempPath {
        TempPath { path: Some(path) }
    }
    pub(super) fn path(&self) -> &Path {
        self.path.as_deref().expect("temp path present until kept")
    }
    pub(super) fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            remove_any(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_written_compact_and_an_old_pretty_one_still_loads() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ImageStore::open(tmp.path()).unwrap();
        let old = Index {
            images: vec![ImageRecord {
                id: format!("sha256:{}", "a".repeat(64)),
                manifest_digest: format!("sha256:{}", "b".repeat(64)),
                tags: vec!["web:latest".into()],
                created: Some("2026-12-02T08:00:00Z".into()),
                layers: Vec::new(),
                repo_digests: Vec::new(),
            }],
        };
        let pretty = serde_json::to_vec_pretty(&old).unwrap();
        fs::write(store.index_path(), pretty).unwrap();
        let read = store.read_index().unwrap();
        assert_eq!(read.images[0].id, old.images[0].id);
        assert_eq!(read.images[0].tags, old.images[0].tags);
        let _lock = store.lock().unwrap();
        store.write_index(&read).unwrap();
        let written = fs::read(store.index_path()).unwrap();
        assert!(!written.contains(&b'\n'));
        let again = store.read_index().unwrap();
        assert_eq!(serde_json::to_vec(&again).unwrap(), written);
    }
}
