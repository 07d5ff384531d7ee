//! `kiste oci exec`: a new process in a created, running (or, with --ignore-paused,
//! paused) container, through kiste's one join path (`runtime::spawn_in`). The process
//! is `--process FILE` (the spec's process object, as podman and containerd pass it), or
//! the container's own `process` from its bundle's config.json with the command line's
//! ARGS, --env, --cwd, --user, --cap, --no-new-privs and --tty laid over it, as runc does.
//! With a terminal the pty comes from the container's devpts and its master goes to
//! `--console-socket`. `--pid-file` gets the host pid (written atomically); `--detach`
//! returns once the process runs (its caller, e.g. conmon, reaps it as subreaper);
//! otherwise kiste waits and exits with the process's status (128+N for signal N).

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use std::collections::BTreeSet;

use crate::cli::oci::OciExecArgs;
use crate::runtime::{ExecOci, ExecSpec, Seccomp, Security, Stdio};

use super::console::{self, ConsoleSocket};
use super::spec::{capability_name, Process, Spec};
use super::state::{cgroup_spec, Record, StateRoot, Status};
use super::translate::{capability_sets, rlimits};
use super::OciError;

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> OciError {
    OciError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

/// The process to start: `--process FILE`, or the container's with the flags laid over.
fn process_of(args: &OciExecArgs, config: &Spec) -> Result<Process, OciError> {
    if let Some(file) = &args.process {
        let text = std::fs::read(file)
            .map_err(|e| OciError::io(format!("cannot read process {}", file.display()), e))?;
        return serde_json::from_slice(&text)
            .map_err(|e| invalid(format!("process {}", file.display()), e.to_string()));
    }
    if args.command.is_empty() {
        return Err(invalid("exec", "arguments required: the command to run"));
    }
    let mut p = config.process.clone().unwrap_or_default();
    p.args = Some(args.command.clone());
    p.env
        .get_or_insert_with(Vec::new)
        .extend(args.env.iter().cloned());
    if let Some(cwd) = &args.cwd {
        p.cwd = cwd.into();
    }
    p.terminal = Some(args.tty);
    if let Some(user) = &args.user {
        // As runc: UID alone keeps the config's gid.
        let (uid, gid) = match user.split_once(':') {
            Some((uid, gid)) => (uid, Some(gid)),
            None => (user.as_str(), None),
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| invalid("--user", format!("{user:?} is not UID[:GID]")))
        };
        p.user.uid = num(uid)?;
        if let Some(gid) = gid {
            p.user.gid = num(gid)?;
        }
    }
    if !args.additional_gids.is_empty() {
        p.user
            .additional_gids
            .get_or_insert_with(Vec::new)
            .extend(&args.additional_gids);
    }
    if args.no_new_privs {
        p.no_new_privileges = Some(true);
    }
    if !args.cap.is_empty() {
        // As runc: each --cap joins the bounding, effective and permitted sets, and the
        // ambient set when the process has an inheritable set (ambient needs both).
        let mut added = BTreeSet::new();
        for name in &args.cap {
            added.insert(
                capability_name(name)
                    .ok_or_else(|| invalid("--cap", format!("unknown capability {name:?}")))?,
            );
        }
        let caps = p.capabilities.get_or_insert_with(Default::default);
        let add = |set: &mut Option<BTreeSet<String>>| {
            set.get_or_insert_with(BTreeSet::new)
                .extend(added.iter().cloned())
        };
        add(&mut caps.bounding);
        add(&mut caps.effective);
        add(&mut caps.permitted);
        if caps.inheritable.is_some() {
            add(&mut caps.ambient);
        }
    }
    Ok(p)
}

/// The process's security: its bounding set (the other four sets are in `ExecOci`),
/// no_new_privs, and the container's seccomp profile (the spec's seccomp object is the
/// JSON profile format kiste compiles).
fn exec_security(p: &Process, config: &Spec) -> Result<Security, OciError> {
    let capabilities = capability_sets(p).bounding;
    let seccomp = match &config.linux.seccomp {
        Some(profile) => Seccomp::Profile(
            serde_json::to_string(profile).map_err(|e| invalid("linux.seccomp", e.to_string()))?,
        ),
        None => Seccomp::Unconfined,
    };
    Ok(Security {
        capabilities,
        no_new_privileges: p.no_new_privileges.unwrap_or(false),
        seccomp,
        masked_paths: Vec::new(),
        readonly_paths: Vec::new(),
        readonly_rootfs: false,
        privileged: false,
    })
}

