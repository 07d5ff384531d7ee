//! kiste's packet rules for a network, set up once with its bridge and removed with it,
//! never per container (a container's start runs no `nft` or `iptables`). All nftables
//! rules live in kiste's own `table ip kiste` (and `table ip6 kiste` for `--ipv6` networks,
//! the same rules for IPv6: NAT66 masquerade and isolation), in two base chains per network
//! named after its bridge: `BR-nat` masquerades the subnet's traffic leaving it (not for
//! `--internal` or `enable_ip_masquerade=false`), `BR-fwd` drops forwarding from the bridge
//! to any other kiste bridge (isolation between networks) and, for `--internal`, any
//! forwarding in or out. `enable_icc=false` needs no rule: the bridge isolates its ports. Published ports need no rule:
//! the monitor's forwarder answers them on the host's addresses.
//! When docker runs, its iptables FORWARD policy is DROP, and with br_netfilter that drops
//! even traffic inside a bridge; docker documents the DOCKER-USER chain as the place for
//! other tools, so kiste inserts its accepts there (only if the chain exists) and deletes
//! exactly those again. Nothing else of anyone's rules is read or changed.
//! Rules deleted behind kiste's back (`nft flush ruleset`, another tool) are noticed when
//! the first member joins a network again: a netlink question, not an `nft` process.

use super::store::NetworkDef;
use std::io::Write;
use std::process::{Command, Stdio};

pub const TABLE: &str = "kiste";

/// The nft families kiste has a table in for `def`: `ip` always (isolation holds even on
/// a network without IPv4), `ip6` for an `--ipv6` network.
fn families(def: &NetworkDef) -> Vec<(&'static str, Option<String>)> {
    let mut out = vec![("ip", def.ipv4().then(|| def.cidr()))];
    if let Some(v6) = &def.ipv6 {
        out.push(("ip6", Some(v6.cidr())));
    }
    out
}

/// The nft batch that adds network `def`'s chains (idempotent: an existing chain is kept
/// and emptied, so the rules are never doubled). Every kiste bridge is an element of the
/// table's `bridges` set, which each network's forward chain drops towards: isolation
/// holds for bridges named with `com.docker.network.bridge.name` too.
fn add_batch(def: &NetworkDef) -> String {
    let br = &def.bridge;
    let mut s = String::new();
    for (fam, cidr) in families(def) {
        s.push_str(&format!(
            "add table {fam} {TABLE}\n\
             add set {fam} {TABLE} bridges {{ type ifname; }}\n\
             add element {fam} {TABLE} bridges {{ \"{br}\" }}\n\
             add chain {fam} {TABLE} {br}-nat {{ type nat hook postrouting priority 100; }}\n\
             flush chain {fam} {TABLE} {br}-nat\n\
             add chain {fam} {TABLE} {br}-fwd {{ type filter hook forward priority 0; }}\n\
             flush chain {fam} {TABLE} {br}-fwd\n\
             add rule {fam} {TABLE} {br}-fwd iifname \"{br}\" oifname @bridges oifname != \"{br}\" drop\n"
        ));
        if def.internal {
            s.push_str(&format!(
                "add rule {fam} {TABLE} {br}-fwd iifname \"{br}\" oifname != \"{br}\" drop\n\
                 add rule {fam} {TABLE} {br}-fwd oifname \"{br}\" iifname != \"{br}\" drop\n"
            ));
        } else if let (Some(cidr), false) = (cidr, def.bridge_opts.no_masquerade) {
            s.push_str(&format!(
                "add rule {fam} {TABLE} {br}-nat {fam} saddr {cidr} {fam} daddr != {cidr} masquerade\n"
            ));
        }
    }
    s
}

/// The batch that removes `def`'s chains and set element (each declared first, so a
/// missing one is no error).
fn remove_batch(def: &NetworkDef) -> String {
    let br = &def.bridge;
    let mut s = String::new();
    for (fam, _) in families(def) {
        s.push_str(&format!(
            "add table {fam} {TABLE}\n\
             add set {fam} {TABLE} bridges {{ type ifname; }}\n\
             add element {fam} {TABLE} bridges {{ \"{br}\" }}\n\
             delete element {fam} {TABLE} bridges {{ \"{br}\" }}\n\
             add chain {fam} {TABLE} {br}-nat {{ type nat hook postrouting priority 100; }}\n\
             delete chain {fam} {TABLE} {br}-nat\n\
             add chain {fam} {TABLE} {br}-fwd {{ type filter hook forward priority 0; }}\n\
             delete chain {fam} {TABLE} {br}-fwd\n"
        ));
    }
    s
}

