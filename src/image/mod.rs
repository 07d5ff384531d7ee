//! The local image store: content-addressed blobs (layers, configs, manifests), image
//! records with their tags, image references, and layer directories extracted in overlay
//! format for the storage module to mount. It owns everything under the store root and
//! keeps it consistent if a process is killed at any point; it does not mount anything,
//! talk to registries, or know about containers.

pub mod archive;
pub mod config;
pub mod layer;
pub mod reference;
pub mod store;

pub use crate::time::{format_rfc3339, now_rfc3339, parse_rfc3339};
pub use reference::Reference;
pub use store::*;

use std::io;

/// Everything that can go wrong in the image store.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// No image matches a name, tag, id or id prefix.
    #[error("no such image: {0}")]
    NotFound(String),
    /// An id prefix matches more than one image.
    #[error("image id prefix {prefix:?} is ambiguous: it matches {}; give more characters", .matches.join(", "))]
    Ambiguous {
        prefix: String,
        matches: Vec<String>,
    },
    /// A string is not a valid `name[:tag][@digest]` reference.
    #[error("invalid reference format {input:?}: {reason}")]
    InvalidReference { input: String, reason: String },
    /// A file system operation on the store failed; `action` names the object.
    #[error("cannot {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    /// A layer tar is malformed, unsafe, or does not match its expected digest.
    #[error("cannot extract layer {layer}: {reason}")]
    Extract { layer: String, reason: String },
    /// An image cannot be recorded as asked (e.g. config and layers disagree).
    #[error("cannot commit image: {0}")]
    Commit(String),
    /// A stored file cannot be parsed.
    #[error("image store is corrupt: {path}: {reason}")]
    Corrupt { path: String, reason: String },
}

/// Builds a closure mapping an `io::Error` to [`ImageError::Io`]; the action text is
/// only formatted when an error actually happens.
pub(crate) fn io_ctx<F: FnOnce() -> String>(action: F) -> impl FnOnce(io::Error) -> ImageError {
    move |source| ImageError::Io {
        action: action(),
        source,
    }
}

/// `sha256:0123456789ab…`: enough of a digest to name it in messages.
pub(crate) fn short_digest(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    if hex.len() > 12 {
        format!("sha256:{}…", &hex[..12])
    } else {
        format!("sha256:{hex}")
    }
}

/// Lower-case hex of bytes (digests, random ids): the one encoder kiste uses.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// True for exactly 64 lower-case hex digits.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
