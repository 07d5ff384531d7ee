//! The container's configuration as typed values: network and namespace modes, the user
//! namespace mapping, capabilities and seccomp, devices, rlimits, resource limits and
//! published ports. `cli/` turns flags into these types through the parse functions
//! here, each of which refuses bad input with docker's one-line message; the container
//! record stores them (serde), and nothing below `commands/` parses a string again.
//! This module reads the host only to resolve what a flag names (a device node, a seccomp
//! profile file); it never creates, starts or changes anything.

mod attach;
mod devices;
mod dns;
mod endpoint;
mod health;
mod knobs;
mod legacy;
mod limits;
mod logging;
mod mounts;
mod namespaces;
mod ports;
mod resources;
mod restart;
mod run_extra;
mod security;
mod stop;

pub use attach::{DetachKeys, Terminal};
pub use devices::{DeviceKind, DeviceMapping, DevicePermissions, DeviceRate};
pub use dns::{parse_dns, ExtraHost};
pub use endpoint::{
    parse_alias, parse_dns_word, parse_driver_opt, parse_ip, parse_ip6, parse_link_local,
    parse_mac, valid_name, Endpoint, DEFAULT_NETWORK, ENDPOINT_IFNAME, ENDPOINT_SYSCTLS,
};
pub use health::{HealthConfig, HealthFlagError, HealthFlags};
pub use knobs::{
    check_cpu_period, check_cpu_quota, check_cpu_rt, kernel_has_rt_groups, parse_cpuset_mems,
    parse_swappiness, DeviceCgroupRule, WeightDevice,
};
pub use limits::{RlimitResource, Ulimit};
pub use logging::{LogConfig, LogDriver};
pub use mounts::{
    anonymous_volume_name, check_duplicates, parse_mount, parse_tmpfs, parse_volume,
    valid_volume_name, MountConfig, MountError, MountOrigin, MountSource, Propagation,
    VolumeCreate, VolumesFrom,
};
pub use namespaces::{IdMapping, NamespaceMode, NetworkMode, UsernsMode};
pub use ports::{PortMapping, Protocol};
pub use resources::{parse_cpus, parse_cpuset, parse_int, parse_size, Resources};
pub use restart::{RestartPolicy, RestartPolicyError};
pub use run_extra::{
    parse_oom_score_adj, parse_runtime, parse_shm_size, parse_storage_opts, parse_sysctl,
    CgroupnsMode, RunExtra, DEFAULT_SHM_SIZE, STORAGE_OPT_UNSUPPORTED,
};
pub use security::{Capability, SeccompMode, SeccompProfile, SecurityOptions};
pub use stop::StopTimeout;

/// Deserializers that also read the string forms older records hold.
pub mod legacy_serde {
    pub use super::legacy::{devices, security, ulimits, userns};
}

/// A flag's value refused, in docker's words:
/// `invalid argument "X" for "--flag" flag: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
pub struct FlagError {
    /// As docker prints it: "--cpus", or "-m, --memory" for a flag with a short form.
    pub flag: &'static str,
    pub value: String,
    pub reason: String,
}

impl FlagError {
    pub fn new(flag: &'static str, value: &str, reason: impl Into<String>) -> FlagError {
        FlagError {
            flag,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}
