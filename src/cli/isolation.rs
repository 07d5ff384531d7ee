//! Flags that choose namespaces, limits and security settings for `run`/`create`, and
//! the one place they are checked: `to_host_config` turns them into the record's typed
//! `HostConfig` through `config`'s parsers, so bad input is refused with docker's message
//! (`invalid argument "X" for "--flag" flag: reason`) before anything is created.

use crate::config::{
    Capability, DeviceMapping, FlagError, NamespaceMode, NetworkMode, SecurityOptions, Ulimit,
    UsernsMode,
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
    #[command(flatten)]
    pub limits: super::limits::LimitFlags,
    #[command(flatten)]
    pub run_limits: super::limits::RunLimitFlags,
}

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
            resources: self.limits.resources(&self.run_limits)?,
            ..HostConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::limits::LimitFlags;
    use crate::cli::CommonLimitFlags;

    fn no_containers(name: &str) -> Result<String, String> {
        Err(format!("no such container: {name}"))
    }

    fn refused(args: IsolationArgs) -> String {
        args.to_host_config(&no_containers).unwrap_err().to_string()
    }

    #[test]
    fn zero_and_minus_one_mean_no_limit_as_in_docker() {
        let args = IsolationArgs {
            limits: LimitFlags {
                common: CommonLimitFlags {
                    memory: Some("0".into()),
                    memory_swap: Some("-1".into()),
                    cpu_shares: Some("0".into()),
                    ..Default::default()
                },
                memory_reservation: Some("0".into()),
                cpus: Some("0".into()),
                pids_limit: Some("-5".into()),
                blkio_weight: Some("0".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = args.to_host_config(&no_containers).unwrap().resources;
        assert_eq!((r.memory, r.memory_swap, r.nano_cpus), (0, -1, 0));
        assert_eq!((r.pids_limit, r.cpu_shares, r.blkio_weight), (-1, 0, 0));
    }

    #[test]
    fn limits_are_refused_with_the_flag_and_value() {
        let e = refused(IsolationArgs {
            limits: LimitFlags {
                cpus: Some("4096".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(
            e.starts_with("invalid argument \"4096\" for \"--cpus\" flag: range of CPUs"),
            "{e}"
        );
        let e = refused(IsolationArgs {
            limits: LimitFlags {
                common: CommonLimitFlags {
                    memory: Some("9999999999999999999999999".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(
            e.starts_with(
                "invalid argument \"9999999999999999999999999\" for \"-m, --memory\" flag"
            ),
            "{e}"
        );
        let e = refused(IsolationArgs {
            limits: LimitFlags {
                common: CommonLimitFlags {
                    memory: Some("64m".into()),
                    memory_swap: Some("32m".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        });
        assert!(e.contains("\"--memory-swap\""), "{e}");
        let e = refused(IsolationArgs {
            limits: LimitFlags {
                blkio_weight: Some("5".into()),
                ..Default::default()
            },
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
            limits: LimitFlags {
                common: CommonLimitFlags {
                    memory: Some("64m".into()),
                    memory_swap: Some("-1".into()),
                    ..Default::default()
                },
                pids_limit: Some("-1".into()),
                ..Default::default()
            },
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
