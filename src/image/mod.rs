//! The local image store: content-addressed blobs, OCI manifests and configs, tags,
//! and layer directories extracted for overlay mounts.

pub mod config;
