//! Name resolution settings of a container: `--add-host NAME:IP` lines for its /etc/hosts
//! and `--dns IP` servers for its /etc/resolv.conf.

use super::FlagError;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One `--add-host` entry (docker's ExtraHosts "name:ip").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraHost {
    pub name: String,
    pub ip: IpAddr,
}

impl ExtraHost {
    /// `NAME:IP` (an IPv6 address may follow the first colon, optionally in brackets).
    pub fn parse(flag: &'static str, value: &str) -> Result<ExtraHost, FlagError> {
        let bad = |reason: &str| FlagError::new(flag, value, reason);
        let (name, ip) = value
            .split_once(':')
            .ok_or_else(|| bad("expected NAME:IP"))?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if !name_ok {
            return Err(bad(
                "the host name may hold letters, digits, '-', '_' and '.'",
            ));
        }
        let ip = ip
            .parse()
            .map_err(|_| bad("the address must be an IPv4 or IPv6 address"))?;
        Ok(ExtraHost {
            name: name.to_string(),
            ip,
        })
    }
}

/// One `--dns` server.
pub fn parse_dns(flag: &'static str, value: &str) -> Result<IpAddr, FlagError> {
    value
        .parse()
        .map_err(|_| FlagError::new(flag, value, "a DNS server must be an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_host_and_dns_values_are_checked() {
        let h = ExtraHost::parse("--add-host", "db:10.0.0.5").unwrap();
        assert_eq!(
            (h.name.as_str(), h.ip.to_string()),
            ("db", "10.0.0.5".into())
        );
        let v6 = ExtraHost::parse("--add-host", "v6:[::1]").unwrap();
        assert_eq!(v6.ip.to_string(), "::1");
        for bad in ["db", "db:", ":1.2.3.4", "d b:1.2.3.4", "db:300.1.1.1"] {
            assert!(ExtraHost::parse("--add-host", bad).is_err(), "{bad}");
        }
        assert!(parse_dns("--dns", "1.1.1.1").is_ok());
        let e = parse_dns("--dns", "dns.example").unwrap_err().to_string();
        assert!(e.contains("\"dns.example\""), "{e}");
    }
}
