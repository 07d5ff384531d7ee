//! The build's settings for its RUN steps' containers, as `docker build` takes them
//! (`--add-host`, `--network`, `--ulimit`, `--shm-size`, `--cgroup-parent`, the memory and
//! CPU limits), already checked by `cli`. They change how a RUN step runs, never the image
//! config; those that BuildKit makes part of an exec's cache key (network, hosts, ulimits,
//! shm size, cgroup parent) are in the step's key here too, the limits are not (as in
//! docker). This module does not parse strings.

use crate::config::{ExtraHost, Ulimit};
use crate::runtime::{Mount, MountKind, Resources, Rlimit};
use std::path::Path;

/// `--network` of a build: the default network of every RUN step without its own
/// `RUN --network` (BuildKit takes default, none and host).
pub type StepNetwork = dockerfile_parser::RunNetwork;

/// How every RUN step's container is made.
#[derive(Debug, Clone, Default)]
pub struct StepHost {
    /// `--add-host NAME:IP`: lines added to the step's /etc/hosts.
    pub extra_hosts: Vec<ExtraHost>,
    /// `--network`: None keeps BuildKit's default (the host's network).
    pub network: Option<StepNetwork>,
    /// `--ulimit`
    pub ulimits: Vec<Ulimit>,
    /// `--shm-size` in bytes: the size of the step's /dev/shm (docker's default: 64 MiB).
    pub shm_size: Option<u64>,
    /// `--cgroup-parent`: the steps' cgroups go below it instead of kiste's own.
    pub cgroup_parent: Option<String>,
    /// `--memory`, `--memory-swap`, `--cpu-shares`, `--cpuset-cpus`.
    pub resources: Resources,
    /// `--rm=false`: each RUN step's container is kept, stopped, in the container store.
    pub keep_containers: bool,
}

impl StepHost {
    /// What the settings add to a RUN step's cache key; empty for the defaults, so the
    /// keys of builds without these flags do not change.
    pub fn key_material(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = self.network {
            parts.push(format!("network={n:?}"));
        }
        for h in &self.extra_hosts {
            parts.push(format!("host={}:{}", h.name, h.ip));
        }
        for u in &self.ulimits {
            parts.push(format!("ulimit={}={}:{}", u.name.name(), u.soft, u.hard));
        }
        if let Some(s) = self.shm_size {
            parts.push(format!("shm={s}"));
        }
        if let Some(p) = &self.cgroup_parent {
            parts.push(format!("cgroup-parent={p}"));
        }
        parts.join("\0")
    }

    pub fn rlimits(&self) -> Vec<Rlimit> {
        self.ulimits
            .iter()
            .map(|u| Rlimit {
                resource: u.name.number(),
                soft: u.soft,
                hard: u.hard,
            })
            .collect()
    }

    /// The /dev/shm of the step, when `--shm-size` asks for one of another size.
    pub fn shm_mount(&self) -> Option<Mount> {
        self.shm_size.map(|size| Mount {
            source: "shm".into(),
            destination: "/dev/shm".into(),
            kind: MountKind::Tmpfs {
                options: format!("nosuid,nodev,noexec,mode=1777,size={size}"),
            },
            readonly: false,
        })
    }

    /// The step's /etc/hosts: the host's (RUN steps use the host's network by default,
    /// as BuildKit's) followed by one `IP\tNAME` line for each `--add-host`.
    pub fn hosts_file(&self, host_hosts: &Path) -> Option<String> {
        if self.extra_hosts.is_empty() {
            return None;
        }
        let mut text = std::fs::read_to_string(host_hosts).unwrap_or_default();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for h in &self.extra_hosts {
            text.push_str(&format!("{}\t{}\n", h.ip, h.name));
        }
        Some(text)
    }

    /// The parent of the steps' cgroups.
    pub fn cgroup_parent(&self) -> &str {
        self.cgroup_parent.as_deref().unwrap_or("kiste")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_add_nothing_to_the_cache_key() {
        assert_eq!(StepHost::default().key_material(), "");
        let h = StepHost {
            network: Some(StepNetwork::None),
            shm_size: Some(1 << 20),
            ..Default::default()
        };
        assert_eq!(h.key_material(), "network=None\0shm=1048576");
        assert!(h.hosts_file(Path::new("/etc/hosts")).is_none());
    }
}
