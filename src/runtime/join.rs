//! Starting a process inside a running container (`exec`): it joins every namespace of
//! the container's first process that differs from kiste's own (user, mnt, pid, net,
//! ipc, uts, cgroup, time) and the container's cgroup, and gets the capabilities, seccomp
//! filter, no_new_privs, rlimits and user of an [`ExecSpec`]. One fork: the parent sets
//! its pid namespace for children first (setns on a pidfd), so the child is born in the
//! container's pid namespace and joins the rest with one more setns on the same pidfd.
//! The user is looked up in the container's /etc files before the fork, through a
//! confined root. It reads no records and leaves reaping the process to its caller.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::error::{ChildError, Ctx, FailKind, RuntimeError};
use super::oci_steps::OciCaps;
use super::process::{died_in_setup, failure, kill_and_reap, reap, Started};
use super::spec::{CapabilitySets, CgroupSpec, Rlimit, Security, Stdio};
use super::sync::{channel_pair, Channel, Message};
use super::{caps, child, exec, oci_steps, plan, seccomp, user};

/// What to run in a running container, and as whom.
#[derive(Debug, Clone)]
pub struct ExecSpec {
    /// The container's id, for messages.
    pub id: String,
    /// The container's first process (host pid) and its start time, checked before use.
    pub pid: i32,
    pub pid_start_time: u64,
    /// The container's cgroup, joined before the command runs.
    pub cgroup: Option<CgroupSpec>,
    pub args: Vec<String>,
    /// "KEY=value"; PATH, HOSTNAME and HOME are added where missing, as at start.
    pub env: Vec<String>,
    pub hostname: String,
    /// Absolute working dir inside the container; it must exist.
    pub cwd: String,
    /// "", "name", "uid", "name:group", "uid:gid": looked up in the container's files.
    pub user: String,
    pub security: Security,
    pub rlimits: Vec<Rlimit>,
    pub stdio: Stdio,
    /// stdin is a terminal: the process gets a new session with it as controlling tty.
    pub tty: bool,
    /// `kiste oci exec`'s process: its five capability sets and exact groups; None for
    /// `kiste exec` (one set, groups from the container's /etc/group).
    pub oci: Option<ExecOci>,
}

/// What an OCI process adds to an exec, as runc applies it.
#[derive(Debug, Clone, Default)]
pub struct ExecOci {
    /// `security.capabilities` is the bounding set; these give the other four.
    pub capabilities: CapabilitySets,
    /// The supplementary groups, exactly (process.user.additionalGids).
    pub additional_gids: Vec<u32>,
}

/// The namespaces an exec can join, with their /proc/PID/ns names.
const KINDS: [(libc::c_int, &str); 8] = [
    (libc::CLONE_NEWUSER, "user"),
    (libc::CLONE_NEWNS, "mnt"),
    (libc::CLONE_NEWPID, "pid"),
    (libc::CLONE_NEWNET, "net"),
    (libc::CLONE_NEWIPC, "ipc"),
    (libc::CLONE_NEWUTS, "uts"),
    (libc::CLONE_NEWCGROUP, "cgroup"),
    (libc::CLONE_NEWTIME, "time"),
];

/// What the parent computes before the fork.
struct Prepared {
    pidfd: OwnedFd,
    /// setns flags for the child (every differing namespace but pid).
    flags: libc::c_int,
    joins_pid: bool,
    who: user::User,
    caps: u64,
    oci_caps: Option<OciCaps>,
    last_cap: u32,
    seccomp: Option<Vec<libc::sock_filter>>,
    env: Vec<CString>,
    program: CString,
    argv: Vec<CString>,
}

fn not_running(spec: &ExecSpec) -> RuntimeError {
    RuntimeError::ExecNotRunning {
        id: spec.id.clone(),
    }
}

