//! A process the container code waits for (the container's first process or its
//! monitor), held by a pidfd so that a reused pid can never be mistaken for it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

pub struct PidFd(OwnedFd);

impl PidFd {
    /// The process `pid` if it is still the one that started at `start_time`.
    pub fn open(pid: i32, start_time: u64) -> Option<PidFd> {
        if pid <= 0 {
            return None;
        }
        // SAFETY: pidfd_open with a pid and no flags; the result is checked.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: a fresh descriptor owned by nobody else.
        let fd = PidFd(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        // Checked after the open: the pidfd now pins this very process.
        (crate::runtime::process_start_time(pid) == Some(start_time)).then_some(fd)
    }

    /// Wait until the process has exited, at most `timeout` (None: for ever); whether it
    /// did.
    pub fn wait(&self, timeout: Option<Duration>) -> bool {
        let mut p = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        loop {
            // SAFETY: poll on one valid pollfd.
            match unsafe { libc::poll(&mut p, 1, ms) } {
                -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {
                }
                n => return n > 0,
            }
        }
    }

    /// Whether the process has exited (without waiting).
    pub fn exited(&self) -> bool {
        self.wait(Some(Duration::ZERO))
    }
}
