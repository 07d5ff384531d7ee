//! Starting a container from its record and watching it until it exits: the monitor.
//! A foreground `kiste run` is its own monitor; `run -d` and `start` fork one (the same
//! binary, single-threaded) that detaches, keeps the log, forwards published ports,
//! records the exit code and releases mounts, cgroup and ports. No daemon outlives it.

mod attach;
mod detach;
mod exec;
mod finish;
mod footprint;
mod health;
mod logs;
mod network;
mod pty;
mod restart;
mod rootfs;
mod spec;
mod supervise;
pub use supervise::set_signal_proxy;

pub use attach::{attach_client, Ended, SOCKET as ATTACH_SOCKET};
use detach::{detach, detach_stdio, start_failed, start_outcome};
pub use exec::{exec, ExecRequest};
use finish::{finish, finish_failed_start};
pub use finish::{release, remove_anonymous_volumes};
pub use health::{probe_spec, record_probe, start_probe};
pub use logs::{log_files, read_line as read_log_line, LogEntry};
use rootfs::{mount_rootfs, prepare_for_userns};
pub use spec::{cgroup_of, cgroup_resources, resolve_host, SpecError};

use crate::image::{ImageError, ImageStore};
use crate::network::{bind_ports, BoundPort, NetworkError, PortError, PortForwarder};
use crate::paths::{make_dir_in, Paths, PRIVATE, TRAVERSE};
use crate::runtime::{self, RuntimeError};
use crate::state::{ContainerRecord, ContainerStore, StateError, Status};
use crate::storage::{self, StorageError};

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Stream output to our stdout/stderr and return the exit code when the container ends.
    Foreground { interactive: bool },
    /// Hand the container to a detached monitor; return once it runs.
    Detached,
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Port(#[from] PortError),
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error(transparent)]
    RootlessNetwork(#[from] crate::network::rootless::RootlessNetError),
    /// An error the detached monitor reported with its exit code.
    #[error("{message}")]
    Reported { code: i32, message: String },
    /// A system call on the host failed; `action` names what and on which object.
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("container {0}: its monitor ended before the container started")]
    MonitorEnded(String),
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
}

impl MonitorError {
    pub fn exit_code(&self) -> i32 {
        match self {
            MonitorError::Runtime(e) => e.exit_code(),
            MonitorError::Reported { code, .. } => *code,
            _ => 125,
        }
    }
}

fn other(action: &str) -> impl FnOnce(std::io::Error) -> MonitorError + '_ {
    move |source| MonitorError::Io {
        action: action.to_string(),
        source,
    }
}

/// What a started container holds on the host, released when it exits.
struct Running {
    id: String,
    rootfs: PathBuf,
    /// The rootfs is mounted on the host (else only in the container's mount namespace).
    host_mount: bool,
    cgroup: runtime::CgroupSpec,
    auto_remove: bool,
    /// On bridge networks: the container's name and its endpoints.
    bridged: Option<(String, Vec<crate::config::Endpoint>)>,
    /// What `--rm` removes with the record: the anonymous volumes among these.
    mounts: Vec<crate::config::MountConfig>,
    /// Started again by its monitor under a restart policy (not by the user).
    restart: bool,
    /// Rootless with its own network: pasta or slirp4netns connects it (see network::rootless).
    rootless_net: bool,
    /// `-t` and `-i`: a detached monitor serves `attach`.
    tty: bool,
    interactive: bool,
    log: crate::config::LogConfig,
    /// `--use-api-socket`: an API service runs while the container does.
    api_socket: bool,
}

/// Start the container `id`. Foreground: returns the container's exit code when it ends.
/// Detached: returns 0 once it runs. Starting a running container does nothing.
pub fn start(paths: &Paths, id: &str, mode: Mode) -> Result<i32, MonitorError> {
    let store = ContainerStore::open(&paths.containers())?;
    // Two starts of one container at once: the second waits here, then finds it running.
    let starting = lock_start(paths, id)?;
    let rec = store.load(id)?;
    if rec.is_running() || rec.is_restarting() {
        return Ok(0);
    }
    if rec.state.started_at.is_some() {
        // A container that ran before may hold a mount or cgroup its monitor never released.
        release(paths, &rec);
    }
    let images = ImageStore::open(&paths.images())?;
    let lowers = images.layer_dirs(&images.resolve(&rec.config.image_id)?)?;
    launch(paths, &store, &rec, &lowers, mode, starting)
}

/// Start a container `run` has just created, from the image layers `run` resolved.
pub fn start_new(
    paths: &Paths,
    rec: &ContainerRecord,
    lowers: &[PathBuf],
    mode: Mode,
) -> Result<i32, MonitorError> {
    let store = ContainerStore::open(&paths.containers())?;
    let starting = lock_start(paths, &rec.id)?;
    launch(paths, &store, rec, lowers, mode, starting)
}

