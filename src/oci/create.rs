//! `kiste oci create` and `run`. create: read and check the bundle, claim the id, make
//! the exec fifo, translate the config into a `ContainerSpec` and start it with
//! `runtime::spawn`; the process stops before execve on the fifo, and this command exits
//! (the process is adopted by the caller's subreaper: conmon, the containerd shim).
//! The prestart and createRuntime hooks run during the spawn, before the container's
//! pivot_root (`runtime::hooks`). On any failure nothing is left: the
//! process is killed, its cgroup and the state directory are removed. `run` is create
//! and start in one: without the fifo, its state is written while the process sets
//! itself up, and the program runs at once; in the foreground it waits and exits with
//! the container's status.

use std::path::{Path, PathBuf};

use super::bundle::{self, Bundle};
use super::lifecycle::{self, release};
use super::state::{check_id, Record};
use super::translate::translate;
use super::{Global, OciError};
use crate::cli::oci::{CreateArgs, OciRunArgs};

/// What create made, for run.
pub struct Created {
    pub rec: Record,
}

pub fn create(g: &Global, a: &CreateArgs) -> Result<Created, OciError> {
    make(g, a, true)
}

/// `run`: create then start; without --detach wait, delete, and return its status.
/// The program runs when `make` returns: no exec fifo stands between create and start.
pub fn run(g: &Global, a: &OciRunArgs) -> Result<i32, OciError> {
    // A signal that comes while the program starts waits for the handler that forwards
    // it (the container's process and the hooks start with an empty mask).
    if !a.detach {
        block_forwarded(true);
    }
    let created = make(g, &a.create, false);
    if !a.detach {
        if let Ok(c) = &created {
            forward_signals(c.rec.pid);
        }
        block_forwarded(false);
    }
    let created = created?;
    lifecycle::poststart(&created.rec);
    if a.detach {
        return Ok(0);
    }
    let code = wait_for(created.rec.pid);
    if !a.keep {
        lifecycle::destroy(g, &created.rec)?;
    }
    Ok(code)
}

/// The foreground container's pid, for the signal handler.
static FORWARD_TO: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = FORWARD_TO.load(std::sync::atomic::Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// The signals a foreground `run` or `exec` passes on, as runc's do.
const FORWARDED: [libc::c_int; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// Blocks (or unblocks) the forwarded signals: a signal that comes while a process is
/// being started waits for its handler instead of ending kiste.
pub(super) fn block_forwarded(block: bool) {
    // SAFETY: sigprocmask on a set built with sigemptyset/sigaddset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in FORWARDED {
            libc::sigaddset(&mut set, sig);
        }
        let how = if block {
            libc::SIG_BLOCK
        } else {
            libc::SIG_UNBLOCK
        };
        libc::sigprocmask(how, &set, std::ptr::null_mut());
    }
}

/// From now on, the signals a terminal or a supervisor sends go to the process `pid`
/// (a foreground container's or exec's), as runc forwards them.
pub(super) fn forward_signals(pid: i32) {
    FORWARD_TO.store(pid, std::sync::atomic::Ordering::Relaxed);
    for sig in FORWARDED {
        // SAFETY: installing a handler that only calls kill.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = forward as extern "C" fn(libc::c_int) as usize;
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
}

/// Waits for our child `pid` and returns its exit status (128+N for signal N).
fn wait_for(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waiting for a child of this process.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        if rc < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return 255;
        }
    }
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }
}

fn make(g: &Global, a: &CreateArgs, fifo: bool) -> Result<Created, OciError> {
    check_id(&a.id)?;
    let dir = match &a.bundle {
        Some(b) => b.clone(),
        None => PathBuf::from("."),
    };
    let bundle = bundle::load(&dir)?;
    // Connected before anything is made; the child inherits it through the spawn.
    let console =
        super::console::for_config(bundle.spec.process.as_ref(), a.console_socket.as_deref())?;
    let state_dir = g.root.claim(&a.id)?;
    match start_created(g, a, &bundle, &state_dir, fifo, console.as_ref()) {
        Ok(c) => Ok(c),
        Err(e) => {
            let _ = super::state::remove_dir(&state_dir);
            Err(e)
        }
    }
}

