//! kiste's contexts: named kiste stores (a root and a runroot). They are kept in docker's
//! on-disk layout (`contexts/meta/<sha256(name)>/meta.json`, the current one in
//! `config.json`'s `currentContext`) but under kiste's own config dir, never docker's:
//! docker's CLI would meet endpoints it cannot use, and a `currentContext` naming one would
//! break it. This module reads and writes only that dir. `select` chooses the store a
//! command works on; `ssh` reaches a store on another machine (`host=ssh://…`);
//! `archive` is the tar form of `export` and `import`.

mod archive;
mod select;
mod ssh;

pub use archive::{export_tar, import_tar};
pub use select::{chosen_name, store, Remote, Selection, Store};
pub use ssh::{forwarded_args, SshHost};

use crate::paths::{make_dir, write_atomic, Atomic, Paths, PRIVATE};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The context that is the store kiste uses without one (its default root and runroot).
pub const DEFAULT: &str = "default";
/// docker's rule for context names, spelled as its message spells it.
const NAME_RULE: &str = "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$";

/// The kiste store a context names; an absent value is the default one, as an absent
/// `--root`/`--runroot` is. With a host, the store is on that machine (see `ssh`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreEndpoint {
    #[serde(rename = "Host", default, skip_serializing_if = "Option::is_none")]
    pub host: Option<SshHost>,
    #[serde(rename = "Root", default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    #[serde(rename = "RunRoot", default, skip_serializing_if = "Option::is_none")]
    pub runroot: Option<PathBuf>,
}

impl StoreEndpoint {
    /// The store's paths, the defaults filling what the context leaves out.
    pub fn paths(&self) -> Paths {
        Paths::resolve(self.root.clone(), self.runroot.clone())
    }
}

/// What docker accepts in `--docker` (or an imported docker context holds) that kiste
/// cannot use. docker refuses a bad endpoint with exit 1 and "unable to create docker
/// endpoint config: …"; kiste refuses these the same way.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EndpointError {
    #[error("unrecognized config key: {0}")]
    UnknownKey(String),
    #[error(
        "host \"{0}\": kiste has no daemon, so there is no Engine API to reach there; \
         name a kiste store with root=DIR,runroot=DIR"
    )]
    DaemonHost(String),
    #[error("invalid docker endpoint options: ssh host connection is not valid: {0}")]
    BadSsh(String),
    #[error(
        "{0}: TLS material is for a daemon's tcp:// endpoint, which kiste has no use for; \
         name a kiste store with root=DIR,runroot=DIR"
    )]
    Tls(String),
}

/// A parsed `--docker` value: the store, or the first thing in it kiste refuses (refused
/// when the command runs, with exit 1 as docker does; not as a flag error).
pub type EndpointFlag = Result<StoreEndpoint, EndpointError>;

