//! The build cache: step keys and what they produced. A key chains the state before the
//! step (the base image id, then each step's key and the layer it made) with the step
//! after expansion and everything else it depends on (the content and metadata of copied
//! files, build args, mount sources). An entry records the layer a step made (if any)
//! and when, so a fully cached rebuild gives the same image id. Entries live under
//! `$root/build-cache/<key>`, written atomically; an entry whose layer blob is gone is a
//! miss. This module knows nothing of Dockerfiles.

use crate::image::{hex, LayerInfo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Bumped whenever the key material changes meaning.
const VERSION: &str = "kiste-build-cache-v2";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CacheEntry {
    pub layer: Option<LayerInfo>,
    pub created: Option<String>,
    /// What `builder prune --filter/--keep-storage` chooses by (absent in entries older
    /// builds wrote: their file's mtime stands in for the last use).
    #[serde(default, flatten)]
    pub meta: EntryMeta,
}

/// An entry's use, as BuildKit keeps it for its cache records.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EntryMeta {
    /// Unix seconds of the last build that made or took the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<i64>,
    #[serde(default)]
    pub usage_count: u64,
    /// The step, as its history says it (`RUN make # buildkit`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The `--label`s of the build that made it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

pub struct BuildCache {
    dir: PathBuf,
}

/// Accumulates the material of one key.
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    pub fn new(parent: &str) -> KeyBuilder {
        let mut h = Sha256::new();
        h.update(VERSION);
        h.update([0]);
        h.update(parent);
        KeyBuilder(h)
    }

    /// Adds one length-prefixed field, so "ab"+"c" and "a"+"bc" differ.
    pub fn field(mut self, data: impl AsRef<[u8]>) -> KeyBuilder {
        let d = data.as_ref();
        self.0.update((d.len() as u64).to_le_bytes());
        self.0.update(d);
        self
    }

    /// Adds an optional value, so that "absent" and "empty" differ.
    pub fn optional(self, data: Option<&str>) -> KeyBuilder {
        match data {
            Some(d) => self.field([1]).field(d),
            None => self.field([0]),
        }
    }

    /// Adds an instruction after expansion, in a stable encoding (its serde JSON: field
    /// names and values, unlike `Debug` output, which may change with the compiler).
    pub fn instruction(self, node: &dockerfile_parser::Instruction) -> KeyBuilder {
        let json = serde_json::to_vec(node).expect("an instruction serializes");
        self.field(json)
    }

    pub fn finish(self) -> String {
        hex(&self.0.finalize())
    }
}

/// The cache entries of the layers a build made, and their blobs, which the image store
/// holds unsynced until the build commits (`ImageStore::create_layer_unsynced`). The
/// entries are written only once the blobs are stored, so that no entry names a blob
/// that a crash could lose; meanwhile later steps of the build find them here.
#[derive(Default)]
pub struct Pending {
    /// (key, entry, what the step was), in build order.
    entries: Vec<(String, CacheEntry, String)>,
    blobs: Vec<crate::image::store::HeldBlob>,
}

impl Pending {
    pub fn add(
        &mut self,
        key: &str,
        entry: CacheEntry,
        description: String,
        blob: Option<crate::image::store::HeldBlob>,
    ) {
        self.entries.push((key.to_string(), entry, description));
        self.blobs.extend(blob);
    }

    pub fn lookup(&self, key: &str) -> Option<CacheEntry> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _, _)| k == key)
            .map(|(_, e, _)| e.clone())
    }

    /// Whether `digest` is a blob this build holds.
    pub fn holds(&self, digest: &str) -> bool {
        self.blobs.iter().any(|b| b.digest() == digest)
    }

    /// The held blobs, for the commit that stores them; the entries stay for `write`.
    pub fn take_blobs(&mut self) -> Vec<crate::image::store::HeldBlob> {
        std::mem::take(&mut self.blobs)
    }

    /// Write the entries (their blobs stored by now) into `cache`.
    pub fn write(
        &mut self,
        cache: &BuildCache,
        labels: &std::collections::BTreeMap<String, String>,
    ) {
        for (key, entry, description) in self.entries.drain(..) {
            let _ = cache.record_use(&key, &entry, &description, labels);
        }
    }
}

impl BuildCache {
    pub fn open(dir: PathBuf) -> BuildCache {
        BuildCache { dir }
    }

    /// The entry for `key`, if it is there and its layer blob still exists.
    pub fn lookup(
        &self,
        key: &str,
        blob_exists: impl Fn(&LayerInfo) -> bool,
    ) -> Option<CacheEntry> {
        let text = fs::read(self.dir.join(key)).ok()?;
        let entry: CacheEntry = serde_json::from_slice(&text).ok()?;
        match &entry.layer {
            Some(l) if !blob_exists(l) => None,
            _ => Some(entry),
        }
    }

