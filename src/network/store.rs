//! Network definitions: the built-in `bridge` (kiste0, 10.88.0.0/16) and user-defined
//! bridge networks (IPv4, and IPv6 with `--ipv6`: `ipam`), one JSON file each under the root dir (`networks/NAME.json`, written
//! by rename), so they outlive a reboot; their devices and rules are made again lazily
//! when a container joins. Creating one chooses a free subnet (10.89.N.0/24 that overlaps
//! neither a host route nor another kiste network) under a host-wide lock, since bridges
//! and routes are host-wide even when stores (`--root`) are not.

use super::error::NetworkError;
use super::ipam::{overlaps, overlaps6, ula_subnet, BridgeOptions, Subnet6};
use crate::config::DEFAULT_NETWORK;
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

/// A bridge network as stored (docker's network fields, typed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkDef {
    pub name: String,
    pub id: String,
    pub subnet: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    /// The bridge device: kiste0, or "kiste-" and 9 characters of the id.
    pub bridge: String,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub created: String,
    /// `--ip-range`: where IPv4 addresses are handed out from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<(Ipv4Addr, u8)>,
    /// `--ipv4=false`: no IPv4 address on the bridge or any member (the subnet fields
    /// then mean nothing).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_ipv4: bool,
    /// `--ipv6`: the IPv6 subnet, gateway and range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Subnet6>,
    /// `--aux-address NAME=IP`: addresses never handed out.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux: BTreeMap<String, IpAddr>,
    /// `-o` as given (inspect's Options), typed in `bridge_opts`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ipam_options: BTreeMap<String, String>,
    #[serde(default)]
    pub bridge_opts: BridgeOptions,
}

impl NetworkDef {
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.subnet, self.prefix)
    }

    pub fn is_default(&self) -> bool {
        self.name == DEFAULT_NETWORK
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        overlaps((self.subnet, self.prefix), (ip, 32))
    }

    pub fn ipv4(&self) -> bool {
        !self.no_ipv4
    }
}

/// The default network's bridge device.
pub const DEFAULT_BRIDGE: &str = "kiste0";

/// The built-in default network, on the subnet `default_subnet` gives (10.88.0.0/16
/// unless configured or taken by a host route).
pub fn default_network() -> Result<NetworkDef, NetworkError> {
    let (subnet, prefix) = super::default_subnet::default_subnet()?;
    Ok(NetworkDef {
        name: DEFAULT_NETWORK.to_string(),
        id: builtin_id(DEFAULT_NETWORK),
        subnet,
        prefix,
        gateway: Ipv4Addr::from(u32::from(subnet) + 1),
        bridge: DEFAULT_BRIDGE.to_string(),
        internal: false,
        labels: BTreeMap::new(),
        created: String::new(),
        ip_range: None,
        no_ipv4: false,
        ipv6: None,
        aux: BTreeMap::new(),
        options: BTreeMap::new(),
        ipam_options: BTreeMap::new(),
        bridge_opts: BridgeOptions::default(),
    })
}

/// A stable id for a built-in network (docker's are random; these need no state).
pub fn builtin_id(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("kiste network {name}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn defs_dir(paths: &Paths) -> PathBuf {
    paths.root.join("networks")
}

/// Host-wide: subnets, bridges and kiste's nftables table are shared by every store.
pub(super) fn host_lock() -> Result<File, NetworkError> {
    let path = std::path::Path::new("/run/kiste-network.lock");
    crate::lock::lock_exclusive(path).map_err(super::error::io(format!("lock {}", path.display())))
}

/// Every network: the default one first, then the created ones by name.
pub fn list(paths: &Paths) -> Result<Vec<NetworkDef>, NetworkError> {
    let mut out = vec![default_network()?];
    let mut defs: Vec<NetworkDef> = std::fs::read_dir(defs_dir(paths))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    crate::sort::sort_by(&mut defs, |a: &NetworkDef, b| a.name.cmp(&b.name));
    out.extend(defs);
    Ok(out)
}

/// The network named `what` (by name, full id or a unique id prefix).
pub fn find(paths: &Paths, what: &str) -> Result<NetworkDef, NetworkError> {
    let all = list(paths)?;
    if let Some(d) = all.iter().find(|d| d.name == what || d.id == what) {
        return Ok(d.clone());
    }
    let by_prefix: Vec<&NetworkDef> = all
        .iter()
        .filter(|d| !what.is_empty() && d.id.starts_with(what))
        .collect();
    match by_prefix.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(NetworkError::NotFound(what.to_string())),
        _ => Err(NetworkError::Ambiguous(what.to_string())),
    }
}

