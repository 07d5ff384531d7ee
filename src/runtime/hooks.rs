//! OCI hooks: a program run with the container's state JSON on its stdin, killed when
//! its timeout passes; a non-zero exit is an error. Used by `kiste oci` in the host
//! (prestart, createRuntime, poststart, poststop) and by the container's process in its
//! namespaces (createContainer, startContainer). It forks: call it from a process without
//! threads (as kiste oci and the container's child are).
//!
//! The order is the runtime spec's: the child makes the container's namespaces and
//! mounts, then stops before pivot_root and sends `Hooks`; the parent runs the prestart
//! and createRuntime hooks (they see the container's mounts through /proc/PID) and
//! answers `HooksDone` with the child's host pid; the child runs the createContainer
//! hooks in its namespaces and pivots. This happens only for a config with hooks.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use super::error::{ChildError, FailKind, RuntimeError};
use super::spec::{Hook, OciExtras};
use super::sync::{Channel, Message};

/// Parent side, at the child's `Hooks` message: the prestart and createRuntime hooks,
/// then `HooksDone` with the child's pid. A failed hook is the start's error.
pub(crate) fn before_pivot(
    extras: &OciExtras,
    id: &str,
    pid: i32,
    chan: &Channel,
) -> Result<(), RuntimeError> {
    let state = extras.state_for(pid, "creating");
    for (kind, list) in [
        ("prestart", &extras.prestart_hooks),
        ("createRuntime", &extras.create_runtime_hooks),
    ] {
        for h in list {
            run_hook(h, &state).map_err(|reason| RuntimeError::Child {
                text: format!("{kind} {reason}"),
            })?;
        }
    }
    chan.send(&Message::HooksDone { pid })
        .map_err(|source| RuntimeError::Send {
            id: id.to_string(),
            message: "HooksDone".into(),
            source,
        })
}

/// Child side, just before pivot_root: waits for the runtime's hooks, then runs the
/// createContainer hooks here, in the container's namespaces. Returns the host pid for
/// the startContainer hooks' state.
pub(crate) fn sync_before_pivot(extras: &OciExtras, chan: &Channel) -> Result<i32, ChildError> {
    use super::error::Ctx;
    chan.send(&Message::Hooks)
        .ctx(|| "cannot ask the runtime to run its hooks".into())?;
    let pid = match chan.recv() {
        Ok(Some(Message::HooksDone { pid })) => pid,
        // The parent's hook failed; its error is on its way to the user.
        _ => {
            return Err(ChildError {
                kind: FailKind::Setup,
                errno: -1,
                text: String::new(),
            })
        }
    };
    let state = extras.state_for(pid, "creating");
    for hook in &extras.create_container_hooks {
        run_hook(hook, &state).map_err(|e| ChildError::message(format!("createContainer {e}")))?;
    }
    Ok(pid)
}

/// Runs `hook` with `state` on stdin; Err(reason) when it cannot start, fails or times out.
pub fn run_hook(hook: &Hook, state: &str) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let name = hook.path.display().to_string();
    let mut cmd = Command::new(&hook.path);
    if let Some((argv0, rest)) = hook.args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in &hook.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run hook {name}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(state.as_bytes());
    }
    let status = match hook.timeout {
        None => child.wait(),
        Some(secs) => {
            if !exits_within(child.id() as i32, secs) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("hook {name} timed out after {secs}s"));
            }
            child.wait()
        }
    }
    .map_err(|e| format!("cannot wait for hook {name}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("hook {name} failed: {status}"))
    }
}

/// Whether process `pid` (our child) exits within `secs` seconds (pidfd + poll).
fn exits_within(pid: i32, secs: u32) -> bool {
    // SAFETY: pidfd_open on our own child; the fd is owned below.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return true; // no pidfd: wait without a timeout
    }
    // SAFETY: a fresh fd from pidfd_open.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = (secs as i64 * 1000).min(i32::MAX as i64) as i32;
    loop {
        // SAFETY: one valid pollfd.
        let rc = unsafe { libc::poll(&mut p, 1, ms) };
        if rc < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return rc > 0;
    }
}
