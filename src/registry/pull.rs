//! `pull`: resolve a reference to registries (search list, mirrors), fetch and verify
//! the manifest (choosing the platform from a list), the config and the missing layers
//! (in parallel on scoped threads, each streamed once into the store), then record the
//! image. The image is recorded last, so a failed or killed pull leaves no image, and
//! layers that did arrive are kept for the next attempt.

use super::client::{error_message, header, Body, Client, Endpoint};
use super::conf::{RegistriesConf, Source, DOCKER_HUB};
use super::manifest::{self, Fetched, Platform};
use super::progress::Progress;
use super::{creds, RegistryError};
use crate::image::config::{ImageConfig, Manifest};
use crate::image::{short_digest, ExpectedLayer, Image, ImageStore, LayerInfo, Reference};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// docker's default `max-concurrent-downloads`.
const PARALLEL_DOWNLOADS: usize = 3;
const MAX_MANIFEST: u64 = 4 << 20;
const MAX_CONFIG: u64 = 32 << 20;

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to pick from a manifest list (default: this machine's).
    pub platform: Option<Platform>,
    /// `false` allows plain http and unverified TLS for every registry.
    pub tls_verify: bool,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            tls_verify: true,
        }
    }
}

/// The result of a successful pull.
#[derive(Debug)]
pub struct PullOutcome {
    pub image: Image,
    /// The fully qualified reference, as docker prints it last
    /// (`docker.io/library/httpd:2.4`).
    pub canonical: String,
    /// The manifest (or manifest list) digest.
    pub digest: String,
    /// False when the tag already named this image.
    pub downloaded: bool,
}

/// Pulls `input` (`name[:tag][@digest]`) into `store`.
pub fn pull(
    store: &ImageStore,
    input: &str,
    opts: &PullOptions,
    progress: &Progress,
) -> Result<PullOutcome, RegistryError> {
    let reference = Reference::parse(input)?;
    let conf = RegistriesConf::load(&crate::paths::registries_conf_files())?;
    let mut candidates = Vec::new();
    if has_explicit_registry(input) {
        candidates.push((reference.domain().to_string(), reference.repository()));
    } else {
        for registry in conf.search_registries() {
            let repository = if registry == DOCKER_HUB {
                reference.repository()
            } else {
                reference.name.clone()
            };
            candidates.push((registry, repository));
        }
    }
    let mut first_error = None;
    for (registry, repository) in candidates {
        let sources = match conf.pull_sources(&registry, &repository) {
            Ok(s) => s,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        for source in sources {
            match pull_from(
                store,
                &reference,
                &registry,
                &repository,
                &source,
                opts,
                progress,
            ) {
                Ok(outcome) => return Ok(outcome),
                // A mirror that fails is skipped; the registry's own answer is the one to report.
                Err(e) if source.mirror => drop(e),
                Err(e) => {
                    let replace = first_error
                        .as_ref()
                        .is_none_or(|f: &RegistryError| f.is_not_found() && !e.is_not_found());
                    if replace {
                        first_error = Some(e);
                    }
                }
            }
        }
    }
    Err(first_error.unwrap_or_else(|| RegistryError::Status {
        what: format!("manifest for {reference} not found"),
        status: 404,
        message: "no registry to search".to_string(),
    }))
}

/// Whether the user named a registry (`host/…`), as opposed to a search-list name.
fn has_explicit_registry(input: &str) -> bool {
    input.split_once('/').is_some_and(|(first, _)| {
        first.contains('.') || first.contains(':') || first == "localhost"
    })
}

fn pull_from(
    store: &ImageStore,
    reference: &Reference,
    registry: &str,
    repository: &str,
    source: &Source,
    opts: &PullOptions,
    progress: &Progress,
) -> Result<PullOutcome, RegistryError> {
    let creds = creds::lookup(&crate::paths::registry_auth_files(), &source.host)?;
    let endpoint = Endpoint {
        host: source.host.clone(),
        insecure: source.insecure || !opts.tls_verify,
    };
    let client = Client::connect(&endpoint, creds, &crate::paths::certs_d_dirs())?;
    let scopes = [format!("repository:{}:pull", source.repository)];
    let what = reference.to_string();
    let wanted = reference.manifest_reference();
    let repo = &source.repository;

    let (top_bytes, content_type) = fetch_manifest(&client, repo, &wanted, &scopes, &what)?;
    let top_digest = sha256(&top_bytes);
    if let Some(expected) = &reference.digest {
        check_digest(&format!("manifest of {what}"), expected, &top_digest)?;
    }
    let parsed = manifest::parse(&top_bytes, content_type.as_deref(), &what)?;
    let from_list = matches!(parsed, Fetched::List(_));
    let (manifest, manifest_bytes) = match parsed {
        Fetched::Image(m) => (m, top_bytes),
        Fetched::List(entries) => {
            let platform = opts.platform.clone().unwrap_or_else(Platform::host);
            let entry = manifest::select(&entries, &platform)?;
            let (bytes, ctype) = fetch_manifest(&client, repo, &entry.digest, &scopes, &what)?;
            check_digest(
                &format!("manifest of {what} for {platform}"),
                &entry.digest,
                &sha256(&bytes),
            )?;
            match manifest::parse(&bytes, ctype.as_deref(), &what)? {
                Fetched::Image(m) => (m, bytes),
                Fetched::List(_) => {
                    return Err(RegistryError::Invalid {
                        what: format!("manifest list of {what}"),
                        reason: "its entry for the platform is another list".to_string(),
                    })
                }
            }
        }
    };
    progress.line(&format!("{wanted}: Pulling from {repository}"));

    let config_bytes = fetch_config(&client, repo, &manifest, &scopes, &what)?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|e| RegistryError::Invalid {
            what: format!("image config of {what}"),
            reason: e.to_string(),
        })?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(RegistryError::Invalid {
            what: format!("image {what}"),
            reason: format!(
                "the config lists {} layers but the manifest {}",
                config.rootfs.diff_ids.len(),
                manifest.layers.len()
            ),
        });
    }
    // A list entry's platform is what the list says; a single image must match itself.
    if let Some(platform) = opts.platform.as_ref().filter(|_| !from_list) {
        if config.architecture != platform.architecture || config.os != platform.os {
            return Err(RegistryError::NoPlatform {
                wanted: platform.to_string(),
                available: format!("{}/{}", config.os, config.architecture),
            });
        }
    }
    let tags: Vec<Reference> = reference
        .tag
        .as_ref()
        .map(|t| Reference {
            name: reference.name.clone(),
            tag: Some(t.clone()),
            digest: None,
        })
        .into_iter()
        .collect();
    let local_name = tags.first().unwrap_or(reference).to_string();
    let previous = store.resolve(&local_name).ok().map(|i| i.id);
    // As docker: an image that is already here gets no per-layer lines.
    let up_to_date = previous.as_deref() == Some(manifest.config.digest.as_str());
    let layer_progress = if up_to_date {
        &Progress::silent()
    } else {
        progress
    };
    let layers = fetch_layers(
        store,
        &client,
        repo,
        &manifest,
        &config,
        &scopes,
        &what,
        layer_progress,
    )?;
    let image = store.commit_received_image(&config_bytes, &manifest_bytes, &layers, &tags)?;
    store.add_repo_digest(&image.id, &format!("{}@{top_digest}", reference.name))?;
    let downloaded = previous.as_deref() != Some(image.id.as_str());
    progress.line(&format!("Digest: {top_digest}"));
    let status = if downloaded {
        "Downloaded newer image for"
    } else {
        "Image is up to date for"
    };
    progress.line(&format!("Status: {status} {reference}"));
    let mut canonical = format!("{registry}/{repository}");
    if let Some(tag) = &reference.tag {
        canonical.push_str(&format!(":{tag}"));
    }
    if let Some(digest) = &reference.digest {
        canonical.push_str(&format!("@{digest}"));
    }
    Ok(PullOutcome {
        image,
        canonical,
        digest: top_digest,
        downloaded,
    })
}