    /// Write `key`'s entry (temp file, rename: a reader sees a whole entry or none). No
    /// fsync: an entry only saves work, and one a crash leaves empty or torn does not
    /// parse, which `lookup` takes as a miss. The image a build commits holds its own
    /// layers, so nothing durable depends on an entry. The old entry is unlinked before
    /// the rename: ext4 flushes a file renamed over another (auto_da_alloc), which took
    /// 1 to 9 ms per step of a cached build here while other processes wrote to the disk.
    pub fn store(&self, key: &str, entry: &CacheEntry) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!(".tmp-{key}-{}", std::process::id()));
        let dest = self.dir.join(key);
        let write = |tmp: &Path| {
            fs::write(tmp, &bytes)?;
            match fs::remove_file(&dest) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            fs::rename(tmp, &dest)
        };
        let written = match write(&tmp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.dir)?;
                write(&tmp)
            }
            other => other,
        };
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Note a use of `key`'s entry now (a build made or took it), with what it was.
    pub fn record_use(
        &self,
        key: &str,
        entry: &CacheEntry,
        description: &str,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> std::io::Result<()> {
        let mut e = entry.clone();
        e.meta.last_used = Some(crate::time::now_unix() as i64);
        e.meta.usage_count += 1;
        if e.meta.description.is_empty() {
            e.meta.description = description.to_string();
        }
        if e.meta.labels.is_empty() {
            e.meta.labels = labels.clone();
        }
        self.store(key, &e)
    }

    /// Every entry with its key and the mtime of its file (for entries without
    /// `last_used`).
    pub fn entries(&self) -> Vec<(String, CacheEntry, i64)> {
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        rd.flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| {
                let key = e.file_name().to_string_lossy().into_owned();
                let mtime = e.metadata().ok()?.mtime();
                let entry = serde_json::from_slice(&fs::read(e.path()).ok()?).ok()?;
                Some((key, entry, mtime))
            })
            .collect()
    }

    /// Forget one entry.
    pub fn remove(&self, key: &str) -> std::io::Result<()> {
        fs::remove_file(self.dir.join(key))
    }

    /// The layers cache entries refer to (kept by `image prune` unless the cache goes).
    pub fn layers(&self) -> Vec<LayerInfo> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| fs::read(e.path()).ok())
            .filter_map(|text| serde_json::from_slice::<CacheEntry>(&text).ok())
            .filter_map(|entry| entry.layer)
            .collect()
    }

    /// Forget every entry (`image prune`).
    pub fn clear(&self) -> std::io::Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// A digest of a directory tree as a layer sees it: every entry's path, type, mode,
/// owner, size, content, symlink target, device number and overlay opaque mark, in
/// name order. Modification times are left out, as docker does for COPY cache keys.
pub fn tree_digest(root: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    digest_dir(root, "", &mut h)?;
    Ok(hex(&h.finalize()))
}

fn digest_dir(dir: &Path, rel: &str, h: &mut Sha256) -> std::io::Result<()> {
    let mut names: Vec<_> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    crate::sort::sort(&mut names);
    for name in names {
        let path = dir.join(&name);
        let child = format!("{rel}/{}", name.to_string_lossy());
        let m = fs::symlink_metadata(&path)?;
        let ft = m.file_type();
        let kind = if ft.is_dir() {
            "d"
        } else if ft.is_symlink() {
            "l"
        } else if ft.is_file() {
            "f"
        } else if ft.is_char_device() {
            "c"
        } else if ft.is_block_device() {
            "b"
        } else {
            "p"
        };
        h.update(format!(
            "{child}\0{kind}\0{:o}\0{}\0{}\0{}\0{}\0",
            m.mode(),
            m.uid(),
            m.gid(),
            m.len(),
            m.rdev()
        ));
        if ft.is_symlink() {
            h.update(fs::read_link(&path)?.as_os_str().as_encoded_bytes());
        } else if ft.is_file() {
            let mut f = fs::File::open(&path)?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        } else if ft.is_dir() {
            h.update([0]);
            digest_dir(&path, &child, h)?;
        }
        h.update([0xff]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockerfile_parser::{Instruction, ShellOrExec};

    #[test]
    fn keys_encode_instructions_by_name_and_value_not_debug_output() {
        let workdir = Instruction::Workdir("/app".into());
        assert_eq!(
            serde_json::to_string(&workdir).unwrap(),
            r#"{"Workdir":"/app"}"#
        );
        let cmd = Instruction::Cmd(ShellOrExec::Exec(vec!["sh".into()]));
        let key = |i: &Instruction| KeyBuilder::new("base").instruction(i).finish();
        assert_eq!(key(&workdir), key(&workdir.clone()));
        assert_ne!(key(&workdir), key(&cmd));
        let arg = |v: Option<&str>| KeyBuilder::new("base").optional(v).finish();
        assert_ne!(arg(None), arg(Some("")));
    }
}
