//! Forwarding published ports into a container's network namespace from the monitor's
//! single-threaded poll loop. Each accepted host connection gets a socket created inside the
//! container's namespace (setns there and back: a socket stays in the namespace it was made
//! in) connected to 127.0.0.1:PORT; bytes are pumped both ways with half-close kept.
//! UDP gets one inner socket per client address.

use super::ports::{BoundPort, BoundSocket};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, RawFd};
use std::time::{Duration, Instant};

const BUF: usize = 64 * 1024;
const UDP_IDLE: Duration = Duration::from_secs(120);

pub struct PortForwarder {
    own_ns: File,
    ctr_ns: File,
    tcp: Vec<(TcpListener, u16)>,
    udp: Vec<UdpPort>,
    conns: Vec<Conn>,
}

struct UdpPort {
    sock: UdpSocket,
    port: u16,
    sessions: Vec<UdpSession>,
}

struct UdpSession {
    client: SocketAddr,
    inner: UdpSocket,
    last: Instant,
}

/// One direction of a connection.
struct Pipe {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    shut: bool,
}

impl Pipe {
    fn new() -> Pipe {
        Pipe {
            buf: vec![0; BUF],
            start: 0,
            end: 0,
            eof: false,
            shut: false,
        }
    }
    fn is_empty(&self) -> bool {
        self.start == self.end
    }
    fn done(&self) -> bool {
        self.eof && self.is_empty()
    }
    /// Read from `src` into the empty buffer.
    fn fill(&mut self, src: &mut TcpStream) -> io::Result<()> {
        match src.read(&mut self.buf) {
            Ok(0) => self.eof = true,
            Ok(n) => {
                self.start = 0;
                self.end = n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }
    /// Write what is buffered to `dst`; half-close it once the source ended.
    fn drain(&mut self, dst: &mut TcpStream) -> io::Result<()> {
        if !self.is_empty() {
            match dst.write(&self.buf[self.start..self.end]) {
                Ok(n) => self.start += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if self.done() && !self.shut {
            self.shut = true;
            let _ = dst.shutdown(Shutdown::Write);
        }
        Ok(())
    }
}

struct Conn {
    client: TcpStream,
    server: TcpStream,
    connecting: bool,
    up: Pipe,
    down: Pipe,
}

impl Conn {
    fn finished(&self) -> bool {
        self.up.done() && self.up.shut && self.down.done() && self.down.shut
    }
}

fn pollfd(fd: RawFd, events: i16) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

impl PortForwarder {
    /// Forward `bound` host sockets into the container's network namespace `ctr_ns`.
    pub fn new(bound: Vec<BoundPort>, ctr_ns: File) -> io::Result<PortForwarder> {
        let own_ns = File::open("/proc/self/ns/net")?;
        let mut tcp = Vec::new();
        let mut udp = Vec::new();
        for b in bound {
            match b.socket {
                BoundSocket::Tcp(l) => tcp.push((l, b.mapping.container_port)),
                BoundSocket::Udp(s) => udp.push(UdpPort {
                    sock: s,
                    port: b.mapping.container_port,
                    sessions: Vec::new(),
                }),
            }
        }
        Ok(PortForwarder {
            own_ns,
            ctr_ns,
            tcp,
            udp,
            conns: Vec::new(),
        })
    }

    /// A non-blocking socket made inside the container's network namespace.
    fn inner_socket(&self, kind: libc::c_int) -> io::Result<RawFd> {
        use nix::sched::{setns, CloneFlags};
        setns(self.ctr_ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                kind | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        let err = io::Error::last_os_error();
        setns(self.own_ns.as_fd(), CloneFlags::CLONE_NEWNET)
            .expect("returning to the monitor's own network namespace");
        if fd < 0 {
            return Err(err);
        }
        Ok(fd)
    }

    fn connect_inner(&self, port: u16) -> io::Result<TcpStream> {
        let fd = self.inner_socket(libc::SOCK_STREAM)?;
        let stream = unsafe { TcpStream::from_raw_fd(fd) };
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = unsafe {
            libc::connect(
                fd,
                &addr as *const libc::sockaddr_in as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        Ok(stream)
    }

    fn udp_inner(&self, port: u16) -> io::Result<UdpSocket> {
        let fd = self.inner_socket(libc::SOCK_DGRAM)?;
        let sock = unsafe { UdpSocket::from_raw_fd(fd) };
        sock.connect(("127.0.0.1", port))?;
        Ok(sock)
    }

    /// Append the descriptors to wait on; `dispatch` gets the same slice back.
    pub fn register(&self, fds: &mut Vec<libc::pollfd>) {
        for (l, _) in &self.tcp {
            fds.push(pollfd(l.as_raw_fd(), libc::POLLIN));
        }
        for u in &self.udp {
            fds.push(pollfd(u.sock.as_raw_fd(), libc::POLLIN));
            for s in &u.sessions {
                fds.push(pollfd(s.inner.as_raw_fd(), libc::POLLIN));
            }
        }
        for c in &self.conns {
            let mut ce = 0;
            let mut se = 0;
            // While the inner connect completes, the client's first bytes (a request
            // usually follows its connect at once) are read already: the round that
            // sees the connect done sends them on.
            if !c.up.eof && c.up.is_empty() {
                ce |= libc::POLLIN;
            }
            if c.connecting {
                se |= libc::POLLOUT;
            } else {
                if !c.down.eof && c.down.is_empty() {
                    se |= libc::POLLIN;
                }
                if !c.up.is_empty() {
                    se |= libc::POLLOUT;
                }
                if !c.down.is_empty() {
                    ce |= libc::POLLOUT;
                }
            }
            fds.push(pollfd(c.client.as_raw_fd(), ce));
            fds.push(pollfd(c.server.as_raw_fd(), se));
        }
    }

    /// Handle what `poll` reported for the descriptors `register` added.
    pub fn dispatch(&mut self, fds: &[libc::pollfd]) {
        let mut i = 0;
        let mut accepted = Vec::new();
        for (l, port) in &self.tcp {
            if fds[i].revents & libc::POLLIN != 0 {
                while let Some(client) = accept_nonblocking(l) {
                    accepted.push((client, *port));
                }
            }
            i += 1;
        }
        let mut udp = std::mem::take(&mut self.udp);
        for u in &mut udp {
            let listener_ready = fds[i].revents & libc::POLLIN != 0;
            i += 1;
            // Only the sessions that were registered have a pollfd; new ones come after.
            for s in &mut u.sessions {
                if fds[i].revents & libc::POLLIN != 0 {
                    let mut buf = [0u8; 65536];
                    while let Ok(n) = s.inner.recv(&mut buf) {
                        let _ = u.sock.send_to(&buf[..n], s.client);
                        s.last = Instant::now();
                    }
                }
                i += 1;
            }
            if listener_ready {
                self.udp_from_clients(u);
            }
            u.sessions.retain(|s| s.last.elapsed() < UDP_IDLE);
        }
        self.udp = udp;
        let mut keep = Vec::with_capacity(self.conns.len());
        for mut c in std::mem::take(&mut self.conns) {
            let (cr, sr) = (fds[i].revents, fds[i + 1].revents);
            i += 2;
            if pump(&mut c, cr, sr).is_ok() && !c.finished() {
                keep.push(c);
            }
        }
        self.conns = keep;
        for (client, port) in accepted {
            match self.connect_inner(port) {
                Ok(server) => self.conns.push(Conn {
                    client,
                    server,
                    connecting: true,
                    up: Pipe::new(),
                    down: Pipe::new(),
                }),
                Err(_) => drop(client),
            }
        }
    }

    fn udp_from_clients(&self, u: &mut UdpPort) {
        let mut buf = [0u8; 65536];
        while let Ok((n, from)) = u.sock.recv_from(&mut buf) {
            let pos = match u.sessions.iter().position(|s| s.client == from) {
                Some(p) => p,
                None => match self.udp_inner(u.port) {
                    Ok(inner) => {
                        u.sessions.push(UdpSession {
                            client: from,
                            inner,
                            last: Instant::now(),
                        });
                        u.sessions.len() - 1
                    }
                    Err(_) => continue,
                },
            };
            let s = &mut u.sessions[pos];
            let _ = s.inner.send(&buf[..n]);
            s.last = Instant::now();
        }
    }

    /// Whether any connection is still open (the monitor drains them before exiting).
    pub fn is_idle(&self) -> bool {
        self.conns.is_empty()
    }
}

/// The next pending connection on `l`, non-blocking from its accept (no separate
/// FIONBIO); None when there is none (or it failed: the client sees a reset).
fn accept_nonblocking(l: &TcpListener) -> Option<TcpStream> {
    // SAFETY: accept4 on a listening socket this forwarder owns; no address wanted.
    let fd = unsafe {
        libc::accept4(
            l.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    // SAFETY: a new descriptor that nothing else owns.
    (fd >= 0).then(|| unsafe { TcpStream::from_raw_fd(fd) })
}

fn pump(c: &mut Conn, cr: i16, sr: i16) -> io::Result<()> {
    let bad = libc::POLLERR | libc::POLLNVAL;
    if cr & bad != 0 {
        return Err(io::Error::other("socket error"));
    }
    if cr & (libc::POLLIN | libc::POLLHUP) != 0 && c.up.is_empty() && !c.up.eof {
        c.up.fill(&mut c.client)?;
    }
    if c.connecting {
        if sr & (libc::POLLOUT | bad | libc::POLLHUP) == 0 {
            return Ok(());
        }
        if let Some(e) = c.server.take_error()? {
            return Err(e);
        }
        c.connecting = false;
        // Connected: what the client sent meanwhile goes on in this round.
        c.up.drain(&mut c.server)?;
        return Ok(());
    }
    if sr & bad != 0 {
        return Err(io::Error::other("socket error"));
    }
    if sr & (libc::POLLIN | libc::POLLHUP) != 0 && c.down.is_empty() && !c.down.eof {
        c.down.fill(&mut c.server)?;
    }
    c.up.drain(&mut c.server)?;
    c.down.drain(&mut c.client)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PortMapping, Protocol};
    use crate::network::bind_ports;
    use std::net::Ipv4Addr;

    /// Runs the forwarder's poll loop until `done` (at most 5 s).
    fn forward_until(fwd: &mut PortForwarder, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done() {
            assert!(Instant::now() < deadline, "the forwarder made no progress");
            let mut fds = Vec::new();
            fwd.register(&mut fds);
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) };
            fwd.dispatch(&fds);
        }
    }

    #[test]
    fn a_request_sent_before_the_inner_connect_completes_is_forwarded_with_its_half_close() {
        // setns into a network namespace needs CAP_SYS_ADMIN, even into one's own.
        if !nix::unistd::geteuid().is_root() {
            crate::test_skip::skip_log("setns into a network namespace needs root");
            return;
        }
        // The "container": a server in this namespace (the forwarder dials 127.0.0.1).
        let server = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mapping = PortMapping {
            host_ip: Some(Ipv4Addr::LOCALHOST.into()),
            host_port: 0,
            container_port: server.local_addr().unwrap().port(),
            protocol: Protocol::Tcp,
        };
        let bound = bind_ports(&[mapping]).unwrap();
        let host_port = bound[0].mapping.host_port;
        let ns = File::open("/proc/self/ns/net").unwrap();
        let mut fwd = PortForwarder::new(bound, ns).unwrap();
        // The client's whole request and its end are queued before the forwarder runs.
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, host_port)).unwrap();
        client.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        server.set_nonblocking(true).unwrap();
        let mut inner = None;
        forward_until(&mut fwd, || {
            inner = inner
                .take()
                .or_else(|| server.accept().ok().map(|(s, _)| s));
            inner.is_some()
        });
        let mut inner = inner.unwrap();
        inner.set_nonblocking(true).unwrap();
        let mut request = Vec::new();
        forward_until(&mut fwd, || {
            let mut buf = [0u8; 256];
            match inner.read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    request.extend_from_slice(&buf[..n]);
                    false
                }
                Err(_) => false,
            }
        });
        assert_eq!(request, b"GET / HTTP/1.0\r\n\r\n");
        inner.write_all(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        drop(inner);
        client.set_nonblocking(true).unwrap();
        let mut answer = Vec::new();
        forward_until(&mut fwd, || {
            let mut buf = [0u8; 256];
            match client.read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    false
                }
                Err(_) => false,
            }
        });
        assert_eq!(answer, b"HTTP/1.0 200 OK\r\n\r\n");
        // Both directions ended and were passed on: the connection is dropped.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !fwd.is_idle() {
            assert!(Instant::now() < deadline, "the finished connection stays");
            let mut fds = Vec::new();
            fwd.register(&mut fds);
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 50) };
            fwd.dispatch(&fds);
        }
    }
}
