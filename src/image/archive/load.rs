//! `load`: an archive staged by `stage` is recognised by content (`manifest.json`:
//! docker-archive, as docker 20.10 and 25 and podman write it; else `index.json`: an
//! OCI layout), every image in it is planned and checked (each blob against its
//! digest, each layer's content against the config's `rootfs.diff_ids`) before the
//! first one is stored, then the layers go through the store's `import_layer_tar` and
//! the config is committed byte for byte, so the image keeps its id.

use super::docker::ManifestEntry;
use super::oci::{Index, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use super::stage::{stage, Staged, StagedFile};
use super::{decompressing, layer_diff_id, ArchiveError};
use crate::image::config::{ImageConfig, Manifest};
use crate::image::layer::Compression;
use crate::image::{
    hex, image_manifest, short_digest, ExpectedLayer, ImageError, ImageStore, LayerInfo, Reference,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;

/// More layers than an overlay mount of any real image holds.
const MAX_LAYERS: usize = 500;

/// One image stored by `load`: its id and the tags it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub id: String,
    pub tags: Vec<String>,
    /// Tags this load took from another image: (tag, that image's id).
    pub moved: Vec<(String, String)>,
}

/// One image of the archive, ready to be stored.
struct Plan {
    config_member: String,
    config_bytes: Vec<u8>,
    config: ImageConfig,
    /// Member names of the layers, bottom first.
    layers: Vec<String>,
    tags: Vec<Reference>,
    /// For an OCI image: the manifest as archived, stored byte for byte with its
    /// layers under their own digests and media types.
    manifest: Option<(Vec<u8>, Manifest)>,
}

/// Reads an image archive from `reader` (`archive` names it in messages) and stores
/// every image in it. On any error nothing is tagged or recorded.
pub fn load(
    store: &ImageStore,
    reader: impl Read,
    archive: &str,
) -> Result<Vec<Loaded>, ArchiveError> {
    let staged = stage(store, decompressed(reader, archive)?, archive)?;
    let plans = if staged.has("manifest.json") {
        docker_plans(&staged)?
    } else if staged.has("index.json") {
        oci_plans(&staged)?
    } else {
        return Err(ArchiveError::Archive {
            archive: archive.to_string(),
            reason: "it holds neither manifest.json nor index.json: not an image archive"
                .to_string(),
        });
    };
    let mut diff_ids: HashMap<String, String> = HashMap::new();
    for plan in &plans {
        verify_layers(&staged, plan, &mut diff_ids)?;
    }
    let mut loaded = Vec::new();
    let mut stored: Vec<LayerInfo> = Vec::new();
    for plan in &plans {
        match store_image(store, &staged, plan, &mut stored) {
            Ok(image) => loaded.push(image),
            Err(e) => {
                // No image refers to the layers this load stored: take them back.
                let _ = store.discard_layers(&stored);
                return Err(e);
            }
        }
    }
    Ok(loaded)
}

/// Stores the layers of `plan` (recording in `stored` each one that was not in the
/// store before) and records the image.
fn store_image(
    store: &ImageStore,
    staged: &Staged,
    plan: &Plan,
    stored: &mut Vec<LayerInfo>,
) -> Result<Loaded, ArchiveError> {
    let mut layers: Vec<LayerInfo> = Vec::with_capacity(plan.layers.len());
    for (i, member) in plan.layers.iter().enumerate() {
        let diff_id = &plan.config.rootfs.diff_ids[i];
        let fail = |e: ImageError| staged.member_error(member, e.to_string());
        let existed = store.layer_path(diff_id).map_err(fail)?.is_dir();
        let layer = match &plan.manifest {
            Some((_, manifest)) => {
                let d = &manifest.layers[i];
                ingest_layer(store, staged, member, &d.digest, diff_id, &d.media_type)?
            }
            None => import_layer(store, staged, member)?,
        };
        if !existed {
            stored.push(layer.clone());
        }
        layers.push(layer);
    }
    let id = format!("sha256:{}", hex(&Sha256::digest(&plan.config_bytes)));
    let moved = plan
        .tags
        .iter()
        .filter_map(|t| t.tagged_name())
        .filter_map(|t| match store.resolve(&t) {
            Ok(old) if old.id != id => Some((t, old.id)),
            _ => None,
        })
        .collect();
    let fail = |e: ImageError| staged.member_error(&plan.config_member, e.to_string());
    let image = match &plan.manifest {
        Some((bytes, _)) => store
            .commit_received_image(&plan.config_bytes, bytes, &layers, &plan.tags)
            .map_err(fail)?,
        None => {
            // A docker-archive has no manifest: record the one kiste would write.
            let manifest = image_manifest(&id, plan.config_bytes.len() as u64, &layers);
            let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
            store
                .commit_received_image(&plan.config_bytes, &bytes, &layers, &plan.tags)
                .map_err(fail)?
        }
    };
    Ok(Loaded {
        id: image.id,
        tags: plan.tags.iter().filter_map(|t| t.tagged_name()).collect(),
        moved,
    })
}

/// The archive itself may be compressed, as `docker load` accepts (gzip, bzip2, zstd).
fn decompressed<'a>(
    reader: impl Read + 'a,
    archive: &str,
) -> Result<Box<dyn Read + 'a>, ArchiveError> {
    let mut input = BufReader::with_capacity(256 * 1024, reader);
    let fail = |reason: String| ArchiveError::Archive {
        archive: archive.to_string(),
        reason,
    };
    let magic = input.fill_buf().map_err(|e| fail(e.to_string()))?;
    Ok(match Compression::detect(magic) {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Compression::Zstd => Box::new(crate::image::ZstdFrames::new(input)),
        Compression::Xz => {
            return Err(fail(
                "xz-compressed archives are not supported: decompress it first (xz -d)".to_string(),
            ))
        }
    })
}