/// Starts `spec.args` in the container. Returns once execve has succeeded (the caller
/// reaps the process), or with the error: 127 not found, 126 cannot execute.
pub fn spawn_in(spec: &ExecSpec) -> Result<Started, RuntimeError> {
    let prep = prepare(spec)?;
    let (parent_end, child_end) = channel_pair()?;
    let cgroup = spec.cgroup.as_ref().map(crate::cgroups::existing);

    let own_pid_ns = if prep.joins_pid {
        let own = std::fs::File::open("/proc/self/ns/pid")
            .map_err(|e| RuntimeError::io("cannot open kiste's own pid namespace", e))?;
        // SAFETY: setns on a pidfd we own; only the pid namespace of our children changes.
        if unsafe { libc::setns(prep.pidfd.as_raw_fd(), libc::CLONE_NEWPID) } != 0 {
            return Err(RuntimeError::io(
                format!("container {}: cannot join its pid namespace", spec.id),
                std::io::Error::last_os_error(),
            ));
        }
        Some(own)
    } else {
        None
    };
    // SAFETY: kiste is single-threaded here; the child only makes syscalls and execs.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: closing the parent's end, which the child does not use.
        unsafe { libc::close(parent_end.raw()) };
        run_child(spec, &prep, &child_end);
    }
    let fork_err = std::io::Error::last_os_error();
    if let Some(own) = &own_pid_ns {
        // SAFETY: back to the pid namespace kiste came from, for later children.
        unsafe { libc::setns(own.as_raw_fd(), libc::CLONE_NEWPID) };
    }
    if pid < 0 {
        return Err(RuntimeError::io(
            format!("container {}: cannot fork the exec process", spec.id),
            fork_err,
        ));
    }
    drop(child_end);
    let cmd = &spec.args[0];
    let joined = match &cgroup {
        Some(cg) => cg.join(pid).map_err(RuntimeError::from),
        None => Ok(()),
    };
    if let Err(e) = joined.and_then(|()| {
        parent_end
            .send(&Message::Joined)
            .map_err(|source| RuntimeError::Send {
                id: spec.id.clone(),
                message: "Joined".into(),
                source,
            })
    }) {
        // SAFETY: signalling our own child, which waits for `Joined`.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let queued = parent_end.recv();
        reap(pid);
        return Err(match queued {
            Ok(Some(failed @ Message::Failed { .. })) => failure(&spec.id, cmd, failed),
            _ => e,
        });
    }
    for phase in ["during setup", "before exec"] {
        match parent_end.recv() {
            Ok(Some(Message::Exec)) if phase == "during setup" => {}
            Ok(None) if phase == "before exec" => {
                return Ok(Started {
                    pid,
                    start_time: crate::process::process_start_time(pid).unwrap_or(0),
                })
            }
            Ok(None) => return Err(died_in_setup(&spec.id, cmd, pid)),
            Ok(Some(failed @ Message::Failed { .. })) => {
                reap(pid);
                return Err(failure(&spec.id, cmd, failed));
            }
            Ok(Some(_)) | Err(_) => {
                kill_and_reap(pid);
                return Err(RuntimeError::Protocol {
                    id: spec.id.clone(),
                    phase,
                });
            }
        }
    }
    unreachable!("the loop returns in its second pass")
}

fn prepare(spec: &ExecSpec) -> Result<Prepared, RuntimeError> {
    if spec.args.is_empty() {
        return Err(RuntimeError::NoCommand {
            id: spec.id.clone(),
        });
    }
    // SAFETY: pidfd_open with a pid and no flags; the fd is close-on-exec by default.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, spec.pid, 0) };
    if fd < 0 {
        return Err(not_running(spec));
    }
    // SAFETY: a new fd we own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // The pidfd names the process only if it is still the container's (not a reused pid).
    if crate::process::process_start_time(spec.pid) != Some(spec.pid_start_time) {
        return Err(not_running(spec));
    }
    let mut flags = 0;
    let mut joins_pid = false;
    for (flag, name) in KINDS {
        let theirs = std::fs::metadata(format!("/proc/{}/ns/{name}", spec.pid));
        let ours = std::fs::metadata(format!("/proc/self/ns/{name}"));
        let differs = match (&theirs, &ours) {
            (Ok(t), Ok(o)) => {
                use std::os::unix::fs::MetadataExt;
                (t.dev(), t.ino()) != (o.dev(), o.ino())
            }
            // A kernel without time namespaces has neither file.
            (Err(_), Err(_)) if flag == libc::CLONE_NEWTIME => false,
            (Err(_), _) => return Err(not_running(spec)),
            (Ok(_), Err(_)) => false,
        };
        if differs && flag == libc::CLONE_NEWPID {
            joins_pid = true;
        } else if differs {
            flags |= flag;
        }
    }
    let mut who = lookup_user(spec)?;
    let oci_caps = match &spec.oci {
        Some(x) => {
            who.groups = x.additional_gids.clone();
            Some(OciCaps::of_sets(&x.capabilities)?)
        }
        None => None,
    };
    let caps = caps::effective_mask(&spec.security.capabilities, spec.security.privileged)?;
    let seccomp = plan::seccomp_program(&spec.security.seccomp, caps)?;
    let env = exec::environment(&spec.env, &spec.hostname, &who);
    let argv: Vec<CString> = spec
        .args
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| RuntimeError::Child {
            text: format!(
                "container {}: cannot exec {:?}: an argument contains a NUL byte",
                spec.id, spec.args[0]
            ),
        })?;
    let program = CString::new(spec.args[0].as_bytes()).map_err(|_| RuntimeError::NotFound {
        cmd: spec.args[0].clone(),
    })?;
    Ok(Prepared {
        pidfd,
        flags,
        joins_pid,
        who,
        caps,
        oci_caps,
        last_cap: caps::last_cap(),
        seccomp,
        env,
        program,
        argv,
    })
}

