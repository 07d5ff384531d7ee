//! Network flags: `run`'s endpoint and name-resolution flags (`--ip`, `--network-alias`,
//! `--mac-address`, `--ip6`, `--link-local-ip`, `--dns-search`, `--dns-option`, `-P`), the
//! `network` verbs and `port`. `NetFlags::apply` types them into the record's `HostConfig`.

use crate::config::{
    parse_alias, parse_dns_word, parse_driver_opt, parse_ip, parse_ip6, parse_link_local,
    parse_mac, valid_name, Endpoint, FlagError, NetworkMode, DEFAULT_NETWORK,
};
use crate::state::HostConfig;
use clap::{Args, Subcommand};

#[derive(Debug, Args, Default, Clone)]
pub struct NetFlags {
    /// IPv4 address on the container's network (user-defined networks)
    #[arg(long = "ip", value_name = "IP")]
    pub ip: Option<String>,
    /// IPv6 address on the container's network (user-defined networks with --ipv6)
    #[arg(long = "ip6", value_name = "IP")]
    pub ip6: Option<String>,
    /// Container IPv4/IPv6 link-local addresses
    #[arg(long = "link-local-ip", value_name = "IP")]
    pub link_local_ip: Vec<String>,
    /// Add a network-scoped alias for the container
    #[arg(
        long = "network-alias",
        visible_alias = "net-alias",
        value_name = "NAME"
    )]
    pub network_alias: Vec<String>,
    /// Container MAC address (e.g. 02:42:ac:11:00:02)
    #[arg(long = "mac-address", value_name = "MAC")]
    pub mac_address: Option<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search", value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", visible_alias = "dns-opt", value_name = "OPT")]
    pub dns_option: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
}

impl NetFlags {
    /// Type these flags into `host`, whose network mode came from `--network` (`network`
    /// is that flag's raw value; none given means the default: bridge as root).
    pub fn apply(
        &self,
        network: Option<&str>,
        rootless: bool,
        host: &mut HostConfig,
    ) -> Result<(), FlagError> {
        host.dns_search = each(&self.dns_search, |d| parse_dns_word("--dns-search", d))?;
        host.dns_options = each(&self.dns_option, |d| parse_dns_word("--dns-option", d))?;
        // With --userns map=… the container cannot join a namespace that root made
        // outside its user namespace (the runtime joins after unsharing it): the default
        // is then its own namespace, as rootless.
        let name = match network {
            None if !rootless && host.userns_root().is_none() => Some(DEFAULT_NETWORK),
            Some(n) if !matches!(n, "" | "default" | "private" | "none" | "host") => Some(n),
            _ => None,
        };
        let Some(name) = name else {
            for (flag, v) in [("--ip", &self.ip), ("--ip6", &self.ip6)] {
                if let Some(ip) = v {
                    return Err(FlagError::new(
                        flag,
                        ip,
                        "a fixed address needs a user-defined network (--network NAME)",
                    ));
                }
            }
            if let Some(ip) = self.link_local_ip.first() {
                return Err(FlagError::new(
                    "--link-local-ip",
                    ip,
                    "link-local addresses need a bridge network (--network NAME)",
                ));
            }
            return Ok(());
        };
        if !valid_name(name) {
            return Err(FlagError::new(
                "--network",
                name,
                "a network name may hold letters, digits, '_', '.' and '-'",
            ));
        }
        host.network = NetworkMode::Bridge;
        let ip = self
            .ip
            .as_deref()
            .map(|v| parse_ip("--ip", v))
            .transpose()?;
        let ip6 = self
            .ip6
            .as_deref()
            .map(|v| parse_ip6("--ip6", v))
            .transpose()?;
        for (flag, v) in [("--ip", &self.ip), ("--ip6", &self.ip6)] {
            if let (Some(v), true) = (v, name == DEFAULT_NETWORK) {
                return Err(FlagError::new(
                    flag,
                    v,
                    "user specified IP address is supported on user defined networks only",
                ));
            }
        }
        host.endpoints = vec![Endpoint {
            network: name.to_string(),
            ip,
            aliases: each(&self.network_alias, |a| parse_alias("--network-alias", a))?,
            mac: self
                .mac_address
                .as_deref()
                .map(|m| parse_mac("--mac-address", m))
                .transpose()?,
            ip6,
            link_local: each(&self.link_local_ip, |v| {
                parse_link_local("--link-local-ip", v)
            })?,
            ..Endpoint::default()
        }];
        Ok(())
    }
}

