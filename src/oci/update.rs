//! `kiste oci update [--resources FILE|-] [--memory …] [--pids-limit …] … ID` (runc 1.1's
//! flags, `--cpu-rt-period`/`--cpu-rt-runtime` on v1 and the RDT schemas too): new limits
//! for a container's cgroup, written by kiste's cgroup writer (`cgroups::update`, the
//! one `kiste update` uses). The resources come from the spec's `linux.resources` JSON
//! (a file, or stdin for "-", as containerd passes them; translated by
//! `super::resources::from_spec`, which `create` uses too), with runc's flags laid over.

use std::io::Read;

use crate::cgroups::Resources;
use crate::cli::oci::OciUpdateArgs;
use crate::config::parse_size;

use super::state::{cgroup_spec, StateRoot, Status};
use super::OciError;

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> OciError {
    OciError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
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
            let spec: super::spec::Resources = serde_json::from_slice(&text)
                .map_err(|e| invalid(format!("resources {}", path.display()), e.to_string()))?;
            super::resources::from_spec(&spec)?
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
        out.cpu_quota = Some(q);
    }
    if let Some(p) = args.cpu_period {
        out.cpu_period = Some(p);
    }
    if let Some(c) = &args.cpuset_cpus {
        out.cpuset_cpus = Some(c.clone());
    }
    if let Some(m) = &args.cpuset_mems {
        out.cpuset_mems = Some(m.clone());
    }
    if let Some(p) = args.pids_limit {
        out.pids_limit = Some(p);
    }
    if let Some(w) = args.blkio_weight {
        out.blkio_weight = Some(w);
    }
    if let Some(p) = args.cpu_rt_period {
        out.cpu_rt_period = Some(p);
    }
    if let Some(r) = args.cpu_rt_runtime {
        out.cpu_rt_runtime = Some(r);
    }
    rdt(args)?;
    Ok(out)
}

/// `--l3-cache-schema` and `--mem-bw-schema`: runc's refusal where resctrl lacks the
/// allocation (its messages); where it has it, kiste makes no RDT group to write into.
fn rdt(args: &OciUpdateArgs) -> Result<(), OciError> {
    let info = std::path::Path::new("/sys/fs/resctrl/info");
    for (schema, dir, what, reason) in [
        (
            &args.l3_cache_schema,
            "L3",
            "Intel RDT/CAT",
            "l3 cache schema is not enabled",
        ),
        (
            &args.mem_bw_schema,
            "MB",
            "Intel RDT/MBA",
            "memory bandwidth schema is not enabled",
        ),
    ] {
        if schema.is_none() {
            continue;
        }
        if !info.join(dir).is_dir() {
            return Err(invalid(what, reason));
        }
        return Err(invalid(
            format!("container {}", args.id),
            "it has no Intel RDT group (kiste creates none)",
        ));
    }
    Ok(())
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
