//! The parent/child channel: a SOCK_SEQPACKET socketpair carrying small typed
//! messages. The parent sends `Go` once the child's uid maps are written, and `Joined`
//! once the child's cgroup is ready for it: the parent moved it in, or (v1) made the
//! cgroup, whose `tasks` files then come with the message for the child to write "0" to.
//! The child mounts its filesystems in the meantime and waits for `Joined` only before
//! joining the cgroup and creating its cgroup namespace. The child
//! answers `Failed` on any failure, and `Exec` once everything but the seccomp filter and
//! the execve itself is done; a held child (`spawn_held`) first waits for `Release`,
//! sent once the parent's work on its behalf (its network) is done. Its end is
//! close-on-exec: end-of-file after `Exec` means the execve succeeded; end-of-file before it means the child died during setup (a panic, an
//! abort, a signal), which the parent reports as a setup error, never as a start.
//! The detached monitor tells `kiste run -d` the outcome of its start over the same
//! protocol: `Started`, or `Failed` with the class of its error.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

pub(crate) use super::error::FailKind;
use super::error::RuntimeError;

/// A message on the channel.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// Parent -> child: uid/gid maps written; start the setup.
    Go,
    /// Parent -> child: the child is in its cgroup; user code may run.
    Joined,
    /// Child -> parent: set up; only loading seccomp and execve remain.
    Exec,
    /// Parent -> held child: what its program needs from the parent (its network) is
    /// ready; it may exec.
    Release,
    /// Detached monitor -> `kiste run -d`: the container's command is running.
    Started,
    /// Child -> parent (an OCI container with hooks): the mounts are made, pivot_root
    /// is next; run the prestart and createRuntime hooks.
    Hooks,
    /// Parent -> child: the hooks ran; `pid` is the child's pid in the host's pid
    /// namespace, for the state the container's own hooks read.
    HooksDone { pid: i32 },
    /// Child -> parent (late namespaces, `runtime::late_ns`): the container's process is
    /// this second fork (host pid); the first one exits.
    Forked { pid: i32 },
    /// Child -> parent: setup or exec failed.
    Failed {
        kind: FailKind,
        errno: i32,
        text: String,
    },
}

impl Message {
    fn encode(&self) -> Vec<u8> {
        match self {
            Message::Go => vec![b'G'],
            Message::Joined => vec![b'J'],
            Message::Exec => vec![b'E'],
            Message::Release => vec![b'R'],
            Message::Started => vec![b'S'],
            Message::Hooks => vec![b'H'],
            Message::HooksDone { pid } => {
                let mut v = vec![b'D'];
                v.extend_from_slice(&pid.to_le_bytes());
                v
            }
            Message::Forked { pid } => {
                let mut v = vec![b'P'];
                v.extend_from_slice(&pid.to_le_bytes());
                v
            }
            Message::Failed { kind, errno, text } => {
                let mut v = vec![b'F', *kind as u8];
                v.extend_from_slice(&errno.to_le_bytes());
                v.extend_from_slice(text.as_bytes());
                v
            }
        }
    }

    fn decode(buf: &[u8]) -> Option<Message> {
        match buf.first()? {
            b'G' => Some(Message::Go),
            b'J' => Some(Message::Joined),
            b'E' => Some(Message::Exec),
            b'R' => Some(Message::Release),
            b'S' => Some(Message::Started),
            b'H' => Some(Message::Hooks),
            b'D' if buf.len() == 5 => Some(Message::HooksDone {
                pid: i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]),
            }),
            b'P' if buf.len() == 5 => Some(Message::Forked {
                pid: i32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]),
            }),
            b'F' if buf.len() >= 6 => {
                let kind = match buf[1] {
                    2 => FailKind::NotFound,
                    3 => FailKind::CannotExecute,
                    _ => FailKind::Setup,
                };
                let errno = i32::from_le_bytes([buf[2], buf[3], buf[4], buf[5]]);
                let text = String::from_utf8_lossy(&buf[6..]).into_owned();
                Some(Message::Failed { kind, errno, text })
            }
            _ => None,
        }
    }
}

/// The most descriptors one message carries (a cgroup's `tasks` files, one per v1
/// hierarchy).
const MAX_FDS: usize = 32;

/// One end of the channel.
pub(crate) struct Channel {
    fd: OwnedFd,
}

