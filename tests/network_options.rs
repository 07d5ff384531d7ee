//! `network create`'s driver and IPAM flags (`--opt` bridge options, `--ipam-driver`,
//! `--ipam-opt`, `--gateway`), `network ls --no-trunc`, `network prune --filter`, `network
//! connect --gw-priority/--link-local-ip/--driver-opt/--ip6` and docker's refusals of bad
//! values (the comparisons with dockerd are in `network_v6_parity`). Each test runs kiste
//! in a network namespace of its own (`support::netns`).

mod support;

use support::netns::Netns;
use support::*;

#[test]
fn bridge_options_name_the_device_set_its_mtu_and_turn_off_nat_and_icc() {
    let Some((ns, k)) = Netns::with_busybox("opts") else {
        return;
    };
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--opt",
            "com.docker.network.bridge.name=kt-br-opts",
            "--opt",
            "com.docker.network.driver.mtu=1400",
            "--opt",
            "com.docker.network.bridge.enable_ip_masquerade=false",
            "--opt",
            "com.docker.network.bridge.enable_icc=false",
            "--opt",
            "org.example.unknown=kept",
            "quiet",
        ],
    );
    // An option docker's bridge does not know is kept and shown, as docker 28 does.
    let net = ns.json(&k, &["network", "inspect", "quiet"]);
    let opts = net[0]["Options"].as_object().unwrap();
    assert_eq!(opts.len(), 5, "{opts:?}");
    assert_eq!(opts["org.example.unknown"], "kept");
    assert_eq!(opts["com.docker.network.driver.mtu"], "1400");
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "icc-a",
            "--network",
            "quiet",
            "busybox",
            "sh",
            "-c",
            "while true; do echo hello | nc -l -p 80; done",
        ],
    );
    // The bridge has the name and the MTU; so has the container's side.
    let link = ns.sh("ip -o link show kt-br-opts");
    assert!(link.contains("mtu 1400"), "{link}");
    let eth = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "quiet",
            "busybox",
            "ip",
            "-o",
            "link",
            "show",
            "eth0",
        ],
    );
    assert!(eth.contains("mtu 1400"), "{eth}");
    // No masquerade rule for it; the isolation set names the custom bridge.
    let rules = ns.sh("nft list table ip kiste");
    assert!(!rules.contains("masquerade"), "{rules}");
    assert!(rules.contains("\"kt-br-opts\""), "{rules}");
    // enable_icc=false: a member cannot reach another (the bridge isolates its ports),
    // but the gateway still answers.
    let ip = k.inspect("icc-a")["NetworkSettings"]["Networks"]["quiet"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let gw = net[0]["IPAM"]["Config"][0]["Gateway"]
        .as_str()
        .unwrap()
        .to_string();
    let probe = ns.kiste(
        &k,
        &[
            "run", "--rm", "--network", "quiet", "busybox", "sh", "-c",
            &format!("ping -c 1 -W 2 {gw} >/dev/null && echo gateway; echo x | nc -w 2 {ip} 80; echo done"),
        ],
    );
    assert!(probe.stdout.contains("gateway"), "{}", probe.stdout);
    assert!(!probe.stdout.contains("hello"), "{}", probe.stdout);
    ns.kiste_ok(&k, &["rm", "-f", "icc-a"]);
    ns.kiste_ok(&k, &["network", "rm", "quiet"]);
    assert_eq!(
        ns.sh("ip -o link show | grep -c kt-br-opts || true").trim(),
        "0"
    );
}

#[test]
fn host_binding_ipv4_is_where_ports_bind_by_default() {
    let Some((ns, k)) = Netns::with_busybox("hbind") else {
        return;
    };
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--opt",
            "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
            "local",
        ],
    );
    let port = free_port().to_string();
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "local",
            "-p",
            &format!("{port}:80"),
            "--expose",
            "81",
            "-P",
            "busybox",
            "sh",
            "-c",
            "while true; do echo hello | nc -l -p 80; done",
        ],
    );
    // Both the -p port and the -P one bind the network's address.
    let out = ns.kiste_ok(&k, &["port", "web"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines.contains(&format!("80/tcp -> 127.0.0.1:{port}").as_str()),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("81/tcp -> 127.0.0.1:")),
        "{out}"
    );
    ns.wait_answer("127.0.0.1", port.parse().unwrap(), "hello");
    ns.kiste_ok(&k, &["rm", "-f", "web"]);
    ns.kiste_ok(&k, &["network", "rm", "local"]);
}

