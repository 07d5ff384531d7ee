//! Container networking: `none`, `host`, `private` (a network namespace of the container's
//! own with `lo` only, whose published ports are forwarded by the monitor from host sockets
//! into the namespace, as docker-proxy/rootlessport do) and the rootful `bridge` (a veth on
//! bridge kiste0 with an address, a default route and NAT; see `bridge`). Published ports of
//! a bridged container answer through DNAT on the host's addresses and through the same
//! forwarder on 127.0.0.1.

mod bridge;
mod netlink;
mod nft;
mod ports;
mod proxy;
pub mod rootless;

pub use bridge::{
    attach, host_veth, mac_of, member, members, release, Attachment, Member, NetworkError, BRIDGE,
    GATEWAY, PREFIX, SUBNET,
};
pub use ports::{bind_ports, BoundPort, PortError};
pub use proxy::PortForwarder;

/// /etc/hosts for a container with its own network namespace; `ip` is its address on a
/// network (loopback without one).
pub fn hosts_file(hostname: &str, ip: Option<std::net::Ipv4Addr>) -> String {
    let own = ip.map_or_else(|| "127.0.0.1".to_string(), |ip| ip.to_string());
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n{own}\t{hostname}\n"
    )
}

/// /etc/resolv.conf for a container with its own network namespace: the host's, without
/// its loopback resolvers (they answer only on the host's loopback, as docker notes);
/// docker's public defaults when none is left.
pub fn resolv_conf(host: &str) -> String {
    let loopback = |line: &str| {
        let mut words = line.split_whitespace();
        words.next() == Some("nameserver")
            && words
                .next()
                .and_then(|a| a.parse::<std::net::IpAddr>().ok())
                .is_some_and(|ip| ip.is_loopback())
    };
    let mut out: String = host
        .lines()
        .filter(|l| !loopback(l))
        .map(|l| format!("{l}\n"))
        .collect();
    if !out
        .lines()
        .any(|l| l.trim_start().starts_with("nameserver"))
    {
        out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    out
}

/// /etc/resolv.conf with `servers` (`--dns`) in place of the host's nameservers; the
/// host's search and options lines stay, as in docker.
pub fn resolv_conf_with(host: &str, servers: &[std::net::IpAddr]) -> String {
    let mut out: String = host
        .lines()
        .filter(|l| l.split_whitespace().next() != Some("nameserver"))
        .map(|l| format!("{l}\n"))
        .collect();
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_resolvers_of_the_host_are_left_out() {
        let host =
            "search example.org\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.0.0.2\n";
        assert_eq!(
            super::resolv_conf(host),
            "search example.org\nnameserver 10.0.0.2\n"
        );
        assert_eq!(
            super::resolv_conf("nameserver 127.0.0.53\noptions edns0\n"),
            "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        let dns = ["1.1.1.1".parse().unwrap()];
        assert_eq!(
            super::resolv_conf_with("search x\nnameserver 10.0.0.2\n", &dns),
            "search x\nnameserver 1.1.1.1\n"
        );
    }
}
