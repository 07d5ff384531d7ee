//! The image store on disk: `blobs/sha256/<hex>` (gzip layers, configs, manifests),
//! `layers/<diffid-hex>/` (extracted layers in overlay format), `images.json` (image
//! records: config digest as id, manifest digest, tags, creation time, layer sizes),
//! `tmp/` (in-flight files named `<pid>-<random>-…`) and `lock`. Every change is
//! written to a temp file or directory and renamed into place, and changes to
//! `images.json` and to `layers/` happen under the exclusive lock, so a killed process
//! leaves at worst an orphan temp that the next `open` removes. Readers take no lock.

mod gc;
mod index;
mod ingest;
mod layers;

pub use ingest::ExpectedLayer;
pub(crate) use ingest::ZstdFrames;
pub use layers::HeldBlob;

use super::config::{
    Descriptor, History, ImageConfig, Manifest, RootFs, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_MANIFEST,
};
use super::layer::OverlayXattrs;
use super::{io_ctx, is_sha256_hex, now_rfc3339, short_digest, ImageError, Reference};
use index::{ImageRecord, Index, TempPath};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// A local image store rooted at one directory.
#[derive(Debug)]
pub struct ImageStore {
    root: PathBuf,
    blobs: PathBuf,
    layers: PathBuf,
    tmp: PathBuf,
    xattrs: OverlayXattrs,
}

/// An image as recorded in the store, with its config and manifest loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `sha256:<64hex>`: the digest of the config blob.
    pub id: String,
    pub manifest_digest: String,
    pub config: ImageConfig,
    pub manifest: Manifest,
    /// `name:tag` strings such as `web:latest`; empty for a dangling image.
    pub tags: Vec<String>,
    /// `name@sha256:…`: the manifest digests it was pulled or pushed as (docker's
    /// RepoDigests, familiar names).
    pub repo_digests: Vec<String>,
    /// Sum of the uncompressed layer sizes.
    pub size: u64,
    pub created: Option<String>,
}

/// A temp directory in the store, removed on drop; see [`ImageStore::scratch_dir`].
pub struct ScratchDir(TempPath);

impl ScratchDir {
    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

/// One layer: its blob (gzip tar) and its extracted identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// sha256 of the compressed blob.
    pub digest: String,
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
    /// Compressed size in bytes.
    pub size: u64,
    pub uncompressed_size: u64,
    /// The blob's media type as a manifest names it (gzip for layers kiste packs).
    #[serde(default = "default_layer_media_type")]
    pub media_type: String,
}

fn default_layer_media_type() -> String {
    MEDIA_TYPE_LAYER_GZIP.to_string()
}

impl ImageStore {
    /// Opens (creating as needed) the store at `root` and removes temps left by
    /// processes that no longer exist.
    pub fn open(root: &Path) -> Result<ImageStore, ImageError> {
        let store = ImageStore {
            root: root.to_path_buf(),
            blobs: root.join("blobs/sha256"),
            layers: root.join("layers"),
            tmp: root.join("tmp"),
            xattrs: OverlayXattrs::for_current_user(),
        };
        for dir in [&store.blobs, &store.layers, &store.tmp] {
            if !dir.is_dir() {
                fs::create_dir_all(dir).map_err(io_ctx(|| {
                    format!("create store directory {}", dir.display())
                }))?;
            }
        }
        store.clean_stale_temps()?;
        Ok(store)
    }

