//! Published ports (`-p [ip:][hostPort:]containerPort[/proto]`) as typed mappings.

use super::FlagError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    /// The host address to listen on; None for every IPv4 address (docker's "").
    pub host_ip: Option<IpAddr>,
    /// 0 asks for any free port (in a record's bound ports: the port it got).
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PortMapping {
    /// `[ip:]hostPort:containerPort[/proto]`, `containerPort[/proto]` (a free host port),
    /// `ip::containerPort`; IPv6 addresses in brackets.
    pub fn parse(flag: &'static str, spec: &str) -> Result<PortMapping, FlagError> {
        let bad = |reason: &str| FlagError::new(flag, spec, reason);
        let (rest, protocol) = match spec.rsplit_once('/') {
            Some((r, p)) => (r, p),
            None => (spec, "tcp"),
        };
        let protocol = match protocol.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            _ => return Err(bad("the protocol must be tcp or udp")),
        };
        let (host_ip, rest) = if let Some(r) = rest.strip_prefix('[') {
            let (ip, r) = r
                .split_once("]:")
                .ok_or_else(|| bad("unterminated IPv6 address"))?;
            (ip, r)
        } else {
            match rest.split(':').count() {
                1 | 2 => ("", rest),
                3 => rest.split_once(':').expect("three parts"),
                _ => return Err(bad("too many colons")),
            }
        };
        let (host_port, container_port) = rest.split_once(':').unwrap_or(("", rest));
        if container_port.contains('-') || host_port.contains('-') {
            return Err(bad("port ranges are not supported; publish each port"));
        }
        let container_port: u16 = container_port
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("the container port must be a number from 1 to 65535"))?;
        let host_port: u16 = if host_port.is_empty() {
            0
        } else {
            host_port
                .parse()
                .map_err(|_| bad("the host port must be a number from 0 to 65535"))?
        };
        let host_ip = if host_ip.is_empty() {
            None
        } else {
            Some(
                host_ip
                    .parse::<IpAddr>()
                    .map_err(|_| bad("the host address is not an IP address"))?,
            )
        };
        Ok(PortMapping {
            host_ip,
            host_port,
            container_port,
            protocol,
        })
    }

    /// The address bound on the host.
    pub fn bind_ip(&self) -> IpAddr {
        self.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    /// docker's port key: "80/tcp".
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }

    /// docker ps form: "0.0.0.0:8000->80/tcp"
    pub fn display(&self) -> String {
        format!("{}:{}->{}", self.bind_ip(), self.host_port, self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(ip: Option<&str>, h: u16, c: u16, p: Protocol) -> PortMapping {
        PortMapping {
            host_ip: ip.map(|i| i.parse().unwrap()),
            host_port: h,
            container_port: c,
            protocol: p,
        }
    }

    #[test]
    fn publish_forms_parse_like_docker() {
        let p = |s| PortMapping::parse("-p, --publish", s).unwrap();
        assert_eq!(p("8000:80"), pm(None, 8000, 80, Protocol::Tcp));
        assert_eq!(p("8000:80/udp"), pm(None, 8000, 80, Protocol::Udp));
        assert_eq!(
            p("127.0.0.1:8000:80"),
            pm(Some("127.0.0.1"), 8000, 80, Protocol::Tcp)
        );
        assert_eq!(
            p("127.0.0.1::80"),
            pm(Some("127.0.0.1"), 0, 80, Protocol::Tcp)
        );
        assert_eq!(p("80"), pm(None, 0, 80, Protocol::Tcp));
        assert_eq!(p("[::1]:8000:80"), pm(Some("::1"), 8000, 80, Protocol::Tcp));
        assert_eq!(p("8000:80").display(), "0.0.0.0:8000->80/tcp");
        for bad in [
            "x:80",
            "8000:0",
            "8000:80/sctp",
            "1.2.3:80:80",
            "70000:80",
            "a:b:c:d",
        ] {
            let e = PortMapping::parse("-p, --publish", bad).unwrap_err();
            assert_eq!(e.value, bad);
        }
    }

    #[test]
    fn records_of_older_versions_still_read() {
        let old = r#"{"host_ip":"0.0.0.0","host_port":8000,"container_port":80,"protocol":"tcp"}"#;
        let m: PortMapping = serde_json::from_str(old).unwrap();
        assert_eq!(m.display(), "0.0.0.0:8000->80/tcp");
    }
}
