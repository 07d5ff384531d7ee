//! Address management of a bridge network beyond its IPv4 subnet: the IPv6 subnet of an
//! `--ipv6` network (given, or a ULA /64 derived from the network's id as docker 28 does
//! from its own pool), the `--ip-range` sub-ranges addresses are handed out from, the
//! `--aux-address` reservations, and the bridge driver's typed `-o` options. The
//! allocation itself (first free address of the range, skipping the gateway and reserved
//! ones) is here for both families, so the member file's lock in `bridge` covers both.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IPv6 side of a network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subnet6 {
    pub subnet: Ipv6Addr,
    pub prefix: u8,
    pub gateway: Ipv6Addr,
    #[serde(default)]
    pub ip_range: Option<(Ipv6Addr, u8)>,
}

impl Subnet6 {
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.subnet, self.prefix)
    }

    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        contains6((self.subnet, self.prefix), ip)
    }
}

/// The bridge driver's options (`-o`) that change what kiste does, typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BridgeOptions {
    /// `com.docker.network.driver.mtu`: the bridge's and each veth's MTU.
    #[serde(default)]
    pub mtu: Option<u32>,
    /// `com.docker.network.bridge.enable_ip_masquerade=false`: no outbound NAT.
    #[serde(default)]
    pub no_masquerade: bool,
    /// `com.docker.network.bridge.enable_icc=false`: members cannot reach each other.
    #[serde(default)]
    pub no_icc: bool,
    /// `com.docker.network.bridge.host_binding_ipv4`: the host address `-p` binds by
    /// default.
    #[serde(default)]
    pub host_binding_ipv4: Option<Ipv4Addr>,
}

fn mask6(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    }
}

fn mask4(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// The network address of `ip/prefix` (host bits cleared).
pub fn network6(ip: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(ip) & mask6(prefix))
}

pub fn contains6(net: (Ipv6Addr, u8), ip: Ipv6Addr) -> bool {
    u128::from(ip) & mask6(net.1) == u128::from(net.0) & mask6(net.1)
}

/// Whether two networks share an address.
pub fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let p = a.1.min(b.1);
    let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    u32::from(a.0) & mask == u32::from(b.0) & mask
}

/// Whether two IPv6 networks share an address.
pub fn overlaps6(a: (Ipv6Addr, u8), b: (Ipv6Addr, u8)) -> bool {
    let p = a.1.min(b.1);
    u128::from(a.0) & mask6(p) == u128::from(b.0) & mask6(p)
}

/// A ULA /64 for a network with `--ipv6` and no IPv6 `--subnet`: fdXX:XXXX:XXXX::/64 from
/// a hash of the network id (`attempt` moves on when it is taken).
pub fn ula_subnet(id: &str, attempt: u32) -> Ipv6Addr {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{id}/{attempt}").as_bytes());
    let mut o = [0u8; 16];
    o[0] = 0xfd;
    o[1..6].copy_from_slice(&d[..5]);
    Ipv6Addr::from(o)
}

/// The first free IPv4 address of `range` (or the subnet) for a new member: neither the
/// subnet's network or broadcast address, nor the gateway, nor a reserved or used one.
pub fn next_free4(
    subnet: (Ipv4Addr, u8),
    range: Option<(Ipv4Addr, u8)>,
    taken: &HashSet<IpAddr>,
) -> Option<Ipv4Addr> {
    let base = u32::from(subnet.0);
    let last = base | !mask4(subnet.1);
    let (from, to) = match range {
        Some((r, p)) => {
            let r = u32::from(r) & mask4(p);
            (r, r | !mask4(p))
        }
        None => (base, last),
    };
    (from.max(base + 1)..=to.min(last - 1))
        .map(Ipv4Addr::from)
        .find(|ip| !taken.contains(&IpAddr::V4(*ip)))
}

/// The same for IPv6 (the subnet-router anycast address, offset 0, is never handed out).
pub fn next_free6(
    subnet: (Ipv6Addr, u8),
    range: Option<(Ipv6Addr, u8)>,
    taken: &HashSet<IpAddr>,
) -> Option<Ipv6Addr> {
    let base = u128::from(subnet.0);
    let last = base | !mask6(subnet.1);
    let (from, to) = match range {
        Some((r, p)) => {
            let r = u128::from(r) & mask6(p);
            (r, r | !mask6(p))
        }
        None => (base, last),
    };
    // Members are few: at most one more step than there are taken addresses.
    (from.max(base + 1)..=to.min(last))
        .take(taken.len() + 1)
        .map(Ipv6Addr::from)
        .find(|ip| !taken.contains(&IpAddr::V6(*ip)))
}

/// The addresses reserved on a network besides its members': gateways and aux addresses.
pub fn reserved(
    gateway: Option<Ipv4Addr>,
    v6: Option<&Subnet6>,
    aux: &BTreeMap<String, IpAddr>,
) -> HashSet<IpAddr> {
    let mut out: HashSet<IpAddr> = aux.values().copied().collect();
    out.extend(gateway.map(IpAddr::V4));
    out.extend(v6.map(|s| IpAddr::V6(s.gateway)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_the_range_and_skip_the_reserved_ones() {
        let subnet = (Ipv4Addr::new(10, 90, 0, 0), 24);
        let mut taken: HashSet<IpAddr> = [IpAddr::V4(Ipv4Addr::new(10, 90, 0, 1))].into();
        assert_eq!(
            next_free4(subnet, None, &taken),
            Some(Ipv4Addr::new(10, 90, 0, 2))
        );
        let range = Some((Ipv4Addr::new(10, 90, 0, 128), 30));
        taken.insert(IpAddr::V4(Ipv4Addr::new(10, 90, 0, 128)));
        assert_eq!(
            next_free4(subnet, range, &taken),
            Some(Ipv4Addr::new(10, 90, 0, 129))
        );
        for i in 129..=131 {
            taken.insert(IpAddr::V4(Ipv4Addr::new(10, 90, 0, i)));
        }
        assert_eq!(next_free4(subnet, range, &taken), None);
        let v6: Ipv6Addr = "fd00:1::".parse().unwrap();
        let taken: HashSet<IpAddr> = [IpAddr::V6("fd00:1::1".parse().unwrap())].into();
        assert_eq!(
            next_free6((v6, 64), None, &taken),
            Some("fd00:1::2".parse().unwrap())
        );
        let r = Some(("fd00:1::100".parse().unwrap(), 120));
        assert_eq!(
            next_free6((v6, 64), r, &taken),
            Some("fd00:1::100".parse().unwrap())
        );
        assert!(overlaps6((v6, 64), ("fd00::".parse().unwrap(), 16)));
        assert!(!overlaps6((v6, 64), ("fd00:2::".parse().unwrap(), 64)));
        assert_eq!(ula_subnet("abc", 0).segments()[0] >> 8, 0xfd);
        assert_eq!(ula_subnet("abc", 0).segments()[3..], [0; 5]);
    }
}
