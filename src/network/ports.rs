//! Published ports: binding the host side before the container starts, so that a port
//! already taken is an error and nothing is started (`config` parses `-p`).

use crate::config::{PortMapping, Protocol};
use std::net::{SocketAddr, TcpListener, UdpSocket};

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("cannot publish port {addr} ({proto}): {source}")]
    Bind {
        addr: String,
        proto: String,
        source: std::io::Error,
    },
}

/// A host socket bound for a published port; `mapping.host_port` is the real port (filled
/// in when the user asked for any free port).
pub struct BoundPort {
    pub mapping: PortMapping,
    pub socket: BoundSocket,
}

pub enum BoundSocket {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

impl BoundPort {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match &self.socket {
            BoundSocket::Tcp(s) => s.as_raw_fd(),
            BoundSocket::Udp(s) => s.as_raw_fd(),
        }
    }
}

pub fn bind_ports(mappings: &[PortMapping]) -> Result<Vec<BoundPort>, PortError> {
    let mut out = Vec::with_capacity(mappings.len());
    for m in mappings {
        let addr = SocketAddr::new(m.bind_ip(), m.host_port);
        let err = |source| PortError::Bind {
            addr: addr.to_string(),
            proto: m.protocol.to_string(),
            source,
        };
        let (socket, port) = if m.protocol == Protocol::Udp {
            let s = UdpSocket::bind(addr).map_err(err)?;
            s.set_nonblocking(true).map_err(err)?;
            let port = s.local_addr().map_err(err)?.port();
            (BoundSocket::Udp(s), port)
        } else {
            let s = TcpListener::bind(addr).map_err(err)?;
            s.set_nonblocking(true).map_err(err)?;
            let port = s.local_addr().map_err(err)?.port();
            (BoundSocket::Tcp(s), port)
        };
        let mut mapping = m.clone();
        mapping.host_port = port;
        out.push(BoundPort { mapping, socket });
    }
    Ok(out)
}
