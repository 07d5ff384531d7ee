//! The docker commands kiste refuses, each with the one line that says why (exit 125).
//! They are refused before the store is opened: nothing is created or repaired.

use super::Exit;

pub const CHECKPOINT: &str = "checkpoint/restore needs CRIU and a daemon that keeps the \
    checkpointed process; kiste has neither (docker offers it only with experimental features)";
pub const PLUGIN: &str = "kiste has no plugin system: volumes (local), networks (bridge, host, \
    none) and log drivers (json-file, k8s-file, none) are built in; mount other storage on the \
    host and use --mount type=bind";
pub const TRUST: &str = "Docker Content Trust (Notary v1) is deprecated by docker; pin images by \
    digest (IMAGE@sha256:...) or verify signatures with cosign or notation";
pub const CONTEXT: &str = "kiste has no daemon to point a context at: its one context, \
    \"default\", is the local store; choose another store with --root and --runroot";

/// The error that ends `kiste VERB …` with the reason.
pub fn refuse(verb: &str, reason: &str) -> anyhow::Error {
    Exit {
        code: 125,
        message: format!("kiste {verb}: {reason}"),
    }
    .into()
}