/// Merges `--docker` values in order (docker's flag is a map: later keys win).
pub fn merge_endpoints(flags: &[EndpointFlag]) -> Result<StoreEndpoint, EndpointError> {
    let mut out = StoreEndpoint::default();
    for f in flags {
        let e = f.clone()?;
        if e.root.is_some() {
            out.root = e.root;
        }
        if e.runroot.is_some() {
            out.runroot = e.runroot;
        }
        if e.host.is_some() {
            out.host = e.host;
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
}

/// docker's endpoint in a context exported by docker: only its host is read, to say why
/// kiste cannot import it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DaemonEndpoint {
    #[serde(rename = "Host", default)]
    pub host: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoints {
    #[serde(rename = "kiste", default, skip_serializing_if = "Option::is_none")]
    pub kiste: Option<StoreEndpoint>,
    #[serde(rename = "docker", default, skip_serializing)]
    pub docker: Option<DaemonEndpoint>,
}

/// One context's `meta.json`, as docker lays it out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextMeta {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Metadata", default)]
    pub metadata: Metadata,
    #[serde(rename = "Endpoints", default)]
    pub endpoints: Endpoints,
}

impl ContextMeta {
    /// The store the context names; a context without a kiste endpoint (a docker one that
    /// slipped in) is refused.
    pub fn store(&self) -> Result<&StoreEndpoint, ContextError> {
        self.endpoints
            .kiste
            .as_ref()
            .ok_or_else(|| ContextError::NotKiste {
                name: self.name.clone(),
                host: self
                    .endpoints
                    .docker
                    .as_ref()
                    .map(|d| d.host.clone())
                    .unwrap_or_default(),
            })
    }
}

/// Errors of the context store, in docker's words where docker has them (all exit 1).
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("context \"{name}\": context not found: open {}: no such file or directory", .path.display())]
    NotFound { name: String, path: PathBuf },
    #[error("context \"{0}\" does not exist")]
    DoesNotExist(String),
    #[error("context \"{0}\" already exists")]
    Exists(String),
    #[error("context name \"{0}\" is invalid, names are validated against regexp \"{NAME_RULE}\"")]
    InvalidName(String),
    #[error("\"default\" is a reserved context name")]
    Reserved,
    #[error("context \"default\" cannot be removed")]
    RemoveDefault,
    #[error("context \"{0}\" is in use, set -f flag to force remove")]
    InUse(String),
    #[error("cannot use --docker flag when --from is set")]
    FromAndDocker,
    #[error("unable to create docker endpoint config: {0}")]
    Endpoint(#[from] EndpointError),
    #[error(
        "context \"{name}\" names a docker daemon (\"{host}\"), not a kiste store: kiste has \
         no daemon to reach; create a kiste context with --docker root=DIR,runroot=DIR"
    )]
    NotKiste { name: String, host: String },
    #[error("context archive: {0}")]
    Archive(String),
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", .path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ContextError {
    let path = path.to_path_buf();
    move |source| ContextError::Io {
        action,
        path,
        source,
    }
}

/// docker's name check: a letter or digit, then at least one of letters, digits, `_.+-`.
pub fn check_name(name: &str) -> Result<(), ContextError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest: Vec<char> = chars.collect();
    let rest_ok = !rest.is_empty()
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(ContextError::InvalidName(name.to_string()))
    }
}

/// One entry of `ContextStore::list`: a context, or its dir's name and why it cannot be read.
pub type Listed = Result<ContextMeta, (String, ContextError)>;

/// The contexts under one config dir.
#[derive(Debug, Clone)]
pub struct ContextStore {
    dir: PathBuf,
}

impl ContextStore {
    /// The store in kiste's config dir (`crate::paths::kiste_config_dir`).
    pub fn open() -> ContextStore {
        ContextStore::at(crate::paths::kiste_config_dir())
    }

    pub fn at(dir: PathBuf) -> ContextStore {
        ContextStore { dir }
    }

    /// kiste's `config.json` (docker's name and its `currentContext` field).
    pub fn config_file(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    fn meta_root(&self) -> PathBuf {
        self.dir.join("contexts/meta")
    }

    /// Where a context's `meta.json` lives: docker names the dir by sha256 of the name.
    pub fn meta_dir(&self, name: &str) -> PathBuf {
        self.meta_root().join(digest(name))
    }

    /// docker's TLS dir of a context (kiste's contexts have no TLS material).
    pub fn tls_dir(&self, name: &str) -> PathBuf {
        self.dir.join("contexts/tls").join(digest(name))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.meta_dir(name).join("meta.json").is_file()
    }

    /// A context by name (not "default", which is not stored).
    pub fn get(&self, name: &str) -> Result<ContextMeta, ContextError> {
        let path = self.meta_dir(name).join("meta.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ContextError::NotFound {
                    name: name.to_string(),
                    path,
                })
            }
            Err(e) => return Err(io("cannot read", &path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| ContextError::Json { path, source })
    }

