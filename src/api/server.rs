//! The accept loop: single-threaded, one forked child per connection (so a blocking
//! `wait` or `logs -f` holds only its own process, and no thread ever exists in a
//! process that forks). A signalfd reports ended children and SIGTERM/SIGINT; the loop
//! ends after `idle` without a connection, or on a signal.

use super::{routes, ApiError, Backend};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use std::os::fd::{AsFd, AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `path` as a short address through its parent directory's descriptor (kept open in
/// the returned file while the address is used).
fn short_address(path: &std::path::Path) -> std::io::Result<(std::fs::File, PathBuf)> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a socket path",
        ));
    };
    let dir = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_PATH)
        .open(if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        })?;
    let mut short = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    short.push(name);
    Ok((dir, short))
}

/// Binds a unix socket at `path` whatever its length: through the parent directory's
/// descriptor (`/proc/self/fd/N/NAME`), as a store's run dir can be longer than the
/// 108 bytes a socket address holds.
pub fn bind_unix(path: &std::path::Path) -> std::io::Result<UnixListener> {
    let (_dir, short) = short_address(path)?;
    UnixListener::bind(short)
}

/// Whether something listens on the socket at `path` (of any length).
fn listening(path: &std::path::Path) -> bool {
    short_address(path)
        .and_then(|(_dir, short)| std::os::unix::net::UnixStream::connect(short))
        .is_ok()
}

/// The socket served: bound here (its file removed when the service ends), or handed
/// over already listening (the sidecar's monitor owns the file).
pub enum Listener {
    Bound {
        listener: UnixListener,
        path: PathBuf,
    },
    Inherited(UnixListener),
}

impl Listener {
    /// Binds `path` (mode 0660), replacing a stale socket file that nobody listens on.
    pub fn bind(path: PathBuf) -> Result<Listener, ApiError> {
        let fail = |source| ApiError::Listen {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        use std::os::unix::fs::FileTypeExt;
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            let live = listening(&path);
            if !meta.file_type().is_socket() || live {
                return Err(fail(std::io::Error::from(std::io::ErrorKind::AddrInUse)));
            }
            std::fs::remove_file(&path).map_err(fail)?;
        }
        let listener = bind_unix(&path).map_err(fail)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660)).map_err(fail)?;
        Ok(Listener::Bound { listener, path })
    }

    /// A listening unix socket at descriptor `fd`, inherited from the process that bound it.
    pub fn inherit(fd: i32) -> Result<Listener, ApiError> {
        let mut kind: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `kind`.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_ACCEPTCONN,
                (&mut kind as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if rc != 0 || kind != 1 {
            return Err(ApiError::Listen {
                path: format!("descriptor {fd}"),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a listening socket",
                ),
            });
        }
        // SAFETY: the descriptor was handed to this process to own.
        let listener = unsafe { UnixListener::from_raw_fd(fd) };
        let _ = nix::fcntl::fcntl(
            &listener,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        Ok(Listener::Inherited(listener))
    }

    fn socket(&self) -> &UnixListener {
        match self {
            Listener::Bound { listener, .. } | Listener::Inherited(listener) => listener,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Bound { path, .. } = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Serves until `idle` passes with no connection open (None: until a signal).
pub fn serve(
    listener: Listener,
    idle: Option<Duration>,
    backend: &Backend,
) -> Result<(), ApiError> {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
    ] {
        mask.add(s);
    }
    mask.thread_block()
        .map_err(|e| ApiError::io("cannot block signals")(e.into()))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| ApiError::io("cannot make a signalfd")(e.into()))?;
    let sock = listener.socket();
    let mut open = 0usize;
    let mut last = Instant::now();
    loop {
        let timeout = match (idle, open) {
            (Some(idle), 0) => {
                let left = idle.saturating_sub(last.elapsed());
                if left.is_zero() {
                    return Ok(());
                }
                PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32 + 1)
                    .unwrap_or(PollTimeout::MAX)
            }
            _ => PollTimeout::NONE,
        };
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(ApiError::io("poll")(e.into())),
        }
        let (accept, signalled) = (fds[0].any().unwrap_or(false), fds[1].any().unwrap_or(false));
        if signalled {
            while let Ok(Some(info)) = sfd.read_signal() {
                if info.ssi_signo != libc::SIGCHLD as u32 {
                    return Ok(());
                }
            }
            while let Ok(st) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                if st == WaitStatus::StillAlive {
                    break;
                }
                open = open.saturating_sub(1);
                last = Instant::now();
            }
        }
        if accept {
            let Ok((stream, _)) = sock.accept() else {
                continue;
            };
            // SAFETY: this process has no other threads; the child runs only this code.
            match unsafe { nix::unistd::fork() } {
                Ok(nix::unistd::ForkResult::Child) => {
                    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
                    let _ = mask.thread_unblock();
                    let _ = nix::unistd::close(sock.as_raw_fd());
                    let _ = nix::unistd::close(sfd.as_raw_fd());
                    routes::handle_connection(stream, backend);
                    unsafe { libc::_exit(0) }
                }
                Ok(nix::unistd::ForkResult::Parent { .. }) => open += 1,
                Err(e) => eprintln!("WARNING: api service: cannot fork for a connection: {e}"),
            }
        }
    }
}
