//! `process` (and the `--process FILE` of `kiste oci exec`): what runs, as whom, with
//! which capabilities and rlimits. Capability and rlimit names are checked here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    #[serde(default)]
    pub terminal: Option<bool>,
    #[serde(default)]
    pub console_size: Option<ConsoleSize>,
    pub user: User,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub env: Option<Vec<String>>,
    pub cwd: PathBuf,
    #[serde(default)]
    pub capabilities: Option<Capabilities>,
    #[serde(default)]
    pub rlimits: Option<Vec<Rlimit>>,
    #[serde(default)]
    pub no_new_privileges: Option<bool>,
    #[serde(default)]
    pub apparmor_profile: Option<String>,
    #[serde(default)]
    pub oom_score_adj: Option<i32>,
    #[serde(default)]
    pub selinux_label: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ConsoleSize {
    #[serde(default)]
    pub height: u64,
    #[serde(default)]
    pub width: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    #[serde(default)]
    pub umask: Option<u32>,
    #[serde(default)]
    pub additional_gids: Option<Vec<u32>>,
}

/// The five sets, each of names as "CAP_CHOWN" (the config may write "chown", any case:
/// k8s does); a set left out is `None`, which differs from an empty one only for
/// `exec --cap` (ambient is added to only when the process has an inheritable set).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Capabilities {
    #[serde(default, deserialize_with = "capability_set")]
    pub bounding: Option<BTreeSet<String>>,
    #[serde(default, deserialize_with = "capability_set")]
    pub effective: Option<BTreeSet<String>>,
    #[serde(default, deserialize_with = "capability_set")]
    pub inheritable: Option<BTreeSet<String>>,
    #[serde(default, deserialize_with = "capability_set")]
    pub permitted: Option<BTreeSet<String>>,
    #[serde(default, deserialize_with = "capability_set")]
    pub ambient: Option<BTreeSet<String>>,
}

/// A capability's name as "CAP_X" when the kernel ABI knows it ("CAP_CHOWN", "chown",
/// "cap_cap_chown" alike: every CAP_ prefix goes, as oci-spec and runc take them).
pub fn capability_name(name: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    let mut bare = upper.as_str();
    while let Some(rest) = bare.strip_prefix("CAP_") {
        bare = rest;
    }
    let full = format!("CAP_{bare}");
    crate::runtime::is_capability(&full).then_some(full)
}

fn capability_set<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeSet<String>>, D::Error> {
    let Some(names) = Option::<Vec<String>>::deserialize(d)? else {
        return Ok(None);
    };
    names
        .iter()
        .map(|n| {
            capability_name(n)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown capability {n:?}")))
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// One rlimit; `resource` is the RLIMIT_* number of its "type".
#[derive(Debug, Clone, Copy)]
pub struct Rlimit {
    pub resource: i32,
    pub hard: u64,
    pub soft: u64,
}

/// The rlimit names of the spec and their numbers.
const RLIMITS: [(&str, i32); 16] = [
    ("RLIMIT_CPU", libc::RLIMIT_CPU as i32),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as i32),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as i32),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as i32),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as i32),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as i32),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as i32),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as i32),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as i32),
    ("RLIMIT_AS", libc::RLIMIT_AS as i32),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as i32),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as i32),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as i32),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as i32),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as i32),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as i32),
];

impl<'de> Deserialize<'de> for Rlimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            typ: String,
            #[serde(default)]
            hard: u64,
            #[serde(default)]
            soft: u64,
        }
        let raw = Raw::deserialize(d)?;
        let resource = RLIMITS
            .iter()
            .find(|(name, _)| *name == raw.typ)
            .map(|(_, r)| *r)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rlimit {:?}", raw.typ)))?;
        Ok(Rlimit {
            resource,
            hard: raw.hard,
            soft: raw.soft,
        })
    }
}
