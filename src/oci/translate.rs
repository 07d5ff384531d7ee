//! An OCI config translated into kiste's start plan, `runtime::ContainerSpec` (with its
//! `OciExtras`): the same runtime that starts `kiste run`'s containers starts the
//! bundle's. Mount options become flags and data, resources become `cgroups::Resources`,
//! the seccomp object is handed to kiste's compiler as JSON (docker's format, which the
//! spec's follows). What kiste does not apply is named in a warning.

use std::path::{Path, PathBuf};

use std::collections::BTreeSet;

use super::spec::{self, DeviceType, NamespaceType, Process, Spec};

use super::bundle::{ns_flag, Bundle};
use super::mount_options;
use super::{warn, OciError};
use crate::runtime::{
    CapabilitySets, CgroupSpec, ContainerSpec, Device, Hook, IdMap, LateNs, Namespaces, NsMode,
    OciExtras, Rlimit, Seccomp, Security, Stdio, UserNsMaps,
};

/// The start plan and what `kiste oci` keeps about it.
pub struct Translated {
    pub spec: ContainerSpec,
    /// "parent/name" below each hierarchy's root.
    pub cgroup: String,
    pub namespaces: Vec<String>,
}

/// Translates `bundle` for container `id`; `fifo` is the exec fifo create made.
pub fn translate(
    id: &str,
    bundle: &Bundle,
    systemd_cgroup: bool,
    fifo: Option<PathBuf>,
    preserve_fds: u32,
    hook_state: serde_json::Value,
) -> Result<Translated, OciError> {
    let spec = &bundle.spec;
    let process = spec.process.clone().unwrap_or_default();
    let linux = &spec.linux;
    let user = &process.user;
    if process
        .apparmor_profile
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        warn("process.apparmorProfile is ignored: kiste does not apply AppArmor profiles");
    }
    if process
        .selinux_label
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        warn("process.selinuxLabel is ignored: kiste does not apply SELinux labels");
    }
    let capabilities = capability_sets(&process);
    let (namespaces, kinds, late_ns) = namespaces(spec)?;
    let cgroup = cgroup_path(id, linux.cgroups_path.as_deref(), systemd_cgroup)?;
    let (devices, cgroup_devices) = devices(spec);
    let security = Security {
        capabilities: capabilities.bounding.clone(),
        no_new_privileges: process.no_new_privileges.unwrap_or(false),
        seccomp: match &linux.seccomp {
            Some(s) => {
                Seccomp::Profile(serde_json::to_string(s).map_err(|e| OciError::Invalid {
                    what: "linux.seccomp".into(),
                    reason: e.to_string(),
                })?)
            }
            None => Seccomp::Unconfined,
        },
        masked_paths: linux.masked_paths.clone().unwrap_or_default(),
        readonly_paths: linux.readonly_paths.clone().unwrap_or_default(),
        readonly_rootfs: spec.root.as_ref().and_then(|r| r.readonly).unwrap_or(false),
        privileged: false,
    };
    let mut mounts = Vec::new();
    for m in spec.mounts.iter().flatten() {
        mounts.push(mount_options::mount(&bundle.dir, m)?);
    }
    let hooks = spec.hooks.clone().unwrap_or_default();
    let extras = OciExtras {
        exec_fifo: fifo,
        mounts,
        rootfs_propagation: mount_options::propagation_flags(
            linux.rootfs_propagation.as_deref().unwrap_or(""),
        )
        .bits(),
        capabilities,
        additional_gids: user.additional_gids.clone().unwrap_or_default(),
        umask: user.umask,
        preserve_fds,
        prestart_hooks: hook_list(&hooks.prestart),
        create_runtime_hooks: hook_list(&hooks.create_runtime),
        create_container_hooks: hook_list(&hooks.create_container),
        start_container_hooks: hook_list(&hooks.start_container),
        hook_state,
        console: None,
        late_ns,
    };
    let resources = super::resources::from_spec(&linux.resources.clone().unwrap_or_default())?;
    let spec = ContainerSpec {
        id: id.to_string(),
        rootfs: bundle.rootfs.clone(),
        rootfs_tree: None,
        args: process.args.clone().unwrap_or_default(),
        env: process.env.clone().unwrap_or_default(),
        cwd: process.cwd.to_string_lossy().into_owned(),
        user: format!("{}:{}", user.uid, user.gid),
        hostname: spec.hostname.clone().unwrap_or_default(),
        namespaces,
        mounts: Vec::new(),
        devices,
        rlimits: rlimits(&process),
        security,
        cgroup: Some(CgroupSpec {
            parent: cgroup.rsplit_once('/').map_or("", |(p, _)| p).to_string(),
            name: cgroup
                .rsplit_once('/')
                .map_or(cgroup.as_str(), |(_, n)| n)
                .to_string(),
            resources,
            devices: cgroup_devices,
            allow_all_devices: false,
            role: crate::cgroups::CgroupRole::Oci,
        }),
        stdio: Stdio {
            stdin: 0,
            stdout: 1,
            stderr: 2,
        },
        init: false,
        oci: Some(Box::new(extras)),
        tuning: Some(Box::new(crate::runtime::Tuning {
            sysctl: linux
                .sysctl
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            oom_score_adj: process.oom_score_adj,
            domainname: spec.domainname.clone().unwrap_or_default(),
            ..crate::runtime::Tuning::default()
        })),
    };
    Ok(Translated {
        spec,
        cgroup,
        namespaces: kinds,
    })
}

