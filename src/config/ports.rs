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
    /// `ip::containerPort`; IPv6 addresses in brackets. One port only (see `parse_many`).
    pub fn parse(flag: &'static str, spec: &str) -> Result<PortMapping, FlagError> {
        let mut all = PortMapping::parse_many(flag, spec)?;
        if all.len() != 1 {
            return Err(FlagError::new(flag, spec, "expected a single port"));
        }
        Ok(all.remove(0))
    }

    /// As `parse`, with ranges: `9000-9010:9000-9010`, `9000-9010` (each to a free host
    /// port), `8000-8001:80` is refused (docker's ranges must be the same size).
    pub fn parse_many(flag: &'static str, spec: &str) -> Result<Vec<PortMapping>, FlagError> {
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
        let container = range(container_port, 1)
            .ok_or_else(|| bad("the container port must be a number from 1 to 65535"))?;
        let host = if host_port.is_empty() {
            None
        } else {
            Some(range(host_port, 0).ok_or_else(|| {
                bad("the host port must be a number from 0 to 65535 (or a range a-b)")
            })?)
        };
        if let Some(h) = host {
            if h.1 - h.0 != container.1 - container.0 {
                return Err(bad("the host and container port ranges differ in size"));
            }
        }
        let host_ip = if host_ip.is_empty() {
            None
        } else {
            Some(
                host_ip
                    .parse::<IpAddr>()
                    .map_err(|_| bad("the host address is not an IP address"))?,
            )
        };
        Ok((container.0..=container.1)
            .enumerate()
            .map(|(i, container_port)| PortMapping {
                host_ip,
                host_port: host.map_or(0, |h| if h.0 == 0 { 0 } else { h.0 + i as u16 }),
                container_port,
                protocol,
            })
            .collect())
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

/// `N` or `A-B` (A <= B), each at least `min`.
fn range(s: &str, min: u16) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b): (u16, u16) = (a.parse().ok()?, b.parse().ok()?);
    (a >= min && a <= b).then_some((a, b))
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
            "80:",
            "99999:80",
            "abc",
            "9000-8000:80-90",
            "9000-9001:80",
        ] {
            let e = PortMapping::parse("-p, --publish", bad).unwrap_err();
            assert_eq!(e.value, bad);
        }
    }

    #[test]
    fn ranges_publish_each_port() {
        let all = PortMapping::parse_many("-p, --publish", "9000-9002:7000-7002/udp").unwrap();
        assert_eq!(
            all,
            vec![
                pm(None, 9000, 7000, Protocol::Udp),
                pm(None, 9001, 7001, Protocol::Udp),
                pm(None, 9002, 7002, Protocol::Udp)
            ]
        );
        let free = PortMapping::parse_many("-p, --publish", "80-81").unwrap();
        assert_eq!(free[1], pm(None, 0, 81, Protocol::Tcp));
    }

    #[test]
    fn records_of_older_versions_still_read() {
        let old = r#"{"host_ip":"0.0.0.0","host_port":8000,"container_port":80,"protocol":"tcp"}"#;
        let m: PortMapping = serde_json::from_str(old).unwrap();
        assert_eq!(m.display(), "0.0.0.0:8000->80/tcp");
    }
}
