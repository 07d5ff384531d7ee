//! `context export`/`import` in docker's archive layout: a tar holding `meta.json` and an
//! empty `tls/` dir (docker's own export of a context without TLS material). Import reads
//! only those two names from the archive (it is the user's file, so it is hostile: bounded
//! sizes, nothing written from its paths) and gives back the metadata to store.

use super::{ContextError, ContextMeta};
use std::io::{Read, Write};

/// A `meta.json` is a few hundred bytes; anything past this is not a context.
const META_LIMIT: u64 = 1 << 20;

/// Writes `meta` as docker's context archive.
pub fn export_tar(meta: &ContextMeta, out: impl Write) -> std::io::Result<()> {
    let json = serde_json::to_vec(meta)?;
    let mut tar = tar::Builder::new(out);
    let mut file = tar::Header::new_ustar();
    file.set_path("meta.json")?;
    file.set_entry_type(tar::EntryType::Regular);
    file.set_size(json.len() as u64);
    file.set_mode(0o644);
    file.set_mtime(0);
    file.set_cksum();
    tar.append(&file, &json[..])?;
    let mut tls = tar::Header::new_ustar();
    tls.set_path("tls")?;
    tls.set_entry_type(tar::EntryType::Directory);
    tls.set_size(0);
    tls.set_mode(0o700);
    tls.set_mtime(0);
    tls.set_cksum();
    tar.append(&tls, std::io::empty())?;
    tar.into_inner()?.flush()
}

/// Reads a context archive and names the context `name`. TLS files are refused: a kiste
/// context names a store, and a daemon's certificates have no use here.
pub fn import_tar(name: &str, input: impl Read) -> Result<ContextMeta, ContextError> {
    let bad = |what: String| ContextError::Archive(what);
    let mut archive = tar::Archive::new(input);
    let mut meta = None;
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("not a tar archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("bad entry name: {e}")))?
            .to_string_lossy()
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        let kind = entry.header().entry_type();
        match (path.as_str(), kind) {
            ("meta.json", tar::EntryType::Regular) => {
                if entry.size() > META_LIMIT {
                    return Err(bad(format!("meta.json is larger than {META_LIMIT} bytes")));
                }
                let mut bytes = Vec::new();
                (&mut entry)
                    .take(META_LIMIT)
                    .read_to_end(&mut bytes)
                    .map_err(|e| bad(format!("cannot read meta.json: {e}")))?;
                let parsed: ContextMeta =
                    serde_json::from_slice(&bytes).map_err(|e| bad(format!("meta.json: {e}")))?;
                meta = Some(parsed);
            }
            ("tls", tar::EntryType::Directory) | ("", tar::EntryType::Directory) => {}
            (p, _) if p.starts_with("tls/") => {
                return Err(bad(format!(
                    "{p}: kiste contexts carry no TLS material (it is for a daemon's tcp:// \
                     endpoint, which kiste has no use for)"
                )))
            }
            (p, _) => return Err(bad(format!("unexpected entry {p:?}"))),
        }
    }
    let mut meta = meta.ok_or_else(|| bad("no meta.json in the archive".into()))?;
    meta.name = name.to_string();
    let store = meta.store()?;
    // A remote store's paths are the remote machine's business.
    for (key, path) in [("Root", &store.root), ("RunRoot", &store.runroot)] {
        if store.host.is_none() && path.as_ref().is_some_and(|p| !p.is_absolute()) {
            return Err(bad(format!("meta.json: {key} must be an absolute path")));
        }
    }
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Metadata, StoreEndpoint};

    fn sample() -> ContextMeta {
        let mut m = ContextMeta {
            name: "web".into(),
            metadata: Metadata {
                description: "the web store".into(),
            },
            ..ContextMeta::default()
        };
        m.endpoints.kiste = Some(StoreEndpoint {
            root: Some("/srv/web".into()),
            runroot: Some("/run/web".into()),
            host: None,
        });
        m
    }

    #[test]
    fn export_then_import_gives_the_same_context_under_the_new_name() {
        let mut tar = Vec::new();
        export_tar(&sample(), &mut tar).unwrap();
        let back = import_tar("web2", &tar[..]).unwrap();
        assert_eq!(back.name, "web2");
        assert_eq!(back.endpoints, sample().endpoints);
        assert_eq!(back.metadata, sample().metadata);
    }

    #[test]
    fn a_docker_context_or_tls_files_are_refused() {
        let docker = br#"{"Name":"d","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///x.sock","SkipTLSVerify":false}}}"#;
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(docker.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "meta.json", &docker[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let err = import_tar("d", &tar[..]).unwrap_err().to_string();
        assert!(err.contains("unix:///x.sock"), "{err}");

        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, "tls/docker/ca.pem", &b"abc"[..])
            .unwrap();
        let tar = b.into_inner().unwrap();
        let err = import_tar("d", &tar[..]).unwrap_err().to_string();
        assert!(err.contains("no TLS material"), "{err}");
    }
}
