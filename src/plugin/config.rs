//! docker's plugin config (the `config.json` of `plugin create`'s DIR, and the config blob
//! of a pushed plugin, media type `application/vnd.docker.plugin.v1+json`), the settings
//! a plugin runs with, and the record kiste keeps for it (docker's `plugin inspect`
//! shape). Only typed data and its checks live here.

use serde::{Deserialize, Serialize};

/// docker's `types.PluginConfig`. Field names and defaults are docker's, so a record
/// prints as `docker plugin inspect` prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginConfig {
    pub args: PluginArgs,
    pub description: String,
    pub docker_version: String,
    pub documentation: String,
    pub entrypoint: Vec<String>,
    pub env: Vec<PluginEnv>,
    pub interface: PluginInterface,
    pub ipc_host: bool,
    pub linux: PluginLinux,
    pub mounts: Option<Vec<PluginMount>>,
    pub network: PluginNetwork,
    pub pid_host: bool,
    pub propagated_mount: String,
    pub user: PluginUser,
    pub work_dir: String,
    #[serde(rename = "rootfs", skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<PluginRootfs>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginArgs {
    pub description: String,
    pub name: String,
    pub settable: Option<Vec<String>>,
    pub value: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginEnv {
    pub description: String,
    pub name: String,
    pub settable: Option<Vec<String>>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginInterface {
    pub socket: String,
    pub types: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginLinux {
    pub allow_all_devices: bool,
    pub capabilities: Option<Vec<String>>,
    pub devices: Option<Vec<PluginDevice>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginDevice {
    pub description: String,
    pub name: String,
    pub path: Option<String>,
    pub settable: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginMount {
    pub description: String,
    pub destination: String,
    pub name: String,
    pub options: Option<Vec<String>>,
    pub settable: Option<Vec<String>>,
    pub source: Option<String>,
    #[serde(rename = "Type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginNetwork {
    #[serde(rename = "Type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginUser {
    #[serde(rename = "UID", skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(rename = "GID", skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginRootfs {
    pub diff_ids: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
}

/// What `plugin set` changes and the plugin runs with (docker's `PluginSettings`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginSettings {
    pub args: Vec<String>,
    pub devices: Vec<PluginDevice>,
    pub env: Vec<String>,
    pub mounts: Vec<PluginMount>,
}

/// kiste's record of one plugin: docker's `types.Plugin` (what `inspect` prints) and the
/// count of volumes and containers using it (docker's refcount, kept out of `inspect`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Plugin {
    pub config: PluginConfig,
    pub enabled: bool,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub plugin_reference: String,
    pub settings: PluginSettings,
}

/// The interface types kiste can use a plugin as; others can be enabled but not used.
pub const VOLUME_DRIVER: &str = "docker.volumedriver/1.0";

impl PluginConfig {
    /// docker's checks of a new plugin's config (`plugin create`, `install`): the
    /// messages dockerd gives.
    pub fn validate(&self) -> Result<(), String> {
        if self.interface.socket.is_empty() {
            return Err("plugin config: Interface.Socket is required".into());
        }
        if self.interface.socket.contains('/') {
            return Err(format!(
                "plugin config: Interface.Socket {:?} must be a file name in /run/docker/plugins",
                self.interface.socket
            ));
        }
        if self.interface.types.is_empty() {
            return Err("plugin config: Interface.Types is empty".into());
        }
        for t in &self.interface.types {
            let (prefix, version) = t.rsplit_once('/').unwrap_or((t, ""));
            if !prefix.starts_with("docker.") || version.is_empty() {
                return Err(format!("plugin config: invalid type {t:?}"));
            }
        }
        if self.entrypoint.is_empty() {
            return Err("plugin config: Entrypoint is empty".into());
        }
        if !self.work_dir.is_empty() && !self.work_dir.starts_with('/') {
            return Err(format!(
                "plugin config: WorkDir {:?} must be absolute",
                self.work_dir
            ));
        }
        if !self.propagated_mount.is_empty() && !self.propagated_mount.starts_with('/') {
            return Err(format!(
                "plugin config: PropagatedMount {:?} must be absolute",
                self.propagated_mount
            ));
        }
        match self.network.kind.as_str() {
            "" | "host" | "none" | "bridge" => {}
            other => return Err(format!("plugin config: unknown Network.Type {other:?}")),
        }
        for c in self.linux.capabilities.iter().flatten() {
            crate::config::Capability::parse("Linux.Capabilities", c)
                .map_err(|e| format!("plugin config: {e}"))?;
        }
        for m in self.mounts.iter().flatten() {
            if !m.destination.starts_with('/') {
                return Err(format!(
                    "plugin config: mount destination {:?} must be absolute",
                    m.destination
                ));
            }
        }
        Ok(())
    }

    /// The settings a new plugin starts with: its Env values, Args values, Mounts and
    /// Devices, as docker derives them.
    pub fn initial_settings(&self) -> PluginSettings {
        PluginSettings {
            args: self.args.value.clone().unwrap_or_default(),
            devices: self.linux.devices.clone().unwrap_or_default(),
            env: self
                .env
                .iter()
                .filter_map(|e| e.value.as_ref().map(|v| format!("{}={v}", e.name)))
                .collect(),
            mounts: self.mounts.clone().unwrap_or_default(),
        }
    }

    /// The privileges docker asks the user to grant at `install` (network, mounts,
    /// devices, capabilities, host namespaces), as `Name: [values]` lines.
    pub fn privileges(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        if !self.network.kind.is_empty() && self.network.kind != "null" {
            out.push(("network".into(), vec![self.network.kind.clone()]));
        }
        let sources: Vec<String> = self
            .mounts
            .iter()
            .flatten()
            .filter_map(|m| m.source.clone())
            .collect();
        if !sources.is_empty() {
            out.push(("mount".into(), sources));
        }
        let devices: Vec<String> = self
            .linux
            .devices
            .iter()
            .flatten()
            .filter_map(|d| d.path.clone())
            .collect();
        if !devices.is_empty() {
            out.push(("device".into(), devices));
        }
        if self.linux.allow_all_devices {
            out.push(("allow-all-devices".into(), vec!["true".into()]));
        }
        if self.pid_host {
            out.push(("host pid namespace".into(), vec!["true".into()]));
        }
        if self.ipc_host {
            out.push(("host ipc namespace".into(), vec!["true".into()]));
        }
        if let Some(caps) = self.linux.capabilities.as_ref().filter(|c| !c.is_empty()) {
            out.push(("capabilities".into(), caps.clone()));
        }
        out
    }
}

/// docker's plugin name form: `NAME[:TAG]` with `latest` as the default tag.
pub fn full_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}
