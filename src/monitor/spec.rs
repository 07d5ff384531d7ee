//! From a container record to the runtime's `ContainerSpec`: namespaces by mode, the
//! capability set, seccomp, devices, rlimits, cgroup resources. `validate` runs the same
//! conversion at create time so bad flags are refused before anything exists.

use crate::paths::Paths;
use crate::runtime::{
    self, CgroupSpec, ContainerSpec, Device, DeviceRate, IdMap, Mount, MountKind, Namespaces,
    NsMode, Resources, Rlimit, Seccomp, Security, Stdio, UserNsMaps,
};
use crate::state::{ContainerRecord, ContainerStore, HostConfig};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("invalid argument \"{value}\" for \"{flag}\" flag: {reason}")]
    Flag {
        flag: &'static str,
        value: String,
        reason: String,
    },
    #[error("error gathering device information while adding custom device \"{path}\": {reason}")]
    Device { path: String, reason: String },
    #[error("{0}")]
    Other(String),
}

fn flag(flag: &'static str, value: &str, reason: impl Into<String>) -> SpecError {
    SpecError::Flag {
        flag,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// What the host-side settings resolve to; computed at create (to validate) and at start.
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
        pid: ns("--pid", paths, &host.pid, "pid")?,
        net: match host.network.as_str() {
            "host" => NsMode::Host,
            _ => NsMode::Private,
        },
        ipc: ns("--ipc", paths, &host.ipc, "ipc")?,
        uts: ns("--uts", paths, &host.uts, "uts")?,
        mnt: NsMode::Private,
        cgroup: NsMode::Private,
        user: userns(&host.userns)?,
    };
    let (security, missing_caps) = security(host)?;
    let devices = host
        .devices
        .iter()
        .map(|d| device(d))
        .collect::<Result<Vec<_>, _>>()?;
    let rlimits = host
        .ulimits
        .iter()
        .map(|u| ulimit(u))
        .collect::<Result<Vec<_>, _>>()?;
    let r = &host.resources;
    let resources = Resources {
        memory: (r.memory > 0).then_some(r.memory),
        memory_swap: (r.memory_swap != 0).then_some(r.memory_swap),
        memory_reservation: (r.memory_reservation > 0).then_some(r.memory_reservation),
        oom_kill_disable: r.oom_kill_disable,
        cpus: (r.nano_cpus > 0).then(|| r.nano_cpus as f64 / 1e9),
        cpu_shares: (r.cpu_shares > 0).then_some(r.cpu_shares),
        cpuset_cpus: (!r.cpuset_cpus.is_empty()).then(|| r.cpuset_cpus.clone()),
        pids_limit: (r.pids_limit != 0).then_some(r.pids_limit),
        blkio_weight: (r.blkio_weight > 0).then_some(r.blkio_weight),
        device_read_bps: rates("--device-read-bps", &r.device_read_bps)?,
        device_write_bps: rates("--device-write-bps", &r.device_write_bps)?,
        device_read_iops: rates("--device-read-iops", &r.device_read_iops)?,
        device_write_iops: rates("--device-write-iops", &r.device_write_iops)?,
    };
    Ok(Resolved {
        namespaces,
        security,
        devices,
        rlimits,
        resources,
        missing_caps,
    })
}

fn ns(flag_name: &'static str, paths: &Paths, mode: &str, kind: &str) -> Result<NsMode, SpecError> {
    match mode {
        "" => Ok(NsMode::Private),
        "host" => Ok(NsMode::Host),
        m => {
            let other = m.strip_prefix("container:").unwrap_or(m);
            let store = ContainerStore::open(&paths.containers())
                .map_err(|e| SpecError::Other(e.to_string()))?;
            let rec = store
                .resolve(other)
                .map_err(|e| flag(flag_name, m, e.to_string()))?;
            if !rec.is_running() {
                return Err(flag(
                    flag_name,
                    m,
                    format!("container {other} is not running"),
                ));
            }
            Ok(NsMode::Path(PathBuf::from(format!(
                "/proc/{}/ns/{kind}",
                rec.state.pid
            ))))
        }
    }
}

