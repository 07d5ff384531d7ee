//! `play kube` (and `kube play`, `kube down`): the pods of a Kubernetes file run as kiste
//! containers, through the same typed configuration and library calls `create`/`run`
//! use (image lookup, mount completion, volume creation, the store, the monitor).
//!
//! A pod is its containers sharing one network namespace: the pod's first container
//! owns it (with every published port of the pod and, with `--network`, the network),
//! and the others join it and its UTS and IPC namespaces (`HostConfig::network_container`,
//! `container:ID` modes), so they reach each other on localhost, as in Kubernetes. There
//! is no pause container: the pod lives while its first container does. Containers are
//! named POD-CONTAINER and labelled with the pod (`kube::POD_LABEL`), which is how
//! `--down` finds exactly them. Every file is checked whole before anything is made, and
//! when one container cannot be created or started, everything this call made goes.

use super::Exit;
use crate::cli::PlayKubeArgs;
use crate::config::{Endpoint, MountSource, NamespaceMode, NetworkMode, SecurityOptions};
use crate::container::Containers;
use crate::image::config::set_env;
use crate::image::{Image, ImageStore};
use crate::kube::{ContainerPlan, FilePlan, PodPlan, POD_LABEL};
use crate::monitor::{self, Mode};
use crate::paths::Paths;
use crate::state::{
    new_id, validate_name, ContainerConfig, ContainerRecord, ContainerStore, HostConfig,
};
use std::collections::{BTreeMap, BTreeSet};

fn fail(e: impl std::fmt::Display) -> anyhow::Error {
    Exit {
        code: 125,
        message: e.to_string(),
    }
    .into()
}

fn read(file: &std::path::Path) -> anyhow::Result<FilePlan> {
    let plan = crate::kube::plan::read(file).map_err(fail)?;
    for w in &plan.warnings {
        eprintln!("WARNING: {w}");
    }
    Ok(plan)
}

pub fn play(paths: &Paths, args: PlayKubeArgs) -> anyhow::Result<()> {
    let plan = read(&args.file)?;
    if args.down {
        return remove_pods(paths, &plan);
    }
    let network = match args.network.as_deref() {
        None => None,
        Some(n) => Some((
            NetworkMode::parse("--network", n).map_err(fail)?,
            n.to_string(),
        )),
    };
    if args.replace {
        remove_pods(paths, &plan)?;
    }
    // Every image is found (or pulled) before anything is created.
    let images = ImageStore::open(&paths.images())?;
    let mut resolved: BTreeMap<String, Image> = BTreeMap::new();
    for c in plan.pods.iter().flat_map(|p| &p.containers) {
        if !resolved.contains_key(&c.image) {
            let image = super::pull::image_for_container(&images, &c.image, c.pull, None, false)?;
            resolved.insert(c.image.clone(), image);
        }
    }
    // Volumes this call creates (claims, emptyDirs, images' VOLUMEs) go on a roll-back.
    let volumes_before: BTreeSet<String> = crate::volume::VolumeStore::open(paths)?
        .list()?
        .into_iter()
        .map(|v| v.name)
        .collect();
    let mut made: Vec<ContainerRecord> = Vec::new();
    let result = (|| {
        for pod in &plan.pods {
            let first = made.len();
            for (i, c) in pod.containers.iter().enumerate() {
                let joins = (i > 0).then(|| made[first].id.clone());
                let rec = create(
                    paths,
                    pod,
                    c,
                    &resolved[&c.image],
                    joins,
                    &network,
                    args.start,
                )?;
                made.push(rec);
            }
        }
        if args.start {
            for rec in &made {
                let image = &resolved[&rec.config.image];
                let lowers = images
                    .layer_dirs(image)
                    .map_err(monitor::MonitorError::from)?;
                monitor::start_new(paths, rec, &lowers, Mode::Detached).map_err(|e| Exit {
                    code: e.exit_code(),
                    message: format!("pod {}: container {}: {e}", pod_of(rec), rec.name),
                })?;
            }
        }
        Ok::<_, anyhow::Error>(())
    })();
    if let Err(e) = result {
        roll_back(paths, &made, &volumes_before);
        return Err(e);
    }
    for pod in &plan.pods {
        println!("Pod:\n{}\nContainers:", pod.name);
        for rec in made.iter().filter(|r| pod_of(r) == pod.name) {
            println!("{}", rec.id);
        }
        println!();
    }
    Ok(())
}

