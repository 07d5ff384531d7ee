//! Running a plugin without a daemon: an enabled plugin runs as a kiste container (the
//! same runtime and monitor as `run -d`) in a store of its own (`PluginStore::
//! engine_paths`, so `ps` never lists it), from its rootfs, with the capabilities,
//! devices, mounts, network and host namespaces its config asks for, and its
//! `/run/docker/plugins` bound from a per-plugin directory of the runroot, where its
//! socket appears. It is started by `plugin enable`, and again on first use when it is
//! not running (after a reboot, or a crash); `disable` stops it.

use crate::config::{
    Capability, DeviceMapping, MountConfig, MountOrigin, MountSource, NamespaceMode, NetworkMode,
    Propagation,
};
use crate::container::Containers;
use crate::monitor::{self, Mode};
use crate::paths::Paths;
use crate::plugin::{Plugin, PluginStore};
use crate::state::{ContainerConfig, ContainerRecord, ContainerStore, HostConfig};
use anyhow::Context;
use std::time::{Duration, Instant};

/// Where the plugin's socket directory is inside it.
const PLUGIN_SOCKET_DIR: &str = "/run/docker/plugins";

/// Whether the plugin's container runs.
pub fn is_running(paths: &Paths, p: &Plugin) -> bool {
    let engine = PluginStore::engine_paths(paths);
    ContainerStore::open(&engine.containers())
        .and_then(|s| s.resolve(&p.id))
        .is_ok_and(|r| r.is_running())
}

