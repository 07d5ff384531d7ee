//! `linux.resources` (also `kiste oci update --resources`): the cgroup limits. What
//! kiste does not apply (network classes, rdma, the v2 `unified` map) is read only far
//! enough to warn that it is there.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default)]
    pub devices: Option<Vec<DeviceCgroup>>,
    #[serde(default)]
    pub memory: Option<Memory>,
    #[serde(default)]
    pub cpu: Option<Cpu>,
    #[serde(default)]
    pub pids: Option<Pids>,
    #[serde(default, rename = "blockIO")]
    pub block_io: Option<BlockIo>,
    #[serde(default)]
    pub hugepage_limits: Option<Vec<HugepageLimit>>,
    #[serde(default)]
    pub network: Option<serde_json::Value>,
    #[serde(default)]
    pub rdma: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    pub unified: Option<BTreeMap<String, String>>,
}

/// A device node's or a device rule's type: "a" (all, rules only), "b", "c", "u", "p".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    A,
    B,
    C,
    U,
    P,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeviceCgroup {
    #[serde(default)]
    pub allow: bool,
    #[serde(default, rename = "type")]
    pub typ: Option<DeviceType>,
    #[serde(default)]
    pub major: Option<i64>,
    #[serde(default)]
    pub minor: Option<i64>,
    #[serde(default)]
    pub access: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub reservation: Option<i64>,
    #[serde(default)]
    pub swap: Option<i64>,
    #[serde(default)]
    pub kernel: Option<i64>,
    #[serde(default, rename = "kernelTCP")]
    pub kernel_tcp: Option<i64>,
    #[serde(default)]
    pub swappiness: Option<u64>,
    #[serde(default, rename = "disableOOMKiller")]
    pub disable_oom_killer: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    #[serde(default)]
    pub shares: Option<u64>,
    #[serde(default)]
    pub quota: Option<i64>,
    #[serde(default)]
    pub idle: Option<i64>,
    #[serde(default)]
    pub burst: Option<u64>,
    #[serde(default)]
    pub period: Option<u64>,
    #[serde(default)]
    pub realtime_runtime: Option<i64>,
    #[serde(default)]
    pub realtime_period: Option<u64>,
    #[serde(default)]
    pub cpus: Option<String>,
    #[serde(default)]
    pub mems: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Pids {
    #[serde(default)]
    pub limit: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockIo {
    #[serde(default)]
    pub weight: Option<u16>,
    #[serde(default)]
    pub leaf_weight: Option<u16>,
    #[serde(default)]
    pub weight_device: Option<Vec<WeightDevice>>,
    #[serde(default)]
    pub throttle_read_bps_device: Option<Vec<ThrottleDevice>>,
    #[serde(default)]
    pub throttle_write_bps_device: Option<Vec<ThrottleDevice>>,
    #[serde(default, rename = "throttleReadIOPSDevice")]
    pub throttle_read_iops_device: Option<Vec<ThrottleDevice>>,
    #[serde(default, rename = "throttleWriteIOPSDevice")]
    pub throttle_write_iops_device: Option<Vec<ThrottleDevice>>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDevice {
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    #[serde(default)]
    pub weight: Option<u16>,
    #[serde(default)]
    pub leaf_weight: Option<u16>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ThrottleDevice {
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    #[serde(default)]
    pub rate: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HugepageLimit {
    #[serde(default)]
    pub page_size: String,
    #[serde(default)]
    pub limit: i64,
}
