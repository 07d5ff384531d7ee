//! IPv6 on kiste's bridges: two containers reach each other over IPv6 by name and by
//! address, NAT66 takes a container out to an "outside host" namespace with no route back,
//! `--ip6`/`--ip-range`/`--aux-address` choose the addresses, networks are isolated for
//! IPv6 as for IPv4, and removing everything leaves the namespace's addresses, IPv6 routes
//! and nftables ruleset as they were. Each test runs kiste in a network namespace of its
//! own (`support::netns`).

mod support;

use std::time::{Duration, Instant};
use support::netns::{Netns, HELLO_SERVER};
use support::*;

/// What the test compares in its namespace before and after.
const HOST_STATE: [&str; 3] = ["ip -j addr", "ip -6 route", "nft -j list ruleset"];

#[test]
fn ipv6_members_reach_each_other_by_name_and_address_also_without_ipv4_then_leave_nothing() {
    let Some((ns, k)) = Netns::with_busybox("v6names") else {
        return;
    };
    let before = ns.snapshot(&HOST_STATE);
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "10.96.0.0/24",
            "--subnet",
            "fd00:96::/64",
            "dual",
        ],
    );
    // Without IPv4 a name can only resolve to an IPv6 address.
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--ipv6",
            "--ipv4=false",
            "--subnet",
            "fd00:97::/64",
            "only6",
        ],
    );
    let nets = ns.json(&k, &["network", "inspect", "dual", "only6"]);
    assert_eq!(nets[0]["EnableIPv6"], true);
    assert_eq!(nets[0]["IPAM"]["Config"][1]["Subnet"], "fd00:96::/64");
    assert_eq!(nets[0]["IPAM"]["Config"][1]["Gateway"], "fd00:96::1");
    assert_eq!(
        nets[1]["IPAM"]["Config"].as_array().unwrap().len(),
        1,
        "no IPv4 subnet: {}",
        nets[1]
    );
    for net in ["dual", "only6"] {
        let name = format!("srv-{net}");
        ns.kiste_ok(
            &k,
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--network",
                net,
                "busybox",
                "sh",
                "-c",
                HELLO_SERVER,
            ],
        );
    }
    let srv = k.inspect("srv-dual");
    let ep = &srv["NetworkSettings"]["Networks"]["dual"];
    let v6 = ep["GlobalIPv6Address"].as_str().unwrap().to_string();
    assert!(v6.starts_with("fd00:96::"), "{ep}");
    assert_eq!(ep["GlobalIPv6PrefixLen"], 64);
    assert_eq!(ep["IPv6Gateway"], "fd00:96::1");
    assert_eq!(srv["NetworkSettings"]["GlobalIPv6Address"], v6.as_str());
    ns.wait_hello_from(&k, "dual", &v6);
    ns.wait_hello_from(&k, "only6", "srv-only6");
    // The name is in /etc/hosts with both addresses (and only IPv6 on the IPv6-only one).
    let hosts = ns.kiste_ok(&k, &["exec", "srv-dual", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{v6}\tsrv-dual")), "{hosts}");
    let only6 = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "only6",
            "busybox",
            "sh",
            "-c",
            "grep srv-only6 /etc/hosts; ip -o addr show eth0; ip -6 route",
        ],
    );
    assert!(only6.contains("fd00:97::"), "{only6}");
    assert!(!only6.contains("inet "), "no IPv4 address: {only6}");
    assert!(only6.contains("default via fd00:97::1"), "{only6}");
    // In network inspect.
    let members = ns.json(&k, &["network", "inspect", "dual"]);
    let c = members[0]["Containers"].as_object().unwrap();
    let m = c.values().next().unwrap();
    assert_eq!(m["IPv6Address"], format!("{v6}/64"));
    ns.kiste_ok(&k, &["rm", "-f", "srv-dual", "srv-only6"]);
    ns.kiste_ok(&k, &["network", "rm", "dual", "only6"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ns.snapshot(&HOST_STATE) != before {
        assert!(
            Instant::now() < deadline,
            "left behind:\n{:#?}\nbefore:\n{before:#?}",
            ns.snapshot(&HOST_STATE)
        );
    }
}

#[test]
fn outbound_ipv6_leaves_through_nat66_and_an_internal_network_has_no_way_out() {
    let Some(ns) = Netns::new("v6nat") else {
        return;
    };
    // The "outside host" has no route back to the containers' subnet: only NAT answers.
    let Some(outside) = ns.outside_host("v6out", "kt6", "fd99::1/64 nodad", "fd99::2/64 nodad")
    else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "fd00:98::/64",
            "ext6",
        ],
    );
    ns.kiste_ok(&k, &["network", "create", "--ipv6", "--internal", "int6"]);
    outside.wait_heard_by(&ns, &k, &["--network", "ext6"]);
    assert!(!outside
        .heard_by(&ns, &k, &["--network", "int6"])
        .contains("outside"));
    let rules = ns.sh("nft list table ip6 kiste");
    assert!(
        rules.contains("ip6 saddr fd00:98::/64 ip6 daddr != fd00:98::/64 masquerade"),
        "{rules}"
    );
    // Only kiste's own tables exist in this namespace.
    let tables = ns.sh("nft list tables");
    assert_eq!(
        tables.lines().collect::<Vec<_>>(),
        ["table ip kiste", "table ip6 kiste"]
    );
    drop(outside);
    ns.kiste_ok(&k, &["network", "rm", "ext6", "int6"]);
    assert_eq!(ns.sh("nft list tables"), "");
}

