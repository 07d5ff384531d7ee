//! `compose up`: the project's networks and volumes made, images built or pulled, and
//! each service's container created and started in dependency order (waiting for
//! `service_healthy` and `service_completed_successfully`). A failure rolls back what
//! this `up` made; without `-d` the logs follow until Ctrl-C/SIGTERM stops the project.

use super::compose::{project_containers, service_of, stop_and_remove};
use super::compose_args::run_args;
use super::compose_logs::Ended;
use super::Exit;
use crate::cli::ComposeUpArgs;
use crate::compose::{labels, Condition, MountKind, Project, Service};
use crate::container::Containers;
use crate::paths::Paths;
use crate::state::{ContainerRecord, HealthStatus, Status};
use sha2::Digest;
use std::collections::BTreeMap;
use std::time::Duration;

/// What this `up` made, so that a failure can take it back.
#[derive(Default)]
pub(super) struct Made {
    containers: Vec<String>,
    networks: Vec<String>,
    volumes: Vec<String>,
}

impl Made {
    pub(super) fn roll_back(&self, paths: &Paths) {
        for id in self.containers.iter().rev() {
            if let Err(e) = stop_and_remove(paths, id) {
                eprintln!("WARN: rolling back: cannot remove container {id}: {e:#}");
            }
        }
        for n in &self.networks {
            if let Ok(def) = crate::network::find(paths, n) {
                let _ = crate::network::teardown(paths, &def)
                    .and_then(|()| crate::network::forget(paths, &def));
            }
        }
        if let Ok(store) = crate::volume::VolumeStore::open(paths) {
            for v in &self.volumes {
                if let Ok(lock) = store.lock() {
                    let _ = store.remove(&lock, v);
                }
            }
        }
    }
}

fn error(message: String) -> anyhow::Error {
    Exit { code: 1, message }.into()
}

/// The services `wanted` asks for with everything they depend on (all when empty), in
/// start order.
pub(super) fn selected(p: &Project, wanted: &[String]) -> anyhow::Result<Vec<String>> {
    let order = crate::compose::start_order(&p.services).map_err(error)?;
    if wanted.is_empty() {
        return Ok(order);
    }
    let mut keep = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = wanted.to_vec();
    while let Some(s) = todo.pop() {
        let svc = p
            .services
            .get(&s)
            .ok_or_else(|| error(format!("no such service: {s}")))?;
        if keep.insert(s.clone()) {
            todo.extend(svc.depends_on.keys().cloned());
        }
    }
    Ok(order.into_iter().filter(|s| keep.contains(s)).collect())
}

pub fn up(paths: &Paths, p: &Project, a: &ComposeUpArgs) -> anyhow::Result<()> {
    let services = selected(p, &a.services)?;
    check_settings(p, &services)?;
    let mut made = Made::default();
    let result = bring_up(paths, p, &services, a, &mut made);
    if let Err(e) = result {
        made.roll_back(paths);
        return Err(e);
    }
    if a.detach || a.no_start {
        return Ok(());
    }
    let ids: Vec<String> = project_containers(paths, &p.name)?
        .into_iter()
        .filter(|r| services.iter().any(|s| s == service_of(r)) && !super::compose::is_oneoff(r))
        .map(|r| r.id)
        .collect();
    if let Some(from) = &a.exit_code_from {
        if !services.contains(from) {
            return Err(error(format!("no such service: {from}")));
        }
    }
    let abort = a.abort_on_container_exit || a.exit_code_from.is_some();
    let ended = super::compose_logs::follow(paths, &ids, true, true, abort)?;
    let code = match &ended {
        Ended::All => return Ok(()),
        Ended::Signal => {
            eprintln!("Gracefully stopping... (press Ctrl+C again to force)");
            130
        }
        Ended::Exited(id) => {
            let first = Containers::open(paths)?.get(id)?.rec;
            eprintln!("{} exited with code {}", first.name, first.state.exit_code);
            eprintln!("Aborting on container exit...");
            // --exit-code-from's container, else the one that ended first.
            let from = a
                .exit_code_from
                .clone()
                .unwrap_or_else(|| service_of(&first).to_string());
            stop_all(paths, &ids)?;
            project_containers(paths, &p.name)?
                .iter()
                .find(|r| service_of(r) == from && ids.contains(&r.id))
                .map_or(first.state.exit_code, |r| r.state.exit_code)
        }
    };
    stop_all(paths, &ids)?;
    if code != 0 {
        return Err(Exit::silent(code).into());
    }
    Ok(())
}

/// Stop the containers `ids`, last started first, as compose does.
fn stop_all(paths: &Paths, ids: &[String]) -> anyhow::Result<()> {
    for id in ids.iter().rev() {
        let containers = Containers::open(paths)?;
        if let Ok(c) = containers.get(id) {
            let name = c.rec.name.clone();
            if c.is_running() {
                eprintln!(" Container {name}  Stopping");
                let sig = super::containers::stop_signal(&c, None)?;
                c.stop(sig, Some(Duration::from_secs(10)))?;
                eprintln!(" Container {name}  Stopped");
            }
        }
    }
    Ok(())
}

