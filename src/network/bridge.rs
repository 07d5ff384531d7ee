//! Bridge networks on the host: a bridge device per network (kiste0 for the default one),
//! made lazily with its rules when the first container joins, and a veth pair per
//! container and network whose inner end is born in the container's network namespace
//! (eth0, eth1, ...). Addresses are allocated in a JSON file per network under the runroot
//! (`networks/NAME.json`, locked, written by rename): the runroot lives on tmpfs like the
//! links, so a reboot forgets both together. The default bridge kiste0 is one device shared
//! by every store of the host (each `--root`/`--runroot`), so its allocations live in one
//! host-wide file per bridge and network namespace (`/run/kiste-networks/`), each entry
//! naming its store (a store releases only its own) and its holder (the monitor, or the
//! container for `network connect`): an entry whose holder is gone is reclaimed. A bridge stays while its network exists, like
//! docker0: deleting one waits for an RCU grace period (~35 ms here) that the next start
//! would pay again.

use super::netlink::{link_index, Netlink};
use super::store::{host_lock, NetworkDef};
use super::{firewall, hosts};
use crate::config::Endpoint;
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network: cannot {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("default network: {0}")]
    DefaultSubnet(String),
    #[error("network: no free address left in {0}")]
    Exhausted(String),
    #[error("bridge networks need root (rootless containers can use --network private)")]
    Rootless,
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network {0} is ambiguous: more than one network id starts with it")]
    Ambiguous(String),
    #[error("network with name {0} already exists")]
    Exists(String),
    #[error(
        "invalid pool request: subnet {subnet} overlaps with network {other} ({other_subnet})"
    )]
    Overlap {
        subnet: String,
        other: String,
        other_subnet: String,
    },
    #[error("subnet {0} is too small for a network")]
    TooSmall(String),
    #[error("gateway {gateway} is not a host address in subnet {subnet}")]
    Gateway { gateway: String, subnet: String },
    #[error("address {ip} is not in network {network}'s subnet {subnet}")]
    OutOfSubnet {
        ip: Ipv4Addr,
        network: String,
        subnet: String,
    },
    #[error("address {ip} on network {network} is already in use")]
    InUse {
        ip: std::net::IpAddr,
        network: String,
    },
    #[error("bridge name {bridge} is already used by network {other}")]
    BridgeTaken { bridge: String, other: String },
    #[error("network {network} has no IPv6 (created without --ipv6): cannot use {ip}")]
    NoIpv6 { ip: String, network: String },
    #[error("address {ip} is not in network {network}'s subnet {subnet}")]
    OutOfSubnet6 {
        ip: std::net::Ipv6Addr,
        network: String,
        subnet: String,
    },
    #[error("container {container} is already connected to network {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
}

pub(super) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetworkError {
    let action = action.into();
    move |source| NetworkError::Io { action, source }
}

/// A container on a network: its address, names and host-side veth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// 0.0.0.0 on a network without IPv4 (`ipv4()` says None).
    pub ip: Ipv4Addr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip6: Option<std::net::Ipv6Addr>,
    /// The container's name (what other members resolve).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub veth: String,
    /// The store (runroot) the container belongs to, on a bridge shared by stores.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub store: String,
    /// The process whose life the address follows (pid and start time); 0 when unknown.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pid: i32,
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub start_time: u64,
}

impl Member {
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        (!self.ip.is_unspecified()).then_some(self.ip)
    }

    /// Its addresses, IPv4 first.
    pub fn addresses(&self) -> Vec<std::net::IpAddr> {
        let v4 = self.ipv4().map(std::net::IpAddr::V4);
        v4.into_iter()
            .chain(self.ip6.map(std::net::IpAddr::V6))
            .collect()
    }
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    members: BTreeMap<String, Member>,
}

/// What `attach` set up.
pub struct Attachment {
    pub ip: Ipv4Addr,
    pub ip6: Option<std::net::Ipv6Addr>,
    pub gateway: Ipv4Addr,
    pub prefix: u8,
    pub mac: String,
}

fn dir(paths: &Paths) -> PathBuf {
    paths.runroot.join("networks")
}

/// Where the host-wide allocations of shared bridges live.
pub const SHARED_DIR: &str = "/run/kiste-networks";

/// Where network `network`'s allocations live and whether the file is shared by stores:
/// the default bridge's (rootful) in [`SHARED_DIR`] as `kiste0.NETNS-INODE` (a bridge is
/// one per network namespace), any other in the store's runroot.
fn state_file(paths: &Paths, network: &str) -> (PathBuf, String, bool) {
    if network == crate::config::DEFAULT_NETWORK && !paths.rootless {
        use std::os::unix::fs::MetadataExt;
        let ns = std::fs::metadata("/proc/self/ns/net")
            .map(|m| m.ino())
            .unwrap_or(0);
        let bridge = super::store::DEFAULT_BRIDGE;
        (PathBuf::from(SHARED_DIR), format!("{bridge}.{ns}"), true)
    } else {
        (dir(paths), network.to_string(), false)
    }
}