/// Make the container's directories (private; the run dir reachable by the container's
/// user-namespace root, which must find its /etc files there).
fn prepare_dirs(paths: &Paths, rec: &ContainerRecord) -> Result<(), MonitorError> {
    // The container's dir exists: its record and start lock are in it. The runroot's
    // `containers/` is made (0711) only when the run dir cannot be.
    let run_dir = paths.container_run_dir(&rec.id);
    make_dir_in(&run_dir, PRIVATE, TRAVERSE)
        .map_err(other(&format!("cannot create {}", run_dir.display())))?;
    if let Some((_, gid)) = rec.config.host.userns_root() {
        std::os::unix::fs::chown(&run_dir, None, Some(gid))
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&run_dir, std::fs::Permissions::from_mode(0o710))
            })
            .map_err(other(&format!("cannot create {}", run_dir.display())))?;
    }
    // The upper, work and mount point directories are made by `storage::mount_overlay`.
    Ok(())
}

/// A container ready to spawn: mounted, its spec made, its ports bound.
struct Prepared {
    running: Running,
    spec: runtime::ContainerSpec,
    ports: Vec<BoundPort>,
    pipes: Pipes,
    _stdin: Option<std::fs::File>,
}

fn launch(
    paths: &Paths,
    store: &ContainerStore,
    rec: &ContainerRecord,
    lowers: &[PathBuf],
    mode: Mode,
    starting: std::fs::File,
) -> Result<i32, MonitorError> {
    let mut p = prepare(paths, store, rec, lowers, mode, false)?;
    let (running, spec) = (&p.running, &mut p.spec);
    // `run -it`: the user's terminal is raw while the container has it (restored when
    // this guard drops, whatever the outcome).
    let _raw = match mode {
        Mode::Foreground { interactive: true } if rec.config.host.terminal.tty => {
            pty::RawMode::enter(0)
        }
        _ => None,
    };
    match mode {
        Mode::Foreground { .. } => run_monitored(
            paths,
            store,
            running,
            spec,
            p.ports,
            p.pipes,
            true,
            move |_| drop(starting),
        )
        .inspect_err(|e| finish_failed_start(paths, store, running, e))
        .map(|code| restart::keep_running(paths, store, &running.id, code, mode)),
        Mode::Detached => {
            let started = detach(paths, store, running, spec, p.ports, p.pipes);
            drop(starting);
            started
        }
    }
}

/// Mount the container's root, bind its ports and make its spec; on error nothing is
/// left held. `restart`: the monitor starts it again under its restart policy.
fn prepare(
    paths: &Paths,
    store: &ContainerStore,
    rec: &ContainerRecord,
    lowers: &[PathBuf],
    mode: Mode,
    restart: bool,
) -> Result<Prepared, MonitorError> {
    let id = rec.id.as_str();
    let run_dir = paths.container_run_dir(id);
    let rootfs = paths.container_rootfs(id);
    prepare_dirs(paths, rec)?;
    let (tree, host_mount) = mount_rootfs(paths, rec, lowers, &rootfs).inspect_err(|_| {
        // Nothing to repair later: the start failed before anything was held.
        let _ = std::fs::remove_dir_all(&run_dir);
    })?;
    if let Some(root) = rec.config.host.userns_root() {
        prepare_for_userns(&rootfs, &paths.container_upper(id), root).map_err(|e| {
            let _ = storage::unmount(&rootfs);
            let _ = std::fs::remove_dir_all(&run_dir);
            other(&format!(
                "cannot prepare the root filesystem of container {id} for its user namespace"
            ))(e)
        })?;
    }
    let running = Running {
        id: id.to_string(),
        rootfs: rootfs.clone(),
        host_mount,
        cgroup: cgroup_of(rec),
        auto_remove: rec.config.host.auto_remove,
        bridged: (rec.config.host.network == crate::config::NetworkMode::Bridge)
            .then(|| (rec.name.clone(), rec.config.host.endpoints.clone())),
        mounts: rec.config.host.mounts.clone(),
        restart,
        rootless_net: paths.rootless
            && rec.config.host.network == crate::config::NetworkMode::Private,
        tty: rec.config.host.terminal.tty,
        interactive: rec.config.host.interactive,
        log: rec.config.host.log.clone(),
        api_socket: rec.config.host.api_socket,
    };
    let result = (|| {
        let ports = if rec.config.host.network.is_private() {
            bind_ports(&rec.config.host.ports)?
        } else {
            Vec::new()
        };
        let (pipes, stdin, stdio) = pty::wire_stdio(rec, mode)?;
        let (mut spec, missing) = spec::container_spec(paths, rec, &rootfs, &run_dir, stdio)?;
        spec.rootfs_tree = tree;
        for cap in &missing {
            eprintln!("WARNING: --privileged: the host's bounding set lacks CAP_{cap}; the container runs without it");
        }
        Ok::<_, MonitorError>((spec, ports, pipes, stdin))
    })();
    match result {
        Ok((spec, ports, pipes, stdin)) => Ok(Prepared {
            running,
            spec,
            ports,
            pipes,
            _stdin: stdin,
        }),
        Err(e) => {
            finish_failed_start(paths, store, &running, &e);
            Err(e)
        }
    }
}

