//! Bridge networks on the host: a bridge device per network (kiste0 for the default one),
//! made lazily with its rules when the first container joins, and a veth pair per
//! container and network whose inner end is born in the container's network namespace
//! (eth0, eth1, ...). Who holds which address is `members`' file; the runroot lives on
//! tmpfs like the links, so a reboot forgets both together. A bridge stays while its
//! network exists, like docker0: deleting one waits for an RCU grace period (~35 ms here)
//! that the next start would pay again.

use super::error::{io, NetworkError};
use super::members::{all_members, dir, Locked, Member};
use super::netlink::{link_index, Netlink, VethPair};
use super::store::{host_lock, NetworkDef};
use super::{firewall, hosts};
use crate::config::Endpoint;
use crate::paths::Paths;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;

/// What `attach` set up.
pub struct Attachment {
    pub ip: Ipv4Addr,
    pub ip6: Option<std::net::Ipv6Addr>,
    pub gateway: Ipv4Addr,
    pub prefix: u8,
    pub mac: String,
}

/// The host end of a container's veth: "veth" + the first 11 characters of its id (the
/// most a link name holds) on its first network, "veth" + 9 + "n" + the index after.
pub fn host_veth(id: &str) -> String {
    format!("veth{}", &id[..id.len().min(11)])
}

fn nth_veth(id: &str, n: usize) -> String {
    if n == 0 {
        host_veth(id)
    } else {
        format!("veth{}n{n}", &id[..id.len().min(9)])
    }
}

/// docker's scheme: 02:42 followed by the IPv4 address (on a network without IPv4, the
/// last 32 bits of the IPv6 one).
fn mac_for(ip: Ipv4Addr, ip6: Option<std::net::Ipv6Addr>) -> [u8; 6] {
    match ip6 {
        Some(v6) if ip.is_unspecified() => mac_bytes(Ipv4Addr::from(u128::from(v6) as u32)),
        _ => mac_bytes(ip),
    }
}

fn mac_bytes(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// The MAC address of an eth with address `ip` (when none was asked for).
pub fn mac_of(ip: Ipv4Addr) -> String {
    format_mac(mac_bytes(ip))
}

fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs `f` inside the namespace `ns` with a netlink socket there, then returns home.
pub(super) fn in_netns<T>(
    ns: &File,
    f: impl FnOnce(&mut Netlink) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let own = File::open("/proc/self/ns/net")?;
    nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)?;
    let result = Netlink::open().and_then(|mut nl| f(&mut nl));
    nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET)?;
    result
}

/// The bridge of `def`, made with its rules if missing (after a reboot, or the first use).
/// When `first` (the network has no other member), rules that went missing under an
/// existing bridge are made again.
fn ensure_bridge(nl: &mut Netlink, def: &NetworkDef, first: bool) -> Result<u32, NetworkError> {
    let rules = || io(format!("load the rules of network {}", def.name));
    if let Some(i) = link_index(&def.bridge) {
        if first && !firewall::present(def).map_err(rules())? {
            let _host = host_lock()?;
            if !firewall::present(def).map_err(rules())? {
                firewall::install(def).map_err(rules())?;
            }
        }
        return Ok(i);
    }
    let _host = host_lock()?;
    if let Some(i) = link_index(&def.bridge) {
        return Ok(i);
    }
    let br = &def.bridge;
    // Rules first: a bridge that exists always has them.
    firewall::install(def).map_err(io(format!("load the rules of network {}", def.name)))?;
    nl.create_bridge(br, def.bridge_opts.mtu)
        .map_err(io(format!("create bridge {br}")))?;
    let made = (|| {
        let index = link_index(br)
            .ok_or_else(|| io(format!("find bridge {br}"))(std::io::ErrorKind::NotFound.into()))?;
        if def.ipv4() {
            nl.add_address(index, def.gateway, def.prefix)
                .map_err(io(format!("add {}/{} to {br}", def.gateway, def.prefix)))?;
        }
        if let Some(v6) = &def.ipv6 {
            super::v6::enable_on(br).map_err(io(format!("enable IPv6 on {br}")))?;
            nl.add_ip(index, v6.gateway.into(), v6.prefix)
                .map_err(io(format!("add {}/{} to {br}", v6.gateway, v6.prefix)))?;
        }
        nl.set_up(index).map_err(io(format!("bring {br} up")))?;
        Ok(index)
    })();
    if made.is_err() {
        if let Some(i) = link_index(br) {
            let _ = nl.delete_link(i);
        }
        return made;
    }
    // Forwarding is what NAT needs; only turned on, never off, as other tools on the host
    // may rely on it too.
    let fwd = "/proc/sys/net/ipv4/ip_forward";
    if !def.internal
        && std::fs::read_to_string(fwd)
            .map(|s| s.trim() != "1")
            .unwrap_or(true)
    {
        std::fs::write(fwd, "1").map_err(io("enable net.ipv4.ip_forward"))?;
    }
    if def.ipv6.is_some() && !def.internal {
        super::v6::enable_forwarding().map_err(io("enable net.ipv6.conf.all.forwarding"))?;
    }
    made
}