/// DOCKER-USER accepts for `def`: traffic from its bridge, and answers back to it.
fn docker_user_rules(def: &NetworkDef) -> Vec<Vec<String>> {
    let br = def.bridge.clone();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    if def.internal {
        vec![s(&["-i", &br, "-o", &br, "-j", "ACCEPT"])]
    } else {
        vec![
            s(&["-i", &br, "-j", "ACCEPT"]),
            s(&[
                "-o",
                &br,
                "-m",
                "conntrack",
                "--ctstate",
                "RELATED,ESTABLISHED",
                "-j",
                "ACCEPT",
            ]),
        ]
    }
}

fn iptables(args: &[&str], rule: &[String]) -> bool {
    Command::new("iptables")
        .args(["-w"])
        .args(args)
        .args(rule)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `def`'s chains are all in place (one netlink request each, no process).
pub fn present(def: &NetworkDef) -> std::io::Result<bool> {
    use super::netlink::{Netlink, NFPROTO_IPV4, NFPROTO_IPV6};
    let br = &def.bridge;
    for (fam, _) in families(def) {
        let fam = if fam == "ip" {
            NFPROTO_IPV4
        } else {
            NFPROTO_IPV6
        };
        for chain in ["nat", "fwd"] {
            if !Netlink::chain_exists(fam, TABLE, &format!("{br}-{chain}"))? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Install `def`'s rules (called under the host lock when its bridge is made, or when
/// they went missing under an existing one).
pub fn install(def: &NetworkDef) -> std::io::Result<()> {
    nft(&add_batch(def))?;
    if iptables(&["-S", "DOCKER-USER"], &[]) {
        for rule in docker_user_rules(def) {
            if !iptables(&["-C", "DOCKER-USER"], &rule) {
                iptables(&["-I", "DOCKER-USER"], &rule);
            }
        }
    }
    Ok(())
}

/// Remove `def`'s rules, and kiste's table once no network has chains in it.
pub fn uninstall(def: &NetworkDef) -> std::io::Result<()> {
    nft(&remove_batch(def))?;
    for (fam, _) in families(def) {
        let left = Command::new("nft")
            .args(["list", "table", fam, TABLE])
            .output()?;
        if left.status.success() && !String::from_utf8_lossy(&left.stdout).contains("chain ") {
            nft(&format!("delete table {fam} {TABLE}\n"))?;
        }
    }
    for rule in docker_user_rules(def) {
        while iptables(&["-D", "DOCKER-USER"], &rule) {}
    }
    Ok(())
}

/// Load `batch` atomically with `nft -f -`.
fn nft(batch: &str) -> std::io::Result<()> {
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

    #[test]
    fn a_network_owns_two_chains_in_kistes_table_and_nothing_else() {
        let mut def = super::super::store::default_network().unwrap();
        let b = add_batch(&def);
        assert!(b.contains("add chain ip kiste kiste0-nat"), "{b}");
        assert!(
            b.contains("ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade"),
            "{b}"
        );
        assert!(b.contains("iifname \"kiste0\" oifname @bridges oifname != \"kiste0\" drop"));
        assert!(!b.contains("ip6"), "{b}");
        assert!(!b.contains("flush ruleset") && !b.contains("flush table"));
        def.internal = true;
        let b = add_batch(&def);
        assert!(!b.contains("masquerade"), "{b}");
        assert!(remove_batch(&def).contains("delete chain ip kiste kiste0-fwd"));
        def.internal = false;
        def.ipv6 = Some(crate::network::Subnet6 {
            subnet: "fd00:5::".parse().unwrap(),
            prefix: 64,
            gateway: "fd00:5::1".parse().unwrap(),
            ip_range: None,
        });
        let b = add_batch(&def);
        assert!(
            b.contains("add rule ip6 kiste kiste0-nat ip6 saddr fd00:5::/64 ip6 daddr != fd00:5::/64 masquerade"),
            "{b}"
        );
        def.bridge_opts.no_masquerade = true;
        assert!(!add_batch(&def).contains("masquerade"));
        assert!(remove_batch(&def).contains("delete chain ip6 kiste kiste0-fwd"));
        assert_eq!(
            docker_user_rules(&def).len(),
            2,
            "not internal: out and back"
        );
    }
}
