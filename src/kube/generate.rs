//! `generate kube`: Kubernetes objects from container records. Several containers become
//! one Pod with several containers (as podman does), named after the first one. Every
//! field comes from the record's typed configuration: the image's own defaults (its
//! environment, working directory, entrypoint and cmd) are left out where Kubernetes
//! would take them from the image anyway.

use super::model::*;
use super::quantity::cpu_text;
use crate::config::{Capability, MountSource, Protocol, RestartPolicy};
use crate::image::config::RunConfig;
use crate::state::ContainerRecord;
use std::collections::BTreeMap;

/// A container's record with the configuration of the image it was created from.
pub struct Source<'a> {
    pub rec: &'a ContainerRecord,
    pub image: &'a RunConfig,
}

/// A name Kubernetes accepts for a pod, container or volume (a DNS-1123 label).
pub fn dns_label(name: &str) -> String {
    let mut s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(63);
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "container".into()
    } else {
        s
    }
}

/// The Pod for `sources` (at least one), and warnings for what cannot be said in it.
pub fn pod(sources: &[Source]) -> (Pod, Vec<String>) {
    let mut warnings = Vec::new();
    let name = format!("{}-pod", dns_label(&sources[0].rec.name));
    let mut volumes: Vec<Volume> = Vec::new();
    let mut containers = Vec::new();
    let mut labels = BTreeMap::from([("app".to_string(), name.clone())]);
    let mut annotations = BTreeMap::new();
    for s in sources {
        let c = container(s, &mut volumes, &mut warnings);
        for (k, v) in &s.rec.config.labels {
            if s.image.labels.get(k) == Some(v) {
                continue;
            }
            if valid_label_value(v) && valid_label_key(k) {
                labels.insert(k.clone(), v.clone());
            } else {
                annotations.insert(k.clone(), v.clone());
            }
        }
        containers.push(c);
    }
    let first = sources[0].rec;
    // kiste's default hostname is the short id: only a chosen one is worth keeping.
    let hostname =
        (first.config.hostname != first.short_id()).then(|| first.config.hostname.clone());
    let restart_policy = sources
        .iter()
        .map(|s| match s.rec.config.host.restart {
            RestartPolicy::No => "Never",
            RestartPolicy::OnFailure { .. } => "OnFailure",
            RestartPolicy::Always | RestartPolicy::UnlessStopped => "Always",
        })
        .min_by_key(|p| match *p {
            "Always" => 0,
            "OnFailure" => 1,
            _ => 2,
        })
        .map(str::to_string);
    let pod = Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: ObjectMeta {
            name,
            labels,
            annotations,
            ..ObjectMeta::default()
        },
        spec: PodSpec {
            containers,
            hostname,
            restart_policy,
            host_network: (first.config.host.network == crate::config::NetworkMode::Host)
                .then_some(true),
            termination_grace_period_seconds: first
                .config
                .stop_timeout
                .and_then(|t| t.duration())
                .map(|d| d.as_secs() as i64),
            volumes,
            ..PodSpec::default()
        },
    };
    (pod, warnings)
}

fn valid_label_key(k: &str) -> bool {
    let name = k.rsplit('/').next().unwrap_or(k);
    !name.is_empty() && valid_label_value(name) && k.matches('/').count() <= 1
}

fn valid_label_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && v.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
        && v.chars().last().is_none_or(|c| c.is_ascii_alphanumeric())
}

fn container(s: &Source, volumes: &mut Vec<Volume>, warnings: &mut Vec<String>) -> Container {
    let cfg = &s.rec.config;
    let host = &cfg.host;
    let image_ep = s.image.entrypoint.clone().unwrap_or_default();
    // Kubernetes' command replaces the image's ENTRYPOINT and args its CMD; a command
    // given alone drops the CMD.
    let (command, args) = if cfg.entrypoint.is_empty() && !image_ep.is_empty() {
        (Some(cfg.cmd.clone()), None)
    } else {
        (
            (!cfg.entrypoint.is_empty()).then(|| cfg.entrypoint.clone()),
            (!cfg.cmd.is_empty()).then(|| cfg.cmd.clone()),
        )
    };
    let env = cfg
        .env
        .iter()
        .filter(|e| !s.image.env.contains(e))
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| EnvVar {
            name: k.to_string(),
            value: Some(v.to_string()),
            value_from: None,
        })
        .collect();
    let ports = host
        .ports
        .iter()
        .map(|p| ContainerPort {
            container_port: p.container_port,
            host_port: (p.host_port != 0).then_some(p.host_port),
            host_ip: p.host_ip.map(|ip| ip.to_string()),
            protocol: Some(
                match p.protocol {
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                }
                .into(),
            ),
            name: None,
        })
        .collect();
    let r = &host.resources;
    let mut limits = BTreeMap::new();
    let mut requests = BTreeMap::new();
    if r.memory > 0 {
        limits.insert("memory".into(), r.memory.to_string().into());
    }
    if r.nano_cpus > 0 {
        limits.insert("cpu".into(), cpu_text(r.nano_cpus).into());
    }
    if r.memory_reservation > 0 {
        requests.insert("memory".into(), r.memory_reservation.to_string().into());
    }
    if r.cpu_shares > 0 {
        // Kubernetes gives a container 1024 shares per requested CPU.
        requests.insert(
            "cpu".into(),
            cpu_text((r.cpu_shares * 1_000_000_000).div_ceil(1024) as i64).into(),
        );
    }
    let resources = (!limits.is_empty() || !requests.is_empty())
        .then_some(ResourceRequirements { limits, requests });
    let volume_mounts = host
        .mounts
        .iter()
        .map(|m| {
            let vname = volume_for(m, volumes);
            VolumeMount {
                name: vname,
                mount_path: m.target.clone(),
                read_only: m.readonly,
                ..VolumeMount::default()
            }
        })
        .collect();
    let caps = |list: &[Capability]| list.iter().map(|c| c.bare_name()).collect::<Vec<_>>();
    let capabilities =
        (!host.cap_add.is_empty() || !host.cap_drop.is_empty()).then(|| Capabilities {
            add: caps(&host.cap_add),
            drop: caps(&host.cap_drop),
        });
    let (run_as_user, run_as_group) = numeric_user(&cfg.user, &s.rec.name, warnings);
    let security = SecurityContext {
        capabilities,
        privileged: host.privileged.then_some(true),
        read_only_root_filesystem: host.read_only.then_some(true),
        run_as_user,
        run_as_group,
        allow_privilege_escalation: host.security.no_new_privileges.then_some(false),
        ..SecurityContext::default()
    };
    Container {
        name: dns_label(&s.rec.name),
        image: Some(cfg.image.clone()),
        command,
        args,
        env,
        ports,
        working_dir: (!cfg.working_dir.is_empty() && cfg.working_dir != s.image.working_dir)
            .then(|| cfg.working_dir.clone()),
        resources,
        volume_mounts,
        security_context: (security != SecurityContext::default()).then_some(security),
        ..Container::default()
    }
}