/// `--userns map=C:H:S[,C:H:S…]` (uids and gids alike).
fn userns(spec: &str) -> Result<Option<UserNsMaps>, SpecError> {
    if spec.is_empty() || spec == "host" {
        return Ok(None);
    }
    let maps = spec.strip_prefix("map=").ok_or_else(|| {
        flag(
            "--userns",
            spec,
            "expected \"host\" or \"map=CONTAINER_ID:HOST_ID:SIZE\"",
        )
    })?;
    let mut out = Vec::new();
    for m in maps.split(',') {
        let n: Vec<u32> = m
            .split(':')
            .map(|x| x.parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| flag("--userns", spec, "ids must be numbers"))?;
        if n.len() != 3 || n[2] == 0 {
            return Err(flag("--userns", spec, "expected CONTAINER_ID:HOST_ID:SIZE"));
        }
        out.push(IdMap {
            container_id: n[0],
            host_id: n[1],
            size: n[2],
        });
    }
    Ok(Some(UserNsMaps {
        uid: out.clone(),
        gid: out,
    }))
}

fn cap_name(flag_name: &'static str, raw: &str) -> Result<String, SpecError> {
    let up = raw.to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let full = if up.starts_with("CAP_") {
        up.clone()
    } else {
        format!("CAP_{up}")
    };
    if !runtime::is_capability(&full) {
        return Err(flag(
            flag_name,
            raw,
            format!("unknown capability: \"{full}\""),
        ));
    }
    Ok(full.trim_start_matches("CAP_").to_string())
}

fn security(host: &HostConfig) -> Result<(Security, Vec<String>), SpecError> {
    let mut sec = runtime::default_security();
    let mut missing = Vec::new();
    let adds = host
        .cap_add
        .iter()
        .map(|c| cap_name("--cap-add", c))
        .collect::<Result<Vec<_>, _>>()?;
    let drops = host
        .cap_drop
        .iter()
        .map(|c| cap_name("--cap-drop", c))
        .collect::<Result<Vec<_>, _>>()?;
    let all = runtime::all_capabilities();
    if host.privileged {
        sec.capabilities = all.clone();
        sec.privileged = true;
        sec.masked_paths.clear();
        sec.readonly_paths.clear();
        sec.seccomp = Seccomp::Unconfined;
        missing = runtime::privileged_missing_capabilities();
    }
    if adds.iter().any(|c| c == "ALL") {
        sec.capabilities = all.clone();
    } else {
        for c in adds {
            if !sec.capabilities.contains(&c) {
                sec.capabilities.push(c);
            }
        }
    }
    if drops.iter().any(|c| c == "ALL") {
        sec.capabilities.clear();
    } else {
        sec.capabilities.retain(|c| !drops.contains(c));
    }
    for opt in &host.security_opt {
        let (k, v) = opt
            .split_once(['=', ':'])
            .map(|(k, v)| (k, Some(v)))
            .unwrap_or((opt.as_str(), None));
        match (k, v) {
            ("no-new-privileges", None | Some("true")) => sec.no_new_privileges = true,
            ("no-new-privileges", Some("false")) => sec.no_new_privileges = false,
            ("seccomp", Some("unconfined")) => sec.seccomp = Seccomp::Unconfined,
            ("seccomp", Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    flag("--security-opt", opt, format!("cannot read seccomp profile: {e}"))
                })?;
                if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
                    return Err(flag(
                        "--security-opt",
                        opt,
                        format!("seccomp profile is not valid JSON: {e}"),
                    ));
                }
                sec.seccomp = Seccomp::Profile(text);
            }
            _ => {
                return Err(flag(
                    "--security-opt",
                    opt,
                    "known options are no-new-privileges[=true|false] and seccomp=unconfined|PROFILE.json",
                ))
            }
        }
    }
    sec.readonly_rootfs = host.read_only;
    Ok((sec, missing))
}

/// `--device HOST[:CONTAINER[:PERMS]]`
fn device(spec: &str) -> Result<Device, SpecError> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (host, ctr, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if p.chars().all(|c| "rwm".contains(c)) && !p.is_empty() => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p] => (*h, *c, *p),
        _ => return Err(flag("--device", spec, "expected HOST[:CONTAINER[:PERMS]]")),
    };
    if perms.is_empty() || !perms.chars().all(|c| "rwm".contains(c)) {
        return Err(flag(
            "--device",
            spec,
            "permissions must be a combination of r, w and m",
        ));
    }
    if !ctr.starts_with('/') {
        return Err(flag(
            "--device",
            spec,
            "the container path must be absolute",
        ));
    }
    let meta = std::fs::metadata(host).map_err(|e| SpecError::Device {
        path: host.to_string(),
        reason: e.to_string().to_lowercase(),
    })?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else {
        return Err(SpecError::Device {
            path: host.to_string(),
            reason: "not a device node".into(),
        });
    };
    let rdev = meta.rdev();
    Ok(Device {
        host_path: PathBuf::from(host),
        container_path: ctr.to_string(),
        kind,
        major: libc::major(rdev),
        minor: libc::minor(rdev),
        permissions: perms.to_string(),
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    })
}