/// An exclusive lock on starting container `dir`'s container, released on drop. The
/// detached monitor does not inherit it (it closes the descriptors it does not use).
fn lock_start(paths: &Paths, id: &str) -> Result<std::fs::File, MonitorError> {
    let path = paths.container_start_lock(id);
    crate::lock::lock_exclusive(&path).map_err(other(&format!("cannot lock {}", path.display())))
}

struct Pipes {
    out: OwnedFd,
    err: OwnedFd,
    out_w: OwnedFd,
    err_w: OwnedFd,
    /// `run -di` without -t: the write end of the container's stdin, for `attach`.
    stdin_w: Option<OwnedFd>,
}

fn pipe() -> Result<(OwnedFd, OwnedFd), MonitorError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| other("cannot create a pipe for the container's output")(e.into()))
}

/// Spawn the container and supervise it in this process; return its exit code.
/// `on_started` is called once the container runs and its record says so.
#[allow(clippy::too_many_arguments)]
fn run_monitored(
    paths: &Paths,
    store: &ContainerStore,
    running: &Running,
    spec: &mut runtime::ContainerSpec,
    ports: Vec<BoundPort>,
    pipes: Pipes,
    echo: bool,
    on_started: impl FnOnce(&ContainerRecord),
) -> Result<i32, MonitorError> {
    let log_path = paths.container_log(&running.id);
    let log = logs::LogFile::open(&log_path, &running.log).map_err(other(&format!(
        "cannot open the log {}",
        log_path.display()
    )))?;
    let mappings: Vec<_> = ports.iter().map(|p| p.mapping.clone()).collect();
    let (ports, rootless_spec) = if running.rootless_net {
        // The helper binds the host ports itself, as the user.
        drop(ports);
        let run_dir = paths.container_run_dir(&running.id);
        let netns = crate::network::rootless::connect(&running.id, &run_dir, &mappings)?;
        let mut spec = spec.clone();
        spec.namespaces.net = runtime::NsMode::Path(netns);
        (Vec::new(), Some(spec))
    } else {
        (ports, None)
    };
    // The attach socket exists before `run -d` returns, so an `attach` right after it
    // finds it.
    let attach = match !echo && (running.tty || running.interactive) {
        true => Some(attach::serve(
            &paths.container_run_dir(&running.id),
            running.tty,
            &pipes.out,
            pipes.stdin_w,
        )?),
        false => None,
    };
    let api = match running.api_socket {
        true => Some(crate::api::Sidecar::start(
            paths,
            &paths.container_run_dir(&running.id),
        )?),
        false => None,
    };
    let to_spawn = rootless_spec.as_ref().unwrap_or(&*spec);
    // The "running" record is written and synced while the container's process sets
    // itself up (mounts, pivot_root), and renamed into place once it has exec'd: the
    // fsync (1 ms quiet, tens on a busy disk) is off the path to `run -d` returning,
    // and the record on disk is still the synced "created" one or the synced "running"
    // one, never a half-written file. A failed start drops the temp file unrenamed.
    // On bridge networks the process is held before its execve while its veths are made
    // and configured (`network::join`), which takes the most time of a start.
    let mut staged = None;
    let mut stage_error = None;
    let mut attached = None;
    let mut join_error = None;
    let mut on_clone = |pid| {
        if let Some((name, endpoints)) = &running.bridged {
            let id = running.id.as_str();
            match network::join_started(paths, id, name, &spec.hostname, endpoints, pid) {
                Ok(joined) => attached = Some(joined),
                Err(e) => {
                    let failed = RuntimeError::Io {
                        action: format!("cannot connect container {id} to its networks"),
                        source: std::io::Error::other(e.to_string()),
                    };
                    join_error = Some(e);
                    return Err(failed);
                }
            }
        }
        let start_time = runtime::process_start_time(pid).unwrap_or_default();
        let change =
            |r: &mut ContainerRecord| running_state(r, running, pid, start_time, &mappings);
        match store.stage_update(&running.id, change) {
            Ok(s) => {
                staged = Some(s);
                Ok(())
            }
            Err(e) => {
                let failed = RuntimeError::Io {
                    action: format!("cannot save the state of container {}", running.id),
                    source: std::io::Error::other(e.to_string()),
                };
                stage_error = Some(e);
                Err(failed)
            }
        }
    };
    let spawned = match running.bridged {
        Some(_) => runtime::spawn_held(to_spawn, &mut on_clone),
        None => runtime::spawn_then(to_spawn, &mut on_clone),
    };
    let started = match (spawned, stage_error, join_error) {
        (Ok(started), _, _) => started,
        (Err(_), _, Some(e)) => return Err(e.into()),
        (Err(_), Some(e), None) => return Err(e.into()),
        (Err(e), None, None) => return Err(e.into()),
    };
    // The forwarder keeps the namespace it forwards into (the container may be gone
    // already: `run --rm -p 80 IMG true`).
    let netns = attached.map(|joined| joined.netns);
    drop(pipes.out_w);
    drop(pipes.err_w);
    let rec = staged
        .expect("spawn_then calls on_clone before it succeeds")
        .commit()?;
    crate::events::volumes(paths, &rec, "mount");
    crate::events::container(paths, &rec, "start");
    if !echo {
        // For service managers (`generate systemd`: Type=forking with a PIDFile).
        let _ = std::fs::write(
            monitor_pid_file(paths, &running.id),
            format!("{}\n", std::process::id()),
        );
    }
    if running.restart && rec.state.stopped_by_user {
        // Stopped while its monitor was starting it again: the stop wins.
        // SAFETY: kill(2) on the child just spawned, not yet reaped.
        unsafe { libc::kill(started.pid, libc::SIGKILL) };
    }
    on_started(&rec);
    // Without ports the container alone holds its namespace, so that the kernel takes
    // its veth away with it (deleting a veth ourselves waits ~20 ms for RCU).
    let netns = if ports.is_empty() {
        None
    } else {
        netns.or_else(|| std::fs::File::open(format!("/proc/{}/ns/net", started.pid)).ok())
    };
    let forwarder = match netns {
        Some(ns) => Some(PortForwarder::new(ports, ns).map_err(other(&format!(
            "cannot forward ports into container {}",
            running.id
        )))?),
        None => None,
    };
    let term = &rec.config.host.terminal;
    let input = (echo && term.tty && term.stdin).then(|| supervise::TermInput {
        master: pipes.out.as_raw_fd(),
        // A foreground run ends with its container: no detach keys are watched.
        keys: pty::KeyRelay::new(Vec::new()),
    });
    let code = supervise::supervise(supervise::Watch {
        pid: started.pid,
        stdout: pipes.out,
        stderr: pipes.err,
        log,
        echo,
        shown: [term.stdout, term.stderr],
        input,
        forwarder,
        health: health::HealthWatch::new(paths, &rec),
        attach,
    });
    drop(api);
    // The detached overlay's last reference: closed in `finish`, beside the removals.
    let tree = spec.rootfs_tree.take();
    finish(paths, store, running, &rec, code, tree);
    Ok(code)
}

