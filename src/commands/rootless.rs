//! Which limits a rootless container can have. On cgroup v2 they apply in the subtree
//! root delegated to the user (see `cgroups::delegated`), as far as the controllers it
//! was given reach; on cgroup v1, or without a delegated subtree, there is no cgroup the
//! user may configure. A limit that cannot apply is refused with the reason, never
//! silently ignored.

use crate::cgroups::{delegated, CgroupLayout};
use crate::config::Resources;
use std::path::Path;

/// The limit flags set in `r`, by their docker names, with the v2 controller each needs.
pub(crate) fn limit_flags(r: &Resources) -> Vec<(&'static str, &'static str)> {
    [
        ("--memory", "memory", r.memory > 0),
        ("--memory-swap", "memory", r.memory_swap > 0),
        ("--memory-reservation", "memory", r.memory_reservation > 0),
        ("--oom-kill-disable", "memory", r.oom_kill_disable),
        ("--cpus", "cpu", r.nano_cpus > 0),
        ("--cpu-shares", "cpu", r.cpu_shares > 0),
        ("--cpuset-cpus", "cpuset", !r.cpuset_cpus.is_empty()),
        ("--pids-limit", "pids", r.pids_limit > 0),
        ("--blkio-weight", "io", r.blkio_weight > 0),
        ("--device-read-bps", "io", !r.device_read_bps.is_empty()),
        ("--device-write-bps", "io", !r.device_write_bps.is_empty()),
        ("--device-read-iops", "io", !r.device_read_iops.is_empty()),
        ("--device-write-iops", "io", !r.device_write_iops.is_empty()),
        ("--cpu-period", "cpu", r.cpu_period > 0),
        ("--cpu-quota", "cpu", r.cpu_quota > 0),
        ("--cpu-rt-period", "cpu", r.cpu_realtime_period > 0),
        ("--cpu-rt-runtime", "cpu", r.cpu_realtime_runtime > 0),
        ("--cpuset-mems", "cpuset", !r.cpuset_mems.is_empty()),
        (
            "--memory-swappiness",
            "memory",
            r.memory_swappiness.is_some(),
        ),
        (
            "--blkio-weight-device",
            "io",
            !r.blkio_weight_device.is_empty(),
        ),
        (
            "--device-cgroup-rule",
            "devices",
            !r.device_cgroup_rules.is_empty(),
        ),
    ]
    .into_iter()
    .filter_map(|(flag, controller, set)| set.then_some((flag, controller)))
    .collect()
}

/// Why the limits in `r` cannot apply to a rootless container, None when they can (or
/// none is set).
pub(crate) fn refusal(r: &Resources) -> Option<String> {
    let flags = limit_flags(r);
    if flags.is_empty() {
        return None;
    }
    let subtree = match crate::cgroups::detect() {
        CgroupLayout::V1 => None,
        CgroupLayout::V2 => delegated::subtree(),
    };
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    refusal_in(crate::cgroups::detect(), subtree, &own, &flags)
}

fn refusal_in(
    layout: CgroupLayout,
    subtree: Option<&Path>,
    own_cgroup: &str,
    flags: &[(&'static str, &'static str)],
) -> Option<String> {
    let names = |fl: &[&(&str, &str)]| fl.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ");
    let all: Vec<&(&str, &str)> = flags.iter().collect();
    let why = match (layout, subtree) {
        (CgroupLayout::V1, _) => "this host uses cgroup v1, whose controllers only root may configure; boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or run kiste as root".to_string(),
        (CgroupLayout::V2, None) => {
            let current = delegated::current(Path::new(crate::cgroups::CGROUP_ROOT), own_cgroup)
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "(unknown)".into());
            format!("no delegated cgroup v2 subtree: your cgroup {current} and its parents are not yours; run kiste inside a cgroup delegated to you (systemd: a user session's user@UID.service, e.g. systemd-run --user --scope kiste ...; by hand: root chowns a cgroup directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads to you) or run kiste as root")
        }
        (CgroupLayout::V2, Some(dir)) => {
            let given = delegated::controllers(dir);
            let missing: Vec<&(&str, &str)> = flags
                .iter()
                .filter(|(_, c)| !given.iter().any(|g| g == c))
                .collect();
            if missing.is_empty() {
                return None;
            }
            let controllers: Vec<&str> = missing.iter().fold(Vec::new(), |mut v, (_, c)| {
                if !v.contains(c) {
                    v.push(*c);
                }
                v
            });
            return Some(format!(
                "{} cannot be applied to a rootless container: the {} controller{} not delegated to your cgroup subtree {} (it has: {}); ask root to delegate {} (systemd: Delegate={} in user@.service)",
                names(&missing),
                controllers.join(", "),
                if controllers.len() > 1 { "s are" } else { " is" },
                dir.display(),
                if given.is_empty() { "none".to_string() } else { given.join(" ") },
                if controllers.len() > 1 { "them" } else { "it" },
                controllers.join(" "),
            ));
        }
    };
    Some(format!(
        "{} cannot be applied to a rootless container: {why}",
        names(&all)
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
        assert_eq!(limit_flags(&r), [("--memory", "memory"), ("--cpus", "cpu")]);
        let flags = limit_flags(&r);
        let v1 = refusal_in(CgroupLayout::V1, None, "", &flags).unwrap();
        assert!(v1.starts_with(
            "--memory, --cpus cannot be applied to a rootless container: this host uses cgroup v1"
        ));
    }

    #[test]
    fn without_a_delegated_subtree_the_message_names_the_current_cgroup() {
        let flags = [("--memory", "memory")];
        let why = refusal_in(
            CgroupLayout::V2,
            None,
            "0::/user.slice/session-3.scope\n",
            &flags,
        )
        .unwrap();
        assert!(why.contains("no delegated cgroup v2 subtree"), "{why}");
        assert!(
            why.contains("/sys/fs/cgroup/user.slice/session-3.scope"),
            "{why}"
        );
    }

    #[test]
    fn a_controller_that_was_not_delegated_is_named_and_the_others_pass() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.controllers"), "memory pids\n").unwrap();
        let ok = [("--memory", "memory"), ("--pids-limit", "pids")];
        assert!(refusal_in(CgroupLayout::V2, Some(dir.path()), "", &ok).is_none());
        let flags = [
            ("--memory", "memory"),
            ("--cpus", "cpu"),
            ("--cpu-shares", "cpu"),
        ];
        let why = refusal_in(CgroupLayout::V2, Some(dir.path()), "", &flags).unwrap();
        assert!(
            why.starts_with("--cpus, --cpu-shares cannot be applied to a rootless container: the cpu controller is not delegated"),
            "{why}"
        );
        assert!(why.contains("(it has: memory pids)"), "{why}");
        assert!(why.contains("Delegate=cpu"), "{why}");
    }
}
