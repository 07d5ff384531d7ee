//! Rootless kiste: before a verb touches the store, an unprivileged kiste joins the user's
//! one long-lived user + mount namespace, where it is uid 0 and every root code path
//! (layer unpack with real owners, overlay mounts, container namespaces) works unchanged.
//!
//! The namespace is held by a small "pause" process (as podman does), made by the first
//! kiste invocation: it unshares CLONE_NEWUSER|CLONE_NEWNS, the parent writes its maps
//! (see `idmap`) and records it in `$runroot/pause.pid`; every later invocation `setns`es
//! into the same two namespaces. So all invocations share one mapping (consistent owners
//! in the store), one mount table (a later `rm` sees and unmounts the rootfs a `run -d`
//! mounted) and one user namespace that owns every container's namespaces: `stop`/`kill`
//! have CAP_KILL over a container process running as a mapped sub-id (`USER 1000`), which
//! a sibling user namespace with the same maps would not, and a later `exec` may `setns`
//! into a container's namespaces because they belong to a namespace it is root in.
//! When the pause process is gone while containers run, the next invocation joins the
//! namespaces through a running container's monitor and makes a new pause there.
//! This module only enters; it never changes what the verbs do.

mod idmap;

pub use idmap::{find_program, subordinate_range, Extent, IdMaps};

use crate::process::ProcessId;
use nix::sched::CloneFlags;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The pause process's record (pid and start time) and the lock for making it.
pub const PAUSE_PID: &str = "pause.pid";
pub const PAUSE_LOCK: &str = "pause.lock";

#[derive(Debug, thiserror::Error)]
pub enum RootlessError {
    #[error("rootless kiste needs {helper}: install the uidmap package (apt-get install uidmap) or put {helper} on PATH")]
    MissingHelper { helper: &'static str },
    #[error("{helper} failed: {detail}; check your ranges in /etc/subuid and /etc/subgid")]
    Helper {
        helper: &'static str,
        detail: String,
    },
    #[error("runtime directory {}: {reason}; set XDG_RUNTIME_DIR to a directory of yours (mode 0700), e.g. with a login session (loginctl enable-linger)", dir.display())]
    RuntimeDir { dir: PathBuf, reason: String },
    #[error("cannot {what}")]
    Namespace {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn ns_error(what: impl Into<String>) -> impl FnOnce(nix::Error) -> RootlessError {
    let what = what.into();
    move |e| RootlessError::Namespace {
        what,
        source: std::io::Error::from(e),
    }
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RootlessError {
    let what = what.into();
    move |source| RootlessError::Namespace { what, source }
}

/// True when this process runs in a user namespace other than the host's (rootless kiste
/// after `enter`, and everything it forks).
pub fn active() -> bool {
    static ACTIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ACTIVE.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .map(|m| m.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
            .unwrap_or(false)
    })
}

/// Whether process `pid` is in this process's user namespace. `exec` (setns into a
/// running container) skips CLONE_NEWUSER when it is: a rootless container shares kiste's
/// namespace, and setns into one's own user namespace fails with EINVAL.
pub fn shares_user_namespace(pid: i32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ino = |p: String| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
    match (
        ino(format!("/proc/{pid}/ns/user")),
        ino("/proc/self/ns/user".into()),
    ) {
        (Ok(theirs), Ok(mine)) => theirs == mine,
        _ => false,
    }
}

/// Whether `gid` has a mapping in this process's user namespace.
pub fn gid_mapped(gid: u32) -> bool {
    std::fs::read_to_string("/proc/self/gid_map")
        .map(|m| {
            m.lines().any(|l| {
                let f: Vec<u64> = l
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect();
                f.len() == 3 && (f[0]..f[0] + f[2]).contains(&u64::from(gid))
            })
        })
        .unwrap_or(true)
}

/// Check `runroot` (made here if missing, mode 0700): it must belong to the user, so
/// that nobody else can plant a pause record or a socket in it (the fallback without
/// XDG_RUNTIME_DIR lives in the shared /tmp, where another user could make it first).
pub fn check_runroot(runroot: &Path) -> Result<(), RootlessError> {
    use std::os::unix::fs::MetadataExt;
    let fail = |reason: String| RootlessError::RuntimeDir {
        dir: runroot.to_path_buf(),
        reason,
    };
    if let Some(parent) = runroot.parent() {
        if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d) == parent)
            && !parent.is_dir()
        {
            return Err(fail("XDG_RUNTIME_DIR does not exist".to_string()));
        }
    }
    // Private: rootless containers run as the user, who owns it anyway.
    let me = nix::unistd::geteuid().as_raw();
    let owned = |meta: &std::fs::Metadata| -> Result<(), RootlessError> {
        if !meta.is_dir() || meta.uid() != me {
            return Err(fail(format!(
                "it is not a directory owned by uid {me} (owner {})",
                meta.uid()
            )));
        }
        Ok(())
    };
    // Someone else's directory is refused before anything is changed in it.
    if let Ok(meta) = std::fs::symlink_metadata(runroot) {
        owned(&meta)?;
    }
    crate::paths::make_dir(runroot, crate::paths::PRIVATE)
        .map_err(|e| fail(format!("cannot create it: {e}")))?;
    owned(&std::fs::symlink_metadata(runroot).map_err(|e| fail(e.to_string()))?)
}

/// Join the user's rootless namespaces, making them first when no pause process holds
/// them. Call early, while the process has a single thread.
pub fn enter(runroot: &Path, containers: &Path) -> Result<(), RootlessError> {
    check_runroot(runroot)?;
    let cwd = std::env::current_dir().ok();
    let _lock = crate::lock::lock_exclusive(&runroot.join(PAUSE_LOCK)).map_err(io_error(
        format!("lock {}", runroot.join(PAUSE_LOCK).display()),
    ))?;
    let record = runroot.join(PAUSE_PID);
    let write_record = |p: ProcessId| {
        std::fs::write(&record, format!("{} {}\n", p.pid, p.start_time))
            .map_err(io_error(format!("write {}", record.display())))
    };
    // A recorded pause process that is gone (or a zombie without namespaces) is replaced:
    // by a new one in the namespaces a running container's monitor still holds (so that
    // container stays reachable), else by one in new namespaces.
    if let Some(ns) = read_pause(runroot).and_then(|p| open_namespaces(p).ok()) {
        join(ns)?;
    } else if let Some(ns) = live_monitors(containers).find_map(|p| open_namespaces(p).ok()) {
        join(ns)?;
        write_record(fork_pause()?)?;
    } else {
        let p = start_pause()?;
        write_record(p)?;
        join(open_namespaces(p)?)?;
    }
    if let Some(dir) = cwd {
        // setns into a mount namespace moves the cwd to its root.
        let _ = std::env::set_current_dir(dir);
    }
    Ok(())
}

/// The monitors of running containers recorded in the store's `containers` dir (read as
/// plain JSON: this module stands below the state module).
fn live_monitors(containers: &Path) -> impl Iterator<Item = ProcessId> {
    std::fs::read_dir(containers)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let path = e.ok()?.path().join(crate::paths::RECORD);
            let rec: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
            let p = ProcessId {
                pid: i32::try_from(rec["state"]["monitor_pid"].as_i64()?).ok()?,
                start_time: rec["state"]["monitor_start_time"].as_u64()?,
            };
            p.is_alive().then_some(p)
        })
}