/// Put container `id` (named `name`) on network `def` with a link `eth{n}` in `netns`;
/// with `gateway`, its default routes go through this network. Nothing is left behind
/// when this fails.
#[allow(clippy::too_many_arguments)]
pub fn attach(
    paths: &Paths,
    def: &NetworkDef,
    id: &str,
    name: &str,
    ep: &Endpoint,
    netns: &File,
    n: usize,
    holder: i32,
    gateway: bool,
) -> Result<Attachment, NetworkError> {
    if paths.rootless {
        return Err(NetworkError::Rootless);
    }
    let mut locked = Locked::open(paths, &def.name)?;
    if locked.owns(id) {
        return Err(NetworkError::AlreadyConnected {
            container: name.to_string(),
            network: def.name.clone(),
        });
    }
    let first = locked.state.members.is_empty();
    let (ip, ip6) = super::allocate::allocate(def, &locked.state.members, ep)?;
    let mac = ep.mac.unwrap_or_else(|| mac_for(ip, ip6));
    let veth = nth_veth(id, n);
    locked.state.members.insert(
        id.to_string(),
        Member {
            ip,
            ip6,
            name: name.to_string(),
            aliases: ep.aliases.clone(),
            mac: format_mac(mac),
            veth: veth.clone(),
            store: locked.shared.clone().unwrap_or_default(),
            pid: holder,
            start_time: crate::process::process_start_time(holder).unwrap_or(0),
        },
    );
    let wired = (|| {
        // Recorded before any link exists, so a monitor killed from here on leaves a
        // member that release finds.
        locked.save()?;
        let mut nl = Netlink::open().map_err(io("open a netlink socket"))?;
        let bridge = ensure_bridge(&mut nl, def, first)?;
        if let Some(stale) = link_index(&veth) {
            let _ = nl.delete_link(stale);
        }
        let eth = ep
            .driver_opts
            .get(crate::config::ENDPOINT_IFNAME)
            .cloned()
            .unwrap_or_else(|| format!("eth{n}"));
        let pair = VethPair {
            host: &veth,
            peer: &eth,
            mac,
            peer_ns: netns.as_raw_fd(),
            mtu: def.bridge_opts.mtu,
            master: bridge,
        };
        nl.create_veth(&pair)
            .map_err(io(format!("create veth {veth} for {id} on {}", def.bridge)))?;
        if def.bridge_opts.no_icc {
            let index = link_index(&veth).ok_or_else(|| {
                io(format!("find veth {veth}"))(std::io::ErrorKind::NotFound.into())
            })?;
            nl.isolate_port(index)
                .map_err(io(format!("isolate {veth} on {}", def.bridge)))?;
        }
        in_netns(netns, |inner| {
            let i = link_index(&eth).ok_or(std::io::ErrorKind::NotFound)?;
            super::v6::configure_eth(inner, i, def, (ip, ip6), ep, &eth, gateway)
        })
        .map_err(io(format!("configure {eth} ({ip}) of {id}")))
    })();
    if let Err(e) = wired {
        locked.state.members.remove(id);
        delete_veth(&veth);
        let _ = locked.save();
        return Err(e);
    }
    if !def.is_default() {
        hosts::refresh_all(paths, locked.state.members.keys());
    }
    crate::events::network(paths, "connect", &def.id, &def.name, Some(id));
    Ok(Attachment {
        ip,
        ip6,
        gateway: def.gateway,
        prefix: def.prefix,
        mac: format_mac(mac),
    })
}

