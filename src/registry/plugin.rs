//! Plugins in a registry (`plugin push`, `install`, `upgrade`): an image manifest
//! (schema 2) whose config has docker's plugin media type and whose layers make the
//! plugin's rootfs. The blobs are small (a plugin's rootfs), so they travel in memory.

use super::client::{Client, Endpoint};
use super::conf::RegistriesConf;
use super::pull::{fetch_manifest, get_blob, sha256};
use super::push::Ctx;
use super::{creds, RegistryError};
use crate::image::Reference;
use std::io::Read;

/// docker's media type of a plugin's config blob.
pub const PLUGIN_CONFIG: &str = "application/vnd.docker.plugin.v1+json";
const SCHEMA2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The largest plugin blob read.
const MAX_BLOB: u64 = 1 << 30;

fn connect(
    reference: &Reference,
    push: bool,
) -> Result<(Client, String, Vec<String>), RegistryError> {
    let conf = RegistriesConf::load(&crate::paths::registries_conf_files())?;
    let source = conf.push_source(reference.domain(), &reference.repository())?;
    let creds = creds::lookup(&crate::paths::registry_auth_files(), &source.host)?;
    // docker treats 127.0.0.0/8 (and registries.conf's insecure ones) as plain http.
    let insecure =
        source.insecure || source.host.starts_with("127.") || source.host.starts_with("localhost");
    let endpoint = Endpoint {
        host: source.host.clone(),
        insecure,
    };
    let client = Client::connect(&endpoint, creds, &crate::paths::certs_d_dirs())?;
    let repo = source.repository.clone();
    let access = if push { "pull,push" } else { "pull" };
    let scopes = vec![format!("repository:{repo}:{access}")];
    Ok((client, repo, scopes))
}

/// Pushes a plugin: its gzip layers, its config, then the manifest; the manifest's digest.
pub fn push_plugin(
    dest: &Reference,
    config: &[u8],
    layers: &[Vec<u8>],
) -> Result<String, RegistryError> {
    let (client, repo, scopes) = connect(dest, true)?;
    let ctx = Ctx {
        client: &client,
        repo: &repo,
        scopes: &scopes,
    };
    let mut descriptors = Vec::new();
    for layer in layers {
        let digest = sha256(layer);
        if !ctx.exists(&digest)? {
            ctx.upload_bytes(layer, &digest)?;
        }
        descriptors.push(serde_json::json!({
            "mediaType": LAYER_GZIP, "size": layer.len(), "digest": digest,
        }));
    }
    let config_digest = sha256(config);
    if !ctx.exists(&config_digest)? {
        ctx.upload_bytes(config, &config_digest)?;
    }
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": SCHEMA2,
        "config": {"mediaType": PLUGIN_CONFIG, "size": config.len(), "digest": config_digest},
        "layers": descriptors,
    }))
    .map_err(|e| RegistryError::Invalid {
        what: format!("manifest of {dest}"),
        reason: e.to_string(),
    })?;
    let tag = dest.tag.clone().unwrap_or_else(|| "latest".into());
    super::lists::put_manifest(
        &client,
        &repo,
        &[format!("repository:{repo}:pull,push")],
        &tag,
        SCHEMA2,
        &manifest,
        &format!("manifest upload to {dest}"),
    )?;
    Ok(sha256(&manifest))
}

/// A plugin as a registry holds it.
pub struct PulledPlugin {
    pub manifest_digest: String,
    pub config: Vec<u8>,
    /// The layers' bytes (compressed as they came), bottom first.
    pub layers: Vec<Vec<u8>>,
}

/// Fetches the plugin `reference`: refused when the manifest's config is no plugin's.
pub fn pull_plugin(reference: &Reference) -> Result<PulledPlugin, RegistryError> {
    let (client, repo, scopes) = connect(reference, false)?;
    let what = reference.to_string();
    let wanted = reference.manifest_reference();
    let (bytes, _) = fetch_manifest(&client, &repo, &wanted, &scopes, &what)?;
    let invalid = |reason: String| RegistryError::Invalid {
        what: format!("plugin {what}"),
        reason,
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    if manifest["config"]["mediaType"] != PLUGIN_CONFIG {
        return Err(invalid(format!(
            "not a plugin: its config is {}, not {PLUGIN_CONFIG}",
            manifest["config"]["mediaType"]
        )));
    }
    let blob = |digest: &str| -> Result<Vec<u8>, RegistryError> {
        let mut resp = get_blob(&client, &repo, digest, &scopes, &what)?;
        let mut out = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(MAX_BLOB)
            .read_to_end(&mut out)
            .map_err(|e| invalid(e.to_string()))?;
        if sha256(&out) != digest {
            return Err(invalid(format!("blob {digest} does not match its digest")));
        }
        Ok(out)
    };
    let config = blob(manifest["config"]["digest"].as_str().unwrap_or_default())?;
    let mut layers = Vec::new();
    for l in manifest["layers"].as_array().into_iter().flatten() {
        layers.push(blob(l["digest"].as_str().unwrap_or_default())?);
    }
    Ok(PulledPlugin {
        manifest_digest: sha256(&bytes),
        config,
        layers,
    })
}