    /// A private, empty directory under the store's `tmp/`, removed when the returned
    /// value is dropped (and by the next `open` if this process is killed first).
    pub fn scratch_dir(&self, what: &str) -> Result<ScratchDir, ImageError> {
        let tmp = TempPath::new(self.temp_path(what));
        fs::create_dir(tmp.path())
            .map_err(io_ctx(|| format!("create {}", tmp.path().display())))?;
        Ok(ScratchDir(tmp))
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Finds an image by `name[:tag]` (tag defaults to `latest`), `name@sha256:…`
    /// (manifest digest), full id `sha256:<hex>`, bare `<hex>`, or a unique id prefix.
    /// A tag wins over an id prefix that happens to look the same, as in docker.
    pub fn resolve(&self, reference: &str) -> Result<Image, ImageError> {
        let index = self.read_index()?;
        let record = find(&index, reference)?;
        self.load(record)
    }

    /// All images, newest first.
    pub fn list(&self) -> Result<Vec<Image>, ImageError> {
        let index = self.read_index()?;
        let mut records: Vec<&ImageRecord> = index.images.iter().collect();
        crate::sort::sort_by_cached_key(&mut records, |r| {
            let t = r.created.as_deref().and_then(crate::time::parse_rfc3339);
            (std::cmp::Reverse(t), r.id.clone())
        });
        records.into_iter().map(|r| self.load(r)).collect()
    }

    /// Writes the config and manifest blobs for `layers` (bottom to top) and records the
    /// image with `tags`, taking each tag away from any image that held it. An image
    /// left without tags stays as a dangling `<none>` image.
    pub fn commit_image(
        &self,
        config: &ImageConfig,
        layers: &[LayerInfo],
        tags: &[Reference],
    ) -> Result<Image, ImageError> {
        self.commit_image_held(config, layers, tags, Vec::new())
    }

    /// `commit_image` for a build: the layer blobs it holds (`create_layer_unsynced`,
    /// any of its stages) are synced and named first, and one sync of the blob directory
    /// makes them, the config and the manifest durable before images.json names them.
    pub fn commit_image_held(
        &self,
        config: &ImageConfig,
        layers: &[LayerInfo],
        tags: &[Reference],
        held: Vec<HeldBlob>,
    ) -> Result<Image, ImageError> {
        let layer_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
        if config
            .rootfs
            .diff_ids
            .iter()
            .map(String::as_str)
            .ne(layer_ids.iter().copied())
        {
            return Err(ImageError::Commit(format!(
                "config rootfs.diff_ids [{}] do not match the layers [{}]",
                config
                    .rootfs
                    .diff_ids
                    .iter()
                    .map(|d| short_digest(d))
                    .collect::<Vec<_>>()
                    .join(", "),
                layer_ids
                    .iter()
                    .map(|d| short_digest(d))
                    .collect::<Vec<_>>()
                    .join(", "),
            )));
        }
        let tag_names = tag_names(tags)?;
        let new_layers = !held.is_empty();
        self.publish_held(held)?;
        let mut config = config.clone();
        if config.rootfs.kind.is_empty() {
            config.rootfs.kind = "layers".to_string();
        }
        let config_bytes = serde_json::to_vec(&config).expect("image config serializes");
        let (id, new_config) = self.put_blob_unsynced_dir(&config_bytes)?;
        let manifest = image_manifest(&id, config_bytes.len() as u64, layers);
        let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
        let (manifest_digest, new_manifest) = self.put_blob_unsynced_dir(&manifest_bytes)?;
        // One directory sync makes both names (and the layer blobs renamed in before
        // them) durable before images.json refers to them.
        if new_config || new_manifest || new_layers {
            self.sync_blob_dir(&id)?;
        }

        let _lock = self.lock()?;
        for layer in layers {
            if !self.blob_path(&layer.digest)?.exists() {
                return Err(ImageError::Commit(format!(
                    "layer blob {} is not in the store",
                    short_digest(&layer.digest)
                )));
            }
        }
        self.record_image(id, manifest_digest, &config, layers, &tag_names, false)
    }

    /// The layers of `image`, bottom to top, e.g. to build on top of it.
    pub fn layers_of(&self, image: &Image) -> Result<Vec<LayerInfo>, ImageError> {
        let index = self.read_index()?;
        if let Some(record) = index.images.iter().find(|r| r.id == image.id) {
            return Ok(record.layers.clone());
        }
        Ok(image
            .manifest
            .layers
            .iter()
            .zip(&image.config.rootfs.diff_ids)
            .map(|(d, diff_id)| LayerInfo {
                digest: d.digest.clone(),
                diff_id: diff_id.clone(),
                size: d.size,
                uncompressed_size: 0,
                media_type: d.media_type.clone(),
            })
            .collect())
    }

    /// Points `tag` at the image `image_id` (any form `resolve` accepts).
    pub fn tag(&self, image_id: &str, tag: &Reference) -> Result<(), ImageError> {
        let names = tag_names(std::slice::from_ref(tag))?;
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let pos = position(&index, image_id)?;
        index.move_tag(&names[0], pos);
        self.write_index(&index)
    }

    /// Removes `tag`; the image itself stays (possibly dangling).
    pub fn untag(&self, tag: &Reference) -> Result<(), ImageError> {
        let name = tag_names(std::slice::from_ref(tag))?.remove(0);
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let record = index
            .images
            .iter_mut()
            .find(|r| r.tags.contains(&name))
            .ok_or_else(|| ImageError::NotFound(name.clone()))?;
        record.tags.retain(|t| *t != name);
        self.write_index(&index)
    }

    /// Deletes the image record, then its blobs and layer directories that no other
    /// image uses. The record goes first, so a kill midway leaves only orphan files.
    pub fn remove(&self, image_id: &str) -> Result<(), ImageError> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let pos = position(&index, image_id)?;
        let removed = index.images.remove(pos);
        self.write_index(&index)?;

        let mut blobs_in_use: HashSet<&str> = HashSet::new();
        let mut layers_in_use: HashSet<&str> = HashSet::new();
        for r in &index.images {
            blobs_in_use.extend([r.id.as_str(), r.manifest_digest.as_str()]);
            blobs_in_use.extend(r.layers.iter().map(|l| l.digest.as_str()));
            layers_in_use.extend(r.layers.iter().map(|l| l.diff_id.as_str()));
        }
        let blobs = [&removed.id, &removed.manifest_digest]
            .into_iter()
            .chain(removed.layers.iter().map(|l| &l.digest));
        for digest in blobs.filter(|d| !blobs_in_use.contains(d.as_str())) {
            let path = self.blob_path(digest)?;
            match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_ctx(|| format!("remove blob {}", short_digest(digest)))(
                        e,
                    ))
                }
                _ => {}
            }
        }
        for layer in removed
            .layers
            .iter()
            .filter(|l| !layers_in_use.contains(l.diff_id.as_str()))
        {
            self.remove_layer_dir(&layer.diff_id)?;
        }
        self.remove_unused_init_layers(&index)
    }

    /// Deletes the init layers (`storage::init_layer`) of chains no image in `index`
    /// has. The caller holds the lock.
    fn remove_unused_init_layers(&self, index: &Index) -> Result<(), ImageError> {
        let keep = index
            .images
            .iter()
            .map(|r| {
                crate::storage::init_layer::chain_key(r.layers.iter().map(|l| {
                    std::ffi::OsStr::new(l.diff_id.strip_prefix("sha256:").unwrap_or(&l.diff_id))
                }))
            })
            .collect();
        crate::storage::init_layer::remove_unused(&self.root, &keep)
            .map_err(io_ctx(|| "delete unused init layers".to_string()))
    }

    /// `kiste import`: a root file system tarball (plain or gzip) becomes a one-layer
    /// image for this machine's architecture, like `docker import`.
    pub fn import_rootfs_tarball(
        &self,
        tarball: &Path,
        tags: &[Reference],
        changes_created_by: &str,
    ) -> Result<Image, ImageError> {
        let layer = self.import_layer_tar(tarball)?;
        let created = now_rfc3339();
        let config = ImageConfig {
            created: Some(created.clone()),
            author: None,
            architecture: oci_architecture().to_string(),
            os: "linux".to_string(),
            config: Default::default(),
            rootfs: RootFs {
                kind: "layers".to_string(),
                diff_ids: vec![layer.diff_id.clone()],
            },
            history: vec![History {
                created: Some(created),
                created_by: (!changes_created_by.is_empty())
                    .then(|| changes_created_by.to_string()),
                comment: Some(format!("Imported from {}", tarball.display())),
                empty_layer: false,
            }],
        };
        self.commit_image(&config, &[layer], tags)
    }

    fn load(&self, record: &ImageRecord) -> Result<Image, ImageError> {
        Ok(Image {
            id: record.id.clone(),
            manifest_digest: record.manifest_digest.clone(),
            config: self.read_json_blob(&record.id)?,
            manifest: self.read_json_blob(&record.manifest_digest)?,
            tags: record.tags.clone(),
            repo_digests: record.repo_digests.clone(),
            size: record.layers.iter().map(|l| l.uncompressed_size).sum(),
            created: record.created.clone(),
        })
    }

    fn read_json_blob<T: serde::de::DeserializeOwned>(
        &self,
        digest: &str,
    ) -> Result<T, ImageError> {
        let path = self.blob_path(digest)?;
        let bytes = crate::fs::read_whole(&path)
            .map_err(io_ctx(|| format!("read blob {}", short_digest(digest))))?;
        serde_json::from_slice(&bytes).map_err(|e| ImageError::Corrupt {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }

    /// `blobs/sha256/<hex>` for a `sha256:<hex>` digest.
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        match digest.strip_prefix("sha256:") {
            Some(hex) if is_sha256_hex(hex) => Ok(self.blobs.join(hex)),
            _ => Err(ImageError::Corrupt {
                path: self.root.display().to_string(),
                reason: format!("invalid digest {digest:?}"),
            }),
        }
    }

    /// `layers/<hex>` for a `sha256:<hex>` diff id (whether or not it is extracted).
    pub fn layer_path(&self, diff_id: &str) -> Result<PathBuf, ImageError> {
        match diff_id.strip_prefix("sha256:") {
            Some(hex) if is_sha256_hex(hex) => Ok(self.layers.join(hex)),
            _ => Err(ImageError::Corrupt {
                path: self.root.display().to_string(),
                reason: format!("invalid diff id {diff_id:?}"),
            }),
        }
    }
}