#[test]
fn ip6_ip_range_and_aux_address_choose_the_addresses() {
    let Some((ns, k)) = Netns::with_busybox("v6alloc") else {
        return;
    };
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "10.95.0.0/24",
            "--subnet",
            "fd00:95::/64",
            "--ip-range",
            "10.95.0.16/29",
            "--ip-range",
            "fd00:95::100/125",
            "--aux-address",
            "router=10.95.0.16",
            "--aux-address",
            "router6=fd00:95::100",
            "--gateway",
            "fd00:95::fffe",
            "alloc",
        ],
    );
    let addrs = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "--network", "alloc"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "ip", "-o", "addr", "show", "eth0"]);
        ns.kiste(&k, &args)
    };
    // The first free address of each range, past the reserved one.
    let first = addrs(&[]);
    assert!(first.stdout.contains("10.95.0.17/24"), "{}", first.stdout);
    assert!(first.stdout.contains("fd00:95::101/64"), "{}", first.stdout);
    let route = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "alloc",
            "busybox",
            "ip",
            "-6",
            "route",
        ],
    );
    assert!(route.contains("default via fd00:95::fffe"), "{route}");
    // --ip6 may name any free address of the subnet, also outside the range.
    let fixed = addrs(&["--ip6", "fd00:95::abcd", "--ip", "10.95.0.200"]);
    assert!(
        fixed.stdout.contains("fd00:95::abcd/64"),
        "{}",
        fixed.stdout
    );
    assert!(fixed.stdout.contains("10.95.0.200/24"), "{}", fixed.stdout);
    // --link-local-ip addresses join the container's interface.
    let ll = addrs(&[
        "--link-local-ip",
        "169.254.7.7",
        "--link-local-ip",
        "fe80::7:7",
    ]);
    assert!(ll.stdout.contains("169.254.7.7/16"), "{}", ll.stdout);
    assert!(ll.stdout.contains("fe80::7:7/64"), "{}", ll.stdout);
    // Reserved addresses and addresses outside the subnet are refused, naming them.
    for (ip6, why) in [
        ("fd00:95::100", "already in use"),
        ("fd00:95::fffe", "already in use"),
        ("fd00:1::5", "not in network alloc's subnet fd00:95::/64"),
    ] {
        let r = addrs(&["--ip6", ip6]);
        assert_eq!(r.code, 125, "{ip6}: {}", r.stderr);
        assert!(
            r.stderr.contains(ip6) && r.stderr.contains(why),
            "{ip6}: {}",
            r.stderr
        );
    }
    // A range of 8 addresses: .16 reserved, .17 to .23 handed out, then none is left.
    let mut held = Vec::new();
    for i in 0..7 {
        let name = format!("fill{i}");
        ns.kiste_ok(
            &k,
            &[
                "run",
                "-d",
                "--name",
                &name,
                "--network",
                "alloc",
                "busybox",
                "sleep",
                "60",
            ],
        );
        held.push(name);
    }
    let full = addrs(&[]);
    assert_eq!(full.code, 125, "{}", full.stdout);
    assert!(full.stderr.contains("no free address"), "{}", full.stderr);
    let mut rm = vec!["rm", "-f"];
    rm.extend(held.iter().map(String::as_str));
    ns.kiste_ok(&k, &rm);
    ns.kiste_ok(&k, &["network", "rm", "alloc"]);
}

#[test]
fn ipv6_networks_are_isolated_from_each_other() {
    let Some((ns, k)) = Netns::with_busybox("v6iso") else {
        return;
    };
    for (name, subnet) in [("left6", "fd00:a1::/64"), ("right6", "fd00:a2::/64")] {
        ns.kiste_ok(
            &k,
            &["network", "create", "--ipv6", "--subnet", subnet, name],
        );
    }
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "srv",
            "--network",
            "left6",
            "--ip6",
            "fd00:a1::80",
            "busybox",
            "sh",
            "-c",
            HELLO_SERVER,
        ],
    );
    ns.wait_hello_from(&k, "left6", "fd00:a1::80");
    // The other network routes to it through the host, where kiste's ip6 table drops it.
    assert!(!ns.nc_from(&k, "right6", "fd00:a1::80").contains("hello"));
    let rules = ns.sh("nft list table ip6 kiste");
    assert!(rules.contains("oifname @bridges"), "{rules}");
    // It is those rules that stop it: without the two networks' forward chains (each
    // drops its side: the request one way, the answer the other) the packets get through.
    for net in ["left6", "right6"] {
        let v = ns.json(&k, &["network", "inspect", net]);
        let bridge = format!("kiste-{}", &v[0]["Id"].as_str().unwrap()[..9]);
        ns.sh(&format!("nft flush chain ip6 kiste {bridge}-fwd"));
    }
    assert!(ns.nc_from(&k, "right6", "fd00:a1::80").contains("hello"));
    ns.kiste_ok(&k, &["rm", "-f", "srv"]);
    ns.kiste_ok(&k, &["network", "rm", "left6", "right6"]);
}
