//! Flags that choose namespaces, limits and security settings for `run`/`create`, and
//! the one place they are checked: `to_host_config` turns them into the record's typed
//! `HostConfig` through `config`'s parsers, so bad input is refused with docker's message
//! (`invalid argument "X" for "--flag" flag: reason`) before anything is created.

use crate::config::{
    parse_cpus, parse_cpuset, parse_int, parse_size, Capability, DeviceMapping, DeviceRate,
    FlagError, NamespaceMode, NetworkMode, Resources, SecurityOptions, Ulimit, UsernsMode,
};
use crate::state::HostConfig;
use clap::Args;

#[derive(Debug, Args, Default, Clone)]
pub struct IsolationArgs {
    /// Connect a container to a network: "bridge" (default as root: an address on bridge kiste0 with NAT), a created network's name, "private" (default rootless: own namespace, published ports forwarded), "none" or "host"
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::networks), long = "network", visible_alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// PID namespace to use ("host" shares the host's)
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC namespace to use ("host" shares the host's)
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace to use ("host" shares the host's)
    #[arg(long)]
    pub uts: Option<String>,
    /// User namespace: "host" (default) or "map=CONTAINER_ID:HOST_ID:SIZE" (repeat map entries with ',')
    #[arg(long)]
    pub userns: Option<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Security options (no-new-privileges, seccomp=unconfined|PROFILE.json)
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Ulimit options (e.g. nofile=1024:2048)
    #[arg(
        long = "ulimit",
        value_name = "NAME=SOFT[:HARD]",
        allow_hyphen_values = true
    )]
    pub ulimit: Vec<String>,
    /// Add a host device to the container (HOST[:CONTAINER[:PERMS]])
    #[arg(long = "device", value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Optional parent cgroup for the container
    #[arg(long = "cgroup-parent", value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// Memory limit (e.g. 512m, 1g)
    #[arg(short = 'm', long, value_name = "BYTES", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "BYTES", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(
        long = "memory-reservation",
        value_name = "BYTES",
        allow_hyphen_values = true
    )]
    pub memory_reservation: Option<String>,
    /// Disable OOM Killer
    #[arg(long = "oom-kill-disable")]
    pub oom_kill_disable: bool,
    /// Number of CPUs
    #[arg(long, value_name = "DECIMAL", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(
        short = 'c',
        long = "cpu-shares",
        value_name = "INT",
        allow_hyphen_values = true
    )]
    pub cpu_shares: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "LIST")]
    pub cpuset_cpus: Option<String>,
    /// Tune container pids limit (-1 for unlimited)
    #[arg(long = "pids-limit", value_name = "INT", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Block IO (relative weight), between 10 and 1000
    #[arg(
        long = "blkio-weight",
        value_name = "UINT16",
        allow_hyphen_values = true
    )]
    pub blkio_weight: Option<String>,
    /// Limit read rate (bytes per second) from a device (PATH:RATE)
    #[arg(
        long = "device-read-bps",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_read_bps: Vec<String>,
    /// Limit write rate (bytes per second) to a device (PATH:RATE)
    #[arg(
        long = "device-write-bps",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_write_bps: Vec<String>,
    /// Limit read rate (IO per second) from a device (PATH:RATE)
    #[arg(
        long = "device-read-iops",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_read_iops: Vec<String>,
    /// Limit write rate (IO per second) to a device (PATH:RATE)
    #[arg(
        long = "device-write-iops",
        value_name = "PATH:RATE",
        allow_hyphen_values = true
    )]
    pub device_write_iops: Vec<String>,
}

const MIN_MEMORY: i64 = 6 * 1024 * 1024;

fn each<T>(
    values: &[String],
    parse: impl Fn(&str) -> Result<T, FlagError>,
) -> Result<Vec<T>, FlagError> {
    values.iter().map(|v| parse(v)).collect()
}

