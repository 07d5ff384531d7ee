//! `--console-socket SOCK` with `process.terminal: true`: a new pseudo-terminal whose
//! master goes to the caller over the unix socket (SCM_RIGHTS, with the name
//! "/dev/ptmx" as the message, as runc sends it: conmon and containerd's shim receive it
//! this way) and whose slave becomes the process's stdin, stdout, stderr and controlling
//! terminal, sized as `process.consoleSize` says. The pair always comes from the
//! container's own devpts, so the process sees /dev/pts/N as with runc:
//! - `create`/`run`: the socket is connected here ([`for_config`]) and inherited by the
//!   container's process, which makes the pair after pivot_root (`runtime::console`);
//! - `exec`: the pair is made here from `/proc/PID/root/dev/pts/ptmx` (opened with
//!   RESOLVE_IN_ROOT and checked to be a pty multiplexer, the slave by TIOCGPTPEER) and
//!   the slave handed to `runtime::spawn_in` as the process's stdio.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};

use super::spec::Process;

use super::OciError;

/// The name sent with the master, as runc sends the name of its `/dev/ptmx` file.
const MASTER_NAME: &[u8] = b"/dev/ptmx";
/// The device number of a devpts instance's `ptmx` (char 5:2).
const PTMX_RDEV: (u32, u32) = (5, 2);

/// The window size from `process.consoleSize` (rows, columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub height: u16,
    pub width: u16,
}

/// A connected console socket, opened before anything is started so that a wrong path
/// fails the command early (as runc's does).
pub struct ConsoleSocket {
    fd: OwnedFd,
}

impl ConsoleSocket {
    pub fn connect(path: &Path) -> Result<ConsoleSocket, OciError> {
        let io = |e: nix::Error| {
            OciError::io(
                format!("cannot connect to console socket {}", path.display()),
                e.into(),
            )
        };
        let fd = socket(
            AddressFamily::Unix,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(io)?;
        let addr = UnixAddr::new(path).map_err(io)?;
        connect(fd.as_raw_fd(), &addr).map_err(io)?;
        Ok(ConsoleSocket { fd })
    }

    /// Sends `master` (SCM_RIGHTS) with runc's message.
    pub fn send(&self, master: &OwnedFd) -> Result<(), OciError> {
        let fds = [master.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov = [IoSlice::new(MASTER_NAME)];
        sendmsg::<()>(self.fd.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
            .map(drop)
            .map_err(|e| OciError::io("cannot send the terminal to the console socket", e.into()))
    }
}

/// A terminal pair.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

fn check(rc: libc::c_int) -> std::io::Result<libc::c_int> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Unlocks `master` and opens its slave without a path lookup (TIOCGPTPEER).
fn pair_of(master: OwnedFd) -> std::io::Result<Pty> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int; TIOCGPTPEER returns a new fd.
    check(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
    let peer = check(unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: a new fd we own.
    let slave = unsafe { OwnedFd::from_raw_fd(peer) };
    Ok(Pty { master, slave })
}

/// A pair from the devpts instance of the running process `pid`'s root: its
/// `dev/pts/ptmx`, resolved inside that root without following any symlink, and refused
/// unless it is the pty multiplexer.
pub fn container_pty(pid: i32) -> std::io::Result<Pty> {
    pty_in(&std::fs::File::open(format!("/proc/{pid}/root"))?)
}

/// The pair from `root`'s dev/pts/ptmx (see [`container_pty`]).
fn pty_in(root: &std::fs::File) -> std::io::Result<Pty> {
    // SAFETY: open_how is plain data; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    // O_NONBLOCK: a FIFO planted at the path must not hang the open.
    how.flags = (libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NONBLOCK) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 with a valid open_how of the right size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c"dev/pts/ptmx".as_ptr(),
            &how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new fd we own.
    let master = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let meta = std::fs::File::from(master.try_clone()?).metadata()?;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let rdev = meta.rdev();
    if !meta.file_type().is_char_device() || (libc::major(rdev), libc::minor(rdev)) != PTMX_RDEV {
        return Err(std::io::Error::other(
            "the container's /dev/pts/ptmx is not a pty multiplexer",
        ));
    }
    // Back to blocking I/O for whoever reads the master.
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK);
    }
    pair_of(master)
}

/// Sets the terminal's window size.
pub fn resize(fd: &OwnedFd, size: Size) -> std::io::Result<()> {
    let ws = libc::winsize {
        ws_row: size.height,
        ws_col: size.width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) }).map(drop)
}

/// The whole hand-over: `pty` sized, its master sent over `socket` and closed here; the
/// slave is returned for the process's stdio.
pub fn hand_over(
    socket: &ConsoleSocket,
    pty: Pty,
    size: Option<Size>,
) -> Result<OwnedFd, OciError> {
    if let Some(s) = size.filter(|s| s.height > 0 && s.width > 0) {
        resize(&pty.master, s).map_err(|e| OciError::io("cannot set the console size", e))?;
    }
    socket.send(&pty.master)?;
    Ok(pty.slave)
}

