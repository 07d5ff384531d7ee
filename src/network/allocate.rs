//! Choosing a new member's addresses on a network (under its member file's lock): the
//! asked-for `--ip`/`--ip6` when it is in the subnet and free, else the first free address
//! of the `--ip-range` (or the subnet), never the gateway or an `--aux-address`.

use super::error::NetworkError;
use super::ipam::{next_free4, next_free6, reserved};
use super::members::Member;
use super::store::NetworkDef;
use crate::config::Endpoint;
use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The addresses of a new member: IPv4 (`0.0.0.0` on a network without IPv4) and IPv6
/// (on an `--ipv6` network).
pub(super) fn allocate(
    def: &NetworkDef,
    members: &BTreeMap<String, Member>,
    ep: &Endpoint,
) -> Result<(Ipv4Addr, Option<Ipv6Addr>), NetworkError> {
    let mut taken: HashSet<IpAddr> = reserved(
        def.ipv4().then_some(def.gateway),
        def.ipv6.as_ref(),
        &def.aux,
    );
    for m in members.values() {
        taken.insert(IpAddr::V4(m.ip));
        taken.extend(m.ip6.map(IpAddr::V6));
    }
    let ip = if !def.ipv4() {
        if let Some(ip) = ep.ip {
            return Err(NetworkError::OutOfSubnet {
                ip,
                network: def.name.clone(),
                subnet: "(none: created with --ipv4=false)".into(),
            });
        }
        Ipv4Addr::UNSPECIFIED
    } else if let Some(ip) = ep.ip {
        let off = u32::from(ip).wrapping_sub(u32::from(def.subnet));
        let size = 1u64 << (32 - def.prefix);
        if !def.contains(ip) || off == 0 || u64::from(off) == size - 1 {
            return Err(NetworkError::OutOfSubnet {
                ip,
                network: def.name.clone(),
                subnet: def.cidr(),
            });
        }
        if taken.contains(&IpAddr::V4(ip)) {
            return Err(NetworkError::InUse {
                ip: ip.into(),
                network: def.name.clone(),
            });
        }
        ip
    } else {
        next_free4((def.subnet, def.prefix), def.ip_range, &taken)
            .ok_or_else(|| NetworkError::Exhausted(def.cidr()))?
    };
    let Some(v6) = &def.ipv6 else {
        if let Some(ip6) = ep.ip6 {
            return Err(NetworkError::NoIpv6 {
                ip: ip6.to_string(),
                network: def.name.clone(),
            });
        }
        return Ok((ip, None));
    };
    let ip6 = match ep.ip6 {
        Some(ip6) => {
            let last = u128::from(v6.subnet) | (u128::MAX >> v6.prefix);
            if !v6.contains(ip6) || ip6 == v6.subnet || u128::from(ip6) == last {
                return Err(NetworkError::OutOfSubnet6 {
                    ip: ip6,
                    network: def.name.clone(),
                    subnet: v6.cidr(),
                });
            }
            if taken.contains(&IpAddr::V6(ip6)) {
                return Err(NetworkError::InUse {
                    ip: ip6.into(),
                    network: def.name.clone(),
                });
            }
            ip6
        }
        None => next_free6((v6.subnet, v6.prefix), v6.ip_range, &taken)
            .ok_or_else(|| NetworkError::Exhausted(v6.cidr()))?,
    };
    Ok((ip, Some(ip6)))
}
