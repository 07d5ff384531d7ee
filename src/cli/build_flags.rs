//! `docker build`'s flags for the RUN steps' containers and for the build's inputs:
//! `--add-host`, `--network`, `--ulimit`, `--shm-size`, `--cgroup-parent`, the memory and
//! CPU limits, `--platform`, `--cache-from`, `--rm`/`--force-rm`, `--compress` and
//! `--security-opt`. `to_build_host` checks them all with docker's messages (`invalid
//! argument "X" for "--flag" flag: reason`) before anything is made.

use super::common_limits::CommonLimitFlags;
use crate::build::{StepHost, StepNetwork};
use crate::config::{parse_size, ExtraHost, FlagError, Ulimit};
use crate::runtime::Resources;
use clap::Args;

// The help of the limit flags shared with `run` speaks of the RUN steps here.
#[derive(Debug, Args, Clone)]
#[command(
    mut_arg("cpu_shares", |a| a.help("CPU shares (relative weight) of the RUN steps")),
    mut_arg("cpu_period", |a| a.help("Limit the RUN steps' CPU CFS (Completely Fair Scheduler) period")),
    mut_arg("cpu_quota", |a| a.help("Limit the RUN steps' CPU CFS (Completely Fair Scheduler) quota")),
    mut_arg("cpuset_mems", |a| a.help("MEMs in which to allow the RUN steps' execution (0-3, 0,1)")),
    mut_arg("cpuset_cpus", |a| a.help("CPUs in which to allow the RUN steps' execution (0-3, 0,1)")),
    mut_arg("memory", |a| a.help("Memory limit of the RUN steps"))
)]
pub struct BuildHostFlags {
    /// Add a custom host-to-IP mapping to the RUN steps' /etc/hosts (NAME:IP)
    #[arg(long = "add-host", value_name = "NAME:IP")]
    pub add_host: Vec<String>,
    /// Images to consider as cache sources (an image in the store or a registry reference)
    #[arg(long = "cache-from", value_name = "IMAGE")]
    pub cache_from: Vec<String>,
    /// Set the parent cgroup for the RUN steps' containers
    #[arg(long = "cgroup-parent", value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    #[command(flatten)]
    pub limits: CommonLimitFlags,
    /// Size of the RUN steps' /dev/shm (default 64MB)
    #[arg(long = "shm-size", value_name = "BYTES", allow_hyphen_values = true)]
    pub shm_size: Option<String>,
    /// Ulimit options of the RUN steps (e.g. nofile=1024:2048)
    #[arg(
        long = "ulimit",
        value_name = "NAME=SOFT[:HARD]",
        allow_hyphen_values = true
    )]
    pub ulimit: Vec<String>,
    /// Set the networking mode for the RUN instructions: default, none or host
    #[arg(long = "network", value_name = "MODE")]
    pub network: Option<String>,
    /// Set the target platform (os/arch[/variant]): FROM picks it from a multi-platform image
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Security options (docker's daemon refuses them on Linux builds, and so does kiste)
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Remove intermediate containers after a successful build (--rm=false keeps them, stopped)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
        default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub rm: bool,
    /// Always remove intermediate containers (kiste's default: a failed step's container goes too)
    #[arg(long)]
    pub force_rm: bool,
    /// Compress the build context using gzip (no effect: kiste sends the context to no daemon; said on stderr)
    #[arg(long)]
    pub compress: bool,
}

impl Default for BuildHostFlags {
    /// As the command line without these flags: intermediate containers are removed.
    fn default() -> Self {
        BuildHostFlags {
            add_host: Vec::new(),
            cache_from: Vec::new(),
            cgroup_parent: None,
            limits: CommonLimitFlags::default(),
            shm_size: None,
            ulimit: Vec::new(),
            network: None,
            platform: None,
            security_opt: Vec::new(),
            rm: true,
            force_rm: false,
            compress: false,
        }
    }
}

/// One `builder prune --filter KEY=VALUE`, in the keys docker's daemon takes.
pub fn cache_filter(s: &str) -> Result<crate::build::CacheFilter, String> {
    use crate::build::{CacheFilter, CacheKind};
    let (key, value) = s
        .split_once('=')
        .ok_or_else(|| format!("bad format of filter (expected name=value): {s}"))?;
    let boolean = |v: &str| match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!(
            "invalid filter '{key}={v}': expected true or false"
        )),
    };
    Ok(match key {
        "until" | "unused-for" => {
            let d = dockerfile_parser::parse_go_duration(value).map_err(|_| {
                format!("\"{key}\" filter expects a duration (e.g., '24h'): {value}")
            })?;
            CacheFilter::Until(crate::time::now_unix() - d.as_secs_f64())
        }
        "id" | "parent" => CacheFilter::Id(value.to_string()),
        "type" => CacheFilter::Type(
            CacheKind::parse(value).ok_or_else(|| format!("invalid filter 'type={value}'"))?,
        ),
        "description" => CacheFilter::Description(value.to_string()),
        "label" => match value.split_once('=') {
            Some((k, v)) => CacheFilter::Label(k.to_string(), Some(v.to_string())),
            None => CacheFilter::Label(value.to_string(), None),
        },
        "inuse" => CacheFilter::InUse(boolean(value)?),
        "shared" => CacheFilter::Shared(boolean(value)?),
        "private" => CacheFilter::Private(boolean(value)?),
        _ => return Err(format!("Invalid filter '{key}'")),
    })
}