pub fn down(paths: &Paths, file: &std::path::Path) -> anyhow::Result<()> {
    remove_pods(paths, &read(file)?)
}

fn pod_of(rec: &ContainerRecord) -> &str {
    rec.config.labels.get(POD_LABEL).map_or("", String::as_str)
}

/// The record of one container of `pod`, created (not started) in the store.
#[allow(clippy::too_many_arguments)]
fn create(
    paths: &Paths,
    pod: &PodPlan,
    c: &ContainerPlan,
    image: &Image,
    joins: Option<String>,
    network: &Option<(NetworkMode, String)>,
    starting: bool,
) -> anyhow::Result<ContainerRecord> {
    validate_name(&c.name).map_err(fail)?;
    let ic = &image.config.config;
    let (entrypoint, cmd) = match (&c.command, &c.args) {
        (Some(command), args) => (command.clone(), args.clone().unwrap_or_default()),
        (None, Some(args)) => (ic.entrypoint.clone().unwrap_or_default(), args.clone()),
        (None, None) => (
            ic.entrypoint.clone().unwrap_or_default(),
            ic.cmd.clone().unwrap_or_default(),
        ),
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(fail(format!(
            "pod {}: container {}: no command: the image {} has no CMD or ENTRYPOINT; give command or args",
            pod.name, c.name, c.image
        )));
    }
    let mut env = ic.env.clone();
    for e in &c.env {
        set_env(&mut env, e.clone());
    }
    let image_uid = ic
        .user
        .split(':')
        .next()
        .filter(|u| !u.is_empty())
        .unwrap_or("0");
    let user = match (c.run_as_user, c.run_as_group) {
        (Some(u), Some(g)) => format!("{u}:{g}"),
        (Some(u), None) => u.to_string(),
        (None, Some(g)) => format!("{image_uid}:{g}"),
        (None, None) => ic.user.clone(),
    };
    let mut mounts = c.mounts.clone();
    super::volume::complete_mounts(paths, &mut mounts, &[], &ic.volumes).map_err(fail)?;
    let mut host = HostConfig {
        read_only: c.read_only,
        privileged: c.privileged,
        cap_add: c.cap_add.clone(),
        cap_drop: c.cap_drop.clone(),
        security: SecurityOptions {
            no_new_privileges: c.no_new_privileges,
            ..SecurityOptions::default()
        },
        resources: c.resources.clone(),
        mounts,
        restart: pod.restart,
        ..HostConfig::default()
    };
    match &joins {
        Some(first) => {
            host.network = NetworkMode::None;
            host.network_container = Some(first.clone());
            host.ipc = NamespaceMode::Container(first.clone());
            host.uts = NamespaceMode::Container(first.clone());
        }
        None => {
            // The pod's namespace holds every published port of its containers.
            host.ports = pod
                .containers
                .iter()
                .flat_map(|c| c.ports.clone())
                .collect();
            if pod.host_network {
                host.network = NetworkMode::Host;
            } else if let Some((mode, name)) = network {
                host.network = *mode;
                if *mode == NetworkMode::Bridge {
                    host.endpoints = vec![Endpoint {
                        network: name.clone(),
                        ..Endpoint::default()
                    }];
                }
            }
            super::network::check_endpoints(paths, &mut host).map_err(fail)?;
        }
    }
    if paths.rootless {
        if let Some(why) = super::rootless::refusal(&host.resources)
            .or_else(|| crate::network::rootless::port_refusal(&host.ports))
        {
            return Err(fail(why));
        }
    }
    if !host.ports.is_empty() && host.network == NetworkMode::Host {
        eprintln!(
            "WARNING: pod {}: published ports are discarded when using host network mode",
            pod.name
        );
    }
    let mut labels = ic.labels.clone();
    labels.extend(pod.labels.clone());
    let id = new_id();
    let store = ContainerStore::open(&paths.containers())?;
    let mut rec = ContainerRecord {
        id: id.clone(),
        name: c.name.clone(),
        created: crate::image::now_rfc3339(),
        config: ContainerConfig {
            image: c.image.clone(),
            image_id: image.id.clone(),
            entrypoint,
            cmd,
            env,
            working_dir: c
                .working_dir
                .clone()
                .unwrap_or_else(|| ic.working_dir.clone()),
            user,
            hostname: pod.hostname.clone(),
            labels,
            stop_signal: ic.stop_signal.clone(),
            stop_timeout: pod.stop_timeout,
            detached: true,
            host,
            create_command: std::env::args().collect(),
            healthcheck: None,
            exposed_ports: Default::default(),
        },
        state: super::run::initial_status(starting),
    };
    let lock = store.lock()?;
    store.create(&lock, &mut rec).map_err(fail)?;
    drop(lock);
    if let Err(e) = super::volume::create_volumes(paths, &rec.config.host) {
        if let Ok(lock) = store.lock() {
            let _ = store.remove(&lock, &rec.id);
        }
        return Err(fail(e));
    }
    Ok(rec)
}

