//! cgroup v2: one directory in the unified hierarchy. Controllers are enabled in every
//! ancestor's `cgroup.subtree_control` below the root, limits use v2 file names and
//! units, and the device allowlist is an eBPF program attached to the directory.

use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::resources::{CgroupSpec, DeviceRate, Resources};
use super::{bpf, relative_path, write_file, CgroupError};

const WANTED: &[&str] = &["cpuset", "cpu", "io", "memory", "pids", "hugetlb"];

/// Creates `<base>/<parent>/<name>` (base: the hierarchy's root, or rootless the user's
/// delegated subtree) with the limits, and the device program when `device_filter`.
pub(crate) fn create(
    base: &Path,
    spec: &CgroupSpec,
    device_filter: bool,
) -> Result<(PathBuf, Option<OwnedFd>), CgroupError> {
    let rel = relative_path(spec);
    let mut cur = base.to_path_buf();
    for comp in rel.components() {
        enable_controllers(&cur)?;
        cur.push(comp);
        match fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(CgroupError::io("create cgroup", &cur, e)),
        }
    }
    apply(&cur, &spec.resources)?;
    let prog = if spec.allow_all_devices || !device_filter {
        None
    } else {
        Some(bpf::attach_device_filter(
            &cur,
            &super::device_rules(&spec.devices, &spec.resources.device_rules),
        )?)
    };
    Ok((cur, prog))
}

/// Changes the limits of an existing cgroup, as `create` writes them (v2 has no order
/// between memory.max and memory.swap.max: the swap file counts swap alone).
pub(crate) fn update(dir: &Path, r: &Resources) -> Result<(), CgroupError> {
    apply(
        dir,
        &Resources {
            oom_kill_disable: false,
            ..r.clone()
        },
    )
}

