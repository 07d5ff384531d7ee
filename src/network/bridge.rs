//! The rootful default bridge network (`--network bridge`): bridge `kiste0` with gateway
//! 10.88.0.1/16 (podman's default subnet; docker0 often holds 172.17.0.0/16), a veth pair
//! per container whose inner end is born as `eth0` in a network namespace the monitor
//! creates and hands to the runtime, addresses allocated in a JSON file under the runroot
//! (locked, written by rename), and nftables rules derived from that file. The last member
//! to leave takes the table with it; the bridge stays, like docker0.
//! The runroot lives on tmpfs like the links, so a reboot forgets both together.

use super::netlink::{link_index, Netlink};
use super::nft;
use crate::config::PortMapping;
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

pub const BRIDGE: &str = "kiste0";
pub const SUBNET: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 0);
pub const PREFIX: u8 = 16;
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 88, 0, 1);

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network bridge: cannot {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("network bridge: no free address left in {0}")]
    Exhausted(String),
    #[error("network bridge needs root (rootless containers can use --network private)")]
    Rootless,
}

fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetworkError {
    let action = action.into();
    move |source| NetworkError::Io { action, source }
}

/// A container on the network: its address and the ports DNAT sends to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub ip: Ipv4Addr,
    #[serde(default)]
    pub ports: Vec<PortMapping>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    members: BTreeMap<String, Member>,
}

/// What `attach` set up: the namespace the container must join (kept open by this handle)
/// and its address.
pub struct Attachment {
    pub netns: File,
    pub ip: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub prefix: u8,
    pub mac: String,
}

fn dir(paths: &Paths) -> PathBuf {
    paths.runroot.join("networks")
}

fn subnet_cidr() -> String {
    format!("{SUBNET}/{PREFIX}")
}

/// The host end of a container's veth: "veth" + the first 11 characters of its id (the
/// most a link name holds), so repair finds it by name alone.
pub fn host_veth(id: &str) -> String {
    format!("veth{}", &id[..id.len().min(11)])
}

