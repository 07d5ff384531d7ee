//! Which namespaces a container gets: its network mode, the pid/ipc/uts modes (a private
//! namespace, the host's, or another container's) and the user namespace mapping.

use super::FlagError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// `--network`. `Private` is a network namespace of the container's own with only `lo`,
/// whose published ports the monitor forwards (docker's "default" takes it too); `Bridge`
/// adds a veth on kiste's bridge with an address, a route and NAT (root only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    #[default]
    #[serde(alias = "")]
    Private,
    None,
    Host,
    Bridge,
}

impl NetworkMode {
    /// A keyword, or the name of a kiste network (a bridge network: which one is the
    /// endpoint's business, see `Endpoint`).
    pub fn parse(flag: &'static str, value: &str) -> Result<NetworkMode, FlagError> {
        match value {
            "" | "default" | "private" => Ok(NetworkMode::Private),
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            name if super::valid_name(name) => Ok(NetworkMode::Bridge),
            _ => Err(FlagError::new(
                flag,
                value,
                "known networks are \"bridge\", \"none\", \"host\", \"private\" and the names of created networks",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Private => "private",
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
            NetworkMode::Bridge => "bridge",
        }
    }

    /// Whether published ports are forwarded into the container's own network namespace.
    pub fn is_private(self) -> bool {
        matches!(self, NetworkMode::Private | NetworkMode::Bridge)
    }
}

/// `--pid`, `--ipc`, `--uts`: stored as docker writes PidMode ("", "host", "container:ID").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum NamespaceMode {
    #[default]
    Private,
    Host,
    /// Join the namespace of this container (its full id).
    Container(String),
}

impl NamespaceMode {
    /// `resolve` turns the container named after "container:" into its id, or says why not.
    pub fn parse(
        flag: &'static str,
        value: &str,
        resolve: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<NamespaceMode, FlagError> {
        match value {
            "" | "private" => Ok(NamespaceMode::Private),
            "host" => Ok(NamespaceMode::Host),
            v => match v.strip_prefix("container:") {
                Some(name) if !name.is_empty() => resolve(name)
                    .map(NamespaceMode::Container)
                    .map_err(|reason| FlagError::new(flag, value, reason)),
                _ => Err(FlagError::new(
                    flag,
                    value,
                    "expected \"host\", \"private\" or \"container:NAME\"",
                )),
            },
        }
    }

    pub fn is_host(&self) -> bool {
        *self == NamespaceMode::Host
    }
}

impl fmt::Display for NamespaceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamespaceMode::Private => Ok(()),
            NamespaceMode::Host => f.write_str("host"),
            NamespaceMode::Container(id) => write!(f, "container:{id}"),
        }
    }
}

impl From<NamespaceMode> for String {
    fn from(m: NamespaceMode) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for NamespaceMode {
    type Error = FlagError;
    /// Records keep the resolved id (or, from older versions, the name as given).
    fn try_from(s: String) -> Result<NamespaceMode, FlagError> {
        NamespaceMode::parse("namespace mode", &s, &|name| Ok(name.to_string()))
    }
}

/// One range of ids: `size` ids from `container_id` in the container are `host_id`… outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdMapping {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

/// `--userns`: the host's user namespace, or a new one with these maps (for uids and gids).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UsernsMode {
    #[default]
    Host,
    Map(Vec<IdMapping>),
}

impl UsernsMode {
    /// "host", or "map=CONTAINER_ID:HOST_ID:SIZE[,…]".
    pub fn parse(flag: &'static str, value: &str) -> Result<UsernsMode, FlagError> {
        if value.is_empty() || value == "host" {
            return Ok(UsernsMode::Host);
        }
        let bad = |reason: &str| FlagError::new(flag, value, reason);
        let maps = value
            .strip_prefix("map=")
            .ok_or_else(|| bad("expected \"host\" or \"map=CONTAINER_ID:HOST_ID:SIZE\""))?;
        let mut out: Vec<IdMapping> = Vec::new();
        for m in maps.split(',') {
            let n: Vec<u32> = m
                .split(':')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| bad("ids must be numbers from 0 to 4294967295"))?;
            let [container_id, host_id, size] = n[..] else {
                return Err(bad("expected CONTAINER_ID:HOST_ID:SIZE"));
            };
            if size == 0 {
                return Err(bad("a mapping's size must be at least 1"));
            }
            if container_id.checked_add(size - 1).is_none()
                || host_id.checked_add(size - 1).is_none()
            {
                return Err(bad("a mapping must end below 4294967296"));
            }
            let overlaps = |a: u32, b: u32, other: u32| {
                let (a, b) = (u64::from(a), u64::from(b));
                a < b + u64::from(other) && b < a + u64::from(size)
            };
            if out.iter().any(|o| {
                overlaps(container_id, o.container_id, o.size)
                    || overlaps(host_id, o.host_id, o.size)
            }) {
                return Err(bad("the mappings overlap"));
            }
            out.push(IdMapping {
                container_id,
                host_id,
                size,
            });
        }
        Ok(UsernsMode::Map(out))
    }

    /// The host uid (and gid) that container root maps to, when root is mapped.
    pub fn root(&self) -> Option<u32> {
        match self {
            UsernsMode::Host => None,
            UsernsMode::Map(maps) => maps.iter().find(|m| m.container_id == 0).map(|m| m.host_id),
        }
    }
}

impl fmt::Display for UsernsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsernsMode::Host => Ok(()),
            UsernsMode::Map(maps) => {
                f.write_str("map=")?;
                for (i, m) in maps.iter().enumerate() {
                    let sep = if i == 0 { "" } else { "," };
                    write!(f, "{sep}{}:{}:{}", m.container_id, m.host_id, m.size)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_containers(name: &str) -> Result<String, String> {
        Err(format!("no such container: {name}"))
    }

    #[test]
    fn namespace_modes_parse_and_print_like_docker() {
        let p = |v| NamespaceMode::parse("--pid", v, &no_containers);
        assert_eq!(p("").unwrap(), NamespaceMode::Private);
        assert_eq!(p("host").unwrap().to_string(), "host");
        let e = p("container:web").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid argument \"container:web\" for \"--pid\" flag: no such container: web"
        );
        assert!(p("weird").is_err());
        assert!(p("container:").is_err());
        let joined = NamespaceMode::parse("--ipc", "container:web", &|_| Ok("abc".into())).unwrap();
        assert_eq!(joined.to_string(), "container:abc");
        let back: NamespaceMode = serde_json::from_str("\"container:abc\"").unwrap();
        assert_eq!(back, joined);
        let old: NetworkMode = serde_json::from_str("\"\"").unwrap();
        assert_eq!(old, NetworkMode::Private, "an empty mode in an old record");
    }

    #[test]
    fn userns_maps_are_checked() {
        let m = UsernsMode::parse("--userns", "map=0:100000:65536").unwrap();
        assert_eq!(m.root(), Some(100000));
        assert_eq!(m.to_string(), "map=0:100000:65536");
        for bad in [
            "map=0:1",
            "map=0:1:0",
            "map=a:1:1",
            "map=0:4294967295:2",
            "map=0:1000:10,5:2000:10",
            "private",
        ] {
            assert!(UsernsMode::parse("--userns", bad).is_err(), "{bad}");
        }
    }
}