fn rates(flag_name: &'static str, specs: &[String]) -> Result<Vec<DeviceRate>, SpecError> {
    specs
        .iter()
        .map(|s| {
            let (path, rate) = s
                .rsplit_once(':')
                .ok_or_else(|| flag(flag_name, s, "expected PATH:RATE"))?;
            let meta = std::fs::metadata(path).map_err(|e| {
                flag(
                    flag_name,
                    s,
                    format!("{path}: {}", e.to_string().to_lowercase()),
                )
            })?;
            if !meta.file_type().is_block_device() {
                return Err(flag(flag_name, s, format!("{path} is not a block device")));
            }
            Ok(DeviceRate {
                major: libc::major(meta.rdev()),
                minor: libc::minor(meta.rdev()),
                rate: rate.parse().map_err(|_| flag(flag_name, s, "bad rate"))?,
            })
        })
        .collect()
}

/// `--ulimit name=soft[:hard]`
fn ulimit(spec: &str) -> Result<Rlimit, SpecError> {
    let (name, vals) = spec
        .split_once('=')
        .ok_or_else(|| flag("--ulimit", spec, "expected NAME=SOFT[:HARD]"))?;
    let resource = match name {
        "core" => libc::RLIMIT_CORE,
        "cpu" => libc::RLIMIT_CPU,
        "data" => libc::RLIMIT_DATA,
        "fsize" => libc::RLIMIT_FSIZE,
        "locks" => libc::RLIMIT_LOCKS,
        "memlock" => libc::RLIMIT_MEMLOCK,
        "msgqueue" => libc::RLIMIT_MSGQUEUE,
        "nice" => libc::RLIMIT_NICE,
        "nofile" => libc::RLIMIT_NOFILE,
        "nproc" => libc::RLIMIT_NPROC,
        "rss" => libc::RLIMIT_RSS,
        "rtprio" => libc::RLIMIT_RTPRIO,
        "rttime" => libc::RLIMIT_RTTIME,
        "sigpending" => libc::RLIMIT_SIGPENDING,
        "stack" => libc::RLIMIT_STACK,
        "as" => libc::RLIMIT_AS,
        _ => {
            return Err(flag(
                "--ulimit",
                spec,
                format!("unknown ulimit type \"{name}\""),
            ))
        }
    } as i32;
    let num = |v: &str| -> Result<u64, SpecError> {
        if v == "-1" || v == "unlimited" {
            return Ok(libc::RLIM_INFINITY);
        }
        v.parse()
            .map_err(|_| flag("--ulimit", spec, "limits must be numbers"))
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((s, h)) => (num(s)?, num(h)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        return Err(flag(
            "--ulimit",
            spec,
            "the soft limit must not exceed the hard limit",
        ));
    }
    Ok(Rlimit {
        resource,
        soft,
        hard,
    })
}

/// The container's files kiste provides: /etc/hosts, /etc/hostname, /etc/resolv.conf,
/// written into its run dir and bind-mounted (as docker does).
fn etc_mounts(run_dir: &Path, rec: &ContainerRecord) -> std::io::Result<Vec<Mount>> {
    let hostname = &rec.config.hostname;
    let hosts = if rec.config.host.network == "host" {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        crate::network::hosts_file(hostname)
    };
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut mounts = Vec::new();
    for (name, content) in [
        ("hosts", hosts),
        ("hostname", format!("{hostname}\n")),
        ("resolv.conf", resolv),
    ] {
        let p = run_dir.join(name);
        std::fs::write(&p, content)?;
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
    let mounts = etc_mounts(run_dir, rec)
        .map_err(|e| SpecError::Other(format!("cannot write /etc files for the container: {e}")))?;
    let mut cgroup = cgroup_of(rec);
    cgroup.resources = r.resources;
    cgroup.devices = r.devices.clone();
    cgroup.allow_all_devices = rec.config.host.privileged;
    let spec = ContainerSpec {
        id: rec.id.clone(),
        rootfs: rootfs.to_path_buf(),
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
    };
    Ok((spec, r.missing_caps))
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
    }
}