/// Turns on the controllers kiste needs (those the parent offers) for `dir`'s children.
fn enable_controllers(dir: &Path) -> Result<(), CgroupError> {
    let avail = fs::read_to_string(dir.join("cgroup.controllers"))
        .map_err(|e| CgroupError::io("read", &dir.join("cgroup.controllers"), e))?;
    let enabled = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    let missing: Vec<String> = avail
        .split_whitespace()
        .filter(|c| WANTED.contains(c) && !enabled.split_whitespace().any(|e| e == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    write_file(dir, "cgroup.subtree_control", &missing.join(" "))
}

fn need(dir: &Path, file: &str, what: &str) -> Result<(), CgroupError> {
    if dir.join(file).exists() {
        Ok(())
    } else {
        Err(CgroupError::NotDelegated {
            what: what.to_string(),
            file: file.to_string(),
            dir: dir.to_path_buf(),
        })
    }
}

/// docker's conversion of cpu shares (2..262144) to cpu.weight (1..10000).
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142
}

fn apply(dir: &Path, r: &Resources) -> Result<(), CgroupError> {
    if let Some(m) = r.memory.filter(|m| *m != 0) {
        need(dir, "memory.max", "--memory")?;
        let v = if m < 0 { "max".into() } else { m.to_string() };
        write_file(dir, "memory.max", &v)?;
    }
    if let Some(s) = r.memory_swap.filter(|s| *s != 0) {
        if !dir.join("memory.swap.max").exists() {
            return Err(CgroupError::Unsupported {
                what: "--memory-swap".into(),
                reason: "swap accounting is disabled in this kernel (no memory.swap.max)",
            });
        }
        let v = match (s, r.memory) {
            (-1, _) => "max".to_string(),
            (s, Some(m)) if m > 0 => (s - m).max(0).to_string(),
            (s, _) => s.to_string(),
        };
        write_file(dir, "memory.swap.max", &v)?;
    } else if let Some(m) = r.memory.filter(|m| *m > 0) {
        // docker: without --memory-swap the container may use as much swap as memory.
        if dir.join("memory.swap.max").exists() {
            write_file(dir, "memory.swap.max", &m.to_string())?;
        }
    }
    if let Some(res) = r.memory_reservation.filter(|v| *v > 0) {
        need(dir, "memory.low", "--memory-reservation")?;
        write_file(dir, "memory.low", &res.to_string())?;
    }
    if r.oom_kill_disable {
        // v2 has no switch to disable the OOM killer; the closest is to not kill the
        // whole group. Say so instead of pretending.
        return Err(CgroupError::Unsupported {
            what: "--oom-kill-disable".into(),
            reason: "cgroup v2 has no way to disable the OOM killer",
        });
    }
    if r.memory.is_some_and(|m| m > 0) && dir.join("memory.oom.group").exists() {
        write_file(dir, "memory.oom.group", "1")?;
    }
    if let Some(cpus) = r.cpus {
        need(dir, "cpu.max", "--cpus")?;
        let period: u64 = 100_000;
        let quota = (cpus * period as f64).round() as u64;
        write_file(dir, "cpu.max", &format!("{quota} {period}"))?;
    } else if r.cpu_period.is_some() || r.cpu_quota.is_some() {
        need(dir, "cpu.max", "--cpu-period/--cpu-quota")?;
        // As runc: "max" without a positive quota; the period only when given.
        let mut v = match r.cpu_quota.filter(|q| *q > 0) {
            Some(q) => q.to_string(),
            None => "max".to_string(),
        };
        if let Some(p) = r.cpu_period {
            v.push_str(&format!(" {p}"));
        }
        write_file(dir, "cpu.max", &v)?;
    }
    if r.cpu_rt_period.is_some() || r.cpu_rt_runtime.is_some() {
        return Err(CgroupError::Unsupported {
            what: "--cpu-rt-period/--cpu-rt-runtime".into(),
            reason: "cgroup v2 has no real-time CPU bandwidth",
        });
    }
    if r.memory_swappiness.is_some() {
        return Err(CgroupError::Unsupported {
            what: "memory swappiness".into(),
            reason: "cgroup v2 has no memory.swappiness",
        });
    }
    if let Some(set) = &r.cpuset_mems {
        need(dir, "cpuset.mems", "--cpuset-mems")?;
        write_file(dir, "cpuset.mems", set)?;
    }
    for h in &r.hugepage_limits {
        let file = format!("hugetlb.{}.max", h.page_size);
        need(dir, &file, &format!("the {} hugepage limit", h.page_size))?;
        write_file(dir, &file, &h.limit.to_string())?;
    }
    if let Some(shares) = r.cpu_shares.filter(|s| *s > 0) {
        need(dir, "cpu.weight", "--cpu-shares")?;
        write_file(dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
    }
    if let Some(set) = &r.cpuset_cpus {
        need(dir, "cpuset.cpus", "--cpuset-cpus")?;
        write_file(dir, "cpuset.cpus", set)?;
    }
    if let Some(p) = r.pids_limit {
        need(dir, "pids.max", "--pids-limit")?;
        let v = if p <= 0 {
            "max".to_string()
        } else {
            p.to_string()
        };
        write_file(dir, "pids.max", &v)?;
    }
    let weight_file = |what: &str| {
        ["io.bfq.weight", "io.weight"]
            .into_iter()
            .find(|f| dir.join(f).exists())
            .ok_or_else(|| CgroupError::Unsupported {
                what: what.into(),
                reason: "neither io.weight nor io.bfq.weight exists",
            })
    };
    // io.weight is 1..10000 with default 100; blkio weight is 10..1000 with default 500.
    let scaled = |file: &str, w: u16| {
        if file == "io.weight" {
            (1 + (w as u64 - 10) * 9999 / 990).max(1)
        } else {
            w as u64
        }
    };
    if let Some(w) = r.blkio_weight.filter(|w| *w > 0) {
        let file = weight_file("--blkio-weight")?;
        let v = if file == "io.weight" {
            format!("default {}", scaled(file, w))
        } else {
            w.to_string()
        };
        write_file(dir, file, &v)?;
    }
    for d in &r.blkio_weight_device {
        let file = weight_file("--blkio-weight-device")?;
        let line = format!("{}:{} {}", d.major, d.minor, scaled(file, d.weight));
        write_file(dir, file, &line)?;
    }
    for line in io_max_lines(r) {
        need(dir, "io.max", "block I/O throttling")?;
        write_file(dir, "io.max", &line)?;
    }
    Ok(())
}

/// One "MAJ:MIN rbps=.. wbps=.. riops=.. wiops=.." line per device.
fn io_max_lines(r: &Resources) -> Vec<String> {
    let mut devs: Vec<(u32, u32)> = Vec::new();
    let all: [(&[DeviceRate], &str); 4] = [
        (&r.device_read_bps, "rbps"),
        (&r.device_write_bps, "wbps"),
        (&r.device_read_iops, "riops"),
        (&r.device_write_iops, "wiops"),
    ];
    for (rates, _) in &all {
        for d in rates.iter() {
            if !devs.contains(&(d.major, d.minor)) {
                devs.push((d.major, d.minor));
            }
        }
    }
    devs.into_iter()
        .map(|(maj, min)| {
            let mut line = format!("{maj}:{min}");
            for (rates, key) in &all {
                if let Some(d) = rates.iter().find(|d| d.major == maj && d.minor == min) {
                    line.push_str(&format!(" {key}={}", d.rate));
                }
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_convert_like_docker() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
    }

    #[test]
    fn io_max_groups_rates_per_device() {
        let r = Resources {
            device_write_bps: vec![DeviceRate {
                major: 7,
                minor: 0,
                rate: 1 << 20,
            }],
            device_read_iops: vec![DeviceRate {
                major: 7,
                minor: 0,
                rate: 100,
            }],
            ..Default::default()
        };
        assert_eq!(
            io_max_lines(&r),
            vec!["7:0 wbps=1048576 riops=100".to_string()]
        );
    }
}
