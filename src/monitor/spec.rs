//! From a container record to the runtime's `ContainerSpec`. The record's host config is
//! already typed and checked (`config`, at create), so this only converts: namespaces by
//! mode, the capability set, seccomp, devices, rlimits and cgroup resources. What can
//! still fail here is about the host now, not the user's input: a container whose
//! namespace is to be joined has stopped, or the /etc files cannot be written.

use crate::config::{
    Capability, DeviceMapping, DeviceRate, NamespaceMode, NetworkMode, SeccompMode, UsernsMode,
};
use crate::paths::Paths;
use crate::runtime::{
    self, CgroupSpec, ContainerSpec, Device, IdMap, Mount, MountKind, Namespaces, NsMode,
    Resources, Rlimit, Seccomp, Security, Stdio, UserNsMaps,
};
use crate::state::{ContainerRecord, ContainerStore, HostConfig, StateError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot join the {kind} namespace of container {container}: {reason}")]
    Join {
        kind: &'static str,
        container: String,
        reason: String,
    },
    #[error("cannot read the container store to join a namespace: {0}")]
    Store(#[source] StateError),
    #[error("cannot prepare the mounts of the container: {0}")]
    Volume(#[source] crate::volume::VolumeError),
    #[error("cannot write {path} for the container: {source}")]
    EtcFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the host-side settings resolve to at start.
pub struct Resolved {
    pub namespaces: Namespaces,
    pub security: Security,
    pub devices: Vec<Device>,
    pub rlimits: Vec<Rlimit>,
    pub resources: Resources,
    /// Capabilities --privileged could not give (absent from the host's bounding set).
    pub missing_caps: Vec<String>,
}

pub fn resolve_host(paths: &Paths, host: &HostConfig) -> Result<Resolved, SpecError> {
    let namespaces = Namespaces {
        pid: ns(paths, &host.pid, "pid")?,
        net: match host.network {
            _ if host.network_container.is_some() => ns(
                paths,
                &NamespaceMode::Container(host.network_container.clone().unwrap_or_default()),
                "net",
            )?,
            NetworkMode::Host => NsMode::Host,
            // The bridge's namespace is made by the monitor, which sets its path at spawn.
            NetworkMode::Private | NetworkMode::None | NetworkMode::Bridge => NsMode::Private,
        },
        ipc: ns(paths, &host.ipc, "ipc")?,
        uts: ns(paths, &host.uts, "uts")?,
        mnt: NsMode::Private,
        cgroup: match host.run_extra.cgroupns {
            crate::config::CgroupnsMode::Private => NsMode::Private,
            crate::config::CgroupnsMode::Host => NsMode::Host,
        },
        user: userns(&host.userns),
    };
    let (security, missing_caps) = security(host);
    let resources = cgroup_resources(&host.resources);
    Ok(Resolved {
        namespaces,
        security,
        devices: host.devices.iter().map(device).collect(),
        rlimits: rlimits(host),
        resources,
        missing_caps,
    })
}

/// The record's limits as the cgroup takes them (0, docker's "unset", becomes None).
pub fn cgroup_resources(r: &crate::config::Resources) -> Resources {
    Resources {
        memory: (r.memory > 0).then_some(r.memory),
        memory_swap: (r.memory_swap != 0).then_some(r.memory_swap),
        memory_reservation: (r.memory_reservation > 0).then_some(r.memory_reservation),
        oom_kill_disable: r.oom_kill_disable,
        cpus: (r.nano_cpus > 0).then(|| r.nano_cpus as f64 / 1e9),
        cpu_shares: (r.cpu_shares > 0).then_some(r.cpu_shares),
        cpuset_cpus: (!r.cpuset_cpus.is_empty()).then(|| r.cpuset_cpus.clone()),
        pids_limit: (r.pids_limit != 0).then_some(r.pids_limit),
        blkio_weight: (r.blkio_weight > 0).then_some(r.blkio_weight),
        device_read_bps: rates(&r.device_read_bps),
        device_write_bps: rates(&r.device_write_bps),
        device_read_iops: rates(&r.device_read_iops),
        device_write_iops: rates(&r.device_write_iops),
        cpu_period: (r.cpu_period > 0).then_some(r.cpu_period as u64),
        cpu_quota: (r.cpu_quota != 0).then_some(r.cpu_quota),
        cpu_rt_period: (r.cpu_realtime_period > 0).then_some(r.cpu_realtime_period as u64),
        cpu_rt_runtime: (r.cpu_realtime_runtime != 0).then_some(r.cpu_realtime_runtime),
        cpuset_mems: (!r.cpuset_mems.is_empty()).then(|| r.cpuset_mems.clone()),
        memory_swappiness: r.memory_swappiness.map(|s| s as u64),
        device_rules: r
            .device_cgroup_rules
            .iter()
            .map(|d| crate::cgroups::DeviceRule {
                allow: true,
                kind: d.kind,
                major: d.major,
                minor: d.minor,
                access: d.access.clone(),
            })
            .collect(),
        blkio_weight_device: r
            .blkio_weight_device
            .iter()
            .filter(|w| w.weight > 0)
            .map(|w| crate::cgroups::WeightDevice {
                major: w.major,
                minor: w.minor,
                weight: w.weight,
            })
            .collect(),
        hugepage_limits: Vec::new(),
    }
}

/// The container's rlimits (`--ulimit`), as the runtime takes them.
pub fn rlimits(host: &HostConfig) -> Vec<Rlimit> {
    host.ulimits
        .iter()
        .map(|u| Rlimit {
            resource: u.name.number(),
            soft: u.soft,
            hard: u.hard,
        })
        .collect()
}

/// A namespace mode as the runtime takes it: another container's is joined through its
/// process, which must be running now.
fn ns(paths: &Paths, mode: &NamespaceMode, kind: &'static str) -> Result<NsMode, SpecError> {
    match mode {
        NamespaceMode::Private => Ok(NsMode::Private),
        NamespaceMode::Host => Ok(NsMode::Host),
        NamespaceMode::Container(id) => {
            let join_err = |reason: String| SpecError::Join {
                kind,
                container: id.clone(),
                reason,
            };
            let store = ContainerStore::open(&paths.containers()).map_err(SpecError::Store)?;
            let rec = store.resolve(id).map_err(|e| join_err(e.to_string()))?;
            if !rec.process_alive() {
                return Err(join_err("it is not running".into()));
            }
            Ok(NsMode::Path(PathBuf::from(format!(
                "/proc/{}/ns/{kind}",
                rec.state.pid
            ))))
        }
    }
}

fn userns(mode: &UsernsMode) -> Option<UserNsMaps> {
    match mode {
        UsernsMode::Host => None,
        UsernsMode::Map(maps) => {
            let maps: Vec<IdMap> = maps
                .iter()
                .map(|m| IdMap {
                    container_id: m.container_id,
                    host_id: m.host_id,
                    size: m.size,
                })
                .collect();
            Some(UserNsMaps {
                uid: maps.clone(),
                gid: maps,
            })
        }
    }
}

/// The container's capabilities, seccomp, no_new_privs and masked paths from its flags;
/// with the capabilities --privileged could not give.
pub fn security(host: &HostConfig) -> (Security, Vec<String>) {
    let mut sec = runtime::default_security();
    let mut missing = Vec::new();
    let all = runtime::all_capabilities();
    if host.privileged {
        sec.capabilities = all.clone();
        sec.privileged = true;
        sec.masked_paths.clear();
        sec.readonly_paths.clear();
        sec.seccomp = Seccomp::Unconfined;
        missing = runtime::privileged_missing_capabilities();
    }
    if host.cap_add.contains(&Capability::All) {
        sec.capabilities = all;
    } else {
        for c in host.cap_add.iter().map(|c| c.bare_name()) {
            if !sec.capabilities.contains(&c) {
                sec.capabilities.push(c);
            }
        }
    }
    if host.cap_drop.contains(&Capability::All) {
        sec.capabilities.clear();
    } else {
        let drops: Vec<String> = host.cap_drop.iter().map(|c| c.bare_name()).collect();
        sec.capabilities.retain(|c| !drops.contains(c));
    }
    sec.no_new_privileges = host.security.no_new_privileges;
    match &host.security.seccomp {
        // --privileged turns the default profile off; an explicit choice still applies.
        SeccompMode::Default => {}
        SeccompMode::Unconfined => sec.seccomp = Seccomp::Unconfined,
        SeccompMode::Profile(p) => sec.seccomp = Seccomp::Profile(p.to_json()),
    }
    sec.readonly_rootfs = host.read_only;
    (sec, missing)
}

fn device(d: &DeviceMapping) -> Device {
    Device {
        host_path: d.host_path.clone(),
        container_path: d.container_path.clone(),
        kind: d.kind.as_char(),
        major: d.major,
        minor: d.minor,
        permissions: d.permissions.to_string(),
        mode: d.mode,
        uid: d.uid,
        gid: d.gid,
    }
}

fn rates(rates: &[DeviceRate]) -> Vec<runtime::DeviceRate> {
    rates
        .iter()
        .map(|r| runtime::DeviceRate {
            major: r.major,
            minor: r.minor,
            rate: r.rate,
        })
        .collect()
}

/// The container's files kiste provides: /etc/hosts, /etc/hostname, /etc/resolv.conf,
/// written into its run dir and bind-mounted (as docker does).
fn etc_mounts(run_dir: &Path, rec: &ContainerRecord) -> Result<Vec<Mount>, SpecError> {
    let hostname = &rec.config.hostname;
    let mut hosts = if rec.config.host.network == NetworkMode::Host {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        crate::network::hosts_file(hostname, None)
    };
    for h in &rec.config.host.extra_hosts {
        hosts.push_str(&format!("{}\t{}\n", h.ip, h.name));
    }
    let resolv = crate::fs::read_whole(Path::new("/etc/resolv.conf"))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let host = &rec.config.host;
    let resolv = if rec.config.host.network == NetworkMode::Host
        && host.dns.is_empty()
        && host.dns_search.is_empty()
        && host.dns_options.is_empty()
    {
        resolv
    } else {
        crate::network::resolv_conf_for(&resolv, &host.dns, &host.dns_search, &host.dns_options)
    };
    let mut mounts = Vec::new();
    for (name, content) in [
        ("hosts", hosts),
        ("hostname", format!("{hostname}\n")),
        ("resolv.conf", resolv),
    ] {
        let p = run_dir.join(name);
        std::fs::write(&p, content).map_err(|source| SpecError::EtcFile {
            path: p.clone(),
            source,
        })?;
        mounts.push(Mount {
            source: p,
            destination: format!("/etc/{name}"),
            kind: MountKind::Bind,
            readonly: false,
        });
    }
    Ok(mounts)
}

/// The spec for starting `rec` on `rootfs`.
pub fn container_spec(
    paths: &Paths,
    rec: &ContainerRecord,
    rootfs: &Path,
    run_dir: &Path,
    stdio: Stdio,
) -> Result<(ContainerSpec, Vec<String>), SpecError> {
    let r = resolve_host(paths, &rec.config.host)?;
    let mut mounts = etc_mounts(run_dir, rec)?;
    mounts.extend(
        crate::volume::runtime_mounts(
            paths,
            &rec.id,
            &rec.config.host.mounts,
            rootfs,
            rec.config.host.userns_root(),
        )
        .map_err(SpecError::Volume)?,
    );
    if rec.config.host.api_socket {
        mounts.push(Mount {
            source: crate::api::socket_path(run_dir),
            destination: crate::api::SOCKET_IN_CONTAINER.into(),
            kind: MountKind::Bind,
            readonly: false,
        });
    }
    let mut cgroup = cgroup_of(rec);
    cgroup.resources = r.resources;
    cgroup.devices = r.devices.clone();
    cgroup.allow_all_devices = rec.config.host.privileged;
    let spec = ContainerSpec {
        id: rec.id.clone(),
        rootfs: rootfs.to_path_buf(),
        rootfs_tree: None,
        args: rec.args(),
        env: rec.config.env.clone(),
        cwd: if rec.config.working_dir.is_empty() {
            "/".into()
        } else {
            rec.config.working_dir.clone()
        },
        user: rec.config.user.clone(),
        hostname: rec.config.hostname.clone(),
        namespaces: r.namespaces,
        mounts,
        devices: r.devices,
        rlimits: r.rlimits,
        security: r.security,
        cgroup: Some(cgroup),
        stdio,
        init: rec.config.host.init,
        oci: None,
        tuning: tuning(&rec.config.host.run_extra),
    };
    Ok((spec, r.missing_caps))
}

/// The runtime's tuning step, only for a container that asks for it (a plain `run`
/// allocates nothing here).
fn tuning(x: &crate::config::RunExtra) -> Option<Box<runtime::Tuning>> {
    if !x.needs_tuning() {
        return None;
    }
    Some(Box::new(runtime::Tuning {
        sysctl: x
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        oom_score_adj: (x.oom_score_adj != 0).then_some(x.oom_score_adj),
        domainname: x.domainname.clone(),
        group_add: x.group_add.clone(),
        shm_size: (x.shm_size != 0 && x.shm_size != crate::config::DEFAULT_SHM_SIZE)
            .then_some(x.shm_size),
    }))
}

/// The cgroup a record's container lives in (for cleanup after a crash).
pub fn cgroup_of(rec: &ContainerRecord) -> CgroupSpec {
    CgroupSpec {
        parent: if rec.config.host.cgroup_parent.is_empty() {
            "kiste".into()
        } else {
            rec.config.host.cgroup_parent.trim_matches('/').to_string()
        },
        name: rec.id.clone(),
        resources: Resources::default(),
        devices: Vec::new(),
        allow_all_devices: false,
        role: crate::cgroups::CgroupRole::Container,
    }
}
