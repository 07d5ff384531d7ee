//! Published ports: parsing docker's `-p` syntax and binding the host side before the
//! container starts, so that a port already taken is an error and nothing is started.

use crate::state::PortMapping;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("invalid port specification \"{spec}\": {reason}")]
    Invalid { spec: String, reason: String },
    #[error("cannot publish port {addr} ({proto}): {source}")]
    Bind {
        addr: String,
        proto: String,
        source: std::io::Error,
    },
}

fn invalid(spec: &str, reason: &str) -> PortError {
    PortError::Invalid {
        spec: spec.to_string(),
        reason: reason.to_string(),
    }
}

/// `[ip:]hostPort:containerPort[/proto]`, `containerPort[/proto]` (a free host port),
/// `ip::containerPort`; IPv6 addresses in brackets.
pub fn parse_publish(spec: &str) -> Result<PortMapping, PortError> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if protocol != "tcp" && protocol != "udp" {
        return Err(invalid(spec, "the protocol must be tcp or udp"));
    }
    let (host_ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (ip, r) = r
            .split_once("]:")
            .ok_or_else(|| invalid(spec, "unterminated IPv6 address"))?;
        (ip.to_string(), r)
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 | 2 => (String::new(), rest),
            3 => (parts[0].to_string(), &rest[parts[0].len() + 1..]),
            _ => return Err(invalid(spec, "too many colons")),
        }
    };
    let (host_port, container_port) = match rest.split_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest),
    };
    if container_port.contains('-') || host_port.contains('-') {
        return Err(invalid(
            spec,
            "port ranges are not supported; publish each port",
        ));
    }
    let container_port: u16 = container_port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| invalid(spec, "the container port must be a number from 1 to 65535"))?;
    let host_port: u16 = if host_port.is_empty() {
        0
    } else {
        host_port
            .parse()
            .map_err(|_| invalid(spec, "the host port must be a number from 0 to 65535"))?
    };
    let host_ip = if host_ip.is_empty() {
        "0.0.0.0".to_string()
    } else {
        host_ip
            .parse::<IpAddr>()
            .map_err(|_| invalid(spec, "the host address is not an IP address"))?
            .to_string()
    };
    Ok(PortMapping {
        host_ip,
        host_port,
        container_port,
        protocol,
    })
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
        let ip: IpAddr = m.host_ip.parse().map_err(|_| {
            invalid(
                &format!("{}:{}", m.host_ip, m.host_port),
                &format!("host address {:?} is not an IP address", m.host_ip),
            )
        })?;
        let addr = SocketAddr::new(ip, m.host_port);
        let err = |source| PortError::Bind {
            addr: addr.to_string(),
            proto: m.protocol.clone(),
            source,
        };
        let (socket, port) = if m.protocol == "udp" {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(ip: &str, h: u16, c: u16, p: &str) -> PortMapping {
        PortMapping {
            host_ip: ip.into(),
            host_port: h,
            container_port: c,
            protocol: p.into(),
        }
    }

    #[test]
    fn publish_forms_parse_like_docker() {
        assert_eq!(
            parse_publish("8000:80").unwrap(),
            pm("0.0.0.0", 8000, 80, "tcp")
        );
        assert_eq!(
            parse_publish("8000:80/udp").unwrap(),
            pm("0.0.0.0", 8000, 80, "udp")
        );
        assert_eq!(
            parse_publish("127.0.0.1:8000:80").unwrap(),
            pm("127.0.0.1", 8000, 80, "tcp")
        );
        assert_eq!(
            parse_publish("127.0.0.1::80").unwrap(),
            pm("127.0.0.1", 0, 80, "tcp")
        );
        assert_eq!(parse_publish("80").unwrap(), pm("0.0.0.0", 0, 80, "tcp"));
        assert_eq!(
            parse_publish("[::1]:8000:80").unwrap(),
            pm("::1", 8000, 80, "tcp")
        );
        for bad in [
            "x:80",
            "8000:0",
            "8000:80/sctp",
            "1.2.3:80:80",
            "70000:80",
            "a:b:c:d",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
    }
}
