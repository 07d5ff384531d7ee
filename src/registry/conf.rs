//! `registries.conf` (containers-registries.conf(5), version 2 TOML), the file podman
//! users already have: `unqualified-search-registries`, `[[registry]]` tables with
//! `location`/`prefix`, `insecure`, `blocked` and `[[registry.mirror]]`. The first file
//! that exists wins, as in containers/image: kiste's own (`KISTE_REGISTRIES_CONF`),
//! the user's, then the system's. This module only answers where to fetch a repository
//! from; it opens no connection.

use super::RegistryError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const DOCKER_HUB: &str = "docker.io";

#[derive(Debug, Default, Deserialize)]
struct RawConf {
    #[serde(rename = "unqualified-search-registries", default)]
    unqualified_search_registries: Vec<String>,
    #[serde(default)]
    registry: Vec<RawRegistry>,
}

#[derive(Debug, Default, Deserialize)]
struct RawRegistry {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    location: String,
    /// Unset means docker's default (insecure only for loopback hosts); an explicit
    /// `false` makes even a loopback registry verify TLS.
    #[serde(default)]
    insecure: Option<bool>,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror: Vec<RawMirror>,
}

#[derive(Debug, Default, Deserialize)]
struct RawMirror {
    location: String,
    #[serde(default)]
    insecure: Option<bool>,
}

/// The parsed configuration (empty when no file exists).
#[derive(Debug, Default)]
pub struct RegistriesConf {
    raw: RawConf,
    /// The file it came from, for messages.
    pub source: Option<PathBuf>,
}

/// One place to fetch a repository from: `host[:port]` plus the repository path there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub host: String,
    pub repository: String,
    pub insecure: bool,
    pub mirror: bool,
}

