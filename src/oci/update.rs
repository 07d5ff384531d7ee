//! `kiste oci update [--resources FILE|-] [--memory …] [--pids-limit …] … ID`: new limits
//! for a container's cgroup, written by kiste's cgroup writer (`cgroups::update`, the
//! one `kiste update` uses). The resources come from the spec's `linux.resources` JSON
//! (a file, or stdin for "-", as containerd passes them), with runc's flags laid over.
//! A limit kiste's cgroups cannot express is refused by name, never dropped.

use std::io::Read;

use oci_spec::runtime::LinuxResources;

use crate::cgroups::Resources;
use crate::cli::oci::OciUpdateArgs;
use crate::config::parse_size;

use super::state::{cgroup_spec, StateRoot, Status};
use super::OciError;

/// The CFS period kiste writes with a quota (`cgroups` takes CPUs, not a period).
const CFS_PERIOD: u64 = 100_000;

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> OciError {
    OciError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

fn unsupported(what: &str) -> OciError {
    invalid(
        format!("cannot update {what}"),
        "kiste's cgroups do not write this limit",
    )
}

/// CPUs from a CFS quota and period (a quota ≤ 0 means no limit).
fn cpus_of(quota: i64, period: Option<u64>) -> Result<Option<f64>, OciError> {
    if quota <= 0 {
        return Ok(None);
    }
    let period = period.unwrap_or(CFS_PERIOD);
    if period == 0 {
        return Err(invalid("cpu period", "must be greater than 0"));
    }
    Ok(Some(quota as f64 / period as f64))
}

/// kiste's resources for the spec's `linux.resources`.
pub fn from_spec(r: &LinuxResources) -> Result<Resources, OciError> {
    let mut out = Resources::default();
    if let Some(m) = r.memory() {
        out.memory = m.limit();
        out.memory_reservation = m.reservation();
        out.memory_swap = m.swap();
        out.oom_kill_disable = m.disable_oom_killer().unwrap_or(false);
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            return Err(unsupported("kernel memory"));
        }
    }
    if let Some(c) = r.cpu() {
        out.cpu_shares = c.shares();
        if let Some(q) = c.quota() {
            out.cpus = cpus_of(q, c.period())?;
        }
        out.cpuset_cpus = c.cpus().clone().filter(|s| !s.is_empty());
        if c.mems().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(unsupported("cpuset mems"));
        }
        if c.realtime_runtime().is_some() || c.realtime_period().is_some() {
            return Err(unsupported("realtime cpu"));
        }
    }
    if let Some(p) = r.pids() {
        out.pids_limit = Some(p.limit());
    }
    if let Some(b) = r.block_io() {
        out.blkio_weight = b.weight();
    }
    Ok(out)
}

/// The resources to write: `--resources` (a file or "-"), then each flag over it.
pub fn requested(args: &OciUpdateArgs) -> Result<Resources, OciError> {
    let mut out = match &args.resources {
        Some(path) => {
            let mut text = Vec::new();
            let read = if path.as_os_str() == "-" {
                std::io::stdin().read_to_end(&mut text).map(drop)
            } else {
                std::fs::read(path).map(|t| text = t)
            };
            read.map_err(|e| OciError::io(format!("cannot read {}", path.display()), e))?;
            let spec: LinuxResources = serde_json::from_slice(&text)
                .map_err(|e| invalid(format!("resources {}", path.display()), e.to_string()))?;
            from_spec(&spec)?
        }
        None => Resources::default(),
    };
    let size = |flag: &'static str, v: &Option<String>| -> Result<Option<i64>, OciError> {
        v.as_deref()
            .map(|s| parse_size(flag, s).map_err(|e| invalid(flag, e.to_string())))
            .transpose()
    };
    if let Some(m) = size("--memory", &args.memory)? {
        out.memory = Some(m);
    }
    if let Some(m) = size("--memory-reservation", &args.memory_reservation)? {
        out.memory_reservation = Some(m);
    }
    if let Some(m) = size("--memory-swap", &args.memory_swap)? {
        out.memory_swap = Some(m);
    }
    if let Some(s) = args.cpu_shares {
        out.cpu_shares = Some(s);
    }
    if let Some(q) = args.cpu_quota {
        out.cpus = cpus_of(q, args.cpu_period)?;
    } else if args.cpu_period.is_some() {
        return Err(invalid(
            "--cpu-period",
            "kiste sets the period with --cpu-quota",
        ));
    }
    if let Some(c) = &args.cpuset_cpus {
        out.cpuset_cpus = Some(c.clone());
    }
    if args.cpuset_mems.is_some() {
        return Err(unsupported("--cpuset-mems"));
    }
    if let Some(p) = args.pids_limit {
        out.pids_limit = Some(p);
    }
    if let Some(w) = args.blkio_weight {
        out.blkio_weight = Some(w);
    }
    Ok(out)
}

pub fn update(root: &StateRoot, args: &OciUpdateArgs) -> Result<i32, OciError> {
    let resources = requested(args)?;
    let _lock = root.lock(&args.id)?;
    let rec = root.load(&args.id)?;
    if rec.status(root) == Status::Stopped {
        return Err(invalid(
            format!("container {}", args.id),
            "container not running",
        ));
    }
    let Some(path) = &rec.cgroup else {
        return Err(invalid(
            format!("container {}", args.id),
            "it has no cgroup of its own",
        ));
    };
    let mut spec = cgroup_spec(path);
    spec.resources = resources;
    crate::cgroups::update(&spec).map_err(|e| {
        invalid(
            format!("cannot update container {}", args.id),
            e.to_string(),
        )
    })?;
    Ok(0)
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
            r#"{"memory":{"limit":33554432,"reservation":1048576},
                "cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"0"},
                "pids":{"limit":64},"blockIO":{"weight":300}}"#,
        )
        .unwrap();
        assert_eq!(r.memory, Some(33_554_432));
        assert_eq!(r.memory_reservation, Some(1_048_576));
        assert_eq!(r.cpu_shares, Some(512));
        assert_eq!(r.cpus, Some(0.5));
        assert_eq!(r.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(r.pids_limit, Some(64));
        assert_eq!(r.blkio_weight, Some(300));
    }

    #[test]
    fn limits_kiste_cannot_write_are_refused_by_name() {
        let e = spec(r#"{"cpu":{"mems":"0"}}"#).err().unwrap().to_string();
        assert!(e.contains("cpuset mems"), "{e}");
        let e = spec(r#"{"memory":{"kernel":1}}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("kernel memory"), "{e}");
    }

    #[test]
    fn a_quota_without_a_period_uses_the_cfs_default() {
        assert_eq!(cpus_of(150_000, None).unwrap(), Some(1.5));
        assert_eq!(cpus_of(-1, None).unwrap(), None);
        assert!(cpus_of(1, Some(0)).is_err());
    }
}