pub(super) fn fetch_manifest(
    client: &Client,
    repo: &str,
    wanted: &str,
    scopes: &[String],
    what: &str,
) -> Result<(Vec<u8>, Option<String>), RegistryError> {
    let path = format!("{repo}/manifests/{wanted}");
    let mut resp = client.send(
        "GET",
        &path,
        scopes,
        &[("Accept", manifest::ACCEPT)],
        Body::Empty,
    )?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        let message = error_message(&mut resp);
        let what = if status == 404 {
            format!("manifest for {what} not found")
        } else {
            format!("manifest for {what}")
        };
        return Err(RegistryError::Status {
            what,
            status,
            message,
        });
    }
    let content_type = header(&resp, "content-type");
    let advertised = header(&resp, "docker-content-digest");
    let bytes = read_limited(&mut resp, MAX_MANIFEST, &client.url(&path))?;
    if let Some(advertised) = advertised.filter(|d| d.starts_with("sha256:")) {
        check_digest(&format!("manifest of {what}"), &advertised, &sha256(&bytes))?;
    }
    Ok((bytes, content_type))
}

pub(super) fn fetch_config(
    client: &Client,
    repo: &str,
    manifest: &Manifest,
    scopes: &[String],
    what: &str,
) -> Result<Vec<u8>, RegistryError> {
    let digest = &manifest.config.digest;
    let mut resp = get_blob(client, repo, digest, scopes, &format!("config of {what}"))?;
    let bytes = read_limited(
        &mut resp,
        MAX_CONFIG,
        &client.url(&format!("{repo}/blobs/{digest}")),
    )?;
    check_digest(&format!("config of {what}"), digest, &sha256(&bytes))?;
    Ok(bytes)
}

pub(super) fn get_blob(
    client: &Client,
    repo: &str,
    digest: &str,
    scopes: &[String],
    what: &str,
) -> Result<ureq::http::Response<ureq::Body>, RegistryError> {
    let mut resp = client.send(
        "GET",
        &format!("{repo}/blobs/{digest}"),
        scopes,
        &[],
        Body::Empty,
    )?;
    let status = resp.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(RegistryError::Status {
            what: format!("{what}: blob {}", short_digest(digest)),
            status,
            message: error_message(&mut resp),
        });
    }
    Ok(resp)
}