/// The user, from the container's own /etc/passwd and /etc/group as its process sees
/// them (/proc/PID/root, bind mounts included), read inside that root.
fn lookup_user(spec: &ExecSpec) -> Result<user::User, RuntimeError> {
    let root = crate::fs::Root::open(std::path::Path::new(&format!("/proc/{}/root", spec.pid)))
        .map_err(|e| {
            RuntimeError::io(
                format!("container {}: cannot open its root directory", spec.id),
                e,
            )
        })?;
    let read = |name: &str| {
        root.read(name, 16 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    user::resolve_with(&spec.user, &read("etc/passwd"), &read("etc/group")).map_err(|e| {
        RuntimeError::CannotExecute {
            cmd: spec.args[0].clone(),
            reason: e.text,
        }
    })
}

/// The child after fork. Never returns.
fn run_child(spec: &ExecSpec, prep: &Prepared, chan: &Channel) -> ! {
    let mut joined = false;
    let err = match join_and_exec(spec, prep, chan, &mut joined) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // The parent always sends `Joined` (or kills us): read it before failing, since a
    // socket closed with a message unread resets the connection and loses our report.
    if !joined {
        let _ = chan.recv();
    }
    if err.errno >= 0 {
        let _ = chan.send(&Message::Failed {
            kind: err.kind,
            errno: err.errno,
            text: err.text,
        });
    }
    // SAFETY: leaving the forked child without running the parent's atexit handlers.
    unsafe { libc::_exit(1) }
}

fn join_and_exec(
    spec: &ExecSpec,
    prep: &Prepared,
    chan: &Channel,
    joined: &mut bool,
) -> Result<Infallible, ChildError> {
    if prep.flags != 0 {
        // SAFETY: setns on the pidfd: every namespace in `flags` at once (the user
        // namespace first, by the kernel).
        if unsafe { libc::setns(prep.pidfd.as_raw_fd(), prep.flags) } != 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| format!("cannot join the namespaces of container {}", spec.id));
        }
    }
    child::install_stdio(spec.stdio)?;
    if spec.tty {
        nix::unistd::setsid().ctx(|| "cannot create a session".into())?;
        // SAFETY: ioctl on fd 0 with an integer argument.
        if unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) } != 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| "cannot make the terminal the controlling terminal".into());
        }
    }
    child::reset_signals();
    // SAFETY: close_range with the CLOEXEC flag only changes descriptor flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    let cwd = if spec.cwd.is_empty() { "/" } else { &spec.cwd };
    nix::unistd::chdir(cwd).map_err(|e| ChildError {
        kind: FailKind::CannotExecute,
        errno: e as i32,
        text: format!(
            "chdir to cwd ({cwd:?}) failed: {}",
            super::error::errno_text(e as i32).to_lowercase()
        ),
    })?;
    exec::apply_rlimits(&spec.rlimits)?;
    caps::drop_bounding(prep.caps, prep.last_cap)?;
    user::switch_to(&prep.who)?;
    let (seccomp, nnp) = (prep.seccomp.is_some(), spec.security.no_new_privileges);
    match &prep.oci_caps {
        Some(sets) => oci_steps::set_caps(sets, seccomp, nnp)?,
        None => child::set_caps_and_nnp(prep.caps, seccomp, nnp)?,
    }
    let program = if spec.args[0].contains('/') {
        prep.program.clone()
    } else {
        exec::resolve(&spec.args[0], &prep.env)?
    };
    let msg = chan.recv();
    *joined = true;
    match msg {
        Ok(Some(Message::Joined)) => {}
        _ => {
            return Err(ChildError {
                kind: FailKind::Setup,
                errno: -1,
                text: String::new(),
            })
        }
    }
    chan.send(&Message::Exec)
        .ctx(|| "cannot tell kiste the process is about to exec".into())?;
    if let Some(prog) = &prep.seccomp {
        seccomp::load(prog)?;
    }
    Err(exec::execve(&spec.args[0], &program, &prep.argv, &prep.env))
}