/// What `network create` asked for (typed; its flags were checked against each other).
#[derive(Debug, Default)]
pub struct CreateRequest {
    pub name: String,
    pub subnet: Option<(Ipv4Addr, u8)>,
    pub gateway: Option<Ipv4Addr>,
    pub ip_range: Option<(Ipv4Addr, u8)>,
    pub no_ipv4: bool,
    pub ipv6: Option<Create6>,
    pub aux: BTreeMap<String, IpAddr>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub ipam_options: BTreeMap<String, String>,
    pub bridge_opts: BridgeOptions,
    /// `com.docker.network.bridge.name`.
    pub bridge_name: Option<String>,
}

/// The IPv6 part of a request: all chosen when not given.
#[derive(Debug, Default)]
pub struct Create6 {
    pub subnet: Option<(Ipv6Addr, u8)>,
    pub gateway: Option<Ipv6Addr>,
    pub ip_range: Option<(Ipv6Addr, u8)>,
}

/// The host's IPv4 routes (destination, prefix), default route left out.
fn host_routes() -> Vec<(Ipv4Addr, u8)> {
    super::default_subnet::routes()
        .into_iter()
        .map(|(_, route)| route)
        .collect()
}

/// Store a new network; its bridge is made when the first container joins.
pub fn create(paths: &Paths, req: CreateRequest) -> Result<NetworkDef, NetworkError> {
    if paths.rootless {
        return Err(NetworkError::Rootless);
    }
    let _host = host_lock()?;
    let dir = defs_dir(paths);
    crate::paths::make_dir(&dir, 0o700)
        .map_err(super::error::io(format!("create {}", dir.display())))?;
    let all = list(paths)?;
    if matches!(req.name.as_str(), "host" | "none" | "private" | "default")
        || all.iter().any(|d| d.name == req.name)
    {
        return Err(NetworkError::Exists(req.name));
    }
    let v4_nets: Vec<&NetworkDef> = all.iter().filter(|d| d.ipv4()).collect();
    let (subnet, prefix) = match req.subnet {
        // A network without IPv4 holds no IPv4 subnet (0.0.0.0/32 overlaps nothing real).
        _ if req.no_ipv4 => (Ipv4Addr::UNSPECIFIED, 32),
        Some((ip, p)) => {
            let net = Ipv4Addr::from(u32::from(ip) & if p == 0 { 0 } else { u32::MAX << (32 - p) });
            if let Some(other) = v4_nets
                .iter()
                .find(|d| overlaps((net, p), (d.subnet, d.prefix)))
            {
                return Err(NetworkError::Overlap {
                    subnet: format!("{net}/{p}"),
                    other: other.name.clone(),
                    other_subnet: other.cidr(),
                });
            }
            if p > 30 {
                return Err(NetworkError::TooSmall(format!("{net}/{p}")));
            }
            (net, p)
        }
        None => {
            let taken: Vec<(Ipv4Addr, u8)> = host_routes()
                .into_iter()
                .chain(v4_nets.iter().map(|d| (d.subnet, d.prefix)))
                .collect();
            (0..=255u8)
                .map(|n| (Ipv4Addr::new(10, 89, n, 0), 24))
                .find(|c| !taken.iter().any(|t| overlaps(*c, *t)))
                .ok_or_else(|| NetworkError::Exhausted("10.89.0.0/16".into()))?
        }
    };
    let gateway = req
        .gateway
        .unwrap_or_else(|| Ipv4Addr::from(u32::from(subnet) + 1));
    let size = 1u64 << (32 - prefix);
    let offset = u64::from(u32::from(gateway).wrapping_sub(u32::from(subnet)));
    if !req.no_ipv4 && (offset == 0 || offset >= size - 1) {
        return Err(NetworkError::Gateway {
            gateway: gateway.to_string(),
            subnet: format!("{subnet}/{prefix}"),
        });
    }
    let id = crate::state::new_id();
    let ipv6 = match &req.ipv6 {
        Some(r) => Some(subnet6(&all, r, &id)?),
        None => None,
    };
    let bridge = req
        .bridge_name
        .clone()
        .unwrap_or_else(|| format!("kiste-{}", &id[..9]));
    if let Some(other) = all.iter().find(|d| d.bridge == bridge) {
        return Err(NetworkError::BridgeTaken {
            bridge,
            other: other.name.clone(),
        });
    }
    let def = NetworkDef {
        bridge,
        name: req.name,
        id,
        subnet,
        prefix,
        gateway,
        internal: req.internal,
        labels: req.labels,
        created: crate::time::now_rfc3339(),
        ip_range: req.ip_range,
        no_ipv4: req.no_ipv4,
        ipv6,
        aux: req.aux,
        options: req.options,
        ipam_options: req.ipam_options,
        bridge_opts: req.bridge_opts,
    };
    let path = dir.join(format!("{}.json", def.name));
    let tmp = dir.join(format!(".{}.json.tmp", def.name));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&def).expect("serializes"))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(super::error::io(format!("write {}", path.display())))?;
    Ok(def)
}