fn docker_plans(staged: &Staged) -> Result<Vec<Plan>, ArchiveError> {
    let entries: Vec<ManifestEntry> = staged.json("manifest.json")?;
    let mut plans = Vec::new();
    for entry in entries {
        let config_bytes = config_member(staged, &entry.config)?;
        let mut tags = Vec::new();
        for t in entry.repo_tags.unwrap_or_default() {
            tags.push(
                Reference::parse(&t)
                    .map_err(|e| staged.member_error("manifest.json", format!("RepoTags: {e}")))?,
            );
        }
        plans.push(plan(
            staged,
            &entry.config,
            config_bytes,
            entry.layers,
            tags,
            None,
        )?);
    }
    Ok(plans)
}

fn oci_plans(staged: &Staged) -> Result<Vec<Plan>, ArchiveError> {
    let index: Index = staged.json("index.json")?;
    let mut plans = Vec::new();
    for entry in &index.manifests {
        let tags = match tag_from_annotations(entry.descriptor.annotations.as_ref()) {
            Some(t) => vec![Reference::parse(&t).map_err(|e| {
                staged.member_error("index.json", format!("image name annotation: {e}"))
            })?],
            None => Vec::new(),
        };
        let (member, manifest, manifest_bytes) = manifest_for(staged, &entry.descriptor.digest, 0)?;
        let config_name = blob_member(staged, &manifest.config.digest, &member)?;
        let config_bytes = config_member(staged, &config_name)?;
        let mut layers = Vec::new();
        for l in &manifest.layers {
            let name = blob_member(staged, &l.digest, &member)?;
            let f = staged.file(&name)?;
            if f.size != l.size {
                return Err(staged.member_error(
                    &name,
                    format!("it is {} bytes but the manifest says {}", f.size, l.size),
                ));
            }
            layers.push(name);
        }
        plans.push(plan(
            staged,
            &config_name,
            config_bytes,
            layers,
            tags,
            Some((manifest_bytes, manifest)),
        )?);
    }
    Ok(plans)
}