/// A pause process for the namespaces this process has joined.
fn fork_pause() -> Result<ProcessId, RootlessError> {
    // SAFETY: kiste has a single thread here (called before any verb starts threads).
    match unsafe { nix::unistd::fork() }.map_err(ns_error("fork the pause process"))? {
        nix::unistd::ForkResult::Child => sleep_forever(),
        nix::unistd::ForkResult::Parent { child } => {
            ProcessId::of(child.as_raw()).ok_or_else(|| RootlessError::Namespace {
                what: "start the pause process".to_string(),
                source: std::io::Error::from_raw_os_error(libc::ESRCH),
            })
        }
    }
}

/// The pause process recorded in `runroot`, if it still lives.
pub fn read_pause(runroot: &Path) -> Option<ProcessId> {
    let text = std::fs::read_to_string(runroot.join(PAUSE_PID)).ok()?;
    let mut f = text.split_whitespace();
    let p = ProcessId {
        pid: f.next()?.parse().ok()?,
        start_time: f.next()?.parse().ok()?,
    };
    p.is_alive().then_some(p)
}

/// The pause process's user and mount namespaces.
struct Namespaces {
    user: OwnedFd,
    mnt: OwnedFd,
}

fn open_namespaces(pause: ProcessId) -> Result<Namespaces, RootlessError> {
    let open = |ns: &str| -> Result<OwnedFd, RootlessError> {
        let path = format!("/proc/{}/ns/{ns}", pause.pid);
        std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(io_error(format!("open {path}")))
    };
    let ns = Namespaces {
        user: open("user")?,
        mnt: open("mnt")?,
    };
    // The fds are the pause's own only if it is still the recorded process.
    if !pause.is_alive() {
        return Err(RootlessError::Namespace {
            what: format!("join the pause process {}", pause.pid),
            source: std::io::Error::from_raw_os_error(libc::ESRCH),
        });
    }
    Ok(ns)
}

