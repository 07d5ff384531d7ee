//! The OCI spec's `linux.resources` as kiste's `cgroups::Resources`: the one translation
//! that both `kiste oci create` (the bundle's config.json) and `kiste oci update`
//! (`--resources FILE`) use, so both apply and refuse the same things. Memory, CPU
//! (CFS and real-time), cpusets, pids, block I/O (weights per device, throttles),
//! hugepage limits and device rules (wildcards, denies) are applied; what a cgroup of
//! kiste's cannot express (kernel memory, leaf weights, network classes, rdma, the v2
//! `unified` map) is named in a warning, as runc does for kernel memory. A value that
//! would leave the cgroup directory (a hugepage size) is refused.

use super::spec::{DeviceType, Resources as LinuxResources, ThrottleDevice};

use super::{warn, OciError};
use crate::cgroups::{DeviceRate, DeviceRule, HugepageLimit, Resources, WeightDevice};

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> OciError {
    OciError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

/// A device number from the spec: negative is refused (the spec's types are signed).
fn number(what: &str, n: i64) -> Result<u32, OciError> {
    u32::try_from(n).map_err(|_| invalid(what.to_string(), format!("bad device number {n}")))
}

fn rates(what: &str, list: &Option<Vec<ThrottleDevice>>) -> Result<Vec<DeviceRate>, OciError> {
    list.iter()
        .flatten()
        .map(|d| {
            Ok(DeviceRate {
                major: number(what, d.major)?,
                minor: number(what, d.minor)?,
                rate: d.rate,
            })
        })
        .collect()
}

/// "2MB", "1GB", "64KB": the kernel's hugetlb file names, nothing else.
fn page_size(size: &str) -> Result<String, OciError> {
    let digits = size.trim_end_matches(['K', 'M', 'G', 'B']);
    let unit = &size[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !matches!(unit, "KB" | "MB" | "GB")
    {
        return Err(invalid(
            "linux.resources.hugepageLimits",
            format!("bad page size {size:?} (want e.g. \"2MB\")"),
        ));
    }
    Ok(size.to_string())
}

/// The device rules of `linux.resources.devices`, in order. A rule that denies every
/// device (runc's and containerd's usual first rule) starts the list again from kiste's
/// default allowlist, which the cgroup writer always puts first.
fn device_rules(r: &LinuxResources) -> Result<Vec<DeviceRule>, OciError> {
    let mut out = Vec::new();
    for d in r.devices.iter().flatten() {
        let kind = match d.typ {
            None | Some(DeviceType::A) => 'a',
            Some(DeviceType::B) => 'b',
            Some(DeviceType::C) | Some(DeviceType::U) => 'c',
            Some(DeviceType::P) => continue,
        };
        let num = |n: Option<i64>| match n {
            Some(n) if n >= 0 => number("linux.resources.devices", n).map(Some),
            _ => Ok(None),
        };
        let (major, minor) = (num(d.major)?, num(d.minor)?);
        let access = d.access.clone().unwrap_or_else(|| "rwm".into());
        if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
            return Err(invalid(
                "linux.resources.devices",
                format!("bad access {access:?} (some of \"rwm\")"),
            ));
        }
        if !d.allow && kind == 'a' && major.is_none() && minor.is_none() {
            out.clear();
            continue;
        }
        out.push(DeviceRule {
            allow: d.allow,
            kind,
            major,
            minor,
            access,
        });
    }
    Ok(out)
}

/// kiste's resources for the spec's `linux.resources`.
pub fn from_spec(r: &LinuxResources) -> Result<Resources, OciError> {
    let mut out = Resources::default();
    let ignored = |what: &str| warn(&format!("linux.resources.{what} is not applied by kiste"));
    if let Some(m) = &r.memory {
        out.memory = m.limit.filter(|l| *l != 0);
        out.memory_reservation = m.reservation.filter(|l| *l != 0);
        out.memory_swap = m.swap.filter(|l| *l != 0);
        out.oom_kill_disable = m.disable_oom_killer.unwrap_or(false);
        out.memory_swappiness = m.swappiness.filter(|s| *s <= 100);
        if m.swappiness.is_some_and(|s| s > 100) {
            return Err(invalid(
                "linux.resources.memory.swappiness",
                format!("{} is out of range 0-100", m.swappiness.unwrap_or_default()),
            ));
        }
        if m.kernel.is_some() {
            ignored("memory.kernel");
        }
        if m.kernel_tcp.is_some() {
            ignored("memory.kernelTCP");
        }
    }
    if let Some(c) = &r.cpu {
        out.cpu_shares = c.shares.filter(|s| *s > 0);
        out.cpu_period = c.period.filter(|p| *p > 0);
        out.cpu_quota = c.quota.filter(|q| *q != 0);
        out.cpu_rt_period = c.realtime_period.filter(|p| *p > 0);
        out.cpu_rt_runtime = c.realtime_runtime.filter(|r| *r != 0);
        out.cpuset_cpus = c.cpus.clone().filter(|s| !s.is_empty());
        out.cpuset_mems = c.mems.clone().filter(|s| !s.is_empty());
        if c.idle.is_some() {
            ignored("cpu.idle");
        }
        if c.burst.is_some() {
            ignored("cpu.burst");
        }
    }
    if let Some(p) = &r.pids {
        out.pids_limit = Some(p.limit).filter(|l| *l != 0);
    }
    if let Some(b) = &r.block_io {
        out.blkio_weight = b.weight.filter(|w| *w > 0);
        if b.leaf_weight.is_some() {
            ignored("blockIO.leafWeight");
        }
        for d in b.weight_device.iter().flatten() {
            if d.leaf_weight.is_some() {
                ignored("blockIO.weightDevice.leafWeight");
            }
            if let Some(weight) = d.weight.filter(|w| *w > 0) {
                out.blkio_weight_device.push(WeightDevice {
                    major: number("linux.resources.blockIO.weightDevice", d.major)?,
                    minor: number("linux.resources.blockIO.weightDevice", d.minor)?,
                    weight,
                });
            }
        }
        let what = "linux.resources.blockIO";
        out.device_read_bps = rates(what, &b.throttle_read_bps_device)?;
        out.device_write_bps = rates(what, &b.throttle_write_bps_device)?;
        out.device_read_iops = rates(what, &b.throttle_read_iops_device)?;
        out.device_write_iops = rates(what, &b.throttle_write_iops_device)?;
    }
    for h in r.hugepage_limits.iter().flatten() {
        out.hugepage_limits.push(HugepageLimit {
            page_size: page_size(&h.page_size)?,
            limit: u64::try_from(h.limit).map_err(|_| {
                invalid(
                    "linux.resources.hugepageLimits",
                    format!("bad limit {}", h.limit),
                )
            })?,
        });
    }
    out.device_rules = device_rules(r)?;
    if r.network.is_some() {
        ignored("network");
    }
    if r.rdma.as_ref().is_some_and(|m| !m.is_empty()) {
        ignored("rdma");
    }
    if r.unified.as_ref().is_some_and(|m| !m.is_empty()) {
        ignored("unified");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<Resources, OciError> {
        from_spec(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn the_specs_resources_become_kistes() {
        let r = spec(
            r#"{"memory":{"limit":33554432,"reservation":1048576,"swappiness":10},
                "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0","mems":"0",
                       "realtimeRuntime":1000,"realtimePeriod":100000},
                "pids":{"limit":64},
                "blockIO":{"weight":300,"weightDevice":[{"major":254,"minor":0,"weight":200}],
                           "throttleReadBpsDevice":[{"major":254,"minor":0,"rate":1048576}],
                           "throttleWriteIOPSDevice":[{"major":254,"minor":0,"rate":100}]},
                "hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#,
        )
        .unwrap();
        assert_eq!(r.memory, Some(33_554_432));
        assert_eq!(r.memory_reservation, Some(1_048_576));
        assert_eq!(r.memory_swappiness, Some(10));
        assert_eq!(r.cpu_shares, Some(512));
        assert_eq!((r.cpu_period, r.cpu_quota), (Some(100_000), Some(50_000)));
        assert_eq!(
            (r.cpu_rt_period, r.cpu_rt_runtime),
            (Some(100_000), Some(1000))
        );
        assert_eq!(r.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(r.cpuset_mems.as_deref(), Some("0"));
        assert_eq!(r.pids_limit, Some(64));
        assert_eq!(r.blkio_weight, Some(300));
        assert_eq!(r.blkio_weight_device[0].weight, 200);
        assert_eq!(r.device_read_bps[0].rate, 1 << 20);
        assert_eq!(r.device_write_iops[0].rate, 100);
        assert_eq!(r.hugepage_limits[0].page_size, "2MB");
    }

    #[test]
    fn device_rules_keep_wildcards_and_denies_in_order() {
        let r = spec(
            r#"{"devices":[{"allow":true,"type":"c","major":10,"minor":200,"access":"rw"},
                           {"allow":false,"access":"rwm"},
                           {"allow":true,"type":"c","major":10,"access":"rw"},
                           {"allow":false,"type":"c","major":1,"minor":3,"access":"rwm"}]}"#,
        )
        .unwrap();
        assert_eq!(r.device_rules.len(), 2);
        assert_eq!(
            (r.device_rules[0].major, r.device_rules[0].minor),
            (Some(10), None)
        );
        assert!(!r.device_rules[1].allow);
    }

    #[test]
    fn a_hugepage_size_that_is_no_file_name_is_refused() {
        let e = spec(r#"{"hugepageLimits":[{"pageSize":"../../x","limit":1}]}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("bad page size"), "{e}");
        assert!(spec(r#"{"devices":[{"allow":true,"access":"rx"}]}"#).is_err());
    }
}