/// The index of the record `reference` resolves to (as `find`).
fn position(index: &Index, reference: &str) -> Result<usize, ImageError> {
    let id = &find(index, reference)?.id;
    index
        .images
        .iter()
        .position(|r| &r.id == id)
        .ok_or_else(|| ImageError::NotFound(reference.to_string()))
}

/// The lookup behind `resolve`, `tag` and `remove`; see [`ImageStore::resolve`].
fn find<'a>(index: &'a Index, reference: &str) -> Result<&'a ImageRecord, ImageError> {
    let s = reference.trim();
    let by_prefix = |prefix: &str| -> Result<&'a ImageRecord, ImageError> {
        let matches: Vec<&ImageRecord> = index
            .images
            .iter()
            .filter(|r| {
                r.id.strip_prefix("sha256:")
                    .is_some_and(|h| h.starts_with(prefix))
            })
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(ImageError::NotFound(s.to_string())),
            many => Err(ImageError::Ambiguous {
                prefix: s.to_string(),
                matches: many
                    .iter()
                    .map(|r| r.id["sha256:".len()..][..12].to_string())
                    .collect(),
            }),
        }
    };
    let is_hex = |h: &str| {
        !h.is_empty()
            && h.len() <= 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    if let Some(hex) = s.strip_prefix("sha256:") {
        return if is_hex(hex) {
            by_prefix(hex)
        } else {
            Err(ImageError::NotFound(s.to_string()))
        };
    }
    let parsed = Reference::parse(s);
    if let Ok(r) = &parsed {
        let found = match (&r.digest, r.tagged_name()) {
            (Some(d), _) => index.images.iter().find(|rec| {
                rec.manifest_digest == *d
                    || rec
                        .repo_digests
                        .iter()
                        .any(|rd| rd.ends_with(&format!("@{d}")))
            }),
            (None, Some(name)) => index.images.iter().find(|rec| rec.tags.contains(&name)),
            (None, None) => None,
        };
        if let Some(rec) = found {
            return Ok(rec);
        }
    }
    if is_hex(s) {
        return match by_prefix(s) {
            Err(ImageError::NotFound(_)) => Err(not_found(s, &parsed)),
            other => other,
        };
    }
    Err(not_found(s, &parsed))
}