/// The pod volume a mount uses (added to `volumes` on first use): a bind is a hostPath,
/// a named volume a claim of the same name, a tmpfs an emptyDir in memory.
fn volume_for(m: &crate::config::MountConfig, volumes: &mut Vec<Volume>) -> String {
    let wanted = match &m.source {
        MountSource::Bind { source, .. } => Volume {
            name: format!("{}-host", dns_label(&source.to_string_lossy())),
            host_path: Some(HostPathVolume {
                path: source.to_string_lossy().into_owned(),
                kind: Some(
                    if source.is_file() {
                        "File"
                    } else {
                        "Directory"
                    }
                    .into(),
                ),
            }),
            ..Volume::default()
        },
        MountSource::Volume { name, .. } => Volume {
            name: format!("{}-pvc", dns_label(name)),
            persistent_volume_claim: Some(ClaimVolume {
                claim_name: dns_label(name),
                read_only: false,
            }),
            ..Volume::default()
        },
        MountSource::Tmpfs { options } => Volume {
            name: format!("{}-tmpfs", dns_label(&m.target)),
            empty_dir: Some(EmptyDirVolume {
                medium: Some("Memory".into()),
                size_limit: options
                    .iter()
                    .find_map(|o| o.strip_prefix("size="))
                    .map(|s| s.to_string().into()),
            }),
            ..Volume::default()
        },
    };
    if let Some(same) = volumes.iter().find(|v| {
        v.host_path == wanted.host_path
            && v.persistent_volume_claim == wanted.persistent_volume_claim
            && v.empty_dir.is_none()
            && wanted.empty_dir.is_none()
    }) {
        return same.name.clone();
    }
    // Host paths are numbered as podman numbers them (`tmp-data-host-0`).
    let numbered = wanted.host_path.is_some();
    let candidate = |n: usize| match (numbered, n) {
        (true, n) => format!("{}-{n}", wanted.name),
        (false, 0) => wanted.name.clone(),
        (false, n) => format!("{}-{}", wanted.name, n + 1),
    };
    let mut n = 0;
    while volumes.iter().any(|v| v.name == candidate(n)) {
        n += 1;
    }
    let name = candidate(n);
    volumes.push(Volume {
        name: name.clone(),
        ..wanted
    });
    name
}

/// `--user UID[:GID]` as runAsUser/runAsGroup; a user name cannot be said numerically.
fn numeric_user(user: &str, name: &str, warnings: &mut Vec<String>) -> (Option<u32>, Option<u32>) {
    if user.is_empty() {
        return (None, None);
    }
    let (u, g) = user.split_once(':').unwrap_or((user, ""));
    let uid = u.parse::<u32>().ok();
    let gid = g.parse::<u32>().ok();
    if uid.is_none() || (!g.is_empty() && gid.is_none()) {
        warnings.push(format!(
            "container {name}: user \"{user}\" is not numeric; runAsUser/runAsGroup take numbers only and are left out where a name is given"
        ));
    }
    (uid, gid)
}

/// The Service for `pod`: NodePort when some host port is published (a host port in
/// Kubernetes' node port range is kept as the node port), ClusterIP otherwise.
pub fn service(pod: &Pod) -> Service {
    let mut ports = Vec::new();
    let mut node = false;
    for c in &pod.spec.containers {
        for p in &c.ports {
            let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
            node |= p.host_port.is_some();
            ports.push(ServicePort {
                name: format!("{}-{}", p.container_port, proto.to_ascii_lowercase()),
                port: p.container_port,
                target_port: p.container_port,
                protocol: proto,
                node_port: p.host_port.filter(|h| (30000..=32767).contains(h)),
            });
        }
    }
    Service {
        api_version: "v1".into(),
        kind: "Service".into(),
        metadata: ObjectMeta {
            name: pod.metadata.name.clone(),
            labels: BTreeMap::from([("app".to_string(), pod.metadata.name.clone())]),
            ..ObjectMeta::default()
        },
        spec: ServiceSpec {
            kind: if node { "NodePort" } else { "ClusterIP" }.into(),
            // Without ports, a headless service still names the pod.
            cluster_ip: ports.is_empty().then(|| "None".into()),
            selector: BTreeMap::from([("app".to_string(), pod.metadata.name.clone())]),
            ports,
        },
    }
}
