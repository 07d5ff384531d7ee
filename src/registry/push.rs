//! `push`: upload an image's layers (skipping those the registry has, mounting those it
//! holds in another repository of the image), then its config, then its manifest, last,
//! so the tag never names an image whose blobs are missing. Small blobs go up in one
//! PUT; large ones in PATCH chunks. Uploads run on scoped threads joined before return.

use super::client::{error_message, header, Body, Client, Endpoint};
use super::conf::RegistriesConf;
use super::progress::{Progress, Transfer};
use super::pull::{layer_id, sha256};
use super::{creds, RegistryError};
use crate::image::{Image, ImageStore, LayerInfo, Reference};
use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Blobs larger than this are sent in chunks of this size.
const CHUNK: u64 = 8 << 20;
/// docker's default `max-concurrent-uploads`.
const PARALLEL_UPLOADS: usize = 5;

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// `false` allows plain http and unverified TLS.
    pub tls_verify: bool,
}

/// Pushes `image` (whose layers are `layers`) as `dest`; returns the manifest digest.
pub fn push(
    store: &ImageStore,
    image: &Image,
    layers: &[LayerInfo],
    dest: &Reference,
    opts: &PushOptions,
    progress: &Progress,
) -> Result<String, RegistryError> {
    let tag = dest.tag.clone().unwrap_or_else(|| "latest".to_string());
    let conf = RegistriesConf::load(&crate::paths::registries_conf_files())?;
    let source = conf.push_source(dest.domain(), &dest.repository())?;
    let creds = creds::lookup(&crate::paths::registry_auth_files(), &source.host)?;
    let endpoint = Endpoint {
        host: source.host.clone(),
        insecure: source.insecure || !opts.tls_verify,
    };
    let client = Client::connect(&endpoint, creds, &crate::paths::certs_d_dirs())?;
    let repo = source.repository.clone();
    // Other repositories of the same registry that hold this image: blobs can be
    // mounted from them instead of uploaded.
    let mount_from: Vec<String> = image
        .tags
        .iter()
        .filter_map(|t| Reference::parse(t).ok())
        .filter(|r| r.domain() == dest.domain() && r.repository() != repo)
        .map(|r| r.repository())
        .collect();
    let mut scopes = vec![format!("repository:{repo}:pull,push")];
    scopes.extend(mount_from.iter().map(|r| format!("repository:{r}:pull")));
    progress.line(&format!(
        "The push refers to repository [{}/{}]",
        dest.domain(),
        dest.repository()
    ));

    let ctx = Ctx {
        client: &client,
        repo: &repo,
        scopes: &scopes,
    };
    let order: Vec<&LayerInfo> = layers.iter().rev().collect();
    let transfers: Vec<Transfer> = order
        .iter()
        .map(|l| progress.transfer(&layer_id(&l.digest), "Preparing", l.size))
        .collect();
    let next = AtomicUsize::new(0);
    let errors: Mutex<Vec<(usize, RegistryError)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_UPLOADS.min(order.len()) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= order.len() || !errors.lock().expect("push errors").is_empty() {
                    break;
                }
                let layer = order[k];
                let id = layer_id(&layer.digest);
                let result = (|| -> Result<&str, RegistryError> {
                    if ctx.exists(&layer.digest)? {
                        return Ok("Layer already exists");
                    }
                    for from in &mount_from {
                        if ctx.mount(&layer.digest, from)? {
                            return Ok("Mounted from");
                        }
                    }
                    let path = store.blob_path(&layer.digest)?;
                    ctx.upload_file(&path, &layer.digest, layer.size, &transfers[k])?;
                    Ok("Pushed")
                })();
                match result {
                    Ok("Mounted from") => {
                        let status = format!("Mounted from {}", mount_from.join(", "));
                        transfers[k].finish(progress, &id, &status)
                    }
                    Ok(status) => transfers[k].finish(progress, &id, status),
                    Err(e) => errors.lock().expect("push errors").push((k, e)),
                }
            });
        }
    });
    let mut errors = errors.into_inner().expect("push errors");
    crate::sort::sort_by_key(&mut errors, |(k, _)| *k);
    if let Some((_, e)) = errors.into_iter().next() {
        return Err(e);
    }

    let config = store.read_blob(&image.id)?;
    if !ctx.exists(&image.id)? {
        ctx.upload_bytes(&config, &image.id)?;
    }
    let manifest = store.read_blob(&image.manifest_digest)?;
    let media_type = image
        .manifest
        .media_type
        .clone()
        .unwrap_or_else(|| super::manifest::OCI_MANIFEST.to_string());
    super::lists::put_manifest(
        &client,
        &repo,
        &scopes,
        &tag,
        &media_type,
        &manifest,
        &format!("manifest upload to {dest}"),
    )?;
    let digest = sha256(&manifest);
    progress.line(&format!("{tag}: digest: {digest} size: {}", manifest.len()));
    Ok(digest)
}