/// docker's scheme: 02:42 followed by the IPv4 address.
fn mac_bytes(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// The MAC address of the container's eth0 with address `ip`.
pub fn mac_of(ip: Ipv4Addr) -> String {
    format_mac(mac_bytes(ip))
}

fn format_mac(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The network's state under its lock; `save` writes it by rename.
struct Locked {
    _lock: File,
    path: PathBuf,
    state: State,
}

impl Locked {
    fn open(paths: &Paths) -> Result<Locked, NetworkError> {
        let dir = dir(paths);
        crate::paths::make_dir(&dir, 0o700).map_err(io(format!("create {}", dir.display())))?;
        let lock_path = dir.join("bridge.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(format!("open {}", lock_path.display())))?;
        lock.lock()
            .map_err(io(format!("lock {}", lock_path.display())))?;
        let path = dir.join("bridge.json");
        let state = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
            Err(_) => State::default(),
        };
        Ok(Locked {
            _lock: lock,
            path,
            state,
        })
    }

    fn save(&self) -> Result<(), NetworkError> {
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.state).expect("state serializes");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(io(format!("write {}", self.path.display())))
    }

    fn allocate(&self) -> Result<Ipv4Addr, NetworkError> {
        let used: std::collections::HashSet<Ipv4Addr> =
            self.state.members.values().map(|m| m.ip).collect();
        let base = u32::from(SUBNET);
        let size = 1u32 << (32 - PREFIX);
        (2..size - 1)
            .map(|i| Ipv4Addr::from(base + i))
            .find(|ip| *ip != GATEWAY && !used.contains(ip))
            .ok_or_else(|| NetworkError::Exhausted(subnet_cidr()))
    }

    /// Rewrite kiste's table from the members (deleting it when there are none).
    fn apply_rules(&self) -> Result<(), NetworkError> {
        nft::apply(&nft::ruleset(&subnet_cidr(), &self.state.members))
            .map_err(io(format!("load the rules of table ip {}", nft::TABLE)))
    }
}

/// A new network namespace, left open; the caller stays in its own.
fn new_netns() -> std::io::Result<File> {
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
fn in_netns<T>(
    ns: &File,
    f: impl FnOnce(&mut Netlink) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let own = File::open("/proc/self/ns/net")?;
    nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)?;
    let result = Netlink::open().and_then(|mut nl| f(&mut nl));
    nix::sched::setns(&own, nix::sched::CloneFlags::CLONE_NEWNET)?;
    result
}

fn ensure_bridge(nl: &mut Netlink) -> Result<u32, NetworkError> {
    if let Some(i) = link_index(BRIDGE) {
        return Ok(i);
    }
    nl.create_bridge(BRIDGE)
        .map_err(io(format!("create bridge {BRIDGE}")))?;
    let index = link_index(BRIDGE)
        .ok_or_else(|| io(format!("find bridge {BRIDGE}"))(std::io::ErrorKind::NotFound.into()))?;
    nl.add_address(index, GATEWAY, PREFIX)
        .map_err(io(format!("add {GATEWAY}/{PREFIX} to {BRIDGE}")))?;
    nl.set_up(index).map_err(io(format!("bring {BRIDGE} up")))?;
    // Forwarding is what NAT and published ports need; only turned on, never off, as
    // other tools on the host may rely on it too.
    let fwd = "/proc/sys/net/ipv4/ip_forward";
    if std::fs::read_to_string(fwd)
        .map(|s| s.trim() != "1")
        .unwrap_or(true)
    {
        std::fs::write(fwd, "1").map_err(io("enable net.ipv4.ip_forward"))?;
    }
    Ok(index)
}

/// Put container `id` on the bridge with `ports` published; the returned namespace is
/// for the runtime to join. Nothing is left behind when this fails.
pub fn attach(paths: &Paths, id: &str, ports: &[PortMapping]) -> Result<Attachment, NetworkError> {
    if paths.rootless {
        return Err(NetworkError::Rootless);
    }
    let mut locked = Locked::open(paths)?;
    let ip = locked.allocate()?;
    let netns = new_netns().map_err(io(format!("create a network namespace for {id}")))?;
    let mac = mac_bytes(ip);
    locked.state.members.insert(
        id.to_string(),
        Member {
            ip,
            ports: ports.to_vec(),
        },
    );
    let wired = (|| {
        // Recorded before any link exists, so a monitor killed from here on leaves a
        // member that release finds.
        locked.save()?;
        let mut nl = Netlink::open().map_err(io("open a netlink socket"))?;
        let bridge = ensure_bridge(&mut nl)?;
        let veth = host_veth(id);
        if let Some(stale) = link_index(&veth) {
            let _ = nl.delete_link(stale);
        }
        nl.create_veth(&veth, "eth0", mac, netns.as_raw_fd())
            .map_err(io(format!("create veth {veth} for {id}")))?;
        let index = link_index(&veth)
            .ok_or_else(|| io(format!("find veth {veth}"))(std::io::ErrorKind::NotFound.into()))?;
        nl.attach_up(index, bridge)
            .map_err(io(format!("attach {veth} to {BRIDGE}")))?;
        in_netns(&netns, |inner| {
            let eth0 = link_index("eth0").ok_or(std::io::ErrorKind::NotFound)?;
            inner.add_address(eth0, ip, PREFIX)?;
            inner.set_up(eth0)?;
            inner.add_default_route(GATEWAY)
        })
        .map_err(io(format!("configure eth0 ({ip}) of {id}")))?;
        locked.apply_rules()
    })();
    if let Err(e) = wired {
        drop(netns);
        locked.state.members.remove(id);
        cleanup(&mut locked, id);
        let _ = locked.save();
        return Err(e);
    }
    Ok(Attachment {
        netns,
        ip,
        gateway: GATEWAY,
        prefix: PREFIX,
        mac: format_mac(mac),
    })
}

/// Release container `id`'s address, rules and veth; with no member left, also the bridge
/// and the table. Safe to call for a container that holds nothing.
pub fn release(paths: &Paths, id: &str) -> Result<(), NetworkError> {
    if !dir(paths).join("bridge.json").exists() {
        return Ok(());
    }
    let mut locked = Locked::open(paths)?;
    if locked.state.members.remove(id).is_none() && !locked.state.members.is_empty() {
        return Ok(());
    }
    cleanup(&mut locked, id);
    locked.save()
}

/// Best effort after a member left: its veth (normally gone with its namespace), then the
/// rules (the table goes with the last member). The bridge stays, as docker0 does:
/// deleting a bridge waits for an RCU grace period (~35 ms here) and the next start
/// would pay as much again to make it.
fn cleanup(locked: &mut Locked, id: &str) {
    if let Some(i) = link_index(&host_veth(id)) {
        if let Ok(mut nl) = Netlink::open() {
            let _ = nl.delete_link(i);
        }
    }
    let _ = locked.apply_rules();
}

/// The containers on the bridge, by id (read without the lock: the file is replaced whole).
pub fn members(paths: &Paths) -> BTreeMap<String, Member> {
    std::fs::read(dir(paths).join("bridge.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<State>(&b).ok())
        .map(|s| s.members)
        .unwrap_or_default()
}

/// The member record of container `id`, if it is on the bridge.
pub fn member(paths: &Paths, id: &str) -> Option<Member> {
    members(paths).remove(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_follow_the_address_and_veths_the_id() {
        assert_eq!(mac_of(Ipv4Addr::new(10, 88, 0, 2)), "02:42:0a:58:00:02");
        assert_eq!(host_veth("0123456789abcdef"), "veth0123456789a");
    }
}
