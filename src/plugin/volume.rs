//! `docker.volumedriver/1.0` as a client: the calls kiste makes on a volume plugin
//! (Capabilities, Create, Get, List, Path, Mount with the container's id, Unmount,
//! Remove) and where a mount point the plugin names lies on the host: under its
//! PropagatedMount's host directory, or else inside its root file system.

use super::{client, Plugin, PluginError, PluginStore, VOLUME_DRIVER};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An enabled volume plugin, ready to be called.
pub struct VolumePlugin {
    pub plugin: Plugin,
    socket: PathBuf,
    propagated: PathBuf,
    rootfs: PathBuf,
}

/// What `VolumeDriver.Get` tells of a volume.
#[derive(Debug, Clone, Default)]
pub struct DriverVolume {
    pub mountpoint: String,
    pub status: Option<serde_json::Map<String, serde_json::Value>>,
}

impl VolumePlugin {
    /// The plugin named `driver` as a volume driver: docker's errors when it does not
    /// exist, is disabled, or is no volume driver. Its process is not checked here.
    pub fn find(store: &PluginStore, driver: &str) -> Result<VolumePlugin, PluginError> {
        let plugin = store.get(driver).map_err(|e| match e {
            PluginError::NotFound(_) => PluginError::Invalid(format!(
                "error looking up volume plugin {driver}: plugin {driver:?} not found"
            )),
            e => e,
        })?;
        if !plugin
            .config
            .interface
            .types
            .iter()
            .any(|t| t == VOLUME_DRIVER)
        {
            return Err(PluginError::Invalid(format!(
                "error looking up volume plugin {driver}: plugin {} is not a volume driver ({})",
                plugin.name,
                plugin.config.interface.types.join(", ")
            )));
        }
        if !plugin.enabled {
            return Err(PluginError::Invalid(format!(
                "error looking up volume plugin {driver}: plugin {} found but disabled",
                plugin.name
            )));
        }
        Ok(VolumePlugin {
            socket: store.socket(&plugin),
            propagated: store.propagated(&plugin.id),
            rootfs: store.rootfs(&plugin.id),
            plugin,
        })
    }

    fn call(
        &self,
        method: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, PluginError> {
        client::call(&self.socket, &self.plugin.name, method, &body)
    }

    /// Whether the plugin answers on its socket (its process runs).
    pub fn answers(&self) -> bool {
        client::connect(&self.socket).is_ok()
    }

    /// The driver's scope ("local" or "global").
    pub fn capabilities(&self) -> Result<String, PluginError> {
        let v = self.call("VolumeDriver.Capabilities", json!({}))?;
        Ok(v["Capabilities"]["Scope"]
            .as_str()
            .unwrap_or("local")
            .to_string())
    }

    pub fn create(&self, name: &str, opts: &BTreeMap<String, String>) -> Result<(), PluginError> {
        self.call("VolumeDriver.Create", json!({"Name": name, "Opts": opts}))
            .map(drop)
    }

    pub fn get(&self, name: &str) -> Result<DriverVolume, PluginError> {
        let v = self.call("VolumeDriver.Get", json!({"Name": name}))?;
        Ok(DriverVolume {
            mountpoint: v["Volume"]["Mountpoint"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            status: v["Volume"]["Status"].as_object().cloned(),
        })
    }

    /// The names the driver lists.
    pub fn list(&self) -> Result<Vec<String>, PluginError> {
        let v = self.call("VolumeDriver.List", json!({}))?;
        Ok(v["Volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["Name"].as_str().map(String::from))
            .collect())
    }

    pub fn path(&self, name: &str) -> Result<String, PluginError> {
        let v = self.call("VolumeDriver.Path", json!({"Name": name}))?;
        Ok(v["Mountpoint"].as_str().unwrap_or_default().to_string())
    }

    /// Mounts the volume for container `id`: the host path to bind.
    pub fn mount(&self, name: &str, id: &str) -> Result<PathBuf, PluginError> {
        let v = self.call("VolumeDriver.Mount", json!({"Name": name, "ID": id}))?;
        let point = v["Mountpoint"].as_str().unwrap_or_default();
        self.host_path(point)
    }

    pub fn unmount(&self, name: &str, id: &str) -> Result<(), PluginError> {
        self.call("VolumeDriver.Unmount", json!({"Name": name, "ID": id}))
            .map(drop)
    }

    pub fn remove(&self, name: &str) -> Result<(), PluginError> {
        self.call("VolumeDriver.Remove", json!({"Name": name}))
            .map(drop)
    }

    /// Where the plugin's mount point `point` (a path in its own file system) is on the
    /// host. Only paths under its PropagatedMount are visible outside its mount namespace
    /// with what it mounted there; others are read from its root file system.
    fn host_path(&self, point: &str) -> Result<PathBuf, PluginError> {
        let bad = || {
            PluginError::Invalid(format!(
                "plugin {}: mount point {point:?} is not an absolute path inside the plugin",
                self.plugin.name
            ))
        };
        if !point.starts_with('/') || point.split('/').any(|c| c == "..") {
            return Err(bad());
        }
        let prop = self.plugin.config.propagated_mount.trim_end_matches('/');
        if !prop.is_empty() {
            if let Some(rest) = point.strip_prefix(prop) {
                if rest.is_empty() || rest.starts_with('/') {
                    return Ok(self.propagated.join(rest.trim_start_matches('/')));
                }
            }
        }
        Ok(self.rootfs.join(point.trim_start_matches('/')))
    }
}
