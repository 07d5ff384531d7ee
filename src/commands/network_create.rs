//! `network create`'s flags typed into a `network::CreateRequest`, with docker's checks
//! and messages: subnets of both families (one each: docker's bridge driver refuses more),
//! a gateway and an `--ip-range` per subnet, `--aux-address` inside a subnet, `--ipv4` and
//! `--ipv6`, the `default` IPAM driver only (another is a plugin kiste does not have, as
//! docker says when it is missing), and the bridge driver's `-o` options. Options docker's
//! bridge does not know are kept and shown, as docker 28 does; the ones it knows but
//! kiste does not carry out are refused by name.

use crate::cli::NetworkCreateArgs;
use crate::network::{self as net, BridgeOptions, Create6, CreateRequest};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A subnet of either family.
#[derive(Clone, Copy)]
enum Cidr {
    V4(Ipv4Addr, u8),
    V6(Ipv6Addr, u8),
}

impl Cidr {
    fn parse(s: &str) -> Option<Cidr> {
        let (ip, p) = s.split_once('/')?;
        let p: u8 = p.parse().ok()?;
        match ip.parse().ok()? {
            IpAddr::V4(v4) if p <= 32 => Some(Cidr::V4(v4, p)),
            IpAddr::V6(v6) if p <= 128 => Some(Cidr::V6(v6, p)),
            _ => None,
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Cidr::V4(n, p), IpAddr::V4(ip)) => net::overlaps((*n, *p), (ip, 32)),
            (Cidr::V6(n, p), IpAddr::V6(ip)) => {
                let m = if *p == 0 { 0 } else { u128::MAX << (128 - p) };
                u128::from(*n) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }

    fn ip(&self) -> IpAddr {
        match self {
            Cidr::V4(ip, _) => (*ip).into(),
            Cidr::V6(ip, _) => (*ip).into(),
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cidr::V4(ip, p) => write!(f, "{ip}/{p}"),
            Cidr::V6(ip, p) => write!(f, "{ip}/{p}"),
        }
    }
}

const BRIDGE_NAME: &str = "com.docker.network.bridge.name";
const MTU: &str = "com.docker.network.driver.mtu";
const MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
const ICC: &str = "com.docker.network.bridge.enable_icc";
const HOST_BINDING: &str = "com.docker.network.bridge.host_binding_ipv4";

/// Options docker's bridge driver knows that kiste's bridge does not carry out.
const NOT_CARRIED_OUT: &[&str] = &[
    "com.docker.network.bridge.default_bridge",
    "com.docker.network.bridge.gateway_mode_ipv4",
    "com.docker.network.bridge.gateway_mode_ipv6",
    "com.docker.network.bridge.inhibit_ipv4",
    "com.docker.network.bridge.trusted_host_interfaces",
    "com.docker.network.container_iface_prefix",
    "com.docker.network.enable_ipv6",
];

/// Go's strconv.ParseBool.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn key_value(flag: &str, v: &str) -> Result<(String, String), String> {
    match v.split_once('=') {
        Some((k, val)) if !k.is_empty() => Ok((k.to_string(), val.to_string())),
        _ => Err(format!("invalid {flag} \"{v}\": expected KEY=VALUE")),
    }
}