/// Fetches the layers the store lacks, `PARALLEL_DOWNLOADS` at a time; returns every
/// layer's record, bottom first.
#[allow(clippy::too_many_arguments)]
fn fetch_layers(
    store: &ImageStore,
    client: &Client,
    repo: &str,
    manifest: &Manifest,
    config: &ImageConfig,
    scopes: &[String],
    what: &str,
    progress: &Progress,
) -> Result<Vec<LayerInfo>, RegistryError> {
    let mut infos: Vec<Option<LayerInfo>> = Vec::with_capacity(manifest.layers.len());
    let mut missing = Vec::new();
    for (i, (desc, diff_id)) in manifest
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .enumerate()
    {
        let id = layer_id(&desc.digest);
        if store.has_layer(&desc.digest, diff_id) {
            progress.layer(&id, "Already exists");
            let info = store
                .stored_layer(&desc.digest, diff_id)?
                .unwrap_or_else(|| LayerInfo {
                    digest: desc.digest.clone(),
                    diff_id: diff_id.clone(),
                    size: desc.size,
                    uncompressed_size: 0,
                    media_type: desc.media_type.clone(),
                });
            infos.push(Some(info));
        } else {
            infos.push(None);
            missing.push(i);
        }
    }
    let transfers: Vec<_> = missing
        .iter()
        .map(|&i| {
            progress.transfer(
                &layer_id(&manifest.layers[i].digest),
                "Pulling fs layer",
                manifest.layers[i].size,
            )
        })
        .collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<LayerInfo, RegistryError>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_DOWNLOADS.min(missing.len()) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= missing.len() || failed.load(Ordering::SeqCst) {
                    break;
                }
                let i = missing[k];
                let desc = &manifest.layers[i];
                let result = fetch_layer(
                    store,
                    client,
                    repo,
                    desc,
                    &config.rootfs.diff_ids[i],
                    scopes,
                    what,
                    &failed,
                    &transfers[k],
                );
                match &result {
                    Ok(_) => {
                        transfers[k].finish(progress, &layer_id(&desc.digest), "Pull complete")
                    }
                    Err(_) => failed.store(true, Ordering::SeqCst),
                }
                results.lock().expect("pull results").push((i, result));
            });
        }
    });
    let mut results = results.into_inner().expect("pull results");
    crate::sort::sort_by_key(&mut results, |(i, _)| *i);
    for (i, result) in results {
        infos[i] = Some(result?);
    }
    infos
        .into_iter()
        .map(|i| {
            i.ok_or_else(|| RegistryError::Invalid {
                what: format!("pull of {what}"),
                reason: "a layer transfer was abandoned".to_string(),
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn fetch_layer(
    store: &ImageStore,
    client: &Client,
    repo: &str,
    desc: &crate::image::config::Descriptor,
    diff_id: &str,
    scopes: &[String],
    what: &str,
    cancel: &AtomicBool,
    transfer: &super::progress::Transfer,
) -> Result<LayerInfo, RegistryError> {
    let compression = manifest::compression(desc, what)?;
    let resp = get_blob(
        client,
        repo,
        &desc.digest,
        scopes,
        &format!("layer of {what}"),
    )?;
    let reader = Cancellable {
        inner: resp.into_body().into_reader().take(desc.size),
        cancel,
    };
    let expected = ExpectedLayer {
        digest: &desc.digest,
        diff_id,
        media_type: &desc.media_type,
        compression,
    };
    let info = store.ingest_layer(reader, &expected, &mut |n| transfer.set(n))?;
    if info.size != desc.size {
        return Err(RegistryError::Invalid {
            what: format!("layer {} of {what}", short_digest(&desc.digest)),
            reason: format!(
                "the manifest says {} bytes but it has {}",
                desc.size, info.size
            ),
        });
    }
    Ok(info)
}

/// Stops a transfer early once another layer of the same pull has failed.
struct Cancellable<'a, R> {
    inner: R,
    cancel: &'a AtomicBool,
}

impl<R: Read> Read for Cancellable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("another layer of this pull failed"));
        }
        self.inner.read(buf)
    }
}

fn read_limited(
    resp: &mut ureq::http::Response<ureq::Body>,
    limit: u64,
    url: &str,
) -> Result<Vec<u8>, RegistryError> {
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| RegistryError::Transport {
            url: url.to_string(),
            reason: e.to_string(),
        })
}

fn check_digest(what: &str, expected: &str, actual: &str) -> Result<(), RegistryError> {
    if expected == actual {
        Ok(())
    } else {
        Err(RegistryError::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

pub(super) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", crate::image::hex(&Sha256::digest(bytes)))
}

/// The 12 hex digits docker names a layer by.
pub(super) fn layer_id(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex[..hex.len().min(12)].to_string()
}
