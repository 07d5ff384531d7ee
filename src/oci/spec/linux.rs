//! `linux`: namespaces, id mappings, devices, sysctls, the seccomp object, masked and
//! read-only paths, the cgroup path and resources, time offsets.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::resources::{DeviceType, Resources};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    #[serde(default)]
    pub uid_mappings: Option<Vec<IdMapping>>,
    #[serde(default)]
    pub gid_mappings: Option<Vec<IdMapping>>,
    #[serde(default)]
    pub sysctl: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub resources: Option<Resources>,
    #[serde(default)]
    pub cgroups_path: Option<PathBuf>,
    #[serde(default)]
    pub namespaces: Option<Vec<Namespace>>,
    #[serde(default)]
    pub devices: Option<Vec<LinuxDevice>>,
    /// Handed to kiste's seccomp compiler as it is (an object: checked here).
    #[serde(default, deserialize_with = "object")]
    pub seccomp: Option<serde_json::Value>,
    #[serde(default)]
    pub rootfs_propagation: Option<String>,
    #[serde(default)]
    pub masked_paths: Option<Vec<String>>,
    #[serde(default)]
    pub readonly_paths: Option<Vec<String>>,
    #[serde(default)]
    pub time_offsets: Option<BTreeMap<String, TimeOffset>>,
}

fn object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        Some(v) if !v.is_object() => {
            Err(serde::de::Error::custom("linux.seccomp must be an object"))
        }
        v => Ok(v),
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdMapping {
    #[serde(default, rename = "containerID")]
    pub container_id: u32,
    #[serde(default, rename = "hostID")]
    pub host_id: u32,
    #[serde(default)]
    pub size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub typ: NamespaceType,
    #[serde(default)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamespaceType {
    Mount,
    Cgroup,
    Uts,
    Ipc,
    User,
    Pid,
    Network,
    Time,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxDevice {
    #[serde(default)]
    pub path: PathBuf,
    #[serde(rename = "type")]
    pub typ: DeviceType,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    #[serde(default)]
    pub file_mode: Option<u32>,
    #[serde(default)]
    pub uid: Option<u32>,
    #[serde(default)]
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct TimeOffset {
    #[serde(default)]
    pub secs: Option<i64>,
    #[serde(default)]
    pub nanosecs: Option<u32>,
}