fn not_found(s: &str, parsed: &Result<Reference, ImageError>) -> ImageError {
    match parsed {
        Ok(r) => ImageError::NotFound(r.to_string()),
        Err(_) => ImageError::NotFound(s.to_string()),
    }
}

fn tag_names(tags: &[Reference]) -> Result<Vec<String>, ImageError> {
    tags.iter()
        .map(|t| {
            t.tagged_name().ok_or_else(|| ImageError::InvalidReference {
                input: t.to_string(),
                reason: "a digest reference cannot be used as a tag".to_string(),
            })
        })
        .collect()
}

/// The manifest kiste writes for an image: its config blob and its layers, OCI media
/// types (`commit_image`, and `load` of a docker-archive, which carries none).
pub fn image_manifest(config_digest: &str, config_size: u64, layers: &[LayerInfo]) -> Manifest {
    Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_MANIFEST.to_string()),
        config: descriptor(MEDIA_TYPE_CONFIG, config_digest, config_size),
        layers: layers
            .iter()
            .map(|l| descriptor(&l.media_type, &l.digest, l.size))
            .collect(),
    }
}

fn descriptor(media_type: &str, digest: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest: digest.to_string(),
        size,
        annotations: None,
    }
}

/// The OCI (GOARCH) name of the architecture this binary was built for.
pub fn oci_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips" if cfg!(target_endian = "little") => "mipsle",
        "loongarch64" => "loong64",
        other => other,
    }
}