/// The bridge options of `-o`, typed; `bridge_name` set from its option.
fn bridge_options(
    opts: &BTreeMap<String, String>,
    bridge_name: &mut Option<String>,
) -> Result<BridgeOptions, String> {
    let daemon = |m: String| format!("Error response from daemon: {m}");
    let mut out = BridgeOptions::default();
    for (k, v) in opts {
        let parse_bool = || {
            go_bool(v).ok_or_else(|| {
                daemon(format!(
                    "failed to parse {k} value: {v} (strconv.ParseBool: parsing \"{v}\": invalid syntax)"
                ))
            })
        };
        match k.as_str() {
            BRIDGE_NAME => {
                let ok = !v.is_empty()
                    && v.len() <= 15
                    && v.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
                if !ok {
                    return Err(daemon(format!(
                        "invalid -o {k}={v}: a device name has 1 to 15 characters, no '/', ':' or space"
                    )));
                }
                *bridge_name = Some(v.clone());
            }
            MTU => {
                let mtu: i64 = v.parse().map_err(|_| {
                    daemon(format!(
                        "failed to parse {k} value: {v} (strconv.Atoi: parsing \"{v}\": invalid syntax)"
                    ))
                })?;
                if !(68..=65535).contains(&mtu) {
                    return Err(daemon(format!(
                        "invalid MTU number: {mtu} (-o {k}: between 68 and 65535)"
                    )));
                }
                out.mtu = Some(mtu as u32);
            }
            MASQUERADE => out.no_masquerade = !parse_bool()?,
            ICC => out.no_icc = !parse_bool()?,
            HOST_BINDING => {
                let ip: IpAddr = v.parse().map_err(|_| {
                    daemon(format!(
                        "failed to parse {k} value: {v} (not an IP address)"
                    ))
                })?;
                match ip {
                    IpAddr::V4(v4) => out.host_binding_ipv4 = Some(v4),
                    IpAddr::V6(_) => {
                        return Err(daemon(format!(
                            "invalid -o {k}={v}: host_binding_ipv4 takes an IPv4 address"
                        )))
                    }
                }
            }
            k if NOT_CARRIED_OUT.contains(&k) => {
                return Err(format!(
                    "invalid -o {k}={v}: kiste's bridge driver does not carry out this option"
                ))
            }
            // docker's bridge driver keeps options it does not know (shown by inspect).
            _ => {}
        }
    }
    Ok(out)
}