/// `builder prune --keep-storage BYTES` (docker's units).
pub fn keep_storage(s: &str) -> Result<u64, String> {
    parse_size("--keep-storage", s)
        .map(|n| n.max(0) as u64)
        .map_err(|e| e.reason)
}

/// The message of docker's daemon (20.10, both builders) for `build --security-opt`.
pub const SECURITY_OPT_ON_BUILD: &str =
    "The daemon on this platform does not support setting security options on build";

impl BuildHostFlags {
    /// Checks every flag and builds the RUN steps' settings.
    pub fn to_build_host(&self) -> Result<StepHost, FlagError> {
        if let Some(opt) = self.security_opt.first() {
            return Err(FlagError::new("--security-opt", opt, SECURITY_OPT_ON_BUILD));
        }
        let cgroup_parent = match &self.cgroup_parent {
            Some(p) if p.split('/').any(|c| c == "." || c == "..") => {
                return Err(FlagError::new(
                    "--cgroup-parent",
                    p,
                    "the path must not contain \".\" or \"..\"",
                ))
            }
            Some(p) if !p.trim_matches('/').is_empty() => Some(p.trim_matches('/').to_string()),
            _ => None,
        };
        let network = match self.network.as_deref() {
            None => None,
            Some(v) => Some(StepNetwork::parse(v).ok_or_else(|| {
                FlagError::new(
                    "--network",
                    v,
                    format!(
                        "network mode \"{v}\" not supported by buildkit (default, none or host)"
                    ),
                )
            })?),
        };
        let shm_size = match &self.shm_size {
            None => None,
            Some(v) => match parse_size("--shm-size", v)? {
                0 => None,
                n if n < 0 => {
                    return Err(FlagError::new("--shm-size", v, "a size must be positive"))
                }
                n => Some(n as u64),
            },
        };
        Ok(StepHost {
            extra_hosts: self
                .add_host
                .iter()
                .map(|h| ExtraHost::parse("--add-host", h))
                .collect::<Result<_, _>>()?,
            network,
            ulimits: self
                .ulimit
                .iter()
                .map(|u| Ulimit::parse("--ulimit", u))
                .collect::<Result<_, _>>()?,
            shm_size,
            cgroup_parent,
            resources: self.resources()?,
            keep_containers: !self.rm && !self.force_rm,
        })
    }

    /// The limits as `run` parses them; a limit of 0 (as an empty cpuset) is none.
    fn resources(&self) -> Result<Resources, FlagError> {
        let l = &self.limits;
        let mut r = Resources::default();
        let memory = l.memory()?.unwrap_or_default();
        r.memory = (memory > 0).then_some(memory);
        if let Some(swap) = l.memory_swap()? {
            l.check_swap(memory, swap)?;
            r.memory_swap = (swap != 0).then_some(swap);
        }
        r.cpu_shares = l.cpu_shares()?.filter(|n| *n != 0);
        r.cpuset_cpus = l.cpuset_cpus()?.filter(|set| !set.is_empty());
        r.cpu_period = l.cpu_period()?.filter(|n| *n > 0).map(|n| n as u64);
        r.cpu_quota = l.cpu_quota()?.filter(|n| *n != 0);
        r.cpuset_mems = l.cpuset_mems()?.filter(|set| !set.is_empty());
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_flag_and_the_value() {
        let bad = |f: BuildHostFlags| f.to_build_host().unwrap_err().to_string();
        let e = bad(BuildHostFlags {
            network: Some("bridge".into()),
            ..Default::default()
        });
        assert!(e.contains("\"bridge\"") && e.contains("--network"), "{e}");
        let e = bad(BuildHostFlags {
            limits: CommonLimitFlags {
                memory: Some("1k".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(e.contains("minimum memory limit"), "{e}");
        let e = bad(BuildHostFlags {
            security_opt: vec!["seccomp=unconfined".into()],
            ..Default::default()
        });
        assert!(e.contains(SECURITY_OPT_ON_BUILD), "{e}");
        let ok = BuildHostFlags {
            limits: CommonLimitFlags {
                memory: Some("64m".into()),
                memory_swap: Some("-1".into()),
                ..Default::default()
            },
            ..Default::default()
        }
        .to_build_host()
        .unwrap();
        assert_eq!(ok.resources.memory, Some(64 << 20));
        assert_eq!(ok.resources.memory_swap, Some(-1));
        assert!(!ok.keep_containers);
    }
}
