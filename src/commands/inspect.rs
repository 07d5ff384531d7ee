//! `inspect`: docker's JSON for containers and images (the fields scripts use).

use super::failures::Failures;
use super::template::{Formatter, OutputFormat};
use crate::cli::InspectArgs;
use crate::config::Ulimit;
use crate::image::ImageStore;
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore, PortMapping};
use serde_json::{json, Value};

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn container_json(paths: &Paths, rec: &ContainerRecord) -> Value {
    let running = rec.is_running();
    let status = super::ps::state_word(rec);
    let args = rec.args();
    let host = &rec.config.host;
    let r = &host.resources;
    let rates = |rates: &[crate::config::DeviceRate]| -> Value {
        rates
            .iter()
            .map(|d| json!({"Path": d.path, "Rate": d.rate}))
            .collect()
    };
    // docker shows the published ports of a running container only.
    let bound: &[PortMapping] = if running { &rec.state.ports } else { &[] };
    let attached = !rec.config.detached;
    let mut v = json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": running,
            "Paused": rec.is_paused(),
            "Restarting": rec.is_restarting(),
            "OOMKilled": rec.state.oom_killed,
            "Dead": false,
            "Pid": if running { rec.state.pid } else { 0 },
            "ExitCode": rec.state.exit_code,
            "Error": rec.state.error,
            "StartedAt": rec.state.started_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
            "FinishedAt": rec.state.finished_at.clone().unwrap_or_else(|| ZERO_TIME.into()),
        },
        "Image": rec.config.image_id,
        "Name": format!("/{}", rec.name),
        "HostConfig": {
            "LogConfig": log_config(&host.log),
            "NetworkMode": host.network_container.as_ref().map_or_else(|| host.network.as_str().to_string(), |id| format!("container:{id}")),
            "PortBindings": port_map(&host.ports, false),
            "AutoRemove": host.auto_remove,
            "Privileged": host.privileged,
            "ReadonlyRootfs": host.read_only,
            "CapAdd": host.cap_add.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "CapDrop": host.cap_drop.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "SecurityOpt": host.security.to_docker(),
            "PidMode": host.pid.to_string(),
            "IpcMode": host.ipc.to_string(),
            "UTSMode": host.uts.to_string(),
            "UsernsMode": host.userns.to_string(),
            "CgroupParent": host.cgroup_parent,
            "Memory": r.memory,
            "MemorySwap": r.memory_swap,
            "MemoryReservation": r.memory_reservation,
            "OomKillDisable": r.oom_kill_disable,
            "NanoCpus": r.nano_cpus,
            "CpuShares": r.cpu_shares,
            "CpusetCpus": r.cpuset_cpus,
            "PidsLimit": r.pids_limit,
            "BlkioWeight": r.blkio_weight,
            "BlkioDeviceReadBps": rates(&r.device_read_bps),
            "BlkioDeviceWriteBps": rates(&r.device_write_bps),
            "BlkioDeviceReadIOps": rates(&r.device_read_iops),
            "BlkioDeviceWriteIOps": rates(&r.device_write_iops),
            "Devices": host.devices.iter().map(|d| json!({
                "PathOnHost": d.host_path,
                "PathInContainer": d.container_path,
                "CgroupPermissions": d.permissions.to_string(),
            })).collect::<Vec<_>>(),
            "Ulimits": host.ulimits.iter().map(|u| json!({
                "Name": u.name.name(),
                "Hard": Ulimit::docker_value(u.hard),
                "Soft": Ulimit::docker_value(u.soft),
            })).collect::<Vec<_>>(),
        },
        "Config": {
            "Hostname": rec.config.hostname,
            "User": rec.config.user,
            "AttachStdin": attached && host.interactive,
            "AttachStdout": attached && host.terminal.stdout,
            "AttachStderr": attached && host.terminal.stderr,
            "Tty": host.terminal.tty,
            "OpenStdin": host.interactive,
            "StdinOnce": attached && host.interactive,
            "Env": rec.config.env,
            "Cmd": rec.config.cmd,
            "Entrypoint": rec.config.entrypoint,
            "Image": rec.config.image,
            "WorkingDir": rec.config.working_dir,
            "Labels": rec.config.labels,
            "StopSignal": rec.config.stop_signal,
        },
        "NetworkSettings": super::network::network_settings(paths, rec, port_map(bound, true)),
    });
    super::lifecycle::add_inspect_fields(&mut v, rec);
    super::run_extra::add_inspect_fields(&mut v, &host.run_extra);
    cgroup_knobs(&mut v["HostConfig"], r);
    // docker shows StopTimeout only when --stop-timeout was given (-1: for ever).
    if let Some(t) = rec.config.stop_timeout {
        v["Config"]["StopTimeout"] = json!(t.as_secs());
    }
    // docker leaves ExposedPorts out when there are none.
    if !rec.config.exposed_ports.is_empty() {
        let ports: serde_json::Map<String, Value> = rec
            .config
            .exposed_ports
            .iter()
            .map(|p| (p.clone(), json!({})))
            .collect();
        v["Config"]["ExposedPorts"] = Value::Object(ports);
    }
    super::volume::add_mounts_json(paths, &mut v, &host.mounts);
    v["HostConfig"]["VolumesFrom"] = json!(host.volumes_from);
    v["HostConfig"]["VolumeDriver"] = json!(host.volume_driver);
    v
}