fn delete_veth(veth: &str) {
    if let Some(i) = link_index(veth) {
        if let Ok(mut nl) = Netlink::open() {
            let _ = nl.delete_link(i);
        }
    }
}

/// Take container `id` off network `network`: its address, its name in the other members'
/// /etc/hosts and, with `unlink` (the container still runs), its veth. A container that is
/// gone took its veth with its namespace (the kernel tears it down in the background;
/// deleting it here would wait ~20 ms for an RCU grace period on every `run --rm`).
pub fn leave(paths: &Paths, network: &str, id: &str, unlink: bool) -> Result<bool, NetworkError> {
    let mut locked = Locked::open(paths, network)?;
    if !locked.owns(id) {
        if locked.reclaimed {
            locked.save()?;
        }
        return Ok(false);
    }
    let Some(m) = locked.state.members.remove(id) else {
        return Ok(false);
    };
    if unlink {
        delete_veth(&m.veth);
    }
    locked.save()?;
    if network != crate::config::DEFAULT_NETWORK {
        hosts::refresh_all(paths, locked.state.members.keys());
    }
    let net_id = super::store::find(paths, network)
        .map(|d| d.id)
        .unwrap_or_default();
    crate::events::network(paths, "disconnect", &net_id, network, Some(id));
    Ok(true)
}

/// Release container `id` from every network it is on. Safe for a container that holds
/// nothing.
pub fn release(paths: &Paths, id: &str) -> Result<(), NetworkError> {
    for (network, members) in all_members(paths) {
        if members.contains_key(id) {
            leave(paths, &network, id, false)?;
        }
    }
    Ok(())
}

/// Remove network `def`'s bridge, rules and member file (no member may be left). Veths
/// of containers that just ended may still hang on the bridge while the kernel tears
/// their namespaces down: they go first.
pub fn teardown(paths: &Paths, def: &NetworkDef) -> Result<(), NetworkError> {
    let _host = host_lock()?;
    if let Some(i) = link_index(&def.bridge) {
        let mut nl = Netlink::open().map_err(io("open a netlink socket"))?;
        let ports = format!("/sys/class/net/{}/brif", def.bridge);
        for port in std::fs::read_dir(&ports).into_iter().flatten().flatten() {
            if let Some(p) = link_index(&port.file_name().to_string_lossy()) {
                let _ = nl.delete_link(p);
            }
        }
        nl.delete_link(i)
            .map_err(io(format!("delete bridge {}", def.bridge)))?;
    }
    firewall::uninstall(def).map_err(io(format!("remove the rules of network {}", def.name)))?;
    for ext in ["json", "lock"] {
        let _ = std::fs::remove_file(dir(paths).join(format!("{}.{ext}", def.name)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_follow_the_address_and_veths_the_id() {
        assert_eq!(mac_of(Ipv4Addr::new(10, 88, 0, 2)), "02:42:0a:58:00:02");
        assert_eq!(host_veth("0123456789abcdef"), "veth0123456789a");
        assert_eq!(nth_veth("0123456789abcdef", 1), "veth012345678n1");
    }
}
