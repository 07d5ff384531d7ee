//! A container's place on a kiste network (docker's EndpointSettings as the user asked for
//! them): which network, a fixed address (`--ip`), extra names (`--network-alias`) and a
//! fixed MAC (`--mac-address`), a fixed IPv6 address (`--ip6`), extra link-local addresses
//! (`--link-local-ip`), driver options and the gateway priority (`network connect`'s
//! `--driver-opt`, `--gw-priority`). `network connect` adds one more of these.

use super::FlagError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The default network's name (bridge kiste0), as docker calls docker0's network.
pub const DEFAULT_NETWORK: &str = "bridge";

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Endpoint {
    /// The network's name as the user gave it ("bridge" for the default network).
    pub network: String,
    #[serde(default)]
    pub ip: Option<Ipv4Addr>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub mac: Option<[u8; 6]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6: Option<Ipv6Addr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_local: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// docker 28's `--gw-priority`: the endpoint with the highest one gives the default
    /// route.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gw_priority: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A network, alias or container name as docker allows it: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `--network-alias`/`--alias`: a name other members resolve to this container.
pub fn parse_alias(flag: &'static str, value: &str) -> Result<String, FlagError> {
    if valid_name(value) {
        Ok(value.to_string())
    } else {
        Err(FlagError::new(
            flag,
            value,
            "an alias may hold letters, digits, '_', '.' and '-', and starts with a letter or digit",
        ))
    }
}

/// `--ip`: an IPv4 address.
pub fn parse_ip(flag: &'static str, value: &str) -> Result<Ipv4Addr, FlagError> {
    value
        .parse()
        .map_err(|_| FlagError::new(flag, value, "not an IPv4 address"))
}

/// `--ip6`: an IPv6 address.
pub fn parse_ip6(flag: &'static str, value: &str) -> Result<Ipv6Addr, FlagError> {
    value
        .parse()
        .map_err(|_| FlagError::new(flag, value, "not an IPv6 address"))
}

/// `--link-local-ip`: an IPv4 (169.254.0.0/16) or IPv6 (fe80::/10) link-local address.
pub fn parse_link_local(flag: &'static str, value: &str) -> Result<IpAddr, FlagError> {
    let ip: IpAddr = value
        .parse()
        .map_err(|_| FlagError::new(flag, value, "not an IP address"))?;
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    };
    if !link_local {
        return Err(FlagError::new(
            flag,
            value,
            "not a link-local address (169.254.0.0/16 or fe80::/10)",
        ));
    }
    Ok(ip)
}

/// docker 28's endpoint options of its bridge driver that kiste carries out: the
/// interface's name in the container, and sysctls of that interface.
pub const ENDPOINT_IFNAME: &str = "com.docker.network.endpoint.ifname";
pub const ENDPOINT_SYSCTLS: &str = "com.docker.network.endpoint.sysctls";

/// `--driver-opt KEY=VALUE`; the two endpoint options are checked as docker checks them
/// (other keys are kept and shown, as docker's bridge keeps them).
pub fn parse_driver_opt(flag: &'static str, value: &str) -> Result<(String, String), FlagError> {
    let (k, v) = match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => (k, v),
        _ => return Err(FlagError::new(flag, value, "expected KEY=VALUE")),
    };
    if k == ENDPOINT_IFNAME
        && (v.is_empty()
            || v.len() > 15
            || v.contains(['/', ':'])
            || v.contains(char::is_whitespace))
    {
        return Err(FlagError::new(
            flag,
            value,
            "an interface name has 1 to 15 characters, no '/', ':' or space",
        ));
    }
    if k == ENDPOINT_SYSCTLS {
        for s in v.split(',') {
            let ok = ["net.ipv4.conf.IFNAME.", "net.ipv6.conf.IFNAME."]
                .iter()
                .any(|p| {
                    s.strip_prefix(p)
                        .and_then(|r| r.split_once('='))
                        .is_some_and(|(key, _)| !key.is_empty() && !key.contains(['.', '/']))
                });
            if !ok {
                return Err(FlagError::new(
                    flag,
                    value,
                    format!("unrecognised network interface sysctl '{s}'; represent 'net.X.conf.ethY.Z=V' as 'net.X.conf.IFNAME.Z=V'"),
                ));
            }
        }
    }
    Ok((k.to_string(), v.to_string()))
}

/// `--mac-address`: six colon-separated hex bytes, unicast.
pub fn parse_mac(flag: &'static str, value: &str) -> Result<[u8; 6], FlagError> {
    let bad = || FlagError::new(flag, value, "expected a MAC address like 02:42:ac:11:00:02");
    let parts: Vec<&str> = value.split(':').collect();
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (b, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 != 0 {
        return Err(FlagError::new(
            flag,
            value,
            "a multicast address cannot be a container's",
        ));
    }
    Ok(mac)
}

/// `--dns-search` domains and `--dns-option` options: one word each.
pub fn parse_dns_word(flag: &'static str, value: &str) -> Result<String, FlagError> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FlagError::new(flag, value, "must be one word"));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_values_are_checked() {
        assert!(valid_name("web-1.a_b") && !valid_name("-x") && !valid_name("a b"));
        assert!(parse_alias("--network-alias", "db").is_ok());
        assert!(parse_alias("--network-alias", "d b").is_err());
        assert_eq!(
            parse_ip("--ip", "10.89.0.9").unwrap(),
            Ipv4Addr::new(10, 89, 0, 9)
        );
        assert!(parse_ip("--ip", "10.89.0").is_err());
        assert_eq!(
            parse_mac("--mac-address", "02:42:0a:00:00:05").unwrap(),
            [2, 0x42, 10, 0, 0, 5]
        );
        for bad in ["02:42", "zz:42:0a:00:00:05", "01:00:00:00:00:01"] {
            assert!(parse_mac("--mac-address", bad).is_err(), "{bad}");
        }
        assert!(parse_dns_word("--dns-search", "a b").is_err());
        assert!(parse_ip6("--ip6", "fd00::5").is_ok() && parse_ip6("--ip6", "10.0.0.1").is_err());
        assert!(parse_link_local("--link-local-ip", "169.254.3.4").is_ok());
        assert!(parse_link_local("--link-local-ip", "fe80::9").is_ok());
        assert!(parse_link_local("--link-local-ip", "10.0.0.1").is_err());
        assert!(parse_driver_opt("--driver-opt", "a=b").is_ok());
        assert!(parse_driver_opt("--driver-opt", "=b").is_err());
        let sysctl = "com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.log_martians=1";
        assert!(parse_driver_opt("--driver-opt", sysctl).is_ok());
        let bad = "com.docker.network.endpoint.sysctls=net.ipv4.conf.eth0.log_martians=1";
        assert!(parse_driver_opt("--driver-opt", bad).is_err());
    }
}