fn join(Namespaces { user, mnt }: Namespaces) -> Result<(), RootlessError> {
    nix::sched::setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
        .map_err(ns_error("join the rootless user namespace"))?;
    nix::sched::setns(mnt.as_fd(), CloneFlags::CLONE_NEWNS)
        .map_err(ns_error("join the rootless mount namespace"))?;
    // Host groups are unmapped inside; drop them where the maps allow it.
    let _ = nix::unistd::setgroups(&[]);
    Ok(())
}

/// Fork the pause process: it unshares a user and a mount namespace, waits for its maps,
/// detaches from the session and sleeps until killed.
fn start_pause() -> Result<ProcessId, RootlessError> {
    let user = nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default();
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let maps = IdMaps::for_user(&user, uid, gid);
    if !maps.subordinate {
        eprintln!(
            "WARN: no subordinate id range for user {user:?} in /etc/subuid and /etc/subgid: only your own id is mapped (as root in containers); images with files of other owners cannot be used. Add one with: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}"
        );
    } else {
        // Check before forking, so the message comes without a half-made namespace.
        for helper in ["newuidmap", "newgidmap"] {
            find_program(helper).ok_or(RootlessError::MissingHelper { helper })?;
        }
    }
    let (ready_r, ready_w) = nix::unistd::pipe().map_err(ns_error("make a pipe"))?;
    let (go_r, go_w) = nix::unistd::pipe().map_err(ns_error("make a pipe"))?;
    // SAFETY: kiste has a single thread here (called before any verb starts threads).
    match unsafe { nix::unistd::fork() }.map_err(ns_error("fork the pause process"))? {
        nix::unistd::ForkResult::Child => {
            drop(ready_r);
            drop(go_w);
            pause_child(ready_w, go_r)
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(ready_w);
            drop(go_r);
            let mut byte = [0u8];
            let unshared = nix::unistd::read(&ready_r, &mut byte) == Ok(1);
            if !unshared || byte[0] != 0 {
                let _ = nix::sys::wait::waitpid(child, None);
                return Err(RootlessError::Namespace {
                    what: "create a user namespace (is kernel.unprivileged_userns_clone or user.max_user_namespaces 0?)".to_string(),
                    source: std::io::Error::from_raw_os_error(byte[0] as i32),
                });
            }
            let written = idmap::write(child.as_raw(), &maps);
            let verdict = [u8::from(written.is_err())];
            let _ = nix::unistd::write(&go_w, &verdict);
            drop(go_w);
            if let Err(e) = written {
                let _ = nix::sys::wait::waitpid(child, None);
                return Err(e);
            }
            ProcessId::of(child.as_raw()).ok_or_else(|| RootlessError::Namespace {
                what: "start the pause process".to_string(),
                source: std::io::Error::from_raw_os_error(libc::ESRCH),
            })
        }
    }
}

fn pause_child(ready: OwnedFd, go: OwnedFd) -> ! {
    let flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS;
    let status = match nix::sched::unshare(flags) {
        Ok(()) => 0u8,
        Err(e) => e as i32 as u8,
    };
    let _ = nix::unistd::write(&ready, &[status]);
    let mut verdict = [1u8];
    if status != 0 || nix::unistd::read(&go, &mut verdict) != Ok(1) || verdict[0] != 0 {
        // SAFETY: leaving the forked child without running the parent's destructors.
        unsafe { libc::_exit(1) };
    }
    // Mounts made in here must not propagate back, host mounts may still come in.
    let _ = nix::mount::mount(
        None::<&str>,
        "/",
        None::<&str>,
        nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_SLAVE,
        None::<&str>,
    );
    sleep_forever()
}

/// The pause process's life: detached from the session and every inherited fd, asleep.
fn sleep_forever() -> ! {
    let _ = nix::unistd::setsid();
    let _ = std::env::set_current_dir("/");
    // SAFETY: plain syscalls in the forked child; fds 0-2 go to /dev/null and every other
    // inherited fd (locks, the parent's pipes) is closed so nothing is held by the pause.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            libc::dup2(null, fd);
        }
        // The raw syscall: musl's libc bindings have no close_range wrapper.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let _ = libc::prctl(libc::PR_SET_NAME, c"kiste-pause".as_ptr());
        for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGQUIT, libc::SIGPIPE] {
            libc::signal(sig, libc::SIG_IGN);
        }
        loop {
            libc::pause();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_shares_its_own_user_namespace_and_a_missing_one_shares_none() {
        assert!(shares_user_namespace(std::process::id() as i32));
        assert!(!shares_user_namespace(i32::MAX));
        assert!(gid_mapped(0));
    }
}