fn start_created(
    g: &Global,
    a: &CreateArgs,
    bundle: &Bundle,
    state_dir: &Path,
    with_fifo: bool,
    console: Option<&super::console::CreateConsole>,
) -> Result<Created, OciError> {
    // No lock is held here: the container's process would inherit it until its execve.
    // The directory's creation (`claim`) already made the id this command's.
    let fifo = if with_fifo {
        let path = state_dir.join("exec.fifo");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o600))
            .map_err(|e| OciError::io(format!("cannot make {}", path.display()), e.into()))?;
        // Writable for the container's user, whoever it is (as runc's 0622): the state
        // directory (0700) keeps everyone else from reaching it by its path.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o622))
            .map_err(|e| OciError::io(format!("cannot chmod {}", path.display()), e))?;
        Some(path)
    } else {
        None
    };
    let spec = &bundle.spec;
    let annotations = spec.annotations.clone().unwrap_or_default();
    let mut rec = Record {
        id: a.id.clone(),
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        pid: 0,
        start_time: 0,
        created: crate::time::now_rfc3339(),
        annotations,
        owner: String::new(),
        oci_version: spec.oci_version.clone(),
        cgroup: None,
        hooks: spec
            .hooks
            .as_ref()
            .and_then(|h| serde_json::to_value(h).ok()),
        namespaces: Vec::new(),
    };
    let mut t = translate(
        &a.id,
        bundle,
        g.systemd_cgroup,
        fifo,
        a.preserve_fds,
        rec.hook_state_value("creating"),
    )?;
    if let (Some(c), Some(x)) = (console, t.spec.oci.as_mut()) {
        x.console = Some(c.spec());
        t.spec.stdio = c.stdio();
    }
    rec.cgroup = Some(t.cgroup.clone());
    rec.namespaces = t.namespaces.clone();
    if !with_fifo {
        return spawn_recorded(g, a, &t.spec, rec);
    }
    let started = crate::runtime::spawn(&t.spec).map_err(|source| OciError::Runtime {
        id: a.id.clone(),
        source,
    })?;
    rec.pid = started.pid;
    rec.start_time = started.start_time;
    if let Err(e) = record(g, a, &rec) {
        release(&rec);
        let _ = lifecycle::destroy(g, &rec);
        return Err(e);
    }
    Ok(Created { rec })
}

/// The state and the pid file of a process that exists.
fn record(g: &Global, a: &CreateArgs, rec: &Record) -> Result<(), OciError> {
    g.root.save(rec)?;
    if let Some(p) = &a.pid_file {
        write_pid_file(p, rec.pid)?;
    }
    Ok(())
}

/// `run`'s start without an exec fifo: the state and the pid file are written as soon as
/// the process is cloned, while it sets itself up, so both exist before its program runs
/// (and it is never "created": nothing waits for a `start`). A failed write kills it.
fn spawn_recorded(
    g: &Global,
    a: &CreateArgs,
    spec: &crate::runtime::ContainerSpec,
    mut rec: Record,
) -> Result<Created, OciError> {
    let mut failed = None;
    let spawned = crate::runtime::spawn_then(spec, &mut |pid| {
        rec.pid = pid;
        rec.start_time = crate::process::process_start_time(pid).unwrap_or(0);
        record(g, a, &rec).map_err(|e| {
            let text = e.to_string();
            failed = Some(e);
            crate::runtime::RuntimeError::Child { text }
        })
    });
    if spawned.is_err() && failed.is_none() && rec.pid != 0 {
        // Written for a process that then failed its setup: not left behind.
        if let Some(p) = &a.pid_file {
            let _ = std::fs::remove_file(p);
        }
    }
    match (spawned, failed) {
        (Ok(_), _) => Ok(Created { rec }),
        (Err(_), Some(e)) => Err(e),
        (Err(source), None) => Err(OciError::Runtime {
            id: a.id.clone(),
            source,
        }),
    }
}

/// Writes the pid file atomically, as runc does.
fn write_pid_file(path: &Path, pid: i32) -> Result<(), OciError> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, pid.to_string())
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| OciError::io(format!("cannot write pid file {}", path.display()), e))
}
