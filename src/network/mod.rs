//! Container networking. Today: `none`, `host`, and `private` (a network namespace of the
//! container's own with `lo` only, whose published ports are forwarded by the monitor from
//! host sockets into the namespace, as docker-proxy/rootlessport do). Bridge networking
//! and name resolution will join as another mode without changing the callers.

mod ports;
mod proxy;

pub use ports::{bind_ports, BoundPort, PortError};
pub use proxy::PortForwarder;

/// /etc/hosts for a container with its own network namespace.
pub fn hosts_file(hostname: &str) -> String {
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.0.1\t{hostname}\n"
    )
}