impl IsolationArgs {
    /// Checks every flag and builds the typed host config. `resolve` turns the container
    /// named in `--pid/--ipc/--uts container:NAME` into its id (or says why it cannot).
    pub fn to_host_config(
        &self,
        resolve: &dyn Fn(&str) -> Result<String, String>,
    ) -> Result<HostConfig, FlagError> {
        let ns = |flag, v: &Option<String>| {
            NamespaceMode::parse(flag, v.as_deref().unwrap_or(""), resolve)
        };
        let cgroup_parent = self.cgroup_parent.clone().unwrap_or_default();
        if cgroup_parent.split('/').any(|c| c == "." || c == "..") {
            return Err(FlagError::new(
                "--cgroup-parent",
                &cgroup_parent,
                "the path must not contain \".\" or \"..\"",
            ));
        }
        Ok(HostConfig {
            network: NetworkMode::parse("--network", self.network.as_deref().unwrap_or(""))?,
            pid: ns("--pid", &self.pid)?,
            ipc: ns("--ipc", &self.ipc)?,
            uts: ns("--uts", &self.uts)?,
            userns: UsernsMode::parse("--userns", self.userns.as_deref().unwrap_or(""))?,
            read_only: self.read_only,
            privileged: self.privileged,
            cap_add: each(&self.cap_add, |c| Capability::parse("--cap-add", c))?,
            cap_drop: each(&self.cap_drop, |c| Capability::parse("--cap-drop", c))?,
            security: SecurityOptions::parse("--security-opt", &self.security_opt)?,
            ulimits: each(&self.ulimit, |u| Ulimit::parse("--ulimit", u))?,
            devices: each(&self.device, |d| DeviceMapping::parse("--device", d))?,
            cgroup_parent,
            resources: self.resources()?,
            ..HostConfig::default()
        })
    }