#[test]
fn gw_priority_chooses_which_bridge_gives_the_default_route() {
    let Some((ns, k)) = Netns::with_busybox("gwprio") else {
        return;
    };
    ns.kiste_ok(
        &k,
        &["network", "create", "--subnet", "10.93.1.0/24", "one"],
    );
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "10.93.2.0/24",
            "--subnet",
            "fd00:93::/64",
            "two",
        ],
    );
    ns.kiste_ok(
        &k,
        &["network", "create", "--subnet", "10.93.3.0/24", "three"],
    );
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "gwc",
            "--network",
            "one",
            "busybox",
            "sleep",
            "60",
        ],
    );
    let routes = || ns.kiste_ok(&k, &["exec", "gwc", "sh", "-c", "ip route; ip -6 route"]);
    assert!(routes().contains("default via 10.93.1.1"), "{}", routes());
    // A network with a higher priority takes the default routes, both families, with the
    // addresses, link-local addresses and driver options asked for.
    ns.kiste_ok(
        &k,
        &[
            "network",
            "connect",
            "--gw-priority",
            "10",
            "--ip6",
            "fd00:93::42",
            "--link-local-ip",
            "169.254.9.9",
            "--driver-opt",
            "com.example.x=1",
            "two",
            "gwc",
        ],
    );
    let r = routes();
    assert!(r.contains("default via 10.93.2.1"), "{r}");
    assert!(r.contains("default via fd00:93::1"), "{r}");
    assert!(!r.contains("default via 10.93.1.1"), "{r}");
    let eth1 = ns.kiste_ok(&k, &["exec", "gwc", "ip", "-o", "addr", "show", "eth1"]);
    assert!(
        eth1.contains("fd00:93::42/64") && eth1.contains("169.254.9.9/16"),
        "{eth1}"
    );
    let v = k.inspect("gwc");
    let ep = &v["NetworkSettings"]["Networks"]["two"];
    assert_eq!(ep["IPAMConfig"]["IPv6Address"], "fd00:93::42");
    assert_eq!(ep["IPAMConfig"]["LinkLocalIPs"][0], "169.254.9.9");
    assert_eq!(ep["DriverOpts"]["com.example.x"], "1");
    assert_eq!(ep["GwPriority"], 10);
    // The top-level addresses are the gateway network's.
    assert_eq!(v["NetworkSettings"]["Gateway"], "10.93.2.1");
    assert_eq!(v["NetworkSettings"]["GlobalIPv6Address"], "fd00:93::42");
    // A lower priority (negative is allowed) leaves the default route where it is; the
    // endpoint options docker 28's bridge knows name the interface and set its sysctls.
    ns.kiste_ok(
        &k,
        &[
            "network",
            "connect",
            "--gw-priority",
            "-5",
            "--driver-opt",
            "com.docker.network.endpoint.ifname=lan3",
            "--driver-opt",
            "com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.log_martians=1",
            "three",
            "gwc",
        ],
    );
    assert!(routes().contains("default via 10.93.2.1"), "{}", routes());
    let lan3 = ns.kiste_ok(
        &k,
        &[
            "exec",
            "gwc",
            "sh",
            "-c",
            "ip -o -4 addr show lan3; cat /proc/sys/net/ipv4/conf/lan3/log_martians",
        ],
    );
    assert!(lan3.contains("10.93.3.") && lan3.ends_with("1\n"), "{lan3}");
    // Leaving the gateway network hands the default route to the best one left.
    ns.kiste_ok(&k, &["network", "disconnect", "two", "gwc"]);
    assert!(routes().contains("default via 10.93.1.1"), "{}", routes());
    ns.kiste_ok(
        &k,
        &["network", "connect", "--gw-priority", "10", "two", "gwc"],
    );
    // After a restart the highest priority still wins.
    ns.kiste_ok(&k, &["restart", "-t", "0", "gwc"]);
    let r = routes();
    assert!(r.contains("default via 10.93.2.1"), "{r}");
    assert!(!r.contains("default via 10.93.1.1"), "{r}");
    ns.kiste_ok(&k, &["rm", "-f", "gwc"]);
    ns.kiste_ok(&k, &["network", "rm", "one", "two", "three"]);
}