/// Starts the plugin's container unless it runs, and waits (up to `timeout`) until its
/// socket answers.
pub fn ensure_running(
    paths: &Paths,
    store: &PluginStore,
    p: &Plugin,
    timeout: Duration,
) -> anyhow::Result<()> {
    if is_running(paths, p) && crate::plugin::client::connect(&store.socket(p)).is_ok() {
        return Ok(());
    }
    let engine = PluginStore::engine_paths(paths);
    engine
        .ensure()
        .with_context(|| format!("cannot make the plugin store {}", engine.root.display()))?;
    crate::container::repair_all(&engine)?;
    remove_container(&engine, &p.id)?;
    let socket_dir = store.socket_dir(&p.id);
    crate::paths::make_dir(
        socket_dir.parent().unwrap_or(&socket_dir),
        crate::paths::PRIVATE,
    )?;
    crate::paths::make_dir(&socket_dir, crate::paths::PRIVATE)?;
    let socket = store.socket(p);
    match std::fs::remove_file(&socket) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("cannot remove {}", socket.display()))
        }
        _ => {}
    }
    if !p.config.propagated_mount.is_empty() {
        crate::paths::make_dir(&store.propagated(&p.id), crate::paths::PRIVATE)?;
    }
    let mut rec = container_record(store, p)?;
    let cstore = ContainerStore::open(&engine.containers())?;
    let lock = cstore.lock()?;
    cstore.create(&lock, &mut rec)?;
    drop(lock);
    monitor::start_new(&engine, &rec, &[store.rootfs(&p.id)], Mode::Detached)
        .map_err(|e| anyhow::anyhow!("plugin {}: cannot start: {e}", p.name))?;
    let deadline = Instant::now() + timeout;
    loop {
        if crate::plugin::client::connect(&socket).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline || !is_running(paths, p) {
            let _ = stop(paths, p);
            anyhow::bail!(
                "dial unix {}: plugin {} did not open its socket within {}s",
                socket.display(),
                p.name,
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops the plugin's container (SIGTERM, then SIGKILL after 10 s) and removes it.
pub fn stop(paths: &Paths, p: &Plugin) -> anyhow::Result<()> {
    let engine = PluginStore::engine_paths(paths);
    if !engine.containers().is_dir() {
        return Ok(());
    }
    remove_container(&engine, &p.id)
}

fn remove_container(engine: &Paths, id: &str) -> anyhow::Result<()> {
    let containers = Containers::open(engine)?;
    let Ok(c) = containers.get(id) else {
        return Ok(());
    };
    if c.is_running() {
        c.stop(libc::SIGTERM, Some(Duration::from_secs(10)))?;
        containers.get(id)?.remove(true)?;
    } else {
        c.remove(true)?;
    }
    Ok(())
}

/// The container the plugin runs as, from its config and settings.
fn container_record(store: &PluginStore, p: &Plugin) -> anyhow::Result<ContainerRecord> {
    let c = &p.config;
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        anyhow::anyhow!("plugin {}: invalid {what}: {e}", p.name)
    };
    let mut host = HostConfig {
        network: match c.network.kind.as_str() {
            "host" => NetworkMode::Host,
            "none" => NetworkMode::None,
            _ => NetworkMode::Private,
        },
        pid: if c.pid_host {
            NamespaceMode::Host
        } else {
            NamespaceMode::Private
        },
        ipc: if c.ipc_host {
            NamespaceMode::Host
        } else {
            NamespaceMode::Private
        },
        ..HostConfig::default()
    };
    for cap in c.linux.capabilities.iter().flatten() {
        host.cap_add
            .push(Capability::parse("Linux.Capabilities", cap).map_err(|e| bad("capability", &e))?);
    }
    for d in &p.settings.devices {
        if let Some(path) = &d.path {
            host.devices
                .push(DeviceMapping::parse("Linux.Devices", path).map_err(|e| bad("device", &e))?);
        }
    }
    if c.linux.allow_all_devices {
        host.resources
            .device_cgroup_rules
            .push(crate::config::DeviceCgroupRule {
                kind: 'a',
                major: None,
                minor: None,
                access: "rwm".into(),
            });
    }
    let bind = |source: std::path::PathBuf, target: &str, propagation, readonly| MountConfig {
        source: MountSource::Bind {
            source,
            propagation,
            create: false,
        },
        target: target.to_string(),
        readonly,
        origin: MountOrigin::Mount,
        mode: String::new(),
        spec: String::new(),
    };
    host.mounts.push(bind(
        store.socket_dir(&p.id),
        PLUGIN_SOCKET_DIR,
        Propagation::Rprivate,
        false,
    ));
    if !c.propagated_mount.is_empty() {
        host.mounts.push(bind(
            store.propagated(&p.id),
            &c.propagated_mount,
            Propagation::Rshared,
            false,
        ));
    }
    for m in &p.settings.mounts {
        match m.kind.as_str() {
            "bind" | "" => {
                let Some(src) = m.source.as_deref().filter(|s| !s.is_empty()) else {
                    return Err(bad("mount", &format!("{:?} has no source", m.name)));
                };
                let opts = m.options.clone().unwrap_or_default();
                host.mounts.push(bind(
                    src.into(),
                    &m.destination,
                    Propagation::Rprivate,
                    opts.iter().any(|o| o == "ro"),
                ));
            }
            "tmpfs" => host.mounts.push(MountConfig {
                source: MountSource::Tmpfs {
                    options: m.options.clone().unwrap_or_default(),
                },
                target: m.destination.clone(),
                readonly: false,
                origin: MountOrigin::Mount,
                mode: String::new(),
                spec: String::new(),
            }),
            other => return Err(bad("mount type", &other)),
        }
    }
    let mut cmd = p.settings.args.clone();
    if cmd.is_empty() {
        cmd = c.args.value.clone().unwrap_or_default();
    }
    let user = match (c.user.uid, c.user.gid) {
        (Some(u), Some(g)) => format!("{u}:{g}"),
        (Some(u), None) => u.to_string(),
        _ => String::new(),
    };
    let mut env = vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()];
    env.extend(p.settings.env.iter().cloned());
    Ok(ContainerRecord {
        id: p.id.clone(),
        name: format!("plugin-{}", &p.id[..12]),
        created: crate::image::now_rfc3339(),
        config: ContainerConfig {
            image: p.name.clone(),
            entrypoint: c.entrypoint.clone(),
            cmd,
            env,
            working_dir: c.work_dir.clone(),
            user,
            hostname: p.id[..12].to_string(),
            detached: true,
            host,
            ..ContainerConfig::default()
        },
        state: Default::default(),
    })
}
