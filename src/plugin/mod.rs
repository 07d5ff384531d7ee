//! docker's managed plugins without a daemon. A plugin is its config (docker's
//! `config.json`) and a rootfs, kept under `<root>/plugins/<id>/` (private, 0700) with a
//! JSON record (`plugin.json`: id, name, enabled flag, settings) that is written
//! atomically under `<root>/plugins/lock`. This module owns the store and the client side
//! of the plugin protocol (HTTP + JSON on the plugin's unix socket); it starts nothing:
//! the plugin runs as a kiste container started by `commands` (`plugin enable`, or the
//! first use after a reboot), so that `volume` can talk to it without importing the
//! monitor.

pub mod client;
mod config;
pub mod volume;

pub use config::{
    full_name, Plugin, PluginArgs, PluginConfig, PluginDevice, PluginEnv, PluginInterface,
    PluginLinux, PluginMount, PluginNetwork, PluginRootfs, PluginSettings, PluginUser,
    VOLUME_DRIVER,
};

use crate::paths::Paths;
use std::fs::File;
use std::path::{Path, PathBuf};

const RECORD: &str = "plugin.json";
const ROOTFS: &str = "rootfs";
const PROPAGATED: &str = "propagated-mount";
/// The rootfs as the gzip layer `push` sends, kept by `create --compress`.
pub const LAYER_GZ: &str = "rootfs.tar.gz";

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {0:?} not found")]
    NotFound(String),
    #[error("multiple plugins found for {0:?}: use a longer id")]
    Ambiguous(String),
    #[error("plugin {0:?} already exists")]
    Exists(String),
    #[error("plugin {0} is in use")]
    InUse(String),
    #[error("plugin {0} is enabled")]
    Enabled(String),
    #[error("plugin {0} is already enabled")]
    AlreadyEnabled(String),
    #[error("plugin {0} is already disabled")]
    AlreadyDisabled(String),
    #[error("{0}")]
    Invalid(String),
    #[error("plugin store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("plugin record {path} is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("plugin {plugin}: {call}: {reason}")]
    Call {
        plugin: String,
        call: String,
        reason: String,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PluginError + '_ {
    move |source| PluginError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The plugins of one kiste root.
pub struct PluginStore {
    dir: PathBuf,
    run: PathBuf,
}

/// Held while plugins are created, changed or removed.
pub struct PluginLock {
    _file: File,
}

impl PluginStore {
    /// The store (made private on first use).
    pub fn open(paths: &Paths) -> Result<PluginStore, PluginError> {
        let dir = paths.root.join("plugins");
        if !dir.is_dir() {
            crate::paths::make_dir(&dir, crate::paths::PRIVATE).map_err(io(&dir))?;
        }
        Ok(PluginStore {
            dir,
            run: paths.runroot.join("plugins"),
        })
    }

    /// The store when it exists, without making it (the volume code's look-ups).
    pub fn existing(paths: &Paths) -> Option<PluginStore> {
        let dir = paths.root.join("plugins");
        dir.is_dir().then(|| PluginStore {
            dir,
            run: paths.runroot.join("plugins"),
        })
    }

    pub fn lock(&self) -> Result<PluginLock, PluginError> {
        let path = self.dir.join("lock");
        let file = crate::lock::lock_exclusive(&path).map_err(io(&path))?;
        Ok(PluginLock { _file: file })
    }

    /// The store of the containers plugins run as: apart from the user's, so that `ps`
    /// never lists them (docker keeps them in containerd's "plugins.moby" namespace).
    pub fn engine_paths(paths: &Paths) -> Paths {
        Paths {
            root: paths.root.join("plugins").join(".engine"),
            runroot: paths.runroot.join("plugins").join(".engine"),
            rootless: paths.rootless,
        }
    }

    pub fn plugin_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }
    /// The plugin's root file system (the lower layer of its container).
    pub fn rootfs(&self, id: &str) -> PathBuf {
        self.plugin_dir(id).join(ROOTFS)
    }
    /// The gzip layer kept by `create --compress`.
    pub fn layer_gz(&self, id: &str) -> PathBuf {
        self.plugin_dir(id).join(LAYER_GZ)
    }
    /// The host side of the plugin's PropagatedMount.
    pub fn propagated(&self, id: &str) -> PathBuf {
        self.plugin_dir(id).join(PROPAGATED)
    }
    /// The host side of the plugin's `/run/docker/plugins` (where its socket appears).
    pub fn socket_dir(&self, id: &str) -> PathBuf {
        self.run.join(id)
    }
    pub fn socket(&self, p: &Plugin) -> PathBuf {
        self.socket_dir(&p.id).join(&p.config.interface.socket)
    }

    /// Every plugin, by name.
    pub fn list(&self) -> Result<Vec<Plugin>, PluginError> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let e = e.map_err(io(&self.dir))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            match self.read(name) {
                Ok(p) => out.push(p),
                Err(PluginError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        crate::sort::sort_by(&mut out, |a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read(&self, id: &str) -> Result<Plugin, PluginError> {
        let path = self.plugin_dir(id).join(RECORD);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(PluginError::NotFound(id.to_string()))
            }
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_slice(&data).map_err(|source| PluginError::Corrupt { path, source })
    }

    /// A plugin by name (`NAME` means `NAME:latest`), full id or unique id prefix.
    pub fn get(&self, what: &str) -> Result<Plugin, PluginError> {
        let all = self.list()?;
        let full = full_name(what);
        if let Some(p) = all.iter().find(|p| p.name == full || p.id == what) {
            return Ok(p.clone());
        }
        let by_prefix: Vec<&Plugin> = all
            .iter()
            .filter(|p| !what.is_empty() && p.id.starts_with(what))
            .collect();
        match by_prefix.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(PluginError::NotFound(what.to_string())),
            _ => Err(PluginError::Ambiguous(what.to_string())),
        }
    }

    /// Writes the record (under the lock).
    pub fn save(&self, _lock: &PluginLock, p: &Plugin) -> Result<(), PluginError> {
        let path = self.plugin_dir(&p.id).join(RECORD);
        let data = serde_json::to_vec_pretty(p).map_err(|e| io(&path)(std::io::Error::other(e)))?;
        crate::paths::write_atomic(&path, &data, &Default::default()).map_err(io(&path))
    }

    /// Removes the plugin's files: renamed away first, so that it is gone at once.
    pub fn remove(&self, _lock: &PluginLock, id: &str) -> Result<(), PluginError> {
        let dir = self.plugin_dir(id);
        let gone = self.dir.join(format!(".rm-{id}"));
        let _ = std::fs::remove_dir_all(&gone);
        std::fs::rename(&dir, &gone).map_err(io(&dir))?;
        let _ = std::fs::remove_dir_all(self.socket_dir(id));
        std::fs::remove_dir_all(&gone).map_err(io(&gone))
    }
}