#[test]
fn network_create_gateway_is_the_bridges_address_and_the_containers_route() {
    let Some((ns, k)) = Netns::with_busybox("gwflag") else {
        return;
    };
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--subnet",
            "10.92.0.0/24",
            "--gateway",
            "10.92.0.254",
            "gw",
        ],
    );
    let net = ns.json(&k, &["network", "inspect", "gw"]);
    assert_eq!(net[0]["IPAM"]["Config"][0]["Gateway"], "10.92.0.254");
    let out = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "gw",
            "busybox",
            "sh",
            "-c",
            "ip route; ping -c 1 -W 2 10.92.0.254 >/dev/null && echo answered",
        ],
    );
    assert!(out.contains("default via 10.92.0.254"), "{out}");
    assert!(out.contains("answered"), "{out}");
    let bridge = ns.sh("ip -o -4 addr show | grep 10.92.0.254/24");
    assert!(bridge.contains("kiste-"), "{bridge}");
    ns.kiste_ok(&k, &["network", "rm", "gw"]);
}

#[test]
fn ls_no_trunc_shows_whole_ids_and_filter_until_and_labels_pick_what_goes() {
    let Some(ns) = Netns::new("lsprune") else {
        return;
    };
    let k = Kiste::new();
    let a = ns.kiste_ok(&k, &["network", "create", "--label", "keep=yes", "pa"]);
    ns.kiste_ok(&k, &["network", "create", "--label", "tier=db", "pb"]);
    ns.kiste_ok(&k, &["network", "create", "pc"]);
    let ls = ns.kiste_ok(&k, &["network", "ls", "--no-trunc", "--filter", "name=pa"]);
    assert_eq!(
        ls.lines().nth(1).unwrap().split_whitespace().next(),
        Some(a.trim())
    );
    let short = ns.kiste_ok(&k, &["network", "ls", "--filter", "name=pa"]);
    assert_eq!(
        short.lines().nth(1).unwrap().split_whitespace().next(),
        Some(&a.trim()[..12])
    );
    let names = |ns: &Netns| {
        ns.kiste_ok(&k, &["network", "ls", "--format", "{{.Name}}"])
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // label=: only pb goes.
    let out = ns.kiste_ok(&k, &["network", "prune", "-f", "--filter", "label=tier=db"]);
    assert_eq!(out, "Deleted Networks:\npb\n");
    // until= a time before they were made: none goes.
    let out = ns.kiste_ok(
        &k,
        &[
            "network",
            "prune",
            "-f",
            "--filter",
            "until=2001-01-01T00:00:00Z",
        ],
    );
    assert_eq!(out, "");
    // label!=: everything without keep=yes goes.
    let out = ns.kiste_ok(
        &k,
        &["network", "prune", "-f", "--filter", "label!=keep=yes"],
    );
    assert_eq!(out, "Deleted Networks:\npc\n");
    assert_eq!(names(&ns), ["bridge", "host", "none", "pa"]);
    let bad = ns.kiste(&k, &["network", "prune", "-f", "--filter", "colour=red"]);
    assert_eq!(bad.code, 125);
    assert!(bad.stderr.contains("colour"), "{}", bad.stderr);
    ns.kiste_ok(&k, &["network", "rm", "pa"]);
}

#[test]
fn bad_values_are_refused_in_one_line_naming_flag_and_value() {
    let Some((ns, k)) = Netns::with_busybox("v6bad") else {
        return;
    };
    let one_line = |args: &[&str], code: i32, want: &[&str]| {
        let r = ns.kiste(&k, args);
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
        for w in want {
            assert!(r.stderr.contains(w), "{args:?}: {w} not in {}", r.stderr);
        }
    };
    ns.kiste_ok(
        &k,
        &[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "fd00:94::/64",
            "ok6",
        ],
    );
    ns.kiste_ok(&k, &["network", "create", "v4only"]);
    let run = |flag: &str, value: &str| {
        vec![
            "run",
            "--rm",
            "--network",
            "ok6",
            flag,
            value,
            "busybox",
            "true",
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    for (flag, value) in [
        ("--ip6", "fd00:94::zz"),
        ("--ip6", "10.0.0.1"),
        ("--link-local-ip", "10.0.0.1"),
        ("--link-local-ip", "fe81"),
    ] {
        let args = run(flag, value);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        one_line(&args, 125, &[flag, value]);
    }
    one_line(
        &[
            "run",
            "--rm",
            "--network",
            "v4only",
            "--ip6",
            "fd00::5",
            "busybox",
            "true",
        ],
        125,
        &["fd00::5", "v4only", "--ipv6"],
    );
    one_line(
        &["run", "--rm", "--ip6", "fd00::5", "busybox", "true"],
        125,
        &["--ip6", "user defined networks only"],
    );
    one_line(
        &["network", "connect", "--gw-priority", "high", "ok6", "x"],
        125,
        &["--gw-priority", "high"],
    );
    let sysctl = "com.docker.network.endpoint.sysctls=net.ipv4.conf.eth0.forwarding=1";
    one_line(
        &["network", "connect", "--driver-opt", sysctl, "ok6", "x"],
        125,
        &["--driver-opt", sysctl, "IFNAME"],
    );
    // network create: docker's messages and exit code 1 (its daemon's answers).
    for (args, want) in [
        (
            &["--ipam-driver", "dhcp"][..],
            &["plugin \"dhcp\" not found"][..],
        ),
        (&["--subnet", "fd00::/zz"], &["--subnet", "fd00::/zz"]),
        (
            &["--subnet", "10.91.0.0/24", "--subnet", "10.91.1.0/24"],
            &["bridge driver doesn't support multiple subnets"],
        ),
        (
            &["--subnet", "10.91.0.0/24", "--gateway", "10.99.0.1"],
            &[
                "every ip-range or gateway must have a corresponding subnet",
                "10.99.0.1",
            ],
        ),
        (
            &["--subnet", "10.91.0.0/24", "--ip-range", "10.98.0.0/28"],
            &["--ip-range 10.98.0.0/28"],
        ),
        (
            &["--subnet", "10.91.0.0/24", "--aux-address", "r=10.97.0.1"],
            &["no matching subnet for aux-address 10.97.0.1"],
        ),
        (
            &["--subnet", "10.91.0.0/24", "--aux-address", "10.91.0.9"],
            &["--aux-address", "10.91.0.9"],
        ),
        (&["--ipv4=false"], &["IPv4 or IPv6 must be enabled"]),
        (&["--subnet", "fd00:95::/64"], &["fd00:95::/64", "--ipv6"]),
        (
            &["--ipv6", "--subnet", "fd00:94:0:0:1::/80"],
            &["overlaps with network ok6"],
        ),
        (
            &["--opt", "com.docker.network.driver.mtu=abc"],
            &["failed to parse com.docker.network.driver.mtu value: abc"],
        ),
        (
            &["--opt", "com.docker.network.bridge.enable_icc=maybe"],
            &["com.docker.network.bridge.enable_icc", "maybe"],
        ),
        (
            &[
                "--opt",
                "com.docker.network.bridge.name=this-name-is-too-long",
            ],
            &["this-name-is-too-long"],
        ),
        (&["--opt", "novalue"], &["--opt", "novalue"]),
    ] {
        let mut all = vec!["network", "create"];
        all.extend_from_slice(args);
        all.push("nope");
        one_line(&all, 1, want);
    }
    // Nothing half-made.
    let ls = ns.kiste_ok(&k, &["network", "ls", "--format", "{{.Name}}"]);
    assert!(!ls.contains("nope"), "{ls}");
    ns.kiste_ok(&k, &["network", "rm", "ok6", "v4only"]);
}