fn each<T>(
    values: &[String],
    f: impl Fn(&str) -> Result<T, FlagError>,
) -> Result<Vec<T>, FlagError> {
    values.iter().map(|v| f(v)).collect()
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NetworkCommand {
    /// Create a network
    Create(NetworkCreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(NetworkLsArgs),
    /// Display detailed information on one or more networks
    Inspect(NetworkInspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(NetworkRmArgs),
    /// Remove all unused networks
    Prune(NetworkPruneArgs),
    /// Connect a container to a network
    Connect(NetworkConnectArgs),
    /// Disconnect a container from a network
    Disconnect(NetworkDisconnectArgs),
}

#[derive(Debug, Args)]
pub struct NetworkCreateArgs {
    /// Driver to manage the network (only "bridge")
    #[arg(short = 'd', long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR format, IPv4 and/or IPv6 (chosen when not given)
    #[arg(long, value_name = "CIDR")]
    pub subnet: Vec<String>,
    /// Gateway for a subnet given with --subnet (its first address when not given)
    #[arg(long, value_name = "IP")]
    pub gateway: Vec<String>,
    /// Allocate container addresses from a sub-range of a subnet
    #[arg(long = "ip-range", value_name = "CIDR")]
    pub ip_range: Vec<String>,
    /// Auxiliary addresses the allocator must not hand out (NAME=IP)
    #[arg(long = "aux-address", value_name = "NAME=IP")]
    pub aux_address: Vec<String>,
    /// Enable or disable IPv4 address assignment
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ipv6: Option<bool>,
    /// IP Address Management driver (only "default")
    #[arg(long = "ipam-driver", value_name = "DRIVER", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options (KEY=VALUE)
    #[arg(long = "ipam-opt", value_name = "KEY=VALUE")]
    pub ipam_opt: Vec<String>,
    /// Set driver specific options (KEY=VALUE; com.docker.network.bridge.name,
    /// com.docker.network.driver.mtu, ...bridge.enable_ip_masquerade, ...bridge.enable_icc,
    /// ...bridge.host_binding_ipv4)
    #[arg(short = 'o', long = "opt", value_name = "KEY=VALUE")]
    pub opt: Vec<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Set metadata on a network (KEY=VALUE)
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    #[command(flatten)]
    pub swarm: super::NetworkSwarmFlags,
    pub name: String,
}

#[derive(Debug, Args)]
pub struct NetworkLsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Provide filter values (name=, id=, driver=, label=KEY[=VALUE])
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Format output using a Go template, or json
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
pub struct NetworkInspectArgs {
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::listed_networks), required = true, value_name = "NETWORK")]
    pub networks: Vec<String>,
    /// Format output using a Go template
    #[arg(short, long)]
    pub format: Option<String>,
    #[command(flatten)]
    pub verbose: super::NetworkVerboseFlag,
}

#[derive(Debug, Args)]
pub struct NetworkRmArgs {
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::removable_networks), required = true, value_name = "NETWORK")]
    pub networks: Vec<String>,
    /// Do not error if the network does not exist
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct NetworkPruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Provide filter values (until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE])
    #[arg(long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct NetworkConnectArgs {
    /// IPv4 address
    #[arg(long = "ip", value_name = "IP")]
    pub ip: Option<String>,
    /// IPv6 address
    #[arg(long = "ip6", value_name = "IP")]
    pub ip6: Option<String>,
    /// Add a link-local address for the container
    #[arg(long = "link-local-ip", value_name = "IP")]
    pub link_local_ip: Vec<String>,
    /// Driver options for the endpoint (KEY=VALUE)
    #[arg(long = "driver-opt", value_name = "KEY=VALUE")]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway; accepts positive and negative values
    #[arg(
        long = "gw-priority",
        value_name = "INT",
        allow_hyphen_values = true,
        default_value_t = 0
    )]
    pub gw_priority: i64,
    /// Add network-scoped alias for the container
    #[arg(long = "alias", value_name = "NAME")]
    pub alias: Vec<String>,
    #[command(flatten)]
    pub link: super::ConnectLinkFlag,
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::bridge_networks))]
    pub network: String,
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::running_containers))]
    pub container: String,
}

impl NetworkConnectArgs {
    /// The endpoint asked for, typed.
    pub fn endpoint(&self) -> Result<Endpoint, FlagError> {
        Ok(Endpoint {
            network: self.network.clone(),
            ip: self
                .ip
                .as_deref()
                .map(|v| parse_ip("--ip", v))
                .transpose()?,
            aliases: each(&self.alias, |a| parse_alias("--alias", a))?,
            mac: None,
            ip6: self
                .ip6
                .as_deref()
                .map(|v| parse_ip6("--ip6", v))
                .transpose()?,
            link_local: each(&self.link_local_ip, |v| {
                parse_link_local("--link-local-ip", v)
            })?,
            driver_opts: each(&self.driver_opt, |v| parse_driver_opt("--driver-opt", v))?
                .into_iter()
                .collect(),
            gw_priority: self.gw_priority,
        })
    }
}

#[derive(Debug, Args)]
pub struct NetworkDisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::bridge_networks))]
    pub network: String,
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::running_containers))]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    pub port: Option<String>,
}
