//! Rootless kiste cannot apply cgroup limits here: on cgroup v1 the hierarchies belong
//! to root, and kiste does not yet use a delegated v2 subtree. A limit flag is therefore
//! refused with the reason instead of being silently ignored.

use crate::config::Resources;

/// The limit flags set in `r`, by their docker names.
pub(crate) fn limit_flags(r: &Resources) -> Vec<&'static str> {
    [
        ("--memory", r.memory > 0),
        ("--memory-swap", r.memory_swap > 0),
        ("--memory-reservation", r.memory_reservation > 0),
        ("--oom-kill-disable", r.oom_kill_disable),
        ("--cpus", r.nano_cpus > 0),
        ("--cpu-shares", r.cpu_shares > 0),
        ("--cpuset-cpus", !r.cpuset_cpus.is_empty()),
        ("--pids-limit", r.pids_limit > 0),
        ("--blkio-weight", r.blkio_weight > 0),
        ("--device-read-bps", !r.device_read_bps.is_empty()),
        ("--device-write-bps", !r.device_write_bps.is_empty()),
        ("--device-read-iops", !r.device_read_iops.is_empty()),
        ("--device-write-iops", !r.device_write_iops.is_empty()),
    ]
    .into_iter()
    .filter_map(|(flag, set)| set.then_some(flag))
    .collect()
}

/// Why the limits in `r` cannot apply to a rootless container, None when none is set.
pub(crate) fn refusal(r: &Resources) -> Option<String> {
    let flags = limit_flags(r);
    if flags.is_empty() {
        return None;
    }
    let why = match crate::cgroups::detect() {
        crate::cgroups::CgroupLayout::V1 => {
            "this host uses cgroup v1, whose controllers only root may configure; boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or run kiste as root"
        }
        crate::cgroups::CgroupLayout::V2 => {
            "rootless kiste does not apply limits in a delegated cgroup v2 subtree yet; run kiste as root"
        }
    };
    Some(format!(
        "{} cannot be applied to a rootless container: {why}",
        flags.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_limits_that_are_set_are_named() {
        let mut r = Resources {
            pids_limit: -1,
            memory_swap: -1,
            ..Resources::default()
        };
        assert!(refusal(&r).is_none());
        r.memory = 64 << 20;
        r.nano_cpus = 500_000_000;
        assert_eq!(limit_flags(&r), ["--memory", "--cpus"]);
        assert!(refusal(&r)
            .unwrap()
            .starts_with("--memory, --cpus cannot be applied"));
    }
}
