//! The child's steps that only an OCI bundle's container takes (`ContainerSpec::oci`):
//! the exec fifo it waits on between create and start, the five capability sets, and
//! the startContainer hooks (sysctls, domainname and oom_score_adj are `tuning`'s,
//! shared with kiste's own containers). Called from
//! `child` at the points the OCI runtime spec names.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use super::caps;
use super::error::{ChildError, Ctx};
use super::spec::{CapabilitySets, OciExtras};

/// The exec fifo, held open (O_PATH) with this process's fd directory from the host's
/// /proc, so that it can be opened for writing after pivot_root took the host's paths away.
pub(crate) struct Fifo {
    fd_dir: OwnedFd,
    fifo: OwnedFd,
}

fn open_raw(path: &std::path::Path, flags: i32) -> std::io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: open with a valid C string; the fd is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Fifo {
    pub(crate) fn open(path: &std::path::Path) -> Result<Fifo, ChildError> {
        let fifo = open_raw(path, libc::O_PATH)
            .ctx(|| format!("cannot open the exec fifo {}", path.display()))?;
        let fd_dir = open_raw(
            std::path::Path::new("/proc/self/fd"),
            libc::O_PATH | libc::O_DIRECTORY,
        )
        .ctx(|| "cannot open /proc/self/fd".into())?;
        Ok(Fifo { fd_dir, fifo })
    }

    /// Blocks until `start` opens the fifo for reading, then tells it "0". The open
    /// write end is returned: its close at execve tells `start` the program runs.
    pub(crate) fn wait(self) -> Result<OwnedFd, ChildError> {
        let name = CString::new(self.fifo.as_raw_fd().to_string()).unwrap_or_default();
        let fd = loop {
            // SAFETY: openat relative to our fd directory; reopening the O_PATH fd.
            let fd = unsafe {
                libc::openat(
                    self.fd_dir.as_raw_fd(),
                    name.as_ptr(),
                    libc::O_WRONLY | libc::O_CLOEXEC,
                )
            };
            if fd >= 0 {
                // SAFETY: a fresh fd.
                break unsafe { OwnedFd::from_raw_fd(fd) };
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e).ctx(|| "cannot open the exec fifo for writing".into());
            }
        };
        // SAFETY: writing one byte from a static buffer.
        unsafe { libc::write(fd.as_raw_fd(), b"0".as_ptr().cast(), 1) };
        Ok(fd)
    }
}

/// The masks of the permitted, effective, inheritable and ambient sets (computed in
/// the parent by `Plan`), applied after the user switch; then no_new_privs. As in
/// `child::set_caps_and_nnp`, CAP_SYS_ADMIN stays effective until a seccomp filter is
/// loaded without no_new_privs.
pub(crate) fn set_caps(sets: &OciCaps, seccomp: bool, nnp: bool) -> Result<(), ChildError> {
    let mut effective = sets.effective;
    let mut permitted = sets.permitted;
    if seccomp && !nnp {
        effective |= 1 << caps::CAP_SYS_ADMIN;
        permitted |= 1 << caps::CAP_SYS_ADMIN;
    }
    caps::set_sets(permitted, effective, sets.inheritable)?;
    // The kernel raises an ambient capability only when it is permitted and
    // inheritable; others are left out, as runc leaves them.
    let ambient = sets.ambient & sets.permitted & sets.inheritable;
    for bit in 0..64u64 {
        if ambient & (1 << bit) != 0 {
            // SAFETY: prctl with integer arguments.
            let rc = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE,
                    bit as libc::c_ulong,
                    0,
                    0,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error()).ctx(|| {
                    format!(
                        "cannot raise ambient capability {}",
                        caps::name_of(bit as u32)
                    )
                });
            }
        }
    }
    if nnp {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error()).ctx(|| "cannot set no_new_privs".into());
        }
    }
    Ok(())
}

/// The capability masks of an OCI process; the bounding set is `Plan::caps`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OciCaps {
    pub(crate) effective: u64,
    pub(crate) permitted: u64,
    pub(crate) inheritable: u64,
    pub(crate) ambient: u64,
}

impl OciCaps {
    pub(crate) fn of(extras: &OciExtras) -> Result<OciCaps, super::error::RuntimeError> {
        OciCaps::of_sets(&extras.capabilities)
    }

    pub(crate) fn of_sets(c: &CapabilitySets) -> Result<OciCaps, super::error::RuntimeError> {
        Ok(OciCaps {
            effective: caps::mask_of(&c.effective)?,
            permitted: caps::mask_of(&c.permitted)?,
            inheritable: caps::mask_of(&c.inheritable)?,
            ambient: caps::mask_of(&c.ambient)?,
        })
    }
}

/// The startContainer hooks, inside the container just before the program's execve.
pub(crate) fn start_container_hooks(extras: &OciExtras, state: &str) -> Result<(), ChildError> {
    for hook in &extras.start_container_hooks {
        super::hooks::run_hook(hook, state)
            .map_err(|e| ChildError::message(format!("startContainer {e}")))?;
    }
    Ok(())
}

/// Before `create` returns, as runc checks: the program exists and is an executable
/// file (the execve itself comes only after `start`, when no one could hear its error).
pub(crate) fn check_program(cmd: &str, program: &CString) -> Result<(), ChildError> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(program.as_bytes()));
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(()),
        Ok(_) => Err(ChildError {
            kind: super::error::FailKind::CannotExecute,
            errno: libc::EACCES,
            text: "permission denied".into(),
        }),
        Err(e) => Err(ChildError {
            kind: super::error::FailKind::NotFound,
            errno: e.raw_os_error().unwrap_or(libc::ENOENT),
            text: format!("{cmd}: {e}"),
        }),
    }
}