/// The record of container `running` once its process `pid` (started at `start_time`)
/// runs with `ports` published.
fn running_state(
    r: &mut ContainerRecord,
    running: &Running,
    pid: i32,
    start_time: u64,
    ports: &[crate::config::PortMapping],
) {
    r.state.status = Status::Running;
    r.state.pid = pid;
    r.state.pid_start_time = start_time;
    r.state.monitor_pid = std::process::id() as i32;
    r.state.monitor_start_time = crate::process::own_start_time().unwrap_or_default();
    r.state.started_at = Some(crate::image::now_rfc3339());
    r.state.error.clear();
    r.state.oom_killed = false;
    r.state.paused = false;
    r.state.restarting = false;
    r.state.health = r
        .config
        .healthcheck
        .as_ref()
        .and_then(|h| h.command())
        .map(|_| crate::state::HealthState::starting());
    if !running.restart {
        // A start by the user: a new run, and a new count for the restart policy.
        r.state.exit_code = 0;
        r.state.stopped_by_user = false;
        r.state.restart_count = 0;
    }
    r.state.ports = ports.to_vec();
}

/// The file a detached monitor writes its pid to while it supervises the container.
pub fn monitor_pid_file(paths: &Paths, id: &str) -> PathBuf {
    paths.container_run_dir(id).join("monitor.pid")
}

/// Close every descriptor the monitor inherited but does not use (a caller's pipes would
/// otherwise stay open for the container's whole life).
fn close_inherited_fds(keep: &[i32]) {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds {
        if fd > 2 && !keep.contains(&fd) {
            unsafe { libc::close(fd) };
        }
    }
}
