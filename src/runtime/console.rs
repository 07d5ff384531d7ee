//! The container's terminal for an OCI `process.terminal` with `--console-socket`, made
//! by the child after pivot_root as runc makes it: a pair from the container's own devpts
//! (`/dev/pts/ptmx`), the window size of `process.consoleSize`, the slave bind-mounted
//! on /dev/console, the master sent over the (already connected) console socket with
//! SCM_RIGHTS and the name "/dev/ptmx", then the slave as fds 0, 1, 2 and the controlling
//! terminal of the process's session. The process then sees /dev/pts/0 as its terminal.

use std::os::fd::RawFd;

use super::error::{ChildError, Ctx};

/// The console hand-over a child makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleSpec {
    /// A connected unix stream socket, inherited by the child.
    pub socket: RawFd,
    /// (rows, columns); None keeps the kernel's default.
    pub size: Option<(u16, u16)>,
}

/// The name sent with the master, as runc sends its `/dev/ptmx` file's.
const MASTER_NAME: &[u8] = b"/dev/ptmx";

fn check(rc: libc::c_int) -> std::io::Result<libc::c_int> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn send_fd(socket: RawFd, fd: RawFd) -> std::io::Result<()> {
    let mut space = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: MASTER_NAME.as_ptr() as *mut libc::c_void,
        iov_len: MASTER_NAME.len(),
    };
    // SAFETY: a msghdr over local buffers; CMSG_* compute within `space`.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = space.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        if libc::sendmsg(socket, &msg, libc::MSG_NOSIGNAL) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// In the child, after pivot_root: the whole hand-over (see the module's description).
pub(crate) fn attach(c: &ConsoleSpec) -> Result<(), ChildError> {
    // SAFETY: open of a fixed path; the fd is ours.
    let master = check(unsafe {
        libc::open(
            c"/dev/pts/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })
    .ctx(|| "cannot open the container's /dev/pts/ptmx for its terminal".into())?;
    let unlock: libc::c_int = 0;
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCSPTLCK reads an int, TIOCGPTN writes one.
    unsafe {
        check(libc::ioctl(master, libc::TIOCSPTLCK, &unlock))
            .ctx(|| "cannot unlock the terminal".into())?;
        check(libc::ioctl(master, libc::TIOCGPTN, &mut n))
            .ctx(|| "cannot read the terminal's number".into())?;
    }
    if let Some((rows, cols)) = c.size.filter(|(r, c)| *r > 0 && *c > 0) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize.
        check(unsafe { libc::ioctl(master, libc::TIOCSWINSZ, &ws) })
            .ctx(|| "cannot set the console size".into())?;
    }
    let slave_path = std::ffi::CString::new(format!("/dev/pts/{n}")).unwrap_or_default();
    // SAFETY: open of a path we built; the fd is ours.
    let slave = check(unsafe {
        libc::open(
            slave_path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })
    .ctx(|| format!("cannot open the terminal {}", slave_path.to_string_lossy()))?;
    mount_console(&slave_path)?;
    send_fd(c.socket, master).ctx(|| "cannot send the terminal to the console socket".into())?;
    // SAFETY: closing fds we own: the caller has the master now.
    unsafe {
        libc::close(master);
        libc::close(c.socket);
    }
    for target in 0..3 {
        // SAFETY: dup2 onto 0..2.
        check(unsafe { libc::dup2(slave, target) })
            .ctx(|| format!("cannot make the terminal fd {target}"))?;
    }
    // SAFETY: the copy on 0..2 stays; TIOCSCTTY on fd 0 of this session's leader.
    unsafe {
        libc::close(slave);
        check(libc::ioctl(0, libc::TIOCSCTTY, 0))
            .ctx(|| "cannot make the terminal the controlling terminal".into())?;
    }
    Ok(())
}

/// Bind-mounts the slave on /dev/console (made as an empty file when missing; an
/// existing node is not opened).
fn mount_console(slave: &std::ffi::CStr) -> Result<(), ChildError> {
    // SAFETY: open with O_CREAT of a fixed path; the fd is closed at once.
    let fd = unsafe {
        libc::open(
            c"/dev/console".as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd >= 0 {
        // SAFETY: an fd we own.
        unsafe { libc::close(fd) };
    }
    // SAFETY: a bind mount between two paths in the container's mount namespace.
    check(unsafe {
        libc::mount(
            slave.as_ptr(),
            c"/dev/console".as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    })
    .ctx(|| "cannot bind the terminal on /dev/console".into())
    .map(drop)
}