impl RegistriesConf {
    /// Reads the first of `paths` that exists.
    pub fn load(paths: &[PathBuf]) -> Result<RegistriesConf, RegistryError> {
        for path in paths {
            match std::fs::read_to_string(path) {
                Ok(text) => return RegistriesConf::parse(&text, path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(RegistryError::File {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(RegistriesConf::default())
    }

    /// Parses one file's text.
    pub fn parse(text: &str, path: &Path) -> Result<RegistriesConf, RegistryError> {
        let raw: RawConf = toml::from_str(text).map_err(|e| RegistryError::File {
            path: path.display().to_string(),
            reason: e.to_string().lines().next().unwrap_or("").to_string(),
        })?;
        Ok(RegistriesConf {
            raw,
            source: Some(path.to_path_buf()),
        })
    }

    /// The registries an unqualified name (`httpd`) is looked up in, in order;
    /// docker.io when the file names none, as docker does.
    pub fn search_registries(&self) -> Vec<String> {
        if self.raw.unqualified_search_registries.is_empty() {
            vec![DOCKER_HUB.to_string()]
        } else {
            self.raw.unqualified_search_registries.clone()
        }
    }

    /// Where to pull `host/repository` from: its mirrors first, then the registry
    /// itself (or its `location` rewrite). Fails if the registry is blocked.
    pub fn pull_sources(&self, host: &str, repository: &str) -> Result<Vec<Source>, RegistryError> {
        let full = format!("{host}/{repository}");
        let Some((prefix, entry)) = self.matching(&full) else {
            return Ok(vec![direct(host, repository, false)]);
        };
        if entry.blocked {
            return Err(RegistryError::Blocked(full));
        }
        let rest = &full[prefix.len()..];
        let rewrite = |location: &str, insecure: Option<bool>, mirror: bool| {
            let target = format!("{}{rest}", location.trim_end_matches('/'));
            let (h, r) = target.split_once('/').unwrap_or((&target, ""));
            Source {
                host: h.to_string(),
                repository: r.trim_start_matches('/').to_string(),
                insecure: insecure.unwrap_or_else(|| is_insecure_by_default(h)),
                mirror,
            }
        };
        let mut sources: Vec<Source> = entry
            .mirror
            .iter()
            .map(|m| rewrite(&m.location, m.insecure, true))
            .collect();
        let location = if entry.location.is_empty() {
            prefix.as_str()
        } else {
            entry.location.as_str()
        };
        sources.push(rewrite(location, entry.insecure, false));
        Ok(sources)
    }

    /// Where to push `host/repository`: never a mirror.
    pub fn push_source(&self, host: &str, repository: &str) -> Result<Source, RegistryError> {
        let mut sources = self.pull_sources(host, repository)?;
        Ok(sources
            .pop()
            .expect("the registry itself is always a source"))
    }

    /// Whether `host` is marked insecure (by default: whether it is a loopback host).
    pub fn is_insecure(&self, host: &str) -> bool {
        self.matching(&format!("{host}/"))
            .and_then(|(_, e)| e.insecure)
            .unwrap_or_else(|| is_insecure_by_default(host))
    }

    /// The `[[registry]]` whose prefix is the longest match for `full`.
    fn matching(&self, full: &str) -> Option<(String, &RawRegistry)> {
        self.raw
            .registry
            .iter()
            .filter_map(|r| {
                let prefix = if r.prefix.is_empty() {
                    &r.location
                } else {
                    &r.prefix
                };
                let prefix = prefix.trim_end_matches('/');
                let matches = !prefix.is_empty()
                    && full.starts_with(prefix)
                    && matches!(full.as_bytes().get(prefix.len()), None | Some(b'/' | b':'));
                matches.then(|| (prefix.to_string(), r))
            })
            .max_by_key(|(p, _)| p.len())
    }
}

fn direct(host: &str, repository: &str, insecure: bool) -> Source {
    Source {
        host: host.to_string(),
        repository: repository.to_string(),
        insecure: insecure || is_insecure_by_default(host),
        mirror: false,
    }
}

/// docker's default insecure registries: localhost and loopback addresses.
pub fn is_insecure_by_default(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIRRORED: &str = r#"
unqualified-search-registries = ["docker.io", "quay.io"]
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "127.0.0.1:5000"
insecure = true
[[registry]]
prefix = "example.com/blocked"
location = "example.com/blocked"
blocked = true
[[registry]]
prefix = "example.com/old"
location = "new.example.com/x"
insecure = true
"#;

    fn conf() -> RegistriesConf {
        RegistriesConf::parse(MIRRORED, Path::new("test.conf")).unwrap()
    }

    #[test]
    fn mirrors_come_before_the_registry() {
        let s = conf().pull_sources("docker.io", "library/httpd").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].host.as_str(), s[0].repository.as_str()),
            ("127.0.0.1:5000", "library/httpd")
        );
        assert!(s[0].mirror && s[0].insecure);
        assert_eq!(
            (s[1].host.as_str(), s[1].mirror, s[1].insecure),
            ("docker.io", false, false)
        );
        assert_eq!(
            conf()
                .push_source("docker.io", "library/httpd")
                .unwrap()
                .host,
            "docker.io"
        );
    }

    #[test]
    fn prefixes_rewrite_and_block() {
        let c = conf();
        let secure = "[[registry]]\nlocation = \"127.0.0.1:5000\"\ninsecure = false\n";
        let secure = RegistriesConf::parse(secure, Path::new("t")).unwrap();
        assert!(!secure.pull_sources("127.0.0.1:5000", "a").unwrap()[0].insecure);
        assert!(!secure.is_insecure("127.0.0.1:5000"));
        assert!(secure.is_insecure("127.0.0.1:5001"));
        assert!(matches!(
            c.pull_sources("example.com", "blocked/a"),
            Err(RegistryError::Blocked(_))
        ));
        let s = c.pull_sources("example.com", "old/app").unwrap();
        assert_eq!(
            (s[0].host.as_str(), s[0].repository.as_str()),
            ("new.example.com", "x/app")
        );
        assert!(s[0].insecure);
        let s = c.pull_sources("example.com", "oldish").unwrap();
        assert_eq!(s[0].host, "example.com");
        assert_eq!(c.search_registries(), ["docker.io", "quay.io"]);
    }

    #[test]
    fn loopback_registries_are_insecure_by_default() {
        for h in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_insecure_by_default(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "[fe80::1]:5000"] {
            assert!(!is_insecure_by_default(h), "{h}");
        }
        assert_eq!(RegistriesConf::default().search_registries(), ["docker.io"]);
    }
}
