//! `builder prune --filter … --keep-storage BYTES`: choosing build cache records by their
//! metadata, as BuildKit does. The records are the step entries (`regular`: the layer a
//! step made, or a config step) and the `RUN --mount=type=cache` directories
//! (`exec.cachemount`, with a `.json` sidecar noting their last use). Filters of one key
//! are alternatives, different keys must all match; `--keep-storage` then keeps the most
//! recently used of the matching records that fit in BYTES and removes the rest (least
//! recently used first). Layers the removed entries alone kept are left to the image
//! store's garbage collection (by the caller).

use super::cache::BuildCache;
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A record's kind, in BuildKit's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    Regular,
    CacheMount,
    /// A BuildKit kind kiste has no records of (source.local, frontend, internal,
    /// source.git.checkout): it matches nothing.
    Other,
}

impl CacheKind {
    pub fn parse(s: &str) -> Option<CacheKind> {
        match s {
            "regular" => Some(CacheKind::Regular),
            "exec.cachemount" => Some(CacheKind::CacheMount),
            "source.local" | "frontend" | "internal" | "source.git.checkout" => {
                Some(CacheKind::Other)
            }
            _ => None,
        }
    }
}

/// One `--filter` of `builder prune`, checked by `cli`.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheFilter {
    /// `until=`/`unused-for=`: last used before these unix seconds.
    Until(f64),
    /// `id=`: the record's id starts with this.
    Id(String),
    /// `parent=`: kiste's records have no parent chain in the store; matches ids too.
    Type(CacheKind),
    /// `description=`: a substring of the record's description.
    Description(String),
    /// `label=KEY[=VALUE]`: the build that made the record had this `--label`.
    Label(String, Option<String>),
    /// `inuse=`, `shared=`, `private=`: no build is running once prune holds the store,
    /// and no record is shared with another builder, so these are false, false, true.
    InUse(bool),
    Shared(bool),
    Private(bool),
}

impl CacheFilter {
    fn key(&self) -> &'static str {
        match self {
            CacheFilter::Until(_) => "until",
            CacheFilter::Id(_) => "id",
            CacheFilter::Type(_) => "type",
            CacheFilter::Description(_) => "description",
            CacheFilter::Label(..) => "label",
            CacheFilter::InUse(_) => "inuse",
            CacheFilter::Shared(_) => "shared",
            CacheFilter::Private(_) => "private",
        }
    }

    fn matches(&self, r: &Record) -> bool {
        match self {
            CacheFilter::Until(t) => (r.last_used as f64) < *t,
            CacheFilter::Id(id) => r.id.starts_with(id.as_str()),
            CacheFilter::Type(k) => r.kind == *k,
            CacheFilter::Description(d) => r.description.contains(d.as_str()),
            CacheFilter::Label(k, v) => match (r.labels.get(k), v) {
                (Some(have), Some(want)) => have == want,
                (Some(_), None) => true,
                (None, _) => false,
            },
            CacheFilter::InUse(b) => !*b,
            CacheFilter::Shared(b) => !*b,
            CacheFilter::Private(b) => *b,
        }
    }
}

/// A cache mount's sidecar, written atomically each time a build uses it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct MountMeta {
    pub last_used: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Note a use of the cache mount `dir` now.
pub fn record_mount_use(dir: &Path, description: &str, labels: &BTreeMap<String, String>) {
    let meta = MountMeta {
        last_used: crate::time::now_unix() as i64,
        description: description.to_string(),
        labels: labels.clone(),
    };
    let path = dir.with_extension("json");
    let tmp = dir.with_extension(format!("json.tmp-{}", std::process::id()));
    let how = crate::paths::Atomic {
        tmp: Some(tmp),
        sync_dir: false,
        ..Default::default()
    };
    if let Ok(bytes) = serde_json::to_vec(&meta) {
        let _ = crate::paths::write_atomic(&path, &bytes, &how);
    }
}

struct Record {
    id: String,
    kind: CacheKind,
    last_used: i64,
    size: u64,
    description: String,
    labels: BTreeMap<String, String>,
    /// The cache mount's directory (None: a step entry).
    dir: Option<PathBuf>,
}

fn records(paths: &Paths) -> Vec<Record> {
    let dir = paths.build_cache();
    let mut out: Vec<Record> = BuildCache::open(dir.clone())
        .entries()
        .into_iter()
        .map(|(key, e, mtime)| Record {
            // What it holds: its file, and the layer blob it keeps.
            size: e.layer.as_ref().map_or(0, |l| l.size)
                + std::fs::metadata(dir.join(&key)).map_or(0, |m| m.len()),
            id: key,
            kind: CacheKind::Regular,
            last_used: e.meta.last_used.unwrap_or(mtime),
            description: e.meta.description,
            labels: e.meta.labels,
            dir: None,
        })
        .collect();
    let mounts = paths.build_cache_mounts();
    for e in std::fs::read_dir(&mounts).into_iter().flatten().flatten() {
        let dir = e.path();
        if !dir.is_dir() {
            continue;
        }
        let meta: MountMeta = std::fs::read(dir.with_extension("json"))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_else(|| {
                use std::os::unix::fs::MetadataExt;
                MountMeta {
                    last_used: e.metadata().map(|m| m.mtime()).unwrap_or(0),
                    ..Default::default()
                }
            });
        let size = crate::fs::Root::open(&dir)
            .and_then(|r| r.dir("."))
            .map(|d| d.tree_size())
            .unwrap_or(0);
        out.push(Record {
            id: e.file_name().to_string_lossy().into_owned(),
            kind: CacheKind::CacheMount,
            last_used: meta.last_used,
            size,
            description: meta.description,
            labels: meta.labels,
            dir: Some(dir),
        });
    }
    out
}

/// Remove the records the filters choose (all when there are none), keeping the most
/// recently used that fit in `keep_storage` bytes. The removed records' ids, and the
/// bytes their files held.
pub fn prune(
    paths: &Paths,
    filters: &[CacheFilter],
    keep_storage: Option<u64>,
) -> std::io::Result<(Vec<String>, u64)> {
    let mut by_key: BTreeMap<&str, Vec<&CacheFilter>> = BTreeMap::new();
    for f in filters {
        by_key.entry(f.key()).or_default().push(f);
    }
    let mut chosen: Vec<Record> = records(paths)
        .into_iter()
        .filter(|r| by_key.values().all(|fs| fs.iter().any(|f| f.matches(r))))
        .collect();
    // Newest first: with --keep-storage the first ones that fit stay.
    crate::sort::sort_by(&mut chosen, |a, b| {
        b.last_used.cmp(&a.last_used).then(a.id.cmp(&b.id))
    });
    if let Some(limit) = keep_storage {
        let mut kept = 0u64;
        chosen.retain(|r| {
            if kept + r.size <= limit {
                kept += r.size;
                false
            } else {
                true
            }
        });
    }
    let cache = BuildCache::open(paths.build_cache());
    let mut removed = Vec::new();
    let mut freed = 0u64;
    for r in chosen {
        let result = match &r.dir {
            None => {
                let file = paths.build_cache().join(&r.id);
                let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                cache.remove(&r.id).map(|()| len)
            }
            Some(dir) => std::fs::remove_dir_all(dir).map(|()| {
                let _ = std::fs::remove_file(dir.with_extension("json"));
                r.size
            }),
        };
        match result {
            Ok(n) => {
                freed += n;
                removed.push(r.id);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok((removed, freed))
}
