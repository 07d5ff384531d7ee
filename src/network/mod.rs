//! Container networking: `none`, `host`, `private` (a network namespace of the container's
//! own with `lo` only, whose published ports are forwarded by the monitor from host sockets
//! into the namespace, as docker-proxy/rootlessport do) and rootful bridge networks: the
//! default `bridge` (kiste0) and user-defined ones (`store`), each a bridge device with its
//! own subnet (and, with `--ipv6`, an IPv6 one: `ipam`, `allocate`, `v6`), a veth per
//! container, NAT and isolation rules set up once per network in kiste's own nftables
//! tables (`firewall`), and names resolved through /etc/hosts files
//! kiste rewrites as members come and go (`hosts`). Published ports of any container are
//! answered by the monitor's forwarder (`proxy`) on 127.0.0.1 and the host's addresses.

mod allocate;
mod bridge;
mod default_subnet;
mod error;
mod firewall;
mod hosts;
mod ipam;
mod join;
mod members;
mod netlink;
mod ports;
mod proxy;
pub mod rootless;
mod store;
mod v6;

pub use bridge::{attach, host_veth, leave, mac_of, release, teardown, Attachment};
pub use default_subnet::{default_subnet, parse_cidr};
pub use error::NetworkError;
pub use hosts::{
    hosts_file, refresh, resolv_conf, resolv_conf_for, resolv_conf_with, set_own_address,
};
pub use ipam::{overlaps, BridgeOptions, Subnet6};
pub use join::{connect_running, disconnect, endpoints_of, gateway_endpoint, join, Joined};
pub use members::{all_members, members, memberships, Member};
pub use ports::{bind_ports, BoundPort, PortError};
pub use proxy::PortForwarder;
pub use store::{
    builtin_id, create, default_network, find, forget, list, Create6, CreateRequest, NetworkDef,
};
