//! Which keys of a compose file kiste reads, which the Compose specification has but
//! kiste ignores, and which are nobody's: each key that is not read is reported with its
//! path (`services.web.foo`) so `load` can warn (or refuse with `--strict`).

use serde_yaml::Value;

const TOP: &[&str] = &["version", "name", "services", "networks", "volumes"];
const TOP_SPEC: &[&str] = &["configs", "secrets", "include"];

const SERVICE: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "networks",
    "depends_on",
    "healthcheck",
    "restart",
    "user",
    "working_dir",
    "labels",
    "hostname",
    "init",
    "read_only",
    "cap_add",
    "cap_drop",
    "mem_limit",
    "cpus",
    "deploy",
    "profiles",
    "container_name",
    "pids_limit",
];
const SERVICE_SPEC: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "external_links",
    "extends",
    "extra_hosts",
    "group_add",
    "ipc",
    "isolation",
    "links",
    "logging",
    "mac_address",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "network_mode",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "platform",
    "privileged",
    "pull_policy",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "userns_mode",
    "uts",
    "volumes_from",
];
const BUILD: &[&str] = &["context", "dockerfile", "args", "target"];
const BUILD_SPEC: &[&str] = &[
    "additional_contexts",
    "cache_from",
    "cache_to",
    "dockerfile_inline",
    "extra_hosts",
    "isolation",
    "labels",
    "network",
    "no_cache",
    "platforms",
    "privileged",
    "pull",
    "secrets",
    "shm_size",
    "ssh",
    "tags",
    "ulimits",
];
const HEALTH: &[&str] = &[
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "disable",
];
const HEALTH_SPEC: &[&str] = &["start_interval"];
const NETWORK: &[&str] = &["driver", "external", "name", "labels"];
const NETWORK_SPEC: &[&str] = &[
    "driver_opts",
    "attachable",
    "enable_ipv6",
    "ipam",
    "internal",
];
const VOLUME: &[&str] = &["external", "name", "labels"];
const VOLUME_SPEC: &[&str] = &["driver", "driver_opts"];
const DEPLOY: &[&str] = &["resources"];
const DEPLOY_SPEC: &[&str] = &[
    "mode",
    "replicas",
    "endpoint_mode",
    "labels",
    "placement",
    "restart_policy",
    "rollback_config",
    "update_config",
];
const SERVICE_NET: &[&str] = &["aliases"];
const SERVICE_NET_SPEC: &[&str] = &[
    "ipv4_address",
    "ipv6_address",
    "link_local_ips",
    "priority",
    "mac_address",
];
const DEPENDS: &[&str] = &["condition"];
const DEPENDS_SPEC: &[&str] = &["restart", "required"];

/// A key kiste does not read: its path, and whether the Compose specification has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unread {
    pub path: Vec<String>,
    pub in_spec: bool,
}

/// Every key of `doc` that kiste does not read.
pub fn unread(doc: &Value) -> Vec<Unread> {
    let mut out = Vec::new();
    check(doc, &[], TOP, TOP_SPEC, &mut out);
    for (section, known, spec) in [
        ("networks", NETWORK, NETWORK_SPEC),
        ("volumes", VOLUME, VOLUME_SPEC),
    ] {
        for (name, def) in entries(doc.get(section)) {
            check(def, &[section, &name], known, spec, &mut out);
        }
    }
    for (name, svc) in entries(doc.get("services")) {
        let at = ["services", name.as_str()];
        check(svc, &at, SERVICE, SERVICE_SPEC, &mut out);
        let sub = |k: &str| svc.get(k).filter(|v| v.is_mapping());
        if let Some(b) = sub("build") {
            check(
                b,
                &[&at[..], &["build"]].concat(),
                BUILD,
                BUILD_SPEC,
                &mut out,
            );
        }
        if let Some(h) = sub("healthcheck") {
            check(
                h,
                &[&at[..], &["healthcheck"]].concat(),
                HEALTH,
                HEALTH_SPEC,
                &mut out,
            );
        }
        if let Some(d) = sub("deploy") {
            check(
                d,
                &[&at[..], &["deploy"]].concat(),
                DEPLOY,
                DEPLOY_SPEC,
                &mut out,
            );
            if let Some(r) = d.get("resources").filter(|v| v.is_mapping()) {
                let p = [&at[..], &["deploy", "resources"]].concat();
                check(r, &p, &["limits"], &["reservations"], &mut out);
                if let Some(l) = r.get("limits").filter(|v| v.is_mapping()) {
                    let p = [&p[..], &["limits"]].concat();
                    check(l, &p, &["memory", "cpus", "pids"], &["devices"], &mut out);
                }
            }
        }
        for (net, def) in entries(sub("networks")) {
            let p = [&at[..], &["networks", net.as_str()]].concat();
            check(def, &p, SERVICE_NET, SERVICE_NET_SPEC, &mut out);
        }
        for (dep, def) in entries(sub("depends_on")) {
            let p = [&at[..], &["depends_on", dep.as_str()]].concat();
            check(def, &p, DEPENDS, DEPENDS_SPEC, &mut out);
        }
    }
    out
}

fn entries(v: Option<&Value>) -> Vec<(String, &Value)> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (super::merge::scalar_string(k).unwrap_or_default(), v))
                .collect()
        })
        .unwrap_or_default()
}

fn check(v: &Value, at: &[&str], known: &[&str], spec: &[&str], out: &mut Vec<Unread>) {
    let Some(m) = v.as_mapping() else { return };
    for k in m.keys() {
        let k = super::merge::scalar_string(k).unwrap_or_default();
        // Extension fields (x-…) are for the user, as in compose.
        if known.contains(&k.as_str()) || k.starts_with("x-") {
            continue;
        }
        let mut path: Vec<String> = at.iter().map(|s| s.to_string()).collect();
        path.push(k.clone());
        out.push(Unread {
            path,
            in_spec: spec.contains(&k.as_str()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unsupported_keys_are_reported_with_their_paths() {
        let doc: Value = serde_yaml::from_str(
            "services:\n  web:\n    image: a\n    imgae: b\n    dns: [1.1.1.1]\n    x-mine: 1\n    healthcheck:\n      tst: x\nfoo: 1\n",
        )
        .unwrap();
        let got: Vec<(String, bool)> = unread(&doc)
            .into_iter()
            .map(|u| (u.path.join("."), u.in_spec))
            .collect();
        assert!(got.contains(&("foo".into(), false)));
        assert!(got.contains(&("services.web.imgae".into(), false)));
        assert!(got.contains(&("services.web.dns".into(), true)));
        assert!(got.contains(&("services.web.healthcheck.tst".into(), false)));
        assert_eq!(got.len(), 4);
    }
}
