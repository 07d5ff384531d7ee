//! kiste's nftables rules, all in its own `table ip kiste` and written as one batch through
//! `nft -f -`: masquerade for the bridge's subnet going elsewhere, and DNAT of published
//! ports for traffic to the host's own addresses (not 127.0.0.0/8: loopback connections are
//! answered by the monitor's port forwarder, as docker's userland proxy does). The table is
//! rewritten whole from the network state each time, and deleted with the last member;
//! nothing outside it is ever read or changed.

use super::bridge::Member;
use crate::config::Protocol;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::process::{Command, Stdio};

pub const TABLE: &str = "kiste";

/// The batch that replaces the table with one for `subnet` and these members.
pub fn ruleset(subnet: &str, members: &BTreeMap<String, Member>) -> String {
    let mut s = String::new();
    // Declaring the table first makes the delete succeed when it does not exist yet.
    let _ = writeln!(s, "table ip {TABLE} {{}}\ndelete table ip {TABLE}");
    if members.is_empty() {
        return s;
    }
    let _ = writeln!(s, "table ip {TABLE} {{");
    let _ = writeln!(
        s,
        "  chain postrouting {{ type nat hook postrouting priority 100; ip saddr {subnet} ip daddr != {subnet} masquerade; }}"
    );
    let _ = writeln!(
        s,
        "  chain prerouting {{ type nat hook prerouting priority -100; fib daddr type local jump published; }}"
    );
    let _ = writeln!(
        s,
        "  chain output {{ type nat hook output priority -100; ip daddr != 127.0.0.0/8 fib daddr type local jump published; }}"
    );
    let _ = writeln!(s, "  chain published {{");
    for m in members.values() {
        for p in &m.ports {
            let proto = match p.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            };
            let daddr = match p.host_ip {
                Some(std::net::IpAddr::V4(ip)) if !ip.is_unspecified() => {
                    format!("ip daddr {ip} ")
                }
                Some(_) => continue,
                None => String::new(),
            };
            let _ = writeln!(
                s,
                "    {daddr}{proto} dport {} dnat to {}:{};",
                p.host_port, m.ip, p.container_port
            );
        }
    }
    let _ = writeln!(s, "  }}\n}}");
    s
}

/// Load `batch` atomically with `nft -f -`.
pub fn apply(batch: &str) -> std::io::Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot run nft (Debian's nftables): {e}"))
        })?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(batch.as_bytes())?;
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(std::io::Error::other(format!(
            "nft: {}",
            err.lines().next().unwrap_or("failed")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PortMapping;

    #[test]
    fn published_ports_become_dnat_rules_in_kistes_own_table() {
        let mut members = BTreeMap::new();
        members.insert(
            "abc".to_string(),
            Member {
                ip: "10.88.0.2".parse().unwrap(),
                ports: vec![PortMapping::parse("-p", "8080:80").unwrap()],
            },
        );
        let r = ruleset("10.88.0.0/16", &members);
        assert!(r.contains("tcp dport 8080 dnat to 10.88.0.2:80;"), "{r}");
        assert!(r.contains("ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade"));
        assert!(!r.contains("flush"), "never flushes anything");
        let empty = ruleset("10.88.0.0/16", &BTreeMap::new());
        assert_eq!(empty, "table ip kiste {}\ndelete table ip kiste\n");
    }
}
