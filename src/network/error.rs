//! The network module's one error type, `NetworkError`, and `io`, which names the action
//! an I/O error interrupted: shared by the bridge, its members' file, the network store
//! and the address allocator, so each can fail in the same words without importing the
//! others.

use std::net::Ipv4Addr;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("network: cannot {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("default network: {0}")]
    DefaultSubnet(String),
    #[error("network: no free address left in {0}")]
    Exhausted(String),
    #[error("bridge networks need root (rootless containers can use --network private)")]
    Rootless,
    #[error("network {0} not found")]
    NotFound(String),
    #[error("network {0} is ambiguous: more than one network id starts with it")]
    Ambiguous(String),
    #[error("network with name {0} already exists")]
    Exists(String),
    #[error(
        "invalid pool request: subnet {subnet} overlaps with network {other} ({other_subnet})"
    )]
    Overlap {
        subnet: String,
        other: String,
        other_subnet: String,
    },
    #[error("subnet {0} is too small for a network")]
    TooSmall(String),
    #[error("gateway {gateway} is not a host address in subnet {subnet}")]
    Gateway { gateway: String, subnet: String },
    #[error("address {ip} is not in network {network}'s subnet {subnet}")]
    OutOfSubnet {
        ip: Ipv4Addr,
        network: String,
        subnet: String,
    },
    #[error("address {ip} on network {network} is already in use")]
    InUse {
        ip: std::net::IpAddr,
        network: String,
    },
    #[error("bridge name {bridge} is already used by network {other}")]
    BridgeTaken { bridge: String, other: String },
    #[error("network {network} has no IPv6 (created without --ipv6): cannot use {ip}")]
    NoIpv6 { ip: String, network: String },
    #[error("address {ip} is not in network {network}'s subnet {subnet}")]
    OutOfSubnet6 {
        ip: std::net::Ipv6Addr,
        network: String,
        subnet: String,
    },
    #[error("container {container} is already connected to network {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
}

pub(super) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> NetworkError {
    let action = action.into();
    move |source| NetworkError::Io { action, source }
}