/// The five capability sets of a process, as names.
/// A process without `capabilities` has none (runc's reading).
pub fn capability_sets(process: &Process) -> CapabilitySets {
    let caps = process.capabilities.clone().unwrap_or_default();
    let names =
        |set: Option<BTreeSet<String>>| -> Vec<String> { set.into_iter().flatten().collect() };
    CapabilitySets {
        bounding: names(caps.bounding),
        effective: names(caps.effective),
        inheritable: names(caps.inheritable),
        permitted: names(caps.permitted),
        ambient: names(caps.ambient),
    }
}

/// The hooks of one kind as the runtime runs them.
pub fn hook_list(hooks: &Option<Vec<spec::Hook>>) -> Vec<Hook> {
    hooks
        .iter()
        .flatten()
        .map(|h| Hook {
            path: h.path.clone(),
            args: h.args.clone().unwrap_or_default(),
            env: h.env.clone().unwrap_or_default(),
            timeout: h.timeout.and_then(|t| u32::try_from(t).ok()),
        })
        .collect()
}

/// The runtime's namespaces, the kinds made new (for the state), and those entered
/// after the clone (a user namespace by path, a time namespace).
fn namespaces(spec: &Spec) -> Result<(Namespaces, Vec<String>, Option<LateNs>), OciError> {
    let host = || NsMode::Host;
    let mut ns = Namespaces {
        pid: host(),
        net: host(),
        ipc: host(),
        uts: host(),
        mnt: host(),
        cgroup: host(),
        user: None,
    };
    let mut kinds = Vec::new();
    let mut late = LateNs::default();
    let linux = &spec.linux;
    for n in linux.namespaces.iter().flatten() {
        let mode = match &n.path {
            Some(p) => NsMode::Path(p.clone()),
            None => NsMode::Private,
        };
        let (_, name) = ns_flag(n.typ);
        if n.path.is_none() {
            kinds.push(name.to_string());
        }
        match n.typ {
            NamespaceType::Pid => ns.pid = mode,
            NamespaceType::Network => ns.net = mode,
            NamespaceType::Ipc => ns.ipc = mode,
            NamespaceType::Uts => ns.uts = mode,
            NamespaceType::Mount => ns.mnt = mode,
            NamespaceType::Cgroup => ns.cgroup = mode,
            NamespaceType::User => {
                if let Some(p) = &n.path {
                    late.user_path = Some(p.clone());
                    continue;
                }
                let maps = |v: &Option<Vec<spec::IdMapping>>| -> Vec<IdMap> {
                    v.iter()
                        .flatten()
                        .map(|m| IdMap {
                            container_id: m.container_id,
                            host_id: m.host_id,
                            size: m.size,
                        })
                        .collect()
                };
                ns.user = Some(UserNsMaps {
                    uid: maps(&linux.uid_mappings),
                    gid: maps(&linux.gid_mappings),
                });
            }
            NamespaceType::Time => late.time = Some(mode),
        }
    }
    late.time_offsets = time_offsets(linux, late.time.as_ref())?;
    if ns.mnt != NsMode::Private {
        return Err(OciError::Invalid {
            what: "linux.namespaces".into(),
            reason: "kiste needs a new mount namespace (type \"mount\" without a path)".into(),
        });
    }
    let asked = late.user_path.is_some() || late.time.is_some();
    Ok((ns, kinds, asked.then_some(late)))
}

