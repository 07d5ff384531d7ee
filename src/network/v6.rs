//! The per-interface half of a container's endpoint, both families: its IPv4 and IPv6
//! addresses, its `--link-local-ip` addresses, the interface sysctls of `--driver-opt
//! com.docker.network.endpoint.sysctls`, the link up and (on the network chosen as
//! the gateway, by `--gw-priority`) the default routes; and the two IPv6 sysctls a bridge
//! network needs on the host (IPv6 on the bridge, forwarding for NAT66). All netlink, plus
//! writes under /proc/sys: no `ip` process.

use super::netlink::Netlink;
use super::store::NetworkDef;
use crate::config::{Endpoint, ENDPOINT_SYSCTLS};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Configure the container's side `index` of its veth on `def` (called inside the
/// container's network namespace).
pub(super) fn configure_eth(
    nl: &mut Netlink,
    index: u32,
    def: &NetworkDef,
    (ip, ip6): (Ipv4Addr, Option<Ipv6Addr>),
    ep: &Endpoint,
    ifname: &str,
    gateway: bool,
) -> std::io::Result<()> {
    // /proc/sys/net is this (the container's) namespace's: the caller entered it.
    if let Some(list) = ep.driver_opts.get(ENDPOINT_SYSCTLS) {
        for s in list.split(',') {
            let (key, value) = s.split_once('=').unwrap_or((s, ""));
            let path = format!(
                "/proc/sys/{}",
                key.replace('.', "/").replace("IFNAME", ifname)
            );
            std::fs::write(&path, value)
                .map_err(|e| std::io::Error::new(e.kind(), format!("sysctl {key}: {e}")))?;
        }
    }
    let link_local = &ep.link_local;
    if !ip.is_unspecified() {
        nl.add_address(index, ip, def.prefix)?;
    }
    if let (Some(ip6), Some(v6)) = (ip6, &def.ipv6) {
        nl.add_ip(index, ip6.into(), v6.prefix)?;
    }
    for ll in link_local {
        nl.add_ip(index, *ll, if ll.is_ipv4() { 16 } else { 64 })?;
    }
    nl.set_up(index)?;
    if gateway {
        default_routes(nl, def, !ip.is_unspecified(), ip6.is_some(), false)?;
    }
    Ok(())
}

/// The default routes through network `def`'s gateways (of the families the container
/// has an address of there); `replace` takes them over from another network.
pub(super) fn default_routes(
    nl: &mut Netlink,
    def: &NetworkDef,
    v4: bool,
    v6: bool,
    replace: bool,
) -> std::io::Result<()> {
    if v4 && def.ipv4() {
        nl.default_route(def.gateway.into(), replace)?;
    }
    if let (true, Some(s)) = (v6, &def.ipv6) {
        nl.default_route(s.gateway.into(), replace)?;
    }
    Ok(())
}

fn set_sysctl(path: &str, value: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).map(|s| s.trim() == value)? {
        return Ok(());
    }
    std::fs::write(path, value)
}

/// IPv6 on bridge `bridge` (a host may default new devices to disable_ipv6).
pub(super) fn enable_on(bridge: &str) -> std::io::Result<()> {
    set_sysctl(
        &format!("/proc/sys/net/ipv6/conf/{bridge}/disable_ipv6"),
        "0",
    )
}

/// IPv6 forwarding, for NAT66 out of a bridge: only turned on, never off (as IPv4's).
pub(super) fn enable_forwarding() -> std::io::Result<()> {
    set_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1")
}
