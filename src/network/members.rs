//! Who is on a bridge network: the `Member` records of each network in a JSON file, read
//! without a lock (files are replaced whole) and changed under one (`Locked`, written by
//! rename). A store's networks keep theirs under its runroot (`networks/NAME.json`); the
//! default bridge kiste0, one device shared by every store of the host, keeps one
//! host-wide file per network namespace in `SHARED_DIR`, each entry naming its store and
//! its holder, so an entry whose holder is gone is reclaimed. The devices are `bridge`'s.

use super::error::{io, NetworkError};
use crate::paths::Paths;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::path::PathBuf;

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
pub(super) struct State {
    #[serde(default)]
    pub(super) members: BTreeMap<String, Member>,
}

/// Where a store's own networks keep their members (`NAME.json`, `NAME.lock`).
pub(super) fn dir(paths: &Paths) -> PathBuf {
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

/// A network's members under its lock; `save` writes them by rename.
pub(super) struct Locked {
    _lock: File,
    path: PathBuf,
    pub(super) state: State,
    /// The store's id when the file is shared by stores.
    pub(super) shared: Option<String>,
    /// Dead holders' entries were dropped on reading: worth a save.
    pub(super) reclaimed: bool,
}

impl Locked {
    pub(super) fn open(paths: &Paths, network: &str) -> Result<Locked, NetworkError> {
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
    pub(super) fn owns(&self, id: &str) -> bool {
        match (&self.shared, self.state.members.get(id)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(own), Some(m)) => &m.store == own,
        }
    }

    pub(super) fn save(&self) -> Result<(), NetworkError> {
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