/// Both ends, close-on-exec.
pub(crate) fn channel_pair() -> Result<(Channel, Channel), RuntimeError> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: socketpair writes two fds into the array.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(RuntimeError::io(
            "cannot create the parent/child sync socketpair",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    unsafe {
        Ok((
            Channel {
                fd: OwnedFd::from_raw_fd(fds[0]),
            },
            Channel {
                fd: OwnedFd::from_raw_fd(fds[1]),
            },
        ))
    }
}

impl Channel {
    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub(crate) fn send(&self, msg: &Message) -> std::io::Result<()> {
        let buf = msg.encode();
        loop {
            // SAFETY: buf is a valid slice for the call.
            let n = unsafe {
                libc::send(
                    self.raw(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n >= 0 {
                return Ok(());
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// `send` with descriptors attached (SCM_RIGHTS): `Joined` carries the `tasks` files
    /// of a cgroup the parent made after the clone.
    pub(crate) fn send_fds(&self, msg: &Message, fds: &[RawFd]) -> std::io::Result<()> {
        if fds.is_empty() {
            return self.send(msg);
        }
        let buf = msg.encode();
        let iov = [std::io::IoSlice::new(&buf)];
        let cmsg = [ControlMessage::ScmRights(fds)];
        loop {
            match sendmsg::<()>(self.raw(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The next message with the descriptors it carried (close-on-exec), or None when the
    /// other end closed; more than `MAX_FDS` is an error.
    pub(crate) fn recv_fds(&self) -> std::io::Result<(Option<Message>, Vec<OwnedFd>)> {
        let mut buf = [0u8; 4096];
        loop {
            let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let got = recvmsg::<()>(
                self.raw(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            );
            let (n, fds, truncated) = match got {
                Ok(m) => {
                    let mut fds = Vec::new();
                    for c in m.cmsgs().into_iter().flatten() {
                        if let ControlMessageOwned::ScmRights(list) = c {
                            // SAFETY: the kernel installed these descriptors for us.
                            fds.extend(
                                list.into_iter()
                                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                            );
                        }
                    }
                    (m.bytes, fds, m.flags.contains(MsgFlags::MSG_CTRUNC))
                }
                // A peer that dies with our messages unread (a held child that failed
                // before it read `Release`) resets the connection. The kernel reports that
                // once, ahead of what the peer sent before it died (its `Failed`): read on,
                // to that or to the end-of-file after it.
                Err(Errno::ECONNRESET | Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            if truncated {
                return Err(std::io::Error::other("more descriptors than expected"));
            }
            if n == 0 {
                return Ok((None, fds));
            }
            return Ok((Message::decode(&buf[..n]), fds));
        }
    }

    /// The next message, or None when the other end closed (descriptors it carried are
    /// closed).
    pub(crate) fn recv(&self) -> std::io::Result<Option<Message>> {
        self.recv_fds().map(|(msg, _)| msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let (a, b) = channel_pair().unwrap();
        a.send(&Message::Go).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Message::Go));
        b.send(&Message::Exec).unwrap();
        assert_eq!(a.recv().unwrap(), Some(Message::Exec));
        a.send(&Message::Release).unwrap();
        assert_eq!(b.recv().unwrap(), Some(Message::Release));
        let failed = Message::Failed {
            kind: FailKind::NotFound,
            errno: 2,
            text: "nope".into(),
        };
        b.send(&failed).unwrap();
        assert_eq!(a.recv().unwrap(), Some(failed));
        drop(b);
        assert_eq!(a.recv().unwrap(), None);
    }

    #[test]
    fn joined_carries_descriptors_that_the_receiver_owns() {
        let (a, b) = channel_pair().unwrap();
        let file = tempfile::tempfile().unwrap();
        a.send_fds(&Message::Joined, &[file.as_raw_fd(), file.as_raw_fd()])
            .unwrap();
        let (msg, fds) = b.recv_fds().unwrap();
        assert_eq!(msg, Some(Message::Joined));
        assert_eq!(fds.len(), 2);
        for fd in &fds {
            assert_ne!(fd.as_raw_fd(), file.as_raw_fd());
            // SAFETY: F_GETFD on a descriptor we own.
            let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        }
        // Without descriptors it is a plain message.
        a.send_fds(&Message::Go, &[]).unwrap();
        let (msg, fds) = b.recv_fds().unwrap();
        assert_eq!((msg, fds.len()), (Some(Message::Go), 0));
        drop(a);
        assert_eq!(b.recv_fds().unwrap().0, None);
    }

    #[test]
    fn a_peer_that_dies_with_messages_unread_still_delivers_what_it_sent() {
        let (parent, child) = channel_pair().unwrap();
        let failed = Message::Failed {
            kind: FailKind::NotFound,
            errno: 2,
            text: String::new(),
        };
        child.send(&failed).unwrap();
        parent.send(&Message::Release).unwrap();
        drop(child);
        assert_eq!(parent.recv().unwrap(), Some(failed));
        assert_eq!(parent.recv().unwrap(), None);
    }
}
