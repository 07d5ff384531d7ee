//! Volumes of a volume plugin (`volume create -d PLUGIN`): kiste keeps docker's record
//! (Driver is the plugin's name, Mountpoint what the plugin says) and leaves the content
//! to the plugin, which it asks through `docker.volumedriver/1.0`: Create, Get, Remove,
//! and at a container's start and end Mount and Unmount with the container's id. The
//! plugin's process must run (see `commands::plugin_engine`); this module starts nothing.

use super::{io, Volume, VolumeError, VolumeLock, VolumeStore, RECORD};
use crate::paths::Paths;
use crate::plugin::volume::VolumePlugin;
use crate::plugin::{PluginError, PluginStore};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn plugin_err(e: PluginError) -> VolumeError {
    VolumeError::Plugin(e.to_string())
}

/// The enabled volume plugin `driver` of the store.
pub fn driver(paths: &Paths, driver: &str) -> Result<VolumePlugin, VolumeError> {
    let store = PluginStore::existing(paths).ok_or_else(|| {
        VolumeError::Plugin(format!(
            "error looking up volume plugin {driver}: plugin {driver:?} not found"
        ))
    })?;
    VolumePlugin::find(&store, driver).map_err(plugin_err)
}

impl VolumeStore {
    /// `volume create -d PLUGIN`: the plugin makes the volume (unless it has it: docker
    /// asks Get first), then kiste records it. An existing record is returned as it is.
    pub fn create_with_plugin(
        &self,
        _lock: &VolumeLock,
        plugin: &VolumePlugin,
        name: &str,
        labels: BTreeMap<String, String>,
        options: Option<BTreeMap<String, String>>,
    ) -> Result<Volume, VolumeError> {
        if !crate::config::valid_volume_name(name) {
            return Err(VolumeError::InvalidName(name.to_string()));
        }
        match self.get(name) {
            Ok(v) if v.driver == plugin.plugin.name => return Ok(self.created(v)),
            Ok(v) => {
                return Err(VolumeError::Plugin(format!(
                    "create {name}: volume name must be unique: a volume of driver {} has it",
                    v.driver
                )))
            }
            Err(VolumeError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let scope = plugin.capabilities().map_err(plugin_err)?;
        if plugin.get(name).is_err() {
            plugin
                .create(name, &options.clone().unwrap_or_default())
                .map_err(plugin_err)?;
        }
        let got = plugin.get(name).map_err(plugin_err)?;
        let vol = Volume {
            created_at: crate::time::format_rfc3339(crate::time::now_unix() as i64, 0),
            driver: plugin.plugin.name.clone(),
            labels,
            mountpoint: PathBuf::from(got.mountpoint),
            name: name.to_string(),
            options,
            scope,
            status: None,
        };
        let final_dir = self.dir.join(name);
        let tmp = self.dir.join(format!(".tmp-{name}"));
        let _ = std::fs::remove_dir_all(&tmp);
        (|| {
            std::fs::create_dir(&tmp)?;
            let record = serde_json::to_vec_pretty(&vol).map_err(std::io::Error::other)?;
            crate::paths::write_atomic(&tmp.join(RECORD), &record, &Default::default())?;
            std::fs::rename(&tmp, &final_dir)?;
            crate::paths::sync_dir(&self.dir)
        })()
        .map_err(io(&final_dir))?;
        Ok(self.created(vol))
    }
}

/// The volume as `volume inspect` shows it: the plugin's Status added.
pub fn with_status(paths: &Paths, mut v: Volume) -> Result<Volume, VolumeError> {
    if v.driver == "local" {
        return Ok(v);
    }
    let got = driver(paths, &v.driver)?.get(&v.name).map_err(plugin_err)?;
    v.status = got.status;
    Ok(v)
}

/// Where the containers a plugin volume is mounted for are marked (one empty file per
/// container id), so that each Mount gets exactly one Unmount, however many times the
/// container's end is cleaned up.
fn mounted_marker(store: &VolumeStore, name: &str, id: &str) -> PathBuf {
    store.dir.join(name).join("mounted").join(id)
}

/// Mounts a plugin volume for container `id`: the host path to bind.
pub fn mount(
    paths: &Paths,
    store: &VolumeStore,
    v: &Volume,
    id: &str,
) -> Result<PathBuf, VolumeError> {
    let path = driver(paths, &v.driver)?
        .mount(&v.name, id)
        .map_err(plugin_err)?;
    let marker = mounted_marker(store, &v.name, id);
    if let Some(dir) = marker.parent() {
        crate::paths::make_dir(dir, crate::paths::PRIVATE).map_err(io(dir))?;
    }
    std::fs::write(&marker, b"").map_err(io(&marker))?;
    Ok(path)
}

/// Unmounts the plugin volumes of container `id` (its end); errors are warnings.
pub fn unmount_all(paths: &Paths, store: &VolumeStore, id: &str, names: &[&str]) {
    for name in names {
        let Ok(v) = store.get(name) else { continue };
        let marker = mounted_marker(store, name, id);
        if v.driver == "local" || std::fs::remove_file(&marker).is_err() {
            continue;
        }
        if let Err(e) =
            driver(paths, &v.driver).and_then(|p| p.unmount(name, id).map_err(plugin_err))
        {
            eprintln!("WARNING: {e}");
        }
    }
}

/// Asks the plugin to remove the volume's content (before its record goes).
pub fn remove(paths: &Paths, v: &Volume) -> Result<(), VolumeError> {
    driver(paths, &v.driver)?
        .remove(&v.name)
        .map_err(plugin_err)
}