/// linux.timeOffsets as /proc/PID/timens_offsets takes them: only with a new time
/// namespace (runc refuses them without one), only the clocks a time namespace shifts.
fn time_offsets(
    linux: &spec::Linux,
    time: Option<&NsMode>,
) -> Result<Vec<(String, i64, u32)>, OciError> {
    let Some(offsets) = linux.time_offsets.as_ref().filter(|o| !o.is_empty()) else {
        return Ok(Vec::new());
    };
    let refuse = |reason: String| OciError::Invalid {
        what: "linux.timeOffsets".into(),
        reason,
    };
    match time {
        None => return Err(refuse("time offsets need a time namespace".into())),
        Some(NsMode::Path(p)) => {
            return Err(refuse(format!(
                "time offsets cannot be set when joining time namespace {}",
                p.display()
            )))
        }
        Some(_) => {}
    }
    let mut v = Vec::new();
    for (clock, o) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            return Err(refuse(format!(
                "unknown clock {clock:?} (monotonic and boottime are offset)"
            )));
        }
        let nanos = o.nanosecs.unwrap_or(0);
        if nanos >= 1_000_000_000 {
            return Err(refuse(format!(
                "{clock}: nanosecs {nanos} is not below 1e9"
            )));
        }
        v.push((clock.clone(), o.secs.unwrap_or(0), nanos));
    }
    crate::sort::sort(&mut v);
    Ok(v)
}

/// cgroupsPath as "parent/name": "/a/b" and "a/b" alike; with --systemd-cgroup,
/// "slice:prefix:name" is "slice/prefix-name.scope"; none: "kiste/oci/ID".
fn cgroup_path(id: &str, path: Option<&Path>, systemd: bool) -> Result<String, OciError> {
    let Some(path) = path.map(|p| p.to_string_lossy().into_owned()) else {
        return Ok(format!("kiste/oci/{id}"));
    };
    let bad = |reason: &str| OciError::Invalid {
        what: format!("linux.cgroupsPath {path:?}"),
        reason: reason.to_string(),
    };
    let rel = if systemd {
        let parts: Vec<&str> = path.split(':').collect();
        let [slice, prefix, name] = parts[..] else {
            return Err(bad("with --systemd-cgroup it must be slice:prefix:name"));
        };
        let slice = if slice.is_empty() {
            "system.slice"
        } else {
            slice
        };
        let unit = if name.ends_with(".slice") || prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}-{name}.scope")
        };
        format!("{slice}/{unit}")
    } else {
        path.trim_matches('/').to_string()
    };
    if rel.is_empty()
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(bad("it must name a cgroup below the hierarchy's root"));
    }
    Ok(rel)
}

/// linux.devices as nodes, and the same as the cgroup rules that allow them (the
/// resources' own device rules come with the other resources, `resources::from_spec`).
fn devices(spec: &Spec) -> (Vec<Device>, Vec<Device>) {
    let kind = |t: DeviceType| match t {
        DeviceType::B => 'b',
        _ => 'c',
    };
    let nodes: Vec<Device> = spec
        .linux
        .devices
        .iter()
        .flatten()
        .filter(|d| matches!(d.typ, DeviceType::C | DeviceType::U | DeviceType::B))
        .map(|d| Device {
            host_path: d.path.clone(),
            container_path: d.path.to_string_lossy().into_owned(),
            kind: kind(d.typ),
            major: d.major as u32,
            minor: d.minor as u32,
            permissions: "rwm".into(),
            mode: d.file_mode.unwrap_or(0o666),
            uid: d.uid.unwrap_or(0),
            gid: d.gid.unwrap_or(0),
        })
        .collect();
    let rules = nodes.clone();
    (nodes, rules)
}

/// The rlimits, whose names `spec` checked when it parsed them (`create` and `exec`).
pub(super) fn rlimits(process: &Process) -> Vec<Rlimit> {
    process
        .rlimits
        .iter()
        .flatten()
        .map(|r| Rlimit {
            resource: r.resource,
            soft: r.soft,
            hard: r.hard,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_path_forms() {
        assert_eq!(cgroup_path("c", None, false).unwrap(), "kiste/oci/c");
        assert_eq!(
            cgroup_path("c", Some(Path::new("/a/b")), false).unwrap(),
            "a/b"
        );
        let systemd = cgroup_path("c", Some(Path::new("machine.slice:libpod:abc")), true);
        assert_eq!(systemd.unwrap(), "machine.slice/libpod-abc.scope");
        assert!(cgroup_path("c", Some(Path::new("/a/../..")), false).is_err());
        assert!(cgroup_path("c", Some(Path::new("/a/b")), true).is_err());
    }
}
