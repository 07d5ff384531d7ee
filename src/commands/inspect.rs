//! `inspect`: docker's JSON for containers and images (the fields scripts use).

use super::Exit;
use crate::cli::InspectArgs;
use crate::image::ImageStore;
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore, Status};
use serde_json::{json, Value};

const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn container_json(rec: &ContainerRecord) -> Value {
    let running = rec.is_running();
    let status = match (running, rec.state.status) {
        (true, _) => "running",
        (false, Status::Created) => "created",
        (false, _) => "exited",
    };
    let args = rec.args();
    let ports: serde_json::Map<String, Value> = rec
        .config
        .host
        .ports
        .iter()
        .map(|p| {
            let bound = rec
                .state
                .ports
                .iter()
                .find(|b| b.container_port == p.container_port && b.protocol == p.protocol)
                .unwrap_or(p);
            (
                format!("{}/{}", p.container_port, p.protocol),
                json!([{"HostIp": bound.host_ip, "HostPort": bound.host_port.to_string()}]),
            )
        })
        .collect();
    json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": args.first().cloned().unwrap_or_default(),
        "Args": args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": status,
            "Running": running,
            "Paused": false,
            "Restarting": false,
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
            "NetworkMode": rec.config.host.network,
            "PortBindings": ports,
            "AutoRemove": rec.config.host.auto_remove,
            "Privileged": rec.config.host.privileged,
            "ReadonlyRootfs": rec.config.host.read_only,
            "CapAdd": rec.config.host.cap_add,
            "CapDrop": rec.config.host.cap_drop,
            "SecurityOpt": rec.config.host.security_opt,
            "PidMode": rec.config.host.pid,
            "IpcMode": rec.config.host.ipc,
            "UTSMode": rec.config.host.uts,
            "CgroupParent": rec.config.host.cgroup_parent,
            "Memory": rec.config.host.resources.memory,
            "MemorySwap": rec.config.host.resources.memory_swap,
            "MemoryReservation": rec.config.host.resources.memory_reservation,
            "OomKillDisable": rec.config.host.resources.oom_kill_disable,
            "NanoCpus": rec.config.host.resources.nano_cpus,
            "CpuShares": rec.config.host.resources.cpu_shares,
            "CpusetCpus": rec.config.host.resources.cpuset_cpus,
            "PidsLimit": rec.config.host.resources.pids_limit,
            "BlkioWeight": rec.config.host.resources.blkio_weight,
        },
        "Config": {
            "Hostname": rec.config.hostname,
            "User": rec.config.user,
            "Env": rec.config.env,
            "Cmd": rec.config.cmd,
            "Entrypoint": rec.config.entrypoint,
            "Image": rec.config.image,
            "WorkingDir": rec.config.working_dir,
            "Labels": rec.config.labels,
            "StopSignal": rec.config.stop_signal,
        },
        "NetworkSettings": { "Ports": rec.state.ports.iter().map(|p| p.display()).collect::<Vec<_>>() },
    })
}

pub(super) fn image_json(img: &crate::image::Image) -> Value {
    let c = &img.config.config;
    json!({
        "Id": img.id,
        "RepoTags": img.tags,
        "RepoDigests": Vec::<String>::new(),
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

pub fn inspect(paths: &Paths, args: InspectArgs) -> anyhow::Result<()> {
    let containers = ContainerStore::open(&paths.containers())?;
    let images = ImageStore::open(&paths.images())?;
    let want = args.kind.as_deref();
    let mut out = Vec::new();
    let mut failed = false;
    for o in &args.objects {
        if want != Some("image") {
            if let Ok(rec) = containers.resolve(o) {
                out.push(container_json(&rec));
                continue;
            }
        }
        if want != Some("container") {
            if let Ok(img) = images.resolve(o) {
                out.push(image_json(&img));
                continue;
            }
        }
        eprintln!("Error: no such object: {o}");
        failed = true;
    }
    println!("{}", serde_json::to_string_pretty(&Value::Array(out))?);
    if failed {
        return Err(Exit::silent(1).into());
    }
    Ok(())
}