pub(super) struct Ctx<'a> {
    pub(super) client: &'a Client,
    pub(super) repo: &'a str,
    pub(super) scopes: &'a [String],
}

impl Ctx<'_> {
    fn fail(&self, what: String, resp: &mut ureq::http::Response<ureq::Body>) -> RegistryError {
        RegistryError::Status {
            what,
            status: resp.status().as_u16(),
            message: error_message(resp),
        }
    }

    /// HEAD on the blob: does the repository already have it?
    pub(super) fn exists(&self, digest: &str) -> Result<bool, RegistryError> {
        let path = format!("{}/blobs/{digest}", self.repo);
        let resp = self
            .client
            .send("HEAD", &path, self.scopes, &[], Body::Empty)?;
        Ok(resp.status().is_success())
    }

    /// Asks the registry to link `digest` from repository `from`; false when it
    /// would rather have an upload.
    fn mount(&self, digest: &str, from: &str) -> Result<bool, RegistryError> {
        let path = format!("{}/blobs/uploads/?mount={digest}&from={from}", self.repo);
        let resp = self
            .client
            .send("POST", &path, self.scopes, &[], Body::Empty)?;
        Ok(resp.status().as_u16() == 201)
    }

    /// Starts an upload session; returns its location.
    fn start(&self, digest: &str) -> Result<String, RegistryError> {
        let path = format!("{}/blobs/uploads/", self.repo);
        let mut resp = self
            .client
            .send("POST", &path, self.scopes, &[], Body::Empty)?;
        if resp.status().as_u16() != 202 {
            return Err(self.fail(format!("upload of blob {digest}"), &mut resp));
        }
        header(&resp, "location").ok_or_else(|| RegistryError::Invalid {
            what: format!("upload of blob {digest}"),
            reason: "the registry gave no upload location".to_string(),
        })
    }

    fn finish(&self, location: &str, digest: &str, body: Body<'_>) -> Result<(), RegistryError> {
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={digest}");
        let mut resp = self.client.send(
            "PUT",
            &url,
            self.scopes,
            &[("Content-Type", "application/octet-stream")],
            body,
        )?;
        if resp.status().as_u16() != 201 {
            return Err(self.fail(format!("upload of blob {digest}"), &mut resp));
        }
        Ok(())
    }

    pub(super) fn upload_bytes(&self, bytes: &[u8], digest: &str) -> Result<(), RegistryError> {
        let location = self.start(digest)?;
        self.finish(&location, digest, Body::Bytes(bytes))
    }

    /// Monolithic PUT for small blobs, PATCH chunks then a closing PUT for large ones.
    fn upload_file(
        &self,
        path: &std::path::Path,
        digest: &str,
        size: u64,
        transfer: &Transfer,
    ) -> Result<(), RegistryError> {
        let open_err = |e: std::io::Error| RegistryError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let file = File::open(path).map_err(open_err)?;
        let actual = file.metadata().map_err(open_err)?.len();
        if actual != size {
            return Err(RegistryError::Invalid {
                what: format!("stored blob {digest}"),
                reason: format!("it has {actual} bytes, the image says {size}"),
            });
        }
        let mut counted = Counted {
            inner: file,
            done: 0,
            transfer,
        };
        let mut location = self.start(digest)?;
        if size <= CHUNK {
            return self.finish(&location, digest, Body::Reader(&mut counted, size));
        }
        let mut offset = 0;
        while offset < size {
            let len = CHUNK.min(size - offset);
            let range = format!("{offset}-{}", offset + len - 1);
            let mut chunk = (&mut counted).take(len);
            let mut resp = self.client.send(
                "PATCH",
                &location,
                self.scopes,
                &[
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Range", &range),
                ],
                Body::Reader(&mut chunk, len),
            )?;
            if resp.status().as_u16() != 202 {
                return Err(self.fail(format!("upload of blob {digest} at {range}"), &mut resp));
            }
            location = header(&resp, "location").unwrap_or(location);
            offset += len;
        }
        self.finish(&location, digest, Body::Empty)
    }
}

/// Reports the bytes read from a blob file.
struct Counted<'a> {
    inner: File,
    done: u64,
    transfer: &'a Transfer,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.transfer.set(self.done);
        Ok(n)
    }
}
