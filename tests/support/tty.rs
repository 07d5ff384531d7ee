//! A real pseudo-terminal for tests of `run -it`, `exec -it` and `attach`: kiste runs
//! with the slave as its stdin, stdout, stderr and controlling terminal (its own session),
//! the test types into the master and reads the screen with a deadline.

use super::Kiste;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub struct Term {
    pub master: OwnedFd,
    /// A second handle on the slave, to read its settings (raw mode or not).
    pub slave: OwnedFd,
    pub child: Child,
    /// Everything read so far.
    pub screen: String,
}

impl Term {
    /// `kiste ARGS` on a new terminal of `rows` x `cols`.
    pub fn spawn(k: &Kiste, args: &[&str], rows: u16, cols: u16) -> Term {
        Term::spawn_command(k.cmd(args), rows, cols)
    }

    /// Any command (podman, ctr…) on a new terminal of `rows` x `cols`.
    pub fn spawn_command(mut cmd: std::process::Command, rows: u16, cols: u16) -> Term {
        let ws = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&ws), None).unwrap();
        cmd.stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        Term {
            master: pty.master,
            slave: pty.slave,
            child,
            screen: String::new(),
        }
    }

    pub fn write(&self, bytes: &[u8]) {
        // SAFETY: write from a valid slice.
        let n = unsafe { libc::write(self.master.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        assert_eq!(n, bytes.len() as isize);
    }

    /// Read until the screen holds `needle` (panics with the screen after `timeout`).
    pub fn expect(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.screen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {needle:?} on the screen after {timeout:?}:\n{}",
                self.screen
            );
            if !self.read_some(left) {
                assert!(
                    self.screen.contains(needle),
                    "the terminal closed without {needle:?}:\n{}",
                    self.screen
                );
            }
        }
    }

    /// One read (within `timeout`); false when the terminal has closed.
    fn read_some(&mut self, timeout: Duration) -> bool {
        let mut p = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one pollfd.
        let n = unsafe { libc::poll(&mut p, 1, timeout.as_millis().min(60_000) as i32) };
        if n <= 0 {
            return true;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: read into a local buffer.
        let r = unsafe { libc::read(self.master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if r <= 0 {
            return false;
        }
        self.screen
            .push_str(&String::from_utf8_lossy(&buf[..r as usize]));
        true
    }

    /// Wait for kiste to exit (reading the screen meanwhile); its exit code.
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                while self.pending() && self.read_some(Duration::from_millis(50)) {}
                return st.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "kiste did not exit:\n{}",
                self.screen
            );
            self.read_some(Duration::from_millis(50));
        }
    }

    fn pending(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one pollfd without waiting.
        unsafe { libc::poll(&mut p, 1, 0) > 0 && p.revents & libc::POLLIN != 0 }
    }

    /// Whether the terminal is in canonical mode with echo (as a shell leaves it).
    pub fn is_cooked(&self) -> bool {
        let t = nix::sys::termios::tcgetattr(&self.slave).unwrap();
        use nix::sys::termios::LocalFlags;
        t.local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO)
    }

    /// Wait until kiste has put the terminal in raw mode (it is ready for keys).
    pub fn wait_raw(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.is_cooked() {
            assert!(
                Instant::now() < deadline,
                "kiste never made the terminal raw"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Change the terminal's size (the kernel sends SIGWINCH to its foreground group).
    pub fn resize(&self, rows: u16, cols: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize.
        unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