/// The bundle's config.json, for the container's process defaults, hostname and seccomp.
fn config_of(rec: &Record) -> Result<Spec, OciError> {
    let path = rec.bundle.join("config.json");
    Spec::load(&path).map_err(|e| invalid(format!("config {}", path.display()), e))
}

/// Writes `pid` to `path` as runc does: a temporary file renamed into place.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), OciError> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&tmp, pid.to_string())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| OciError::io(format!("cannot write pid file {}", path.display()), e))
}

/// Waits for `pid`; its exit status, or 128+N when signal N ended it.
pub fn wait_status(pid: i32) -> Result<i32, OciError> {
    use nix::sys::wait::{waitpid, WaitStatus};
    loop {
        match waitpid(nix::unistd::Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(OciError::io(
                    format!("cannot wait for process {pid}"),
                    e.into(),
                ))
            }
        }
    }
}

pub fn exec(root: &StateRoot, args: &OciExecArgs) -> Result<i32, OciError> {
    let rec = root.load(&args.id)?;
    match rec.status(root) {
        Status::Stopped => return Err(invalid("exec", "cannot exec in a stopped container")),
        Status::Paused if !args.ignore_paused => {
            return Err(invalid("exec", "cannot exec in a paused container"))
        }
        _ => {}
    }
    let config = config_of(&rec)?;
    let process = process_of(args, &config)?;
    let terminal = process.terminal.unwrap_or(false);
    // As runc: a terminal needs somewhere to send it.
    let socket = match (&args.console_socket, terminal) {
        (Some(path), true) => Some(ConsoleSocket::connect(path)?),
        (None, true) => {
            return Err(invalid(
                "exec",
                "cannot allocate a tty without --console-socket",
            ))
        }
        (Some(_), false) => {
            return Err(invalid(
                "exec",
                "--console-socket needs a terminal (--tty or process.terminal)",
            ))
        }
        (None, false) => None,
    };
    let slave: Option<OwnedFd> = match &socket {
        Some(sock) => {
            let pty = console::container_pty(rec.pid)
                .map_err(|e| OciError::io("cannot open a terminal in the container", e))?;
            let size = console::console_size(&process);
            Some(console::hand_over(sock, pty, size)?)
        }
        None => None,
    };
    let stdio = match &slave {
        Some(fd) => Stdio {
            stdin: fd.as_raw_fd(),
            stdout: fd.as_raw_fd(),
            stderr: fd.as_raw_fd(),
        },
        None => Stdio {
            stdin: 0,
            stdout: 1,
            stderr: 2,
        },
    };
    let spec = ExecSpec {
        id: rec.id.clone(),
        pid: rec.pid,
        pid_start_time: rec.start_time,
        cgroup: rec.cgroup.as_deref().map(cgroup_spec),
        args: process.args.clone().unwrap_or_default(),
        env: process.env.clone().unwrap_or_default(),
        hostname: config.hostname.clone().unwrap_or_default(),
        cwd: process.cwd.display().to_string(),
        user: format!("{}:{}", process.user.uid, process.user.gid),
        security: exec_security(&process, &config)?,
        rlimits: rlimits(&process),
        stdio,
        tty: terminal,
        oci: Some(ExecOci {
            capabilities: capability_sets(&process),
            additional_gids: process.user.additional_gids.clone().unwrap_or_default(),
        }),
    };
    // Signals for the process are held from before its fork until the handlers that
    // forward them are in place (the child unblocks them before its execve).
    let forwarded = !args.detach;
    if forwarded {
        super::create::block_forwarded(true);
    }
    let started = crate::runtime::spawn_in(&spec);
    if forwarded {
        if let Ok(s) = &started {
            super::create::forward_signals(s.pid);
        }
        super::create::block_forwarded(false);
    }
    let started = started.map_err(|e| invalid("exec failed", e.to_string()))?;
    drop(slave);
    if let Some(path) = &args.pid_file {
        write_pid_file(path, started.pid)?;
    }
    if args.detach {
        return Ok(0);
    }
    wait_status(started.pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exec.pid");
        write_pid_file(&path, 4242).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "4242");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_signal_is_128_plus_its_number() {
        // SAFETY: fork; the child only raises a signal.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::raise(libc::SIGTERM);
                libc::_exit(0)
            }
        }
        assert_eq!(wait_status(pid).unwrap(), 128 + libc::SIGTERM);
    }
}
