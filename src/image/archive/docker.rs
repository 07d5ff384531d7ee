//! The docker-archive layout as docker 20.10's `docker save` writes it: for each layer
//! a directory named by a v1 layer id holding `VERSION`, `json` and the uncompressed
//! `layer.tar` (a layer saved before is a relative symlink to the first copy), the
//! image config as `<config-hex>.json`, `manifest.json` (`Config`, `RepoTags`,
//! `Layers`) and `repositories` (`{name: {tag: top-layer-v1-id}}`). docker computes the
//! v1 ids from a v1 config it no longer keeps; kiste derives them the same way from
//! what it has (the chain id, the parent's v1 id and the creation time), so they are
//! stable across saves, and no reader uses them beyond naming.

use super::{
    append_bytes, chain_ids, layer_diff_id, member_header, open_layer_tar, write_err, ArchiveError,
    ExactReader, SaveItem,
};
use crate::image::{hex, io_ctx, parse_rfc3339, short_digest, ImageError, ImageStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;

/// One entry of `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ManifestEntry {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

pub(super) fn write<W: Write>(
    store: &ImageStore,
    items: &[SaveItem],
    builder: &mut tar::Builder<W>,
    target: &str,
) -> Result<(), ArchiveError> {
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    // diff id → the `<dir>/layer.tar` that already holds it.
    let mut layer_paths: HashMap<String, String> = HashMap::new();
    let mut dirs_written: HashSet<String> = HashSet::new();
    let mut configs_written: HashSet<String> = HashSet::new();
    for item in items {
        let img = &item.image;
        let layers = store.layers_of(img)?;
        let diff_ids = &img.config.rootfs.diff_ids;
        if layers.len() != diff_ids.len() {
            return Err(ImageError::Corrupt {
                path: short_digest(&img.id),
                reason: "the config and the manifest list different layers".to_string(),
            }
            .into());
        }
        let created = img.config.created.clone().unwrap_or_default();
        let mtime = parse_rfc3339(&created).map_or(0, |ns| (ns / 1_000_000_000).max(0) as u64);
        let mut parent: Option<String> = None;
        let mut paths = Vec::with_capacity(layers.len());
        for (layer, chain) in layers.iter().zip(chain_ids(diff_ids)) {
            let v1 = v1_id(&chain, parent.as_deref(), &created);
            let dir = v1.trim_start_matches("sha256:").to_string();
            let path = format!("{dir}/layer.tar");
            if dirs_written.insert(dir.clone()) {
                let mut h = member_header(tar::EntryType::Directory, 0, mtime);
                builder
                    .append_data(&mut h, format!("{dir}/"), std::io::empty())
                    .map_err(|e| write_err(target, e))?;
                append_bytes(builder, &format!("{dir}/VERSION"), b"1.0", mtime, target)?;
                let json = v1_json(&v1, parent.as_deref(), &created, img);
                append_bytes(builder, &format!("{dir}/json"), &json, mtime, target)?;
                match layer_paths.get(&layer.diff_id) {
                    Some(first) => {
                        let mut h = member_header(tar::EntryType::Symlink, 0, mtime);
                        builder
                            .append_link(&mut h, &path, format!("../{first}"))
                            .map_err(|e| write_err(target, e))?;
                    }
                    None => {
                        let size = match layer.uncompressed_size {
                            0 => {
                                layer_diff_id(open_layer_tar(store, layer)?)
                                    .map_err(io_ctx(|| {
                                        format!("read layer {}", short_digest(&layer.digest))
                                    }))?
                                    .1
                            }
                            n => n,
                        };
                        let what = format!("layer {}", short_digest(&layer.diff_id));
                        let data = ExactReader::new(open_layer_tar(store, layer)?, size, what);
                        let mut h = member_header(tar::EntryType::Regular, size, mtime);
                        builder
                            .append_data(&mut h, &path, data)
                            .map_err(|e| write_err(target, e))?;
                        layer_paths.insert(layer.diff_id.clone(), path.clone());
                    }
                }
            }
            paths.push(path);
            parent = Some(v1);
        }
        let config_name = format!("{}.json", img.id.trim_start_matches("sha256:"));
        if configs_written.insert(config_name.clone()) {
            let bytes = std::fs::read(store.blob_path(&img.id)?).map_err(io_ctx(|| {
                format!("read config of {}", short_digest(&img.id))
            }))?;
            append_bytes(builder, &config_name, &bytes, mtime, target)?;
        }
        for tag in &item.tags {
            if let Some((name, t)) = split_tag(tag) {
                let top = parent.as_deref().unwrap_or_default();
                repositories
                    .entry(name.to_string())
                    .or_default()
                    .insert(t.to_string(), top.trim_start_matches("sha256:").to_string());
            }
        }
        manifest.push(ManifestEntry {
            config: config_name,
            repo_tags: (!item.tags.is_empty()).then(|| item.tags.clone()),
            layers: paths,
        });
    }
    let json = serde_json::to_vec(&manifest).expect("manifest serializes");
    append_bytes(builder, "manifest.json", &json, 0, target)?;
    if !repositories.is_empty() {
        let json = serde_json::to_vec(&repositories).expect("repositories serialize");
        append_bytes(builder, "repositories", &json, 0, target)?;
    }
    Ok(())
}

/// `name:tag` split at the tag's colon (not a registry port's).
pub(super) fn split_tag(tag: &str) -> Option<(&str, &str)> {
    let i = tag.rfind(':')?;
    (!tag[i..].contains('/')).then(|| (&tag[..i], &tag[i + 1..]))
}

/// A v1 layer id: the digest of the layer's v1 config (chain id, parent, creation).
fn v1_id(chain: &str, parent: Option<&str>, created: &str) -> String {
    let json = serde_json::json!({
        "created": created,
        "layer_id": chain,
        "parent": parent.unwrap_or_default(),
    });
    let bytes = serde_json::to_vec(&json).expect("v1 config serializes");
    format!("sha256:{}", hex(&Sha256::digest(&bytes)))
}

/// The `json` file of a layer directory: docker's v1 image JSON (the top layer's
/// carries the image's runtime config, as docker writes it).
fn v1_json(v1: &str, parent: Option<&str>, created: &str, img: &crate::image::Image) -> Vec<u8> {
    let mut json = serde_json::json!({
        "id": v1.trim_start_matches("sha256:"),
        "created": created,
        "container_config": {},
        "os": img.config.os,
    });
    if let Some(p) = parent {
        json["parent"] = p.trim_start_matches("sha256:").into();
    }
    serde_json::to_vec(&json).expect("v1 json serializes")
}
