//! `run` and `create`: a new container record from an image and the user's flags, then
//! (for run) its start through the monitor.

use super::Exit;
use crate::cli::RunArgs;
use crate::config::NetworkMode;
use crate::image::config::set_env;
use crate::image::{Image, ImageStore};
use crate::monitor::{self, Mode};
use crate::paths::Paths;
use crate::state::{
    new_id, validate_name, ContainerConfig, ContainerRecord, ContainerStatus, ContainerStore,
};
use anyhow::Context;

pub fn create(paths: &Paths, args: RunArgs) -> anyhow::Result<()> {
    if args.extra.sig_proxy.is_some() {
        // docker's `create` has no --sig-proxy: nothing is attached to proxy to.
        return Err(Exit {
            code: 125,
            message: "unknown flag: --sig-proxy".into(),
        }
        .into());
    }
    let created = create_record(paths, &args, false)?;
    println!("{}", created.rec.id);
    Ok(())
}

pub fn run(paths: &Paths, args: RunArgs) -> anyhow::Result<()> {
    let Created { rec, image, images } = create_record(paths, &args, true)?;
    let store = ContainerStore::open(&paths.containers())?;
    crate::events::attached(paths, &rec, !args.detach);
    // `run -it`: a detached monitor owns the terminal and this process attaches to it, as
    // docker's CLI does, so that the detach keys leave the container running.
    let attach = !args.detach && args.interactive && rec.config.host.terminal.tty;
    crate::monitor::set_signal_proxy(args.extra.sig_proxy(rec.config.host.terminal.tty));
    let mode = if args.detach || attach {
        Mode::Detached
    } else {
        Mode::Foreground {
            interactive: args.interactive,
        }
    };
    let started = images
        .layer_dirs(&image)
        .map_err(monitor::MonitorError::from)
        .and_then(|lowers| monitor::start_new(paths, &rec, &lowers, mode));
    match started {
        Ok(code) => {
            if args.detach {
                println!("{}", rec.id);
                return Ok(());
            }
            let code = if attach {
                attach_terminal(paths, &rec, rec.config.host.terminal.detach_keys.0.clone())?
            } else {
                code
            };
            if code != 0 {
                return Err(Exit::silent(code).into());
            }
            Ok(())
        }
        Err(e) => {
            if args.rm {
                // A container that never ran is removed with --rm, as docker does.
                if let Ok(lock) = store.lock() {
                    let _ = store.remove(&lock, &rec.id);
                }
                monitor::remove_anonymous_volumes(paths, &rec.config.host.mounts);
            } else {
                // It stays, created, as docker's does: its record is synced now (see
                // `ContainerStore::create_starting`).
                let _ = store.update(&rec.id, |_| ());
            }
            Err(Exit {
                code: e.exit_code(),
                message: e.to_string(),
            }
            .into())
        }
    }
}

/// `run -it`'s side after the start: the user's terminal on the container's until it
/// exits (its exit code) or the detach keys are typed (0, and the container goes on, as
/// with docker's `run -it`).
pub(super) fn attach_terminal(
    paths: &Paths,
    rec: &crate::state::ContainerRecord,
    keys: Vec<u8>,
) -> anyhow::Result<i32> {
    let ended = monitor::attach_client(&paths.container_run_dir(&rec.id), true, keys, true)
        .map_err(|e| anyhow::anyhow!("cannot attach to container {}: {e}", rec.id))?;
    if ended == monitor::Ended::Detached {
        return Ok(0);
    }
    let containers = crate::container::Containers::open(paths)?;
    match containers.get(&rec.id) {
        Ok(c) => Ok(c.wait_exit()?),
        // Removed by its monitor (--rm): the code it kept.
        Err(_) => Ok(crate::state::read_exit(&paths.exits(), &rec.id).unwrap_or(0)),
    }
}