/// The console of `create`/`run`: the connected socket, and the size the child sets.
pub struct CreateConsole {
    socket: ConsoleSocket,
    size: Option<Size>,
    /// The process's stdio until its terminal replaces it: none of the caller's fds, so
    /// that a caller reading `create`'s output (containerd's shim) sees it end.
    null: OwnedFd,
}

impl CreateConsole {
    /// What the child needs (see `runtime::console`): the socket's fd stays open here
    /// until the spawn has returned.
    pub fn spec(&self) -> crate::runtime::ConsoleSpec {
        crate::runtime::ConsoleSpec {
            socket: self.socket.fd.as_raw_fd(),
            size: self.size.map(|s| (s.height, s.width)),
        }
    }

    /// /dev/null as the process's stdio before the terminal takes its place.
    pub fn stdio(&self) -> crate::runtime::Stdio {
        let fd = self.null.as_raw_fd();
        crate::runtime::Stdio {
            stdin: fd,
            stdout: fd,
            stderr: fd,
        }
    }
}

/// The size of `process.consoleSize`, clamped to a terminal's range.
pub fn console_size(process: &Process) -> Option<Size> {
    process.console_size.map(|b| Size {
        height: b.height.min(u16::MAX as u64) as u16,
        width: b.width.min(u16::MAX as u64) as u16,
    })
}

/// `create`/`run`: the console `process.terminal` asks for, connected to `socket`. As
/// runc: a terminal needs a socket, and a socket needs a terminal.
pub fn for_config(
    process: Option<&Process>,
    socket: Option<&Path>,
) -> Result<Option<CreateConsole>, OciError> {
    let terminal = process.and_then(|p| p.terminal).unwrap_or(false);
    match (terminal, socket) {
        (false, None) => Ok(None),
        (true, None) => Err(OciError::Invalid {
            what: "process.terminal".into(),
            reason: "cannot allocate a tty without --console-socket".into(),
        }),
        (false, Some(_)) => Err(OciError::Invalid {
            what: "--console-socket".into(),
            reason: "the config's process.terminal is false".into(),
        }),
        (true, Some(path)) => Ok(Some(CreateConsole {
            socket: ConsoleSocket::connect(path)?,
            size: process.and_then(console_size),
            null: std::fs::File::open("/dev/null")
                .map_err(|e| OciError::io("cannot open /dev/null", e))?
                .into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    use std::io::IoSliceMut;
    use std::os::unix::net::UnixListener;

    /// What conmon does: accept, receive the name and the fd.
    fn receive(listener: &UnixListener) -> (Vec<u8>, OwnedFd) {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .unwrap();
        let mut fd = None;
        for c in msg.cmsgs().unwrap() {
            if let ControlMessageOwned::ScmRights(fds) = c {
                fd = Some(fds[0]);
            }
        }
        let n = msg.bytes;
        // SAFETY: the fd just received is ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd.expect("no fd received")) };
        (buf[..n].to_vec(), fd)
    }

    #[test]
    fn master_goes_over_the_socket_and_talks_to_the_slave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let socket = ConsoleSocket::connect(&path).unwrap();
        let pty = container_pty(std::process::id() as i32).unwrap();
        let size = Some(Size {
            height: 33,
            width: 101,
        });
        let slave = hand_over(&socket, pty, size).unwrap();
        let (name, master) = receive(&listener);
        assert_eq!(name, MASTER_NAME);
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes a winsize.
        unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
        assert_eq!((ws.ws_row, ws.ws_col), (33, 101));
        // SAFETY: isatty on an fd we own.
        assert_eq!(unsafe { libc::isatty(slave.as_raw_fd()) }, 1);
        let text = b"hello\n";
        // SAFETY: write from a slice; read into a buffer.
        let n = unsafe { libc::write(slave.as_raw_fd(), text.as_ptr().cast(), text.len()) };
        assert_eq!(n, text.len() as isize);
        let mut buf = [0u8; 16];
        let r = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        assert!(r > 0);
        assert!(String::from_utf8_lossy(&buf[..r as usize]).starts_with("hello"));
    }

    #[test]
    fn a_missing_socket_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nobody.sock");
        let err = ConsoleSocket::connect(&path).err().unwrap().to_string();
        assert!(err.contains("nobody.sock"), "{err}");
    }

    #[test]
    fn container_pty_opens_the_devpts_multiplexer_of_a_root() {
        // kiste's own root: /dev/pts is a devpts with its ptmx.
        let pty = container_pty(std::process::id() as i32).unwrap();
        // SAFETY: isatty on an fd we own.
        assert_eq!(unsafe { libc::isatty(pty.slave.as_raw_fd()) }, 1);
    }

    #[test]
    fn a_planted_ptmx_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev/pts")).unwrap();
        let root = std::fs::File::open(dir.path()).unwrap();
        // A regular file in its place.
        std::fs::write(dir.path().join("dev/pts/ptmx"), "x").unwrap();
        assert!(pty_in(&root).is_err());
        // A symlink to the host's multiplexer is not followed.
        std::fs::remove_file(dir.path().join("dev/pts/ptmx")).unwrap();
        std::os::unix::fs::symlink("/dev/ptmx", dir.path().join("dev/pts/ptmx")).unwrap();
        assert!(pty_in(&root).is_err());
    }
}