/// The image name of an index entry: containerd's full name first (as podman reads
/// it), else `ref.name` when it is a whole reference rather than a bare tag.
fn tag_from_annotations(
    annotations: Option<&std::collections::BTreeMap<String, String>>,
) -> Option<String> {
    let a = annotations?;
    if let Some(name) = a.get(ANNOTATION_IMAGE_NAME).filter(|n| !n.is_empty()) {
        return Some(name.clone());
    }
    a.get(ANNOTATION_REF_NAME)
        .filter(|r| r.contains(':') || r.contains('/'))
        .cloned()
}

/// Follows `digest` to an image manifest, choosing this machine's platform from an
/// index. Returns the manifest's member name and the manifest.
fn manifest_for(
    staged: &Staged,
    digest: &str,
    depth: usize,
) -> Result<(String, Manifest, Vec<u8>), ArchiveError> {
    let member = blob_member(staged, digest, "index.json")?;
    let bytes = staged.read_small(&member)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| staged.member_error(&member, format!("invalid JSON: {e}")))?;
    if value.get("manifests").is_some() {
        if depth > 2 {
            return Err(staged.member_error(&member, "image indexes nested too deeply"));
        }
        let index: Index = serde_json::from_value(value)
            .map_err(|e| staged.member_error(&member, format!("invalid index: {e}")))?;
        let arch = crate::image::oci_architecture();
        let chosen = index
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.architecture == arch && p.os == "linux")
            })
            .or_else(|| index.manifests.iter().find(|m| m.platform.is_none()))
            .ok_or_else(|| {
                staged.member_error(&member, format!("no image for linux/{arch} in the index"))
            })?;
        return manifest_for(staged, &chosen.descriptor.digest, depth + 1);
    }
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|e| staged.member_error(&member, format!("invalid image manifest: {e}")))?;
    Ok((member, manifest, bytes))
}

/// `blobs/sha256/<hex>` for `digest`, checked to be in the archive with that content.
fn blob_member(staged: &Staged, digest: &str, referrer: &str) -> Result<String, ArchiveError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| crate::image::is_sha256_hex(h))
        .ok_or_else(|| staged.member_error(referrer, format!("unsupported digest {digest:?}")))?;
    let name = format!("blobs/sha256/{hex}");
    check_digest(staged, &name, staged.file(&name)?)?;
    Ok(name)
}

/// A member stored under its digest (`blobs/sha256/<hex>`, `<hex>.json`) must hash to it.
fn check_digest(staged: &Staged, name: &str, file: &StagedFile) -> Result<(), ArchiveError> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let claimed = base.strip_suffix(".json").unwrap_or(base);
    if crate::image::is_sha256_hex(claimed) && file.digest != format!("sha256:{claimed}") {
        return Err(staged.member_error(
            name,
            format!(
                "digest mismatch: its content is {} but its name says sha256:{claimed}",
                short_digest(&file.digest)
            ),
        ));
    }
    Ok(())
}

fn config_member(staged: &Staged, name: &str) -> Result<Vec<u8>, ArchiveError> {
    check_digest(staged, name, staged.file(name)?)?;
    staged.read_small(name)
}

fn plan(
    staged: &Staged,
    config_member: &str,
    config_bytes: Vec<u8>,
    layers: Vec<String>,
    tags: Vec<Reference>,
    manifest: Option<(Vec<u8>, Manifest)>,
) -> Result<Plan, ArchiveError> {
    let invalid = |e: serde_json::Error| {
        staged.member_error(config_member, format!("invalid image config: {e}"))
    };
    let config: ImageConfig = serde_json::from_slice(&config_bytes).map_err(invalid)?;
    if layers.len() > MAX_LAYERS {
        return Err(staged.member_error(
            config_member,
            format!(
                "{} layers is more than the {MAX_LAYERS} kiste allows",
                layers.len()
            ),
        ));
    }
    if config.rootfs.diff_ids.len() != layers.len() {
        return Err(staged.member_error(
            config_member,
            format!(
                "the config lists {} layers but the archive gives {}",
                config.rootfs.diff_ids.len(),
                layers.len()
            ),
        ));
    }
    Ok(Plan {
        config_member: config_member.to_string(),
        config_bytes,
        config,
        layers,
        tags,
        manifest,
    })
}