    pub(super) fn resources(&self) -> Result<Resources, FlagError> {
        let mut r = Resources::default();
        if let Some(m) = &self.memory {
            r.memory = parse_size("-m, --memory", m)?;
            if r.memory != 0 && r.memory < MIN_MEMORY {
                return Err(FlagError::new(
                    "-m, --memory",
                    m,
                    "minimum memory limit allowed is 6MB",
                ));
            }
        }
        if let Some(m) = &self.memory_reservation {
            r.memory_reservation = parse_size("--memory-reservation", m)?;
            if r.memory_reservation != 0 && r.memory_reservation < MIN_MEMORY {
                return Err(FlagError::new(
                    "--memory-reservation",
                    m,
                    "minimum memory reservation allowed is 6MB",
                ));
            }
            if r.memory > 0 && r.memory < r.memory_reservation {
                return Err(FlagError::new(
                    "--memory-reservation",
                    m,
                    "minimum memory limit can not be less than memory reservation limit",
                ));
            }
        }
        if let Some(m) = &self.memory_swap {
            r.memory_swap = if m.trim() == "-1" {
                -1
            } else {
                parse_size("--memory-swap", m)?
            };
            if r.memory_swap > 0 && r.memory == 0 {
                return Err(FlagError::new(
                    "--memory-swap",
                    m,
                    "you should always set the memory limit when using the memory swap limit",
                ));
            }
            if r.memory_swap > 0 && r.memory_swap < r.memory {
                return Err(FlagError::new(
                    "--memory-swap",
                    m,
                    "minimum memory swap limit should be larger than memory limit",
                ));
            }
        }
        r.oom_kill_disable = self.oom_kill_disable;
        if let Some(c) = &self.cpus {
            r.nano_cpus = parse_cpus("--cpus", c)?;
        }
        if let Some(s) = &self.cpu_shares {
            let shares: i64 = parse_int("-c, --cpu-shares", s)?;
            r.cpu_shares = match u64::try_from(shares) {
                Ok(n) if n != 1 => n,
                _ => {
                    return Err(FlagError::new(
                        "-c, --cpu-shares",
                        s,
                        "minimum cpu shares allowed is 2",
                    ))
                }
            };
        }
        if let Some(set) = &self.cpuset_cpus {
            r.cpuset_cpus = parse_cpuset("--cpuset-cpus", set)?;
        }
        if let Some(p) = &self.pids_limit {
            // As docker: 0 leaves the default, and any negative number is unlimited.
            r.pids_limit = parse_int::<i64>("--pids-limit", p)?.max(-1);
        }
        if let Some(w) = &self.blkio_weight {
            r.blkio_weight = parse_int("--blkio-weight", w)?;
            if r.blkio_weight != 0 && !(10..=1000).contains(&r.blkio_weight) {
                return Err(FlagError::new(
                    "--blkio-weight",
                    w,
                    "range of blkio weight is from 10 to 1000",
                ));
            }
        }
        let rates =
            |flag, values: &[String], sizes| each(values, |v| DeviceRate::parse(flag, v, sizes));
        r.device_read_bps = rates("--device-read-bps", &self.device_read_bps, true)?;
        r.device_write_bps = rates("--device-write-bps", &self.device_write_bps, true)?;
        r.device_read_iops = rates("--device-read-iops", &self.device_read_iops, false)?;
        r.device_write_iops = rates("--device-write-iops", &self.device_write_iops, false)?;
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_containers(name: &str) -> Result<String, String> {
        Err(format!("no such container: {name}"))
    }

    fn refused(args: IsolationArgs) -> String {
        args.to_host_config(&no_containers).unwrap_err().to_string()
    }

    #[test]
    fn zero_and_minus_one_mean_no_limit_as_in_docker() {
        let args = IsolationArgs {
            memory: Some("0".into()),
            memory_swap: Some("-1".into()),
            memory_reservation: Some("0".into()),
            cpus: Some("0".into()),
            pids_limit: Some("-5".into()),
            cpu_shares: Some("0".into()),
            blkio_weight: Some("0".into()),
            ..Default::default()
        };
        let r = args.to_host_config(&no_containers).unwrap().resources;
        assert_eq!((r.memory, r.memory_swap, r.nano_cpus), (0, -1, 0));
        assert_eq!((r.pids_limit, r.cpu_shares, r.blkio_weight), (-1, 0, 0));
    }

    #[test]
    fn limits_are_refused_with_the_flag_and_value() {
        let e = refused(IsolationArgs {
            cpus: Some("4096".into()),
            ..Default::default()
        });
        assert!(
            e.starts_with("invalid argument \"4096\" for \"--cpus\" flag: range of CPUs"),
            "{e}"
        );
        let e = refused(IsolationArgs {
            memory: Some("9999999999999999999999999".into()),
            ..Default::default()
        });
        assert!(
            e.starts_with(
                "invalid argument \"9999999999999999999999999\" for \"-m, --memory\" flag"
            ),
            "{e}"
        );
        let e = refused(IsolationArgs {
            memory: Some("64m".into()),
            memory_swap: Some("32m".into()),
            ..Default::default()
        });
        assert!(e.contains("\"--memory-swap\""), "{e}");
        let e = refused(IsolationArgs {
            blkio_weight: Some("5".into()),
            ..Default::default()
        });
        assert!(e.contains("range of blkio weight"), "{e}");
        let e = refused(IsolationArgs {
            cgroup_parent: Some("../escape".into()),
            ..Default::default()
        });
        assert!(e.contains("--cgroup-parent"), "{e}");
    }

    #[test]
    fn flags_become_typed_settings() {
        let args = IsolationArgs {
            network: Some("host".into()),
            pid: Some("host".into()),
            ipc: Some("container:web".into()),
            memory: Some("64m".into()),
            memory_swap: Some("-1".into()),
            pids_limit: Some("-1".into()),
            cap_add: vec!["net_admin".into()],
            ulimit: vec!["nofile=10:20".into()],
            ..Default::default()
        };
        let host = args.to_host_config(&|_| Ok("abc".into())).unwrap();
        assert_eq!(host.network, NetworkMode::Host);
        assert!(host.pid.is_host());
        assert_eq!(host.ipc, NamespaceMode::Container("abc".into()));
        assert_eq!(host.resources.memory, 64 << 20);
        assert_eq!(host.resources.memory_swap, -1);
        assert_eq!(host.resources.pids_limit, -1);
        assert_eq!(host.cap_add[0].bare_name(), "NET_ADMIN");
        assert_eq!(host.ulimits[0].hard, 20);
    }
}
