//! The OCI image layout in a tar (`--format oci-archive`): `oci-layout`, `index.json`
//! and every blob under `blobs/sha256/<hex>` exactly as the store holds it (compressed
//! layers, config and manifest byte for byte), so manifest digests survive a save.
//! Each tag gets an `index.json` entry annotated as docker 25 and containerd do:
//! `io.containerd.image.name` with the full name (podman reads it first) and
//! `org.opencontainers.image.ref.name` with the tag (what `skopeo … oci-archive:F:TAG`
//! selects by).

use super::{append_bytes, member_header, write_err, ArchiveError, SaveItem};
use crate::image::config::{Descriptor, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use crate::image::{io_ctx, short_digest, ImageStore, Reference};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Write};

pub(super) const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub(super) const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";

/// `index.json` (an OCI image index); also the shape of a nested index blob.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Index {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<IndexEntry>,
}

/// A descriptor in an index, with the platform of a multi-platform image.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct IndexEntry {
    #[serde(flatten)]
    pub descriptor: Descriptor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

pub(super) fn write<W: Write>(
    store: &ImageStore,
    items: &[SaveItem],
    builder: &mut tar::Builder<W>,
    target: &str,
) -> Result<(), ArchiveError> {
    append_bytes(
        builder,
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
        0,
        target,
    )?;
    for dir in ["blobs/", "blobs/sha256/"] {
        let mut h = member_header(tar::EntryType::Directory, 0, 0);
        builder
            .append_data(&mut h, dir, std::io::empty())
            .map_err(|e| write_err(target, e))?;
    }
    let mut written: HashSet<String> = HashSet::new();
    let mut entries = Vec::new();
    for item in items {
        let img = &item.image;
        let manifest_path = store.blob_path(&img.manifest_digest)?;
        let manifest_size = std::fs::metadata(&manifest_path)
            .map_err(io_ctx(|| {
                format!("read manifest {}", short_digest(&img.manifest_digest))
            }))?
            .len();
        let blobs = std::iter::once(&img.manifest.config.digest)
            .chain(img.manifest.layers.iter().map(|l| &l.digest))
            .chain(std::iter::once(&img.manifest_digest));
        for digest in blobs {
            if written.insert(digest.clone()) {
                append_blob(store, builder, digest, target)?;
            }
        }
        let descriptor = |annotations| IndexEntry {
            descriptor: Descriptor {
                media_type: img
                    .manifest
                    .media_type
                    .clone()
                    .unwrap_or_else(|| MEDIA_TYPE_MANIFEST.to_string()),
                digest: img.manifest_digest.clone(),
                size: manifest_size,
                annotations,
            },
            platform: None,
        };
        if item.tags.is_empty() {
            entries.push(descriptor(None));
        }
        for tag in &item.tags {
            let r = Reference::parse(tag)?;
            let mut a = BTreeMap::new();
            a.insert(
                ANNOTATION_IMAGE_NAME.to_string(),
                format!(
                    "{}/{}:{}",
                    r.domain(),
                    r.repository(),
                    r.tag.as_deref().unwrap_or("latest")
                ),
            );
            a.insert(
                ANNOTATION_REF_NAME.to_string(),
                r.tag.clone().unwrap_or_else(|| "latest".to_string()),
            );
            entries.push(descriptor(Some(a)));
        }
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(MEDIA_TYPE_INDEX.to_string()),
        manifests: entries,
    };
    let json = serde_json::to_vec(&index).expect("index serializes");
    append_bytes(builder, "index.json", &json, 0, target)
}

/// Streams the stored blob `digest` into `blobs/sha256/<hex>`.
fn append_blob<W: Write>(
    store: &ImageStore,
    builder: &mut tar::Builder<W>,
    digest: &str,
    target: &str,
) -> Result<(), ArchiveError> {
    let path = store.blob_path(digest)?;
    let ctx = || format!("read blob {}", short_digest(digest));
    let file = File::open(&path).map_err(io_ctx(ctx))?;
    let size = file.metadata().map_err(io_ctx(ctx))?.len();
    let name = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let data = super::ExactReader::new(BufReader::new(file), size, format!("blob {name}"));
    let mut h = member_header(tar::EntryType::Regular, size, 0);
    builder
        .append_data(&mut h, name, data)
        .map_err(|e| write_err(target, e))
}