    /// Every stored context, sorted by name; a file that cannot be read is reported as
    /// its directory's name and the error (docker's ERROR column).
    pub fn list(&self) -> Result<Vec<Listed>, ContextError> {
        let root = self.meta_root();
        let entries = match std::fs::read_dir(&root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("cannot list", &root)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("cannot list", &root))?;
            let path = entry.path().join("meta.json");
            let dir_name = entry.file_name().to_string_lossy().into_owned();
            let read = std::fs::read(&path)
                .map_err(io("cannot read", &path))
                .and_then(|b| {
                    serde_json::from_slice::<ContextMeta>(&b)
                        .map_err(|source| ContextError::Json { path, source })
                });
            out.push(read.map_err(|e| (dir_name, e)));
        }
        let key = |r: &Listed| match r {
            Ok(m) => m.name.clone(),
            Err((n, _)) => n.clone(),
        };
        crate::sort::sort_by_key(&mut out, key);
        Ok(out)
    }

    /// Writes a context's `meta.json` (0600 in a 0700 dir), replacing what was there.
    pub fn save(&self, meta: &ContextMeta) -> Result<(), ContextError> {
        let dir = self.meta_dir(&meta.name);
        for d in [
            &self.dir,
            &self.dir.join("contexts"),
            &self.meta_root(),
            &dir,
        ] {
            make_dir(d, PRIVATE).map_err(io("cannot create", d))?;
        }
        let path = dir.join("meta.json");
        let bytes = serde_json::to_vec(meta).map_err(|source| ContextError::Json {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes, &private_file()).map_err(io("cannot write", &path))
    }

    /// Removes a context's files (its metadata and TLS dirs).
    pub fn remove(&self, name: &str) -> Result<(), ContextError> {
        for dir in [self.meta_dir(name), self.tls_dir(name)] {
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("cannot remove", &dir)(e)),
            }
        }
        Ok(())
    }

    /// `currentContext` from `config.json`; None when the file or the field is absent.
    /// This is the one file a command without `--context` opens (one failed open when
    /// nobody ever ran `context use`).
    pub fn current(&self) -> Result<Option<String>, ContextError> {
        let path = self.config_file();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("cannot read", &path)(e)),
        };
        let config: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|source| ContextError::Json { path, source })?;
        Ok(config
            .get("currentContext")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string))
    }

    /// Sets `currentContext` ("default" removes it, as docker does), keeping the file's
    /// other fields.
    pub fn set_current(&self, name: &str) -> Result<(), ContextError> {
        let path = self.config_file();
        let mut config = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| ContextError::Json {
                path: path.clone(),
                source,
            })?,
            // Nothing to unset: "default" is current without a file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == DEFAULT => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
            Err(e) => return Err(io("cannot read", &path)(e)),
        };
        if let Some(obj) = config.as_object_mut() {
            if name == DEFAULT {
                obj.remove("currentContext");
            } else {
                obj.insert("currentContext".into(), name.into());
            }
        }
        make_dir(&self.dir, PRIVATE).map_err(io("cannot create", &self.dir))?;
        let bytes = serde_json::to_vec_pretty(&config).map_err(|source| ContextError::Json {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes, &private_file()).map_err(io("cannot write", &path))
    }
}

fn private_file() -> Atomic {
    Atomic {
        mode: 0o600,
        ..Atomic::default()
    }
}

fn digest(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for ok in ["ab", "a1", "Web_2.x+y-z", "00"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "", "-ab", "_ab", "a b", "a/b", "../x", "é1"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn meta_dirs_are_named_by_sha256_of_the_name_as_dockers() {
        // docker context create aa → contexts/meta/961b6dd3…
        let s = ContextStore::at(PathBuf::from("/c"));
        assert_eq!(
            s.meta_dir("aa"),
            PathBuf::from(
                "/c/contexts/meta/961b6dd3ede3cb8ecbaacbd68de040cd78eb2ed5889130cceb4c49268ea4d506"
            )
        );
    }

    #[test]
    fn current_context_round_trips_and_keeps_other_fields() {
        let tmp = tempfile::tempdir().unwrap();
        let s = ContextStore::at(tmp.path().join("cfg"));
        assert_eq!(s.current().unwrap(), None);
        std::fs::create_dir_all(tmp.path().join("cfg")).unwrap();
        std::fs::write(s.config_file(), r#"{"other":1}"#).unwrap();
        s.set_current("web").unwrap();
        assert_eq!(s.current().unwrap().as_deref(), Some("web"));
        s.set_current(DEFAULT).unwrap();
        assert_eq!(s.current().unwrap(), None);
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s.config_file()).unwrap()).unwrap();
        assert_eq!(v, serde_json::json!({"other": 1}));
    }
}
