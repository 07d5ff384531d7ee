//! kiste's packet rules for a network, set up once with its bridge and removed with it,
//! never per container (a container's start runs no `nft` or `iptables`). All nftables
//! rules live in kiste's own `table ip kiste`, in two base chains per network named after
//! its bridge: `BR-nat` masquerades the subnet's traffic leaving it (not for `--internal`),
//! `BR-fwd` drops forwarding from the bridge to any other kiste bridge (isolation between
//! networks) and, for `--internal`, any forwarding in or out. Published ports need no rule:
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

/// The nft batch that adds network `def`'s chains (idempotent: an existing chain is kept
/// and emptied, so the rules are never doubled).
fn add_batch(def: &NetworkDef) -> String {
    let br = &def.bridge;
    let cidr = def.cidr();
    let mut s = format!(
        "add table ip {TABLE}\n\
         add chain ip {TABLE} {br}-nat {{ type nat hook postrouting priority 100; }}\n\
         flush chain ip {TABLE} {br}-nat\n\
         add chain ip {TABLE} {br}-fwd {{ type filter hook forward priority 0; }}\n\
         flush chain ip {TABLE} {br}-fwd\n\
         add rule ip {TABLE} {br}-fwd iifname \"{br}\" oifname \"kiste*\" oifname != \"{br}\" drop\n"
    );
    if def.internal {
        s.push_str(&format!(
            "add rule ip {TABLE} {br}-fwd iifname \"{br}\" oifname != \"{br}\" drop\n\
             add rule ip {TABLE} {br}-fwd oifname \"{br}\" iifname != \"{br}\" drop\n"
        ));
    } else {
        s.push_str(&format!(
            "add rule ip {TABLE} {br}-nat ip saddr {cidr} ip daddr != {cidr} masquerade\n"
        ));
    }
    s
}

/// The batch that removes `def`'s chains (declared first, so a missing one is no error).
fn remove_batch(def: &NetworkDef) -> String {
    let br = &def.bridge;
    format!(
        "add table ip {TABLE}\n\
         add chain ip {TABLE} {br}-nat {{ type nat hook postrouting priority 100; }}\n\
         delete chain ip {TABLE} {br}-nat\n\
         add chain ip {TABLE} {br}-fwd {{ type filter hook forward priority 0; }}\n\
         delete chain ip {TABLE} {br}-fwd\n"
    )
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
    let br = &def.bridge;
    let nat = def.internal || super::netlink::Netlink::chain_exists(TABLE, &format!("{br}-nat"))?;
    Ok(nat && super::netlink::Netlink::chain_exists(TABLE, &format!("{br}-fwd"))?)
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
    let left = Command::new("nft")
        .args(["list", "table", "ip", TABLE])
        .output()?;
    if left.status.success() && !String::from_utf8_lossy(&left.stdout).contains("chain ") {
        nft(&format!("delete table ip {TABLE}\n"))?;
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
        assert!(b.contains("iifname \"kiste0\" oifname \"kiste*\" oifname != \"kiste0\" drop"));
        assert!(!b.contains("flush ruleset") && !b.contains("flush table"));
        def.internal = true;
        let b = add_batch(&def);
        assert!(!b.contains("masquerade"), "{b}");
        assert!(remove_batch(&def).contains("delete chain ip kiste kiste0-fwd"));
        assert_eq!(docker_user_rules(&def).len(), 1);
    }
}
