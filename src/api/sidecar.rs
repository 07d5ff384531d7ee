//! `run/create --use-api-socket`: what docker 28's CLI does for the flag, without a
//! daemon. At create, the user's registry logins go into the container as
//! /run/secrets/docker/config.json (mode 0600, `auths` only) with
//! `DOCKER_CONFIG=/run/secrets/docker`, unless the user set DOCKER_CONFIG. At each start,
//! the container's monitor binds a socket in the container's run dir (bind-mounted at
//! /var/run/docker.sock) and runs `kiste system service` on it; when the container ends,
//! the monitor ends the service (a pidfd, so a reused pid is never signalled) and
//! removes the socket. A container without the flag runs nothing of this.

use super::ApiError;
use crate::paths::Paths;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const SOCKET_IN_CONTAINER: &str = "/var/run/docker.sock";
pub const CONFIG_IN_CONTAINER: &str = "/run/secrets/docker/config.json";

/// The host side of the container's API socket.
pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join("docker.sock")
}

/// docker's env for the credentials: added when the user has logins, unless the
/// container's env already names a DOCKER_CONFIG. True: the logins are to be written.
pub fn docker_config_env(env: &mut Vec<String>) -> bool {
    if env.iter().any(|e| e.starts_with("DOCKER_CONFIG=")) || all_auths().is_empty() {
        return false;
    }
    env.push("DOCKER_CONFIG=/run/secrets/docker".into());
    true
}

/// Every login of the user's credential files (docker's config.json, then podman's
/// auth.json), each registry once, the first file winning, as docker's GetAllCredentials.
fn all_auths() -> serde_json::Map<String, serde_json::Value> {
    let mut auths = serde_json::Map::new();
    for file in crate::paths::registry_auth_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        for (server, entry) in doc["auths"].as_object().into_iter().flatten() {
            if entry["auth"].as_str().is_some_and(|a| !a.is_empty()) && !auths.contains_key(server)
            {
                auths.insert(server.clone(), serde_json::json!({ "auth": entry["auth"] }));
            }
        }
    }
    auths
}

/// Writes the user's logins into the container's upper layer at CONFIG_IN_CONTAINER
/// (through `crate::fs::Root`: the layer is the container's tree). Nothing is written
/// without logins, as docker writes nothing then.
pub fn write_credentials(upper: &Path) -> Result<bool, ApiError> {
    let auths = all_auths();
    if auths.is_empty() {
        return Ok(false);
    }
    let fail = ApiError::io("cannot write the container's docker credentials");
    std::fs::create_dir_all(upper).map_err(ApiError::io("cannot create the container's layer"))?;
    let root =
        crate::fs::Root::open(upper).map_err(ApiError::io("cannot open the container's layer"))?;
    let rel = CONFIG_IN_CONTAINER.trim_start_matches('/');
    let dir = Path::new(rel).parent().unwrap_or(Path::new(""));
    root.mkdir_all(dir, 0o755, |_, _, _| Ok(()))
        .map_err(ApiError::io(
            "cannot create /run/secrets/docker in the container",
        ))?;
    let body =
        serde_json::to_vec_pretty(&serde_json::json!({ "auths": auths })).unwrap_or_default();
    let mut f = root.create_file(rel, 0o600).map_err(fail)?;
    use std::io::Write;
    f.write_all(&body).map_err(ApiError::io(
        "cannot write the container's docker credentials",
    ))?;
    Ok(true)
}

/// The service of one running container; ended (and its socket removed) on drop.
pub struct Sidecar {
    pid: i32,
    pidfd: OwnedFd,
    socket: PathBuf,
}

impl Sidecar {
    /// Binds the container's socket and starts `kiste system service` on it.
    pub fn start(paths: &Paths, run_dir: &Path) -> Result<Sidecar, ApiError> {
        let socket = socket_path(run_dir);
        let _ = std::fs::remove_file(&socket);
        let listener = super::server::bind_unix(&socket).map_err(|source| ApiError::Listen {
            path: socket.display().to_string(),
            source,
        })?;
        let fd = listener.as_raw_fd();
        let exe = std::env::current_exe().map_err(ApiError::io("cannot find kiste's binary"))?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("--root")
            .arg(&paths.root)
            .arg("--runroot")
            .arg(&paths.runroot)
            .args(["system", "service", "--time", "0", "--listen-fd", "3"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        // SAFETY: dup2 and prctl are async-signal-safe; nothing else runs before exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::dup2(fd, 3) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
                Ok(())
            });
        }
        let remove = |e: std::io::Error| {
            let _ = std::fs::remove_file(&socket);
            ApiError::io("cannot start the container's api service")(e)
        };
        let child = cmd.spawn().map_err(remove)?;
        drop(listener);
        let pid = child.id() as i32;
        // SAFETY: pidfd_open on our own child, not yet reaped.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        if raw < 0 {
            let e = std::io::Error::last_os_error();
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return Err(remove(e));
        }
        Ok(Sidecar {
            pid,
            // SAFETY: a new descriptor this process owns.
            pidfd: unsafe { OwnedFd::from_raw_fd(raw) },
            socket,
        })
    }

    fn signal(&self, sig: i32) {
        // SAFETY: the pidfd names our service even if its pid was reaped and reused.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.pidfd.as_raw_fd(),
                sig,
                0usize,
                0u32,
            )
        };
    }

    /// Whether the service ended within `limit`.
    fn ended_within(&self, limit: Duration) -> bool {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds = [PollFd::new(self.pidfd.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left.as_millis() as i32).unwrap_or(PollTimeout::ZERO);
            match poll(&mut fds, ms) {
                Ok(n) if n > 0 => return true,
                Err(nix::errno::Errno::EINTR) => continue,
                _ => return false,
            }
        }
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.signal(libc::SIGTERM);
        if !self.ended_within(Duration::from_secs(2)) {
            self.signal(libc::SIGKILL);
            self.ended_within(Duration::from_secs(2));
        }
        // Reap it unless the monitor's reaper already did.
        let _ = nix::sys::wait::waitpid(
            nix::unistd::Pid::from_raw(self.pid),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        );
        let _ = std::fs::remove_file(&self.socket);
    }
}