/// docker's port map, `{"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8000"}]}`: as the
/// user asked (HostConfig.PortBindings: "" for any address or port) or as bound.
fn port_map(ports: &[PortMapping], bound: bool) -> Value {
    let mut map = serde_json::Map::new();
    for p in ports {
        let host_ip = match (p.host_ip, bound) {
            (Some(ip), _) => ip.to_string(),
            (None, true) => p.bind_ip().to_string(),
            (None, false) => String::new(),
        };
        let host_port = if p.host_port == 0 && !bound {
            String::new()
        } else {
            p.host_port.to_string()
        };
        let entry = map
            .entry(p.key())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(json!({"HostIp": host_ip, "HostPort": host_port}));
        }
    }
    Value::Object(map)
}

pub(super) fn image_json(img: &crate::image::Image) -> Value {
    let c = &img.config.config;
    json!({
        "Id": img.id,
        "RepoTags": img.tags,
        "RepoDigests": img.repo_digests,
        "Created": img.created,
        "Architecture": img.config.architecture,
        "Os": img.config.os,
        "Config": {
            "User": c.user,
            "ExposedPorts": c.exposed_ports,
            "Env": c.env,
            "Cmd": c.cmd,
            "Entrypoint": c.entrypoint,
            "WorkingDir": c.working_dir,
            "Labels": c.labels,
            "Volumes": c.volumes,
            "StopSignal": c.stop_signal,
            "Healthcheck": c.healthcheck,
            "OnBuild": c.on_build,
            "Shell": c.shell,
        },
        "RootFS": { "Type": "layers", "Layers": img.config.rootfs.diff_ids },
        "Size": img.size,
    })
}

/// docker's inspect output: a JSON array (also for `--format json`), or each object
/// through the template, one per line.
pub(super) fn print_inspected(out: Vec<Value>, format: Option<&str>) -> anyhow::Result<()> {
    match OutputFormat::parse(format) {
        OutputFormat::Default | OutputFormat::Json => {
            println!("{}", serde_json::to_string_pretty(&Value::Array(out))?);
        }
        OutputFormat::Template { source, .. } => {
            let f = Formatter::new(&source, false, false)?;
            let mut text = String::new();
            for o in &out {
                text.push_str(&f.render(o)?);
                text.push('\n');
            }
            print!("{text}");
        }
    }
    Ok(())
}

pub fn inspect(paths: &Paths, args: InspectArgs) -> anyhow::Result<()> {
    let containers = ContainerStore::open(&paths.containers())?;
    let images = ImageStore::open(&paths.images())?;
    let want = args.kind.as_deref();
    let mut out = Vec::new();
    let mut failed = Failures::default();
    for o in &args.objects {
        if want != Some("image") {
            if let Ok(rec) = containers.resolve(o) {
                let mut v = container_json(paths, &rec);
                if args.size {
                    let (rw, root) = super::ps::sizes(paths, Some(&images), &rec);
                    v["SizeRw"] = rw.into();
                    v["SizeRootFs"] = root.into();
                }
                out.push(v);
                continue;
            }
        }
        if want != Some("container") {
            if let Ok(img) = images.resolve(o) {
                out.push(image_json(&img));
                continue;
            }
        }
        failed.report(format_args!("Error: no such object: {o}"));
    }
    print_inspected(out, args.format.as_deref())?;
    failed.finish()
}

/// docker's HostConfig.LogConfig: the driver and its options as strings.
fn log_config(log: &crate::config::LogConfig) -> serde_json::Value {
    let mut config = serde_json::Map::new();
    if log.max_size > 0 {
        config.insert("max-size".into(), log.max_size.to_string().into());
    }
    if log.max_file > 1 {
        config.insert("max-file".into(), log.max_file.to_string().into());
    }
    serde_json::json!({ "Type": log.driver.name(), "Config": config })
}

/// The finer cgroup knobs of HostConfig, by docker's names (null where docker shows null).
fn cgroup_knobs(host: &mut Value, r: &crate::config::Resources) {
    let rules = (!r.device_cgroup_rules.is_empty()).then(|| {
        r.device_cgroup_rules
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    });
    let weights: Vec<Value> = r
        .blkio_weight_device
        .iter()
        .map(|w| json!({"Path": w.path, "Weight": w.weight}))
        .collect();
    for (k, v) in [
        ("BlkioWeightDevice", json!(weights)),
        ("CpuPeriod", json!(r.cpu_period)),
        ("CpuQuota", json!(r.cpu_quota)),
        ("CpuRealtimePeriod", json!(r.cpu_realtime_period)),
        ("CpuRealtimeRuntime", json!(r.cpu_realtime_runtime)),
        ("CpusetMems", json!(r.cpuset_mems)),
        ("MemorySwappiness", json!(r.memory_swappiness)),
        ("DeviceCgroupRules", json!(rules)),
    ] {
        host[k] = v;
    }
}
