//! The resource types a cgroup is made of (limits, device rules, I/O rates, the cgroup's
//! identity). They belong to cgroups so that cgroups stands below the runtime and imports
//! nothing from it; the runtime re-exports them in its spec.

use std::path::PathBuf;

/// Resource limits; None leaves the default. Units are the user's (bytes, CPUs…);
/// the cgroup backend converts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub oom_kill_disable: bool,
    pub cpus: Option<f64>,
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    pub device_read_bps: Vec<DeviceRate>,
    pub device_write_bps: Vec<DeviceRate>,
    pub device_read_iops: Vec<DeviceRate>,
    pub device_write_iops: Vec<DeviceRate>,
    /// CFS period and quota in µs (`--cpu-period`/`--cpu-quota`, the spec's cpu.period
    /// and cpu.quota); `cpus` wins when both are given (callers refuse the pair). A
    /// negative quota is no limit.
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    /// Real-time period and runtime in µs (v1 cpu.rt_*; v2 has none).
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_mems: Option<String>,
    /// 0..=100 (v1 memory.swappiness; v2 has none).
    pub memory_swappiness: Option<u64>,
    /// Device rules after the default allowlist and the devices, in order: the last
    /// rule that matches an access decides.
    pub device_rules: Vec<DeviceRule>,
    pub blkio_weight_device: Vec<WeightDevice>,
    pub hugepage_limits: Vec<HugepageLimit>,
}

impl Resources {
    /// A memory limit, swap, reservation or OOM-kill setting (memory.* limit files).
    pub(crate) fn limits_memory(&self) -> bool {
        self.memory.is_some()
            || self.memory_swap.is_some()
            || self.memory_reservation.is_some()
            || self.oom_kill_disable
    }

    /// A CFS quota or period (`--cpus` included), shares or a real-time budget.
    pub(crate) fn limits_cpu(&self) -> bool {
        self.cpus.is_some()
            || self.cpu_period.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_shares.is_some()
            || self.cpu_rt_period.is_some()
            || self.cpu_rt_runtime.is_some()
    }

    /// The four per-device throttles, each with its v1 file.
    pub(crate) fn throttles(&self) -> [(&[DeviceRate], &'static str); 4] {
        [
            (&self.device_read_bps, "blkio.throttle.read_bps_device"),
            (&self.device_write_bps, "blkio.throttle.write_bps_device"),
            (&self.device_read_iops, "blkio.throttle.read_iops_device"),
            (&self.device_write_iops, "blkio.throttle.write_iops_device"),
        ]
    }

    /// A block I/O weight (0 is none), a per-device weight or a throttle.
    pub(crate) fn limits_blkio(&self) -> bool {
        self.blkio_weight.is_some_and(|w| w > 0)
            || !self.blkio_weight_device.is_empty()
            || self.throttles().iter().any(|(rates, _)| !rates.is_empty())
    }
}

/// One device cgroup rule: allow or deny `access` (some of "rwm") on devices of `kind`
/// ('a' any, 'c', 'b') with these numbers (None: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: String,
}

/// A block device's relative I/O weight (10..1000, as v1's blkio.weight_device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightDevice {
    pub major: u32,
    pub minor: u32,
    pub weight: u16,
}

/// A hugetlb limit: the page size as the kernel names it ("2MB", "1GB") and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepageLimit {
    pub page_size: String,
    pub limit: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRate {
    pub major: u32,
    pub minor: u32,
    pub rate: u64,
}

/// A host device node made available in the container's /dev and allowed by the device cgroup.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub host_path: PathBuf,
    pub container_path: String,
    /// 'c' or 'b'
    pub kind: char,
    pub major: u32,
    pub minor: u32,
    /// Some of "rwm".
    pub permissions: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The cgroup a container is put into.
#[derive(Debug, Clone)]
pub struct CgroupSpec {
    /// Parent path relative to each hierarchy root, e.g. "kiste" (or the user's --cgroup-parent).
    pub parent: String,
    /// The container's own directory name (its id).
    pub name: String,
    pub resources: Resources,
    pub devices: Vec<Device>,
    /// Every device allowed (privileged).
    pub allow_all_devices: bool,
    /// Whose cgroup this is, which decides the v1 hierarchies it gets (see `cgroups::v1`).
    pub role: CgroupRole,
}

/// Who a cgroup is for. On v1 this chooses the hierarchies it is made in; v2 has one
/// directory whatever the role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CgroupRole {
    /// A container of kiste's own (run/create/start): the hierarchies that enforce and
    /// observe it (devices, memory, cpuacct, pids, blkio) and those its limits name.
    #[default]
    Container,
    /// A build's RUN step: devices and pids (nobody reads its stats or OOM kills) and
    /// those its limits name.
    BuildStep,
    /// `kiste oci`: every mounted hierarchy, as runc makes them (its clients read them).
    Oci,
}