/// `KEY=VALUE` lines of a --label-file (comments and blank lines skipped), which the
/// `--label` flags then override, as docker does.
fn read_label_file(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Exit {
        code: 125,
        message: format!("cannot read label file {}: {e}", path.display()),
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// `--cidfile`: docker's refusal when the file is already there (checked before anything
/// is created), and the id written once the record exists.
fn check_cidfile(path: Option<&std::path::Path>) -> anyhow::Result<()> {
    match path {
        Some(p) if p.exists() => Err(Exit {
            code: 125,
            message: format!(
                "container ID file found, make sure the other container isn't running or delete {}",
                p.display()
            ),
        }
        .into()),
        _ => Ok(()),
    }
}

fn write_cidfile(path: &std::path::Path, id: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Exit {
            code: 125,
            message: format!(
                "failed to create the container ID file {}: {e}",
                path.display()
            ),
        })?;
    f.write_all(id.as_bytes())?;
    Ok(())
}

/// `KEY=VALUE` lines of an --env-file (comments and blank lines skipped; a bare KEY takes
/// kiste's own value, as docker does).
pub(super) fn read_env_file(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read env file {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(env_entry)
        .collect())
}

pub(super) fn env_entry(e: &str) -> Option<String> {
    if e.contains('=') {
        Some(e.to_string())
    } else {
        std::env::var(e).ok().map(|v| format!("{e}={v}"))
    }
}

/// A new container from typed flags, created and not started (`compose up` starts it
/// once its dependencies are ready).
pub(super) fn create_container(paths: &Paths, args: &RunArgs) -> anyhow::Result<ContainerRecord> {
    Ok(create_record(paths, args, false)?.rec)
}

/// A new container's record, with the image it was created from (resolved once).
struct Created {
    rec: ContainerRecord,
    image: Image,
    images: ImageStore,
}

/// `starting`: `run` names itself as the new container's supervisor until the monitor
/// takes over, so that if it is killed before the container runs, the next command
/// finds the start abandoned (see `container::repair`) and removes an `--rm` record.
/// A new record's status: a container this process goes on to start names it as its
/// monitor until the real monitor takes over.
pub(super) fn initial_status(starting: bool) -> ContainerStatus {
    if !starting {
        return ContainerStatus::default();
    }
    let me = std::process::id() as i32;
    ContainerStatus {
        monitor_pid: me,
        monitor_start_time: crate::process::own_start_time().unwrap_or_default(),
        ..ContainerStatus::default()
    }
}

fn create_record(paths: &Paths, args: &RunArgs, starting: bool) -> anyhow::Result<Created> {
    let verb = if starting { "run" } else { "create" };
    super::refused::content_trust(verb, args.refused.disable_content_trust)?;
    let flag_err = |e: &dyn std::fmt::Display| Exit {
        code: 125,
        message: e.to_string(),
    };
    // Every flag is checked and typed here, before anything exists.
    let resolve = |name: &str| -> Result<String, String> {
        ContainerStore::open(&paths.containers())
            .and_then(|store| store.resolve(name))
            .map(|r| r.id)
            .map_err(|e| e.to_string())
    };
    let mut host = args.host_config(&resolve).map_err(|e| flag_err(&e))?;
    super::run_extra::check_storage(paths, &host.run_extra)?;
    let (mut mounts, volumes_from) = args.mounts.to_mounts().map_err(|e| flag_err(&e))?;
    let life = args.life.to_config(args.rm).map_err(|e| flag_err(&e))?;
    (host.restart, host.init) = (life.restart, life.init);
    super::network::check_endpoints(paths, &mut host).map_err(|e| flag_err(&e))?;
    let stop_timeout = args.stop_timeout().map_err(|e| flag_err(&e))?;
    check_cidfile(args.cidfile.as_deref())?;
    let expose = args.exposed_ports().map_err(|e| flag_err(&e))?;
    if paths.rootless {
        if let Some(why) = super::rootless::refusal(&host.resources) {
            return Err(flag_err(&why).into());
        }
        if let Some(why) = crate::network::rootless::port_refusal(&host.ports) {
            return Err(flag_err(&why).into());
        }
    }
    if !host.ports.is_empty() && host.network == NetworkMode::Host {
        // As docker: the ports stay in the record but nothing is forwarded (with
        // --network none docker says nothing either).
        eprintln!("WARNING: Published ports are discarded when using host network mode");
    }
    if let Some(name) = &args.name {
        validate_name(name).map_err(|e| flag_err(&e))?;
    }
    if let Some(w) = args.workdir.as_deref().filter(|w| !w.starts_with('/')) {
        return Err(Exit {
            code: 125,
            message: format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            ),
        }
        .into());
    }
    if let Some(sig) = &args.stop_signal {
        crate::signal::parse_signal(sig).map_err(|e| flag_err(&e))?;
    }

    let images = ImageStore::open(&paths.images())?;
    let image = super::pull::image_for_container(
        &images,
        &args.image,
        args.pull,
        args.platform.as_deref(),
        args.quiet,
    )?;
    let ic = &image.config.config;
    super::volume::complete_mounts(paths, &mut mounts, &volumes_from, &ic.volumes)
        .map_err(|e| flag_err(&e))?;
    host.volumes_from = args.mounts.volumes_from.clone();
    host.mounts = mounts;
    let mut exposed_ports: std::collections::BTreeSet<String> =
        ic.exposed_ports.keys().cloned().collect();
    exposed_ports.extend(expose);
    if args.net.publish_all {
        super::network::publish_exposed(&mut host, exposed_ports.iter());
        super::network::default_binding(paths, &mut host);
    }
    let (entrypoint, cmd) = match &args.entrypoint {
        Some(ep) => (
            if ep.is_empty() {
                vec![]
            } else {
                vec![ep.clone()]
            },
            args.command.clone(),
        ),
        None => (
            ic.entrypoint.clone().unwrap_or_default(),
            if args.command.is_empty() {
                ic.cmd.clone().unwrap_or_default()
            } else {
                args.command.clone()
            },
        ),
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(Exit {
            code: 125,
            message: "no command specified: the image has no CMD or ENTRYPOINT; give one after the image name".into(),
        }
        .into());
    }
    let mut env = ic.env.clone();
    for f in &args.env_file {
        for e in read_env_file(f)? {
            set_env(&mut env, e);
        }
    }
    for e in &args.env {
        if let Some(e) = env_entry(e) {
            set_env(&mut env, e);
        }
    }
    // docker's CLI points the container at the logins it copies in (see crate::api).
    let api_creds = args.api_socket.use_api_socket && crate::api::docker_config_env(&mut env);
    if args.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let mut labels = ic.labels.clone();
    let mut from_files = Vec::new();
    for f in &args.label_file {
        from_files.extend(read_label_file(f)?);
    }
    for l in from_files.iter().chain(&args.labels) {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let id = new_id();
    let store = ContainerStore::open(&paths.containers())?;
    let lock = if args.replace {
        lock_replacing(paths, &store, args.name.as_deref().unwrap_or_default())?
    } else {
        store.lock()?
    };
    let mut rec = ContainerRecord {
        id: id.clone(),
        // Empty: the store picks a free generated name.
        name: args.name.clone().unwrap_or_default(),
        created: crate::image::now_rfc3339(),
        config: ContainerConfig {
            image: args.image.clone(),
            image_id: image.id.clone(),
            entrypoint,
            cmd,
            env,
            working_dir: args
                .workdir
                .clone()
                .unwrap_or_else(|| ic.working_dir.clone()),
            user: args.user.clone().unwrap_or_else(|| ic.user.clone()),
            hostname: args
                .hostname
                .clone()
                .unwrap_or_else(|| id[..12].to_string()),
            labels,
            stop_signal: args
                .stop_signal
                .clone()
                .unwrap_or_else(|| ic.stop_signal.clone()),
            stop_timeout,
            // `create` has no -d: like docker, it records an attached container.
            detached: starting && args.detach,
            host,
            create_command: std::env::args().collect(),
            healthcheck: crate::config::HealthConfig::merge(
                crate::config::HealthConfig::from_image(ic.healthcheck.as_ref()),
                life.health,
            )
            .filter(|h| h.command().is_some()),
            exposed_ports,
        },
        state: initial_status(starting),
    };
    crate::cli::check_volume_driver(&rec.config.host, |d| {
        crate::plugin::PluginStore::existing(paths).is_some_and(|s| s.get(d).is_ok())
    })
    .map_err(|message| Exit { code: 125, message })?;
    let created = match starting {
        true => store.create_starting(&lock, &mut rec),
        false => store.create(&lock, &mut rec),
    };
    created.map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    if let Err(e) = super::run_extra::limit_storage(paths, &rec) {
        let _ = store.remove(&lock, &rec.id);
        return Err(e.into());
    }
    drop(lock);
    if let Err(e) = super::volume::create_volumes(paths, &rec.config.host) {
        if let Ok(lock) = store.lock() {
            let _ = store.remove(&lock, &rec.id);
        }
        return Err(flag_err(&e).into());
    }
    if let Some(path) = &args.cidfile {
        if let Err(e) = write_cidfile(path, &rec.id) {
            if let Ok(lock) = store.lock() {
                let _ = store.remove(&lock, &rec.id);
            }
            return Err(e);
        }
    }
    if api_creds {
        if let Err(e) = crate::api::write_credentials(&paths.container_upper(&rec.id)) {
            eprintln!("WARNING: injecting docker config.json into container failed: {e}");
        }
    }
    crate::events::container(paths, &rec, "create");
    Ok(Created { rec, image, images })
}

/// `--replace`: the store's lock with no container named `name` left. A running one is
/// killed first (without the lock: its monitor records the exit under it); then, under
/// the lock the new record is created under, the old record and what it holds go. One
/// started again in between is killed again.
fn lock_replacing(
    paths: &Paths,
    store: &ContainerStore,
    name: &str,
) -> anyhow::Result<crate::state::StoreLock> {
    let named = || -> anyhow::Result<Option<ContainerRecord>> {
        Ok(store.list()?.into_iter().find(|r| r.name == name))
    };
    loop {
        if let Some(old) = named()?.filter(ContainerRecord::is_running) {
            let containers = crate::container::Containers::open(paths)?;
            containers
                .get(&old.id)?
                .stop(libc::SIGKILL, Some(std::time::Duration::ZERO))?;
        }
        let lock = store.lock()?;
        match named()? {
            None => return Ok(lock),
            Some(old) if old.is_running() => continue,
            Some(old) => {
                crate::log_debug!("--replace: removing container {} ({name})", old.id);
                monitor::release(paths, &old);
                store.remove(&lock, &old.id)?;
                return Ok(lock);
            }
        }
    }
}