/// docker's `network create` flags, typed and checked (the error is docker's message).
pub(super) fn request(a: &NetworkCreateArgs) -> Result<CreateRequest, String> {
    if a.ipam_driver != "default" {
        return Err(format!(
            "Error response from daemon: plugin \"{}\" not found",
            a.ipam_driver
        ));
    }
    let subnets = a
        .subnet
        .iter()
        .map(|s| {
            Cidr::parse(s).ok_or_else(|| {
                format!("Error response from daemon: invalid --subnet \"{s}\": not an IPv4 or IPv6 CIDR")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let v4s: Vec<&Cidr> = subnets
        .iter()
        .filter(|c| matches!(c, Cidr::V4(..)))
        .collect();
    let v6s: Vec<&Cidr> = subnets
        .iter()
        .filter(|c| matches!(c, Cidr::V6(..)))
        .collect();
    if v4s.len() > 1 || v6s.len() > 1 {
        return Err(
            "Error response from daemon: bridge driver doesn't support multiple subnets".into(),
        );
    }
    let ipv4 = a.ipv4.unwrap_or(true);
    let ipv6 = a.ipv6.unwrap_or(false);
    if !ipv4 && !ipv6 {
        return Err(
            "Error response from daemon: IPv4 or IPv6 must be enabled (--ipv4=false needs --ipv6)"
                .into(),
        );
    }
    if let (false, Some(c)) = (ipv4, v4s.first()) {
        return Err(format!(
            "Error response from daemon: invalid --subnet \"{c}\": IPv4 is disabled (--ipv4=false)"
        ));
    }
    if let (false, Some(c)) = (ipv6, v6s.first()) {
        return Err(format!(
            "Error response from daemon: invalid --subnet \"{c}\": an IPv6 subnet needs --ipv6"
        ));
    }
    // Each gateway and range belongs to the subnet that contains it.
    let mut gateways: Vec<Option<IpAddr>> = vec![None; subnets.len()];
    let mut ranges: Vec<Option<Cidr>> = vec![None; subnets.len()];
    for g in &a.gateway {
        let ip: IpAddr = g
            .parse()
            .map_err(|_| format!("invalid --gateway \"{g}\": not an IPv4 or IPv6 address"))?;
        let i = subnets.iter().position(|s| s.contains(ip)).ok_or_else(|| {
            format!("every ip-range or gateway must have a corresponding subnet (--gateway {g})")
        })?;
        if let Some(prev) = gateways[i] {
            return Err(format!(
                "cannot configure multiple gateways ({prev}, {ip}) for the same subnet ({})",
                subnets[i]
            ));
        }
        gateways[i] = Some(ip);
    }
    for r in &a.ip_range {
        let c = Cidr::parse(r)
            .ok_or_else(|| format!("invalid --ip-range \"{r}\": not an IPv4 or IPv6 CIDR"))?;
        let i = subnets
            .iter()
            .position(|s| s.contains(c.ip()))
            .ok_or_else(|| {
                format!(
                    "every ip-range or gateway must have a corresponding subnet (--ip-range {r})"
                )
            })?;
        if let Some(prev) = ranges[i] {
            return Err(format!(
                "cannot configure multiple ranges ({prev}, {c}) on the same subnet ({})",
                subnets[i]
            ));
        }
        let narrower = match (c, subnets[i]) {
            (Cidr::V4(_, p), Cidr::V4(_, sp)) | (Cidr::V6(_, p), Cidr::V6(_, sp)) => p >= sp,
            _ => false,
        };
        if !narrower {
            return Err(format!(
                "invalid --ip-range \"{r}\": it must lie inside subnet {}",
                subnets[i]
            ));
        }
        ranges[i] = Some(c);
    }
    let mut aux = BTreeMap::new();
    for x in &a.aux_address {
        let (name, v) = key_value("--aux-address", x)?;
        let ip: IpAddr = v
            .parse()
            .map_err(|_| format!("invalid --aux-address \"{x}\": {v} is not an IP address"))?;
        if !subnets.iter().any(|s| s.contains(ip)) {
            return Err(format!("no matching subnet for aux-address {ip}"));
        }
        aux.insert(name, ip);
    }
    let mut options = BTreeMap::new();
    for o in &a.opt {
        let (k, v) = key_value("--opt", o)?;
        options.insert(k, v);
    }
    let mut ipam_options = BTreeMap::new();
    for o in &a.ipam_opt {
        let (k, v) = key_value("--ipam-opt", o)?;
        ipam_options.insert(k, v);
    }
    let mut bridge_name = None;
    let bridge_opts = bridge_options(&options, &mut bridge_name)?;
    let at = |c: &Cidr| {
        subnets
            .iter()
            .position(|s| std::ptr::eq(s, c))
            .expect("own subnet")
    };
    let mut req = CreateRequest {
        name: a.name.clone(),
        no_ipv4: !ipv4,
        aux,
        internal: a.internal,
        options,
        ipam_options,
        bridge_opts,
        bridge_name,
        ..Default::default()
    };
    if let Some(c @ Cidr::V4(ip, p)) = v4s.first().copied() {
        let i = at(c);
        req.subnet = Some((*ip, *p));
        req.gateway = gateways[i].map(|g| match g {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(_) => unreachable!("contained in an IPv4 subnet"),
        });
        req.ip_range = match ranges[i] {
            Some(Cidr::V4(r, rp)) => Some((r, rp)),
            _ => None,
        };
    }
    if ipv6 {
        let mut six = Create6::default();
        if let Some(c @ Cidr::V6(ip, p)) = v6s.first().copied() {
            let i = at(c);
            six.subnet = Some((*ip, *p));
            six.gateway = match gateways[i] {
                Some(IpAddr::V6(g)) => Some(g),
                _ => None,
            };
            six.ip_range = match ranges[i] {
                Some(Cidr::V6(r, rp)) => Some((r, rp)),
                _ => None,
            };
        }
        req.ipv6 = Some(six);
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_booleans_and_cidrs_parse_as_docker_reads_them() {
        assert_eq!(go_bool("True"), Some(true));
        assert_eq!(go_bool("F"), Some(false));
        assert_eq!(go_bool("yes"), None);
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("fd00::/64").is_some());
        let c = Cidr::parse("fd00:1::/64").unwrap();
        assert!(c.contains("fd00:1::9".parse().unwrap()));
        assert!(!c.contains("fd00:2::9".parse().unwrap()));
        let mut name = None;
        let opts = BTreeMap::from([
            (MTU.to_string(), "1400".to_string()),
            (ICC.to_string(), "false".to_string()),
            ("x.y".to_string(), "z".to_string()),
        ]);
        let o = bridge_options(&opts, &mut name).unwrap();
        assert_eq!(
            (o.mtu, o.no_icc, o.no_masquerade),
            (Some(1400), true, false)
        );
        let bad = BTreeMap::from([(MTU.to_string(), "abc".to_string())]);
        assert!(bridge_options(&bad, &mut name)
            .unwrap_err()
            .contains("strconv.Atoi"));
    }
}
