//! The OCI distribution client: pull and push images to registries that speak the
//! distribution API (`/v2/`). It resolves references against `registries.conf`
//! (search registries, mirrors, insecure and blocked registries), authenticates with
//! Basic or Bearer tokens from the credentials docker and podman keep, verifies every
//! manifest and blob digest, and hands layers to the image store as they stream in. It
//! is synchronous (ureq over rustls); layer transfers run on scoped threads that are all
//! joined before a call returns, so nothing here is alive when a container is forked.
//! It prints nothing itself except through the [`progress::Progress`] it is given.

mod auth;
pub mod catalog;
mod client;
pub mod conf;
pub mod creds;
pub mod list_store;
pub mod lists;
mod manifest;
pub mod plugin;
mod policy;
pub mod progress;
mod pull;
mod push;

pub use client::{Client, Endpoint};
pub use manifest::Platform;
pub use policy::{image_for_use, PullPolicy};
pub use pull::{pull, PullOptions, PullOutcome};
pub use push::{push, PushOptions};

use crate::image::ImageError;

/// Everything that can go wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The connection failed or broke (DNS, refused, TLS, closed mid-body).
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    /// The registry answered with an error status.
    #[error("{what}: {message}")]
    Status {
        what: String,
        status: u16,
        message: String,
    },
    /// The registry refused the credentials (or there were none).
    #[error("{registry}: unauthorized: {message}")]
    Unauthorized { registry: String, message: String },
    /// Content did not hash to the digest that named it.
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    /// A manifest, config or layer of a kind kiste cannot use.
    #[error("unsupported media type {media_type:?} for {what}")]
    UnsupportedMediaType { what: String, media_type: String },
    /// A manifest or config that does not parse or contradicts itself.
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    /// A manifest list without an entry for the wanted platform.
    #[error("no image for platform {wanted} in the manifest list (it has {available})")]
    NoPlatform { wanted: String, available: String },
    /// `registries.conf` marks the registry as blocked.
    #[error("registry {0} is blocked in registries.conf")]
    Blocked(String),
    /// A configuration or credentials file cannot be read or written.
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    /// The image store refused or failed.
    #[error(transparent)]
    Store(#[from] ImageError),
}

impl RegistryError {
    /// Whether another endpoint (a mirror, the next search registry) may succeed.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RegistryError::Status { status: 404, .. })
    }
}