/// Every layer's uncompressed content must hash to the config's diff id.
fn verify_layers(
    staged: &Staged,
    plan: &Plan,
    seen: &mut HashMap<String, String>,
) -> Result<(), ArchiveError> {
    for (member, expected) in plan.layers.iter().zip(&plan.config.rootfs.diff_ids) {
        let file = staged.file(member)?;
        check_digest(staged, member, file)?;
        let actual = match seen.get(&file.digest) {
            Some(d) => d.clone(),
            None => {
                let d = content_diff_id(file).map_err(|e| {
                    staged.member_error(member, format!("cannot read the layer: {e}"))
                })?;
                seen.insert(file.digest.clone(), d.clone());
                d
            }
        };
        if &actual != expected {
            return Err(staged.member_error(
                member,
                format!(
                    "digest mismatch: the layer's content is {} but the image config expects {}",
                    short_digest(&actual),
                    short_digest(expected)
                ),
            ));
        }
    }
    Ok(())
}

fn content_diff_id(file: &StagedFile) -> io::Result<String> {
    let mut f = File::open(&file.path)?;
    if compression(&mut f)? == Compression::None {
        return Ok(file.digest.clone());
    }
    Ok(layer_diff_id(decompressing(f)?)?.0)
}

fn compression(f: &mut File) -> io::Result<Compression> {
    use std::io::Seek;
    let mut magic = [0u8; 6];
    let n = f.read(&mut magic)?;
    f.rewind()?;
    Ok(Compression::detect(&magic[..n]))
}

/// Stores one staged OCI layer blob as it is, under its digest and media type.
fn ingest_layer(
    store: &ImageStore,
    staged: &Staged,
    member: &str,
    digest: &str,
    diff_id: &str,
    media_type: &str,
) -> Result<LayerInfo, ArchiveError> {
    let fail = |e: String| staged.member_error(member, e);
    let mut f = File::open(&staged.file(member)?.path).map_err(|e| fail(e.to_string()))?;
    let expected = ExpectedLayer {
        digest,
        diff_id,
        media_type,
        compression: compression(&mut f).map_err(|e| fail(e.to_string()))?,
    };
    store
        .ingest_layer(BufReader::new(f), &expected, &mut |_| {})
        .map_err(|e| fail(e.to_string()))
}

/// Stores one staged docker-archive layer; zstd layers are decompressed first (the store keeps
/// gzip or plain tars).
fn import_layer(
    store: &ImageStore,
    staged: &Staged,
    member: &str,
) -> Result<LayerInfo, ArchiveError> {
    let file = staged.file(member)?;
    let fail = |e: String| staged.member_error(member, e);
    let mut f = File::open(&file.path).map_err(|e| fail(e.to_string()))?;
    let path: PathBuf =
        if compression(&mut f).map_err(|e| fail(e.to_string()))? == Compression::Zstd {
            let tmp = staged
                .dir
                .path()
                .join(format!("{}.tar", hex(&Sha256::digest(member.as_bytes()))));
            let mut out = File::create_new(&tmp).map_err(|e| fail(e.to_string()))?;
            io::copy(
                &mut decompressing(f).map_err(|e| fail(e.to_string()))?,
                &mut out,
            )
            .map_err(|e| fail(e.to_string()))?;
            tmp
        } else {
            file.path.clone()
        };
    store
        .import_layer_tar(&path)
        .map_err(|e| fail(e.to_string().replace(&path.display().to_string(), member)))
}
