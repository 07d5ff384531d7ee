//! The docker commands kiste refuses, each with the one line that says why (exit 125).
//! They are refused before the store is opened: nothing is created or repaired.

use super::Exit;

pub const CHECKPOINT: &str = "checkpoint/restore needs CRIU and a daemon that keeps the \
    checkpointed process; kiste has neither (docker offers it only with experimental features)";
pub const TRUST: &str = "Docker Content Trust (Notary v1) is deprecated by docker; pin images by \
    digest (IMAGE@sha256:...) or verify signatures with cosign or notation";
/// `DOCKER_CONTENT_TRUST` asks docker's CLI to verify (pull, run, create) or sign (push)
/// with Notary v1 unless `--disable-content-trust` is given: any value but an empty or
/// false one. kiste cannot verify, so it refuses rather than run unverified
/// (`--disable-content-trust=false` is refused by its parser already).
pub fn content_trust(verb: &str, flag: Option<bool>) -> anyhow::Result<()> {
    let asked = std::env::var("DOCKER_CONTENT_TRUST").is_ok_and(|v| {
        !v.is_empty() && !matches!(v.as_str(), "0" | "f" | "F" | "false" | "FALSE" | "False")
    });
    if flag.is_none() && asked {
        return Err(refuse(
            verb,
            "refused (legacy-removed): DOCKER_CONTENT_TRUST asks for Docker Content Trust \
             (Notary v1), which docker deprecated; pin images by digest (IMAGE@sha256:...) \
             and unset DOCKER_CONTENT_TRUST or pass --disable-content-trust",
        ));
    }
    Ok(())
}

/// The error that ends `kiste VERB …` with the reason.
pub fn refuse(verb: &str, reason: &str) -> anyhow::Error {
    Exit {
        code: 125,
        message: format!("kiste {verb}: {reason}"),
    }
    .into()
}