/// Everything this call made, removed: its containers (the joining ones first) and the
/// volumes they brought into being.
fn roll_back(paths: &Paths, made: &[ContainerRecord], volumes_before: &BTreeSet<String>) {
    if let Ok(containers) = Containers::open(paths) {
        for rec in made.iter().rev() {
            if let Ok(c) = containers.get(&rec.id) {
                let _ = c.remove(true);
            }
        }
    }
    let Ok(store) = crate::volume::VolumeStore::open(paths) else {
        return;
    };
    let Ok(lock) = store.lock() else { return };
    for m in made.iter().flat_map(|r| &r.config.host.mounts) {
        if let MountSource::Volume { name, .. } = &m.source {
            if !volumes_before.contains(name) && store.get(name).is_ok() {
                let _ = store.remove(&lock, name);
            }
        }
    }
}

/// `--down`: the containers labelled with one of the file's pods, stopped and removed.
fn remove_pods(paths: &Paths, plan: &FilePlan) -> anyhow::Result<()> {
    let containers = Containers::open(paths)?;
    let mut found: Vec<ContainerRecord> = containers
        .all()?
        .into_iter()
        .filter(|r| plan.pods.iter().any(|p| p.name == pod_of(r)))
        .collect();
    // Members before the container whose namespace they share.
    crate::sort::sort_by_key(&mut found, |r| r.config.host.network_container.is_none());
    // Every container gets its stop signal first; they are awaited together, each
    // for its pod's grace period (terminationGracePeriodSeconds, or docker's 10 s).
    let mut stopping = Vec::new();
    for rec in &found {
        let c = containers.get(&rec.id)?;
        let signal = match rec.config.stop_signal.as_str() {
            "" => libc::SIGTERM,
            s => crate::signal::parse_signal(s).unwrap_or(libc::SIGTERM),
        };
        let timeout = rec
            .config
            .stop_timeout
            .map_or(Some(std::time::Duration::from_secs(10)), |t| t.duration());
        stopping.push(c.begin_stop(signal, timeout)?);
    }
    for s in stopping {
        s.finish()?;
    }
    let volumes = crate::volume::VolumeStore::open(paths)?;
    for rec in &found {
        containers.get(&rec.id)?.remove(true)?;
        // Anonymous volumes (the images' VOLUMEs) are nobody else's.
        volumes.remove_anonymous(&rec.config.host.mounts);
    }
    remove_owned_volumes(paths, plan);
    let mut pods: Vec<&str> = found.iter().map(pod_of).collect();
    pods.dedup();
    if !pods.is_empty() {
        println!("Pods stopped:\n{}", pods.join("\n"));
        println!("Pods removed:\n{}", pods.join("\n"));
    }
    Ok(())
}

fn remove_owned_volumes(paths: &Paths, plan: &FilePlan) {
    let Ok(store) = crate::volume::VolumeStore::open(paths) else {
        return;
    };
    let Ok(lock) = store.lock() else { return };
    for name in plan.pods.iter().flat_map(|p| &p.owned_volumes) {
        if store.get(name).is_ok() {
            let _ = store.remove(&lock, name);
        }
    }
}