/// The IPv6 subnet of a new network: the one asked for (not overlapping another kiste
/// network's), or a free ULA /64; its gateway the first address unless given.
fn subnet6(all: &[NetworkDef], r: &Create6, id: &str) -> Result<Subnet6, NetworkError> {
    let taken = |net: (Ipv6Addr, u8)| {
        all.iter()
            .filter_map(|d| d.ipv6.as_ref().map(|s| (d, s)))
            .find(|(_, s)| overlaps6(net, (s.subnet, s.prefix)))
            .map(|(d, s)| (d.name.clone(), s.cidr()))
    };
    let (subnet, prefix) = match r.subnet {
        Some((ip, p)) => {
            let net = (super::ipam::network6(ip, p), p);
            if let Some((other, other_subnet)) = taken(net) {
                return Err(NetworkError::Overlap {
                    subnet: format!("{}/{}", net.0, net.1),
                    other,
                    other_subnet,
                });
            }
            if p > 126 {
                return Err(NetworkError::TooSmall(format!("{}/{p}", net.0)));
            }
            net
        }
        None => (0..64)
            .map(|n| (ula_subnet(id, n), 64))
            .find(|c| taken(*c).is_none())
            .ok_or_else(|| NetworkError::Exhausted("fd00::/8".into()))?,
    };
    let gateway = r
        .gateway
        .unwrap_or_else(|| Ipv6Addr::from(u128::from(subnet) + 1));
    let last = u128::from(subnet) | (u128::MAX >> prefix);
    if !super::ipam::contains6((subnet, prefix), gateway)
        || gateway == subnet
        || u128::from(gateway) == last
    {
        return Err(NetworkError::Gateway {
            gateway: gateway.to_string(),
            subnet: format!("{subnet}/{prefix}"),
        });
    }
    Ok(Subnet6 {
        subnet,
        prefix,
        gateway,
        ip_range: r.ip_range,
    })
}

/// Forget network `def` (its device and rules go with `bridge::teardown`).
pub fn forget(paths: &Paths, def: &NetworkDef) -> Result<(), NetworkError> {
    let path = defs_dir(paths).join(format!("{}.json", def.name));
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(super::error::io(format!("remove {}", path.display()))(e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_overlap_when_the_shorter_prefix_covers_both() {
        let a = (Ipv4Addr::new(10, 89, 0, 0), 24);
        assert!(overlaps(a, (Ipv4Addr::new(10, 89, 0, 128), 25)));
        assert!(overlaps(a, (Ipv4Addr::new(10, 0, 0, 0), 8)));
        assert!(!overlaps(a, (Ipv4Addr::new(10, 89, 1, 0), 24)));
        assert!(!overlaps(a, (Ipv4Addr::new(10, 88, 0, 0), 16)));
        assert!(default_network()
            .unwrap()
            .contains(Ipv4Addr::new(10, 88, 3, 4)));
    }
}
