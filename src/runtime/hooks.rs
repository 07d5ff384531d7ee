//! OCI hooks: a program run with the container's state JSON on its stdin, killed when
//! its timeout passes; a non-zero exit is an error. Used by `kiste oci` in the host
//! (prestart, createRuntime, poststart, poststop) and by the container's process in its
//! namespaces (createContainer, startContainer). It forks: call it from a process without
//! threads (as kiste oci and the container's child are).

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

use super::spec::Hook;

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