/// The store an entry of a shared file names.
fn store_id(paths: &Paths) -> String {
    paths.runroot.to_string_lossy().into_owned()
}

/// The members of `network` that belong to this store, from the file at hand.
fn read_members(paths: &Paths, network: &str) -> Option<BTreeMap<String, Member>> {
    let (dir, stem, shared) = state_file(paths, network);
    let bytes = std::fs::read(dir.join(format!("{stem}.json"))).ok()?;
    let mut members = serde_json::from_slice::<State>(&bytes).ok()?.members;
    if shared {
        let own = store_id(paths);
        members.retain(|_, m| m.store == own);
    }
    Some(members)
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

/// A network's members under its lock; `save` writes them by rename.
struct Locked {
    _lock: File,
    path: PathBuf,
    state: State,
    /// The store's id when the file is shared by stores.
    shared: Option<String>,
    /// Dead holders' entries were dropped on reading: worth a save.
    reclaimed: bool,
}

impl Locked {
    fn open(paths: &Paths, network: &str) -> Result<Locked, NetworkError> {
        let (dir, stem, shared) = state_file(paths, network);
        crate::paths::make_dir(&dir, 0o700).map_err(io(format!("create {}", dir.display())))?;
        let lock_path = dir.join(format!("{stem}.lock"));
        let lock = crate::lock::lock_exclusive(&lock_path)
            .map_err(io(format!("lock {}", lock_path.display())))?;
        let path = dir.join(format!("{stem}.json"));
        let mut state: State = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(_) => State::default(),
        };
        let before = state.members.len();
        if shared {
            // Addresses whose holder is gone (its store was wiped, or it was killed
            // before anyone repaired it) are free again; their veth went with it.
            state
                .members
                .retain(|_, m| m.pid <= 0 || crate::process::is_alive(m.pid, m.start_time));
        }
        let reclaimed = state.members.len() != before;
        Ok(Locked {
            _lock: lock,
            path,
            state,
            shared: shared.then(|| store_id(paths)),
            reclaimed,
        })
    }

    /// Whether member `id` is this store's to change.
    fn owns(&self, id: &str) -> bool {
        match (&self.shared, self.state.members.get(id)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(own), Some(m)) => &m.store == own,
        }
    }

    fn save(&self) -> Result<(), NetworkError> {
        // A shared file with no member goes (only its lock stays), so namespaces that came
        // and went leave no addresses file behind.
        if self.shared.is_some() && self.state.members.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(io(format!("remove {}", self.path.display()))(e))
                }
                _ => Ok(()),
            };
        }
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.state).expect("state serializes");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(io(format!("write {}", self.path.display())))
    }
}

/// A new network namespace with `lo` up, left open; the caller stays in its own.
pub fn new_netns() -> std::io::Result<File> {
    let own = File::open("/proc/self/ns/net")?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)?;
    let created = File::open("/proc/self/ns/net");
    let configured = created.and_then(|ns| {
        let lo = link_index("lo").ok_or(std::io::ErrorKind::NotFound)?;
        Netlink::open()
            .and_then(|mut nl| nl.set_up(lo))
            .map(|()| ns)
    });
    nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET)?;
    configured
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
        nl.create_veth(&veth, &eth, mac, netns.as_raw_fd(), def.bridge_opts.mtu)
            .map_err(io(format!("create veth {veth} for {id}")))?;
        let index = link_index(&veth)
            .ok_or_else(|| io(format!("find veth {veth}"))(std::io::ErrorKind::NotFound.into()))?;
        nl.attach_up(index, bridge)
            .map_err(io(format!("attach {veth} to {}", def.bridge)))?;
        if def.bridge_opts.no_icc {
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

/// Every network's members of this store, by network name (read without locks: files are
/// replaced whole).
pub fn all_members(paths: &Paths) -> BTreeMap<String, BTreeMap<String, Member>> {
    let mut out = BTreeMap::new();
    let default = crate::config::DEFAULT_NETWORK;
    if let Some(m) = read_members(paths, default) {
        out.insert(default.to_string(), m);
    }
    for e in std::fs::read_dir(dir(paths))
        .into_iter()
        .flatten()
        .flatten()
    {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(network) = file.strip_suffix(".json") else {
            continue;
        };
        if out.contains_key(network) {
            continue;
        }
        if let Some(s) = std::fs::read(e.path())
            .ok()
            .and_then(|b| serde_json::from_slice::<State>(&b).ok())
        {
            out.insert(network.to_string(), s.members);
        }
    }
    out
}

/// The members of network `network`.
pub fn members(paths: &Paths, network: &str) -> BTreeMap<String, Member> {
    read_members(paths, network).unwrap_or_default()
}

/// The networks container `id` is on, with its member record in each.
pub fn memberships(paths: &Paths, id: &str) -> Vec<(String, Member)> {
    all_members(paths)
        .into_iter()
        .filter_map(|(n, mut m)| m.remove(id).map(|m| (n, m)))
        .collect()
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