/// Every service's settings checked as `run` checks its flags, before anything is made.
fn check_settings(p: &Project, services: &[String]) -> anyhow::Result<()> {
    for s in services {
        let args = run_args(p, &p.services[s], None, BTreeMap::new(), None, false);
        let no_containers = |name: &str| Err(format!("no such container: {name}"));
        let checked = args
            .host_config(&no_containers)
            .map(|_| ())
            .map_err(|e| e.to_string())
            .and_then(|()| {
                args.mounts
                    .to_mounts()
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .and_then(|()| {
                args.life
                    .to_config(false)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = checked {
            return Err(error(format!("service {s:?}: {e}")));
        }
    }
    Ok(())
}

pub(super) fn bring_up(
    paths: &Paths,
    p: &Project,
    services: &[String],
    a: &ComposeUpArgs,
    made: &mut Made,
) -> anyhow::Result<()> {
    let used_nets: std::collections::BTreeSet<&String> = services
        .iter()
        .flat_map(|s| p.services[s].networks.keys())
        .collect();
    for key in used_nets {
        ensure_network(paths, p, key, made)?;
    }
    for s in services {
        for m in &p.services[s].volumes {
            if let (MountKind::Volume, Some(key)) = (m.kind, &m.source) {
                ensure_volume(paths, p, key, made)?;
            }
        }
    }
    for s in services {
        let svc = &p.services[s];
        if svc.build.is_some() {
            let images = crate::image::ImageStore::open(&paths.images())?;
            if a.build || images.resolve(&svc.image_name(&p.name)).is_err() {
                super::compose_verbs::build_service(paths, p, svc)?;
            }
        }
    }
    for s in services {
        let svc = &p.services[s];
        for (dep, cond) in &svc.depends_on {
            wait_for(paths, p, dep, *cond)?;
        }
        start_service(paths, p, svc, a.no_start, made)?;
    }
    Ok(())
}

pub(super) fn ensure_network(
    paths: &Paths,
    p: &Project,
    key: &str,
    made: &mut Made,
) -> anyhow::Result<()> {
    let name = p.network_name(key);
    let spec = &p.networks[key];
    if crate::network::find(paths, &name).is_ok() {
        return Ok(());
    }
    if spec.external {
        return Err(error(format!(
            "network {name} declared as external, but could not be found"
        )));
    }
    let mut l = spec.labels.clone();
    l.insert(labels::PROJECT.into(), p.name.clone());
    l.insert(labels::NETWORK.into(), key.to_string());
    l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
    crate::network::create(
        paths,
        crate::network::CreateRequest {
            name: name.clone(),
            subnet: None,
            gateway: None,
            internal: false,
            labels: l,
            ..Default::default()
        },
    )
    .map_err(|e| error(format!("cannot create network {name}: {e}")))?;
    made.networks.push(name.clone());
    eprintln!(" Network {name}  Created");
    Ok(())
}

pub(super) fn ensure_volume(
    paths: &Paths,
    p: &Project,
    key: &str,
    made: &mut Made,
) -> anyhow::Result<()> {
    let name = p.volume_name(key);
    let spec = &p.volumes[key];
    let store = crate::volume::VolumeStore::open(paths)?;
    if store.get(&name).is_ok() {
        return Ok(());
    }
    if spec.external {
        return Err(error(format!("external volume \"{name}\" not found")));
    }
    let mut l = spec.labels.clone();
    l.insert(labels::PROJECT.into(), p.name.clone());
    l.insert(labels::VOLUME.into(), key.to_string());
    l.insert(labels::VERSION.into(), labels::COMPOSE_VERSION.into());
    let lock = store.lock()?;
    store
        .create(&lock, &name, l, None, false)
        .map_err(|e| error(format!("cannot create volume {name}: {e}")))?;
    made.volumes.push(name.clone());
    eprintln!(" Volume \"{name}\"  Created");
    Ok(())
}

/// The config hash compose keeps on a container: a changed service is recreated.
fn config_hash(svc: &Service) -> String {
    let digest = sha2::Sha256::digest(format!("{svc:?}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Wait until the dependency's container meets `cond` (compose waits without a limit;
/// a dependency that ends unhealthy or exits badly fails the `up`).
pub(super) fn wait_for(
    paths: &Paths,
    p: &Project,
    dep: &str,
    cond: Condition,
) -> anyhow::Result<()> {
    if cond == Condition::Started {
        return Ok(());
    }
    // Ctrl-C or SIGTERM while waiting ends the `up` through its rollback. The signals are
    // blocked only here, where nothing forks (a monitor would inherit the mask).
    let guard = super::compose_logs::Interrupts::block()?;
    let result = wait_loop(paths, p, dep, cond, &guard);
    drop(guard);
    result
}

fn wait_loop(
    paths: &Paths,
    p: &Project,
    dep: &str,
    cond: Condition,
    interrupts: &super::compose_logs::Interrupts,
) -> anyhow::Result<()> {
    loop {
        let rec = project_containers(paths, &p.name)?
            .into_iter()
            .find(|r| service_of(r) == dep && !super::compose::is_oneoff(r))
            .ok_or_else(|| error(format!("dependency {dep} has no container")))?;
        match cond {
            Condition::Healthy => {
                if rec.config.healthcheck.is_none() {
                    return Err(error(format!(
                        "dependency failed to start: container {} has no healthcheck configured",
                        rec.name
                    )));
                }
                match rec.state.health.as_ref().map(|h| h.status) {
                    Some(HealthStatus::Healthy) => return Ok(()),
                    Some(HealthStatus::Unhealthy) => {
                        return Err(error(format!(
                            "dependency failed to start: container {} is unhealthy",
                            rec.name
                        )))
                    }
                    _ if !rec.is_running() => {
                        return Err(error(format!(
                            "dependency failed to start: container {} exited ({})",
                            rec.name, rec.state.exit_code
                        )))
                    }
                    _ => {}
                }
            }
            Condition::CompletedSuccessfully => {
                if rec.state.status == Status::Exited && !rec.is_running() {
                    if rec.state.exit_code == 0 {
                        return Ok(());
                    }
                    return Err(error(format!(
                        "service \"{dep}\" didn't complete successfully: exit {}",
                        rec.state.exit_code
                    )));
                }
            }
            Condition::Started => return Ok(()),
        }
        if interrupts.pause() {
            return Err(Exit {
                code: 130,
                message: format!("interrupted while waiting for {dep}"),
            }
            .into());
        }
    }
}

/// Create (or keep, or recreate when its configuration changed) and start the
/// service's container.
fn start_service(
    paths: &Paths,
    p: &Project,
    svc: &Service,
    no_start: bool,
    made: &mut Made,
) -> anyhow::Result<()> {
    let hash = config_hash(svc);
    let existing = project_containers(paths, &p.name)?
        .into_iter()
        .find(|r| service_of(r) == svc.name && !super::compose::is_oneoff(r));
    let rec = match existing {
        Some(r) if r.config.labels.get(labels::CONFIG_HASH) == Some(&hash) => r,
        Some(r) => {
            eprintln!(" Container {}  Recreate", r.name);
            stop_and_remove(paths, &r.id)?;
            create(paths, p, svc, &hash, made)?
        }
        None => create(paths, p, svc, &hash, made)?,
    };
    if no_start || rec.is_running() {
        if rec.is_running() {
            eprintln!(" Container {}  Running", rec.name);
        }
        return Ok(());
    }
    eprintln!(" Container {}  Starting", rec.name);
    crate::monitor::start(paths, &rec.id, crate::monitor::Mode::Detached)
        .map_err(|e| error(format!("cannot start service {}: {e}", svc.name)))?;
    eprintln!(" Container {}  Started", rec.name);
    Ok(())
}

fn create(
    paths: &Paths,
    p: &Project,
    svc: &Service,
    hash: &str,
    made: &mut Made,
) -> anyhow::Result<ContainerRecord> {
    let name = p.container_name(svc, 1);
    let mut l: BTreeMap<String, String> = svc.labels.clone();
    for (k, v) in [
        (labels::PROJECT, p.name.clone()),
        (labels::SERVICE, svc.name.clone()),
        (labels::NUMBER, "1".into()),
        (labels::ONEOFF, "False".into()),
        (labels::WORKING_DIR, p.working_dir.display().to_string()),
        (
            labels::CONFIG_FILES,
            p.config_files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (labels::CONFIG_HASH, hash.to_string()),
        (labels::VERSION, labels::COMPOSE_VERSION.into()),
    ] {
        l.insert(k.to_string(), v);
    }
    let args = run_args(p, svc, Some(name.clone()), l, None, false);
    let rec = super::run::create_container(paths, &args)
        .map_err(|e| error(format!("cannot create service {}: {e:#}", svc.name)))?;
    made.containers.push(rec.id.clone());
    join_other_networks(paths, p, svc, &rec)?;
    eprintln!(" Container {name}  Created");
    Ok(rec)
}

/// A service's second and later networks, added to the created container's endpoints.
pub(super) fn join_other_networks(
    paths: &Paths,
    p: &Project,
    svc: &Service,
    rec: &ContainerRecord,
) -> anyhow::Result<()> {
    let store = crate::state::ContainerStore::open(&paths.containers())?;
    for (key, n) in svc.networks.iter().skip(1) {
        let mut aliases = vec![svc.name.clone()];
        aliases.extend(n.aliases.iter().cloned());
        let ep = crate::config::Endpoint {
            network: p.network_name(key),
            ip: None,
            aliases,
            mac: None,
            ..Default::default()
        };
        store.update(&rec.id, |r| r.config.host.endpoints.push(ep))?;
    }
    Ok(())
}
