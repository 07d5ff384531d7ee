//! User-defined networks, name resolution, isolation, NAT, published TCP and UDP ports
//! and cleanup. Every test runs kiste inside a network namespace of its own
//! (`support::netns`), so its bridges, rules and traffic stay there and tests never share
//! a bridge or kiste's nftables table.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::netns::{Netns, HELLO_SERVER};
use support::*;

/// What the test compares in its namespace before and after.
const HOST_STATE: [&str; 3] = ["ip -j link", "ip -j addr", "nft -j list ruleset"];

#[test]
fn containers_on_a_user_network_reach_each_other_by_name_alias_and_ip_but_not_across_networks() {
    let Some((ns, k)) = Netns::with_busybox("names") else {
        return;
    };
    ns.kiste_ok(&k, &["network", "create", "front"]);
    ns.kiste_ok(&k, &["network", "create", "back", "--label", "tier=db"]);
    let nets = ns.json(&k, &["network", "inspect", "front", "back"]);
    let front = nets[0]["IPAM"]["Config"][0]["Subnet"].as_str().unwrap();
    let back = nets[1]["IPAM"]["Config"][0]["Subnet"].as_str().unwrap();
    assert_ne!(front, back, "each network gets a subnet of its own");
    assert_eq!(nets[1]["Labels"]["tier"], "db");
    ns.run_server(&k, "srv", &["--network", "front", "--network-alias", "db"]);
    let ip = ns.ip_on(&k, "srv", "front");
    ns.wait_hello_from(&k, "front", "srv");
    assert!(ns.nc_from(&k, "front", "db").contains("hello"));
    assert!(ns.nc_from(&k, "front", &ip).contains("hello"));
    let settings = ns.json(&k, &["inspect", "srv"]);
    let ep = &settings[0]["NetworkSettings"]["Networks"]["front"];
    assert_eq!(ep["Aliases"][0], "db");
    assert_eq!(ep["NetworkID"], nets[0]["Id"]);
    let members = ns.json(&k, &["network", "inspect", "front"]);
    let ctrs = members[0]["Containers"].as_object().unwrap();
    assert_eq!(ctrs.len(), 1);
    assert_eq!(ctrs.values().next().unwrap()["Name"], "srv");
    // Another network: neither the name nor the address is reachable.
    let other = ns.kiste(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "back",
            "busybox",
            "sh",
            "-c",
            &format!("grep -c srv /etc/hosts; echo x | nc -w 2 {ip} 80; echo done"),
        ],
    );
    assert!(other.stdout.starts_with("0\n"), "{}", other.stdout);
    assert!(!other.stdout.contains("hello"), "{}", other.stdout);
    // connect puts it on the second network too, by name.
    ns.kiste_ok(
        &k,
        &["network", "connect", "--alias", "store", "back", "srv"],
    );
    ns.wait_hello_from(&k, "back", "store");
    ns.kiste_ok(&k, &["network", "disconnect", "back", "srv"]);
    assert!(!ns.nc_from(&k, "back", "store").contains("hello"));
    // In use: docker's error and exit 1; nothing removed.
    let r = ns.kiste(&k, &["network", "rm", "front"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("has active endpoints"), "{}", r.stderr);
    ns.kiste_ok(&k, &["rm", "-f", "srv"]);
    let ls = ns.kiste_ok(&k, &["network", "ls", "-q", "--filter", "label=tier=db"]);
    assert_eq!(ls.trim(), nets[1]["Id"].as_str().unwrap()[..12].to_string());
    let pruned = ns.kiste_ok(&k, &["network", "prune", "-f"]);
    assert!(
        pruned.contains("front") && pruned.contains("back"),
        "{pruned}"
    );
    let names = ns.kiste_ok(&k, &["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(names, "bridge\nhost\nnone\n");
}

#[test]
fn outbound_traffic_leaves_through_nat_and_an_internal_network_has_no_way_out() {
    let Some(ns) = Netns::new("unat") else { return };
    // The "outside host" has no route back to any kiste subnet: only NAT gets answers.
    let Some(outside) = ns.outside_host("uout", "kt", "192.168.78.1/24", "192.168.78.2/24") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    ns.kiste_ok(
        &k,
        &["network", "create", "--subnet", "10.77.0.0/24", "ext"],
    );
    ns.kiste_ok(&k, &["network", "create", "--internal", "int"]);
    outside.wait_heard_by(&ns, &k, &["--network", "ext"]);
    assert!(!outside
        .heard_by(&ns, &k, &["--network", "int"])
        .contains("outside"));
    let ip = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "ext",
            "--ip",
            "10.77.0.77",
            "busybox",
            "sh",
            "-c",
            "ip -o -4 addr show eth0",
        ],
    );
    assert!(ip.contains("10.77.0.77/24"), "{ip}");
    drop(outside);
    ns.kiste_ok(&k, &["network", "rm", "ext", "int"]);
}

/// A UDP echo server (busybox has none), built static for the image.
fn udp_echo(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let src = dir.join("udpecho.c");
    std::fs::write(
        &src,
        "#include <sys/socket.h>\n#include <netinet/in.h>\n#include <stdlib.h>\n\
         int main(int c, char **v) { int s = socket(AF_INET, SOCK_DGRAM, 0); struct sockaddr_in a = {0};\n\
         a.sin_family = AF_INET; a.sin_port = htons(atoi(v[1])); bind(s, (void *)&a, sizeof a); char b[2048];\n\
         for (;;) { struct sockaddr_in f; socklen_t l = sizeof f; int n = recvfrom(s, b, sizeof b, 0, (void *)&f, &l);\n\
         if (n > 0) sendto(s, b, n, 0, (void *)&f, l); } }\n",
    )
    .unwrap();
    let out = dir.join("udpecho");
    let ok = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(out)
}

/// What a UDP datagram `text` to `addr` gets back, sent from inside namespace `ns`.
fn udp_ask(ns: &Netns, addr: &str, text: &str) -> Option<String> {
    let path = format!("/run/netns/{}", ns.name);
    let addr = addr.to_string();
    let text = text.to_string();
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(path).unwrap();
        assert_eq!(unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
        let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 512];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            s.send_to(text.as_bytes(), &addr).unwrap();
            if let Ok(n) = s.recv(&mut buf) {
                return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        None
    })
    .join()
    .unwrap()
}

#[test]
fn published_tcp_and_udp_ports_answer_on_loopback_and_on_a_host_address() {
    let Some((ns, k)) = Netns::with_busybox("pub") else {
        return;
    };
    let ctx = k.context("udp", &[]);
    let Some(bin) = udp_echo(&ctx) else {
        skip("gcc -static cannot build the UDP echo server");
        return;
    };
    let _ = bin;
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox\nCOPY udpecho /bin/udpecho\nEXPOSE 80 53/udp\n",
    )
    .unwrap();
    ns.kiste_ok(&k, &["build", "-q", "-t", "udp", ctx.to_str().unwrap()]);
    // A host address other than loopback, as a host's own eth0 would have.
    ns.sh("ip link add kt-host type veth peer name kt-peer; ip addr add 192.168.79.1/24 dev kt-host; ip link set kt-host up; ip link set kt-peer up");
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "both",
            "-p",
            "8080:80",
            "-p",
            "5353:53/udp",
            "-p",
            "9000-9001:9000-9001",
            "udp",
            "sh",
            "-c",
            &format!("udpecho 53 & {HELLO_SERVER}"),
        ],
    );
    for addr in ["127.0.0.1", "192.168.79.1"] {
        ns.wait_answer(addr, 8080, "hello");
        assert_eq!(
            udp_ask(&ns, &format!("{addr}:5353"), "ping").as_deref(),
            Some("ping"),
            "udp on {addr}"
        );
    }
    let ports = ns.kiste_ok(&k, &["port", "both"]);
    for want in [
        "80/tcp -> 0.0.0.0:8080",
        "53/udp -> 0.0.0.0:5353",
        "9000/tcp -> 0.0.0.0:9000",
        "9001/tcp -> 0.0.0.0:9001",
    ] {
        assert!(ports.contains(want), "{want}: {ports}");
    }
    assert_eq!(
        ns.kiste_ok(&k, &["port", "both", "53/udp"]),
        "0.0.0.0:5353\n"
    );
    let r = ns.kiste(&k, &["port", "both", "81"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // -P: every EXPOSEd port to a free host port.
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "all",
            "-P",
            "udp",
            "sh",
            "-c",
            &format!("udpecho 53 & {HELLO_SERVER}"),
        ],
    );
    let tcp = ns.kiste_ok(&k, &["port", "all", "80/tcp"]);
    let port: u16 = tcp.trim().rsplit(':').next().unwrap().parse().unwrap();
    assert_ne!(port, 80);
    ns.wait_answer("127.0.0.1", port, "hello");
    let udp = ns.kiste_ok(&k, &["port", "all", "53/udp"]);
    let uport = udp.trim().rsplit(':').next().unwrap();
    assert_eq!(
        udp_ask(&ns, &format!("192.168.79.1:{uport}"), "pong").as_deref(),
        Some("pong")
    );
    ns.kiste_ok(&k, &["rm", "-f", "both", "all"]);
    ns.assert_clean(&k, &["kt-host", "kt-peer"]);
}

#[test]
fn twenty_parallel_starts_get_distinct_addresses_answer_and_leave_nothing_behind() {
    let Some((ns, k)) = Netns::with_busybox("twenty") else {
        return;
    };
    let before = ns.snapshot(&HOST_STATE);
    ns.kiste_ok(&k, &["network", "create", "par"]);
    const N: u16 = 20;
    let starts: Vec<_> = (0..N)
        .map(|i| {
            let name = format!("p{i}");
            let port = format!("{}:80", 9200 + i);
            ns.kiste_cmd(
                &k,
                &[
                    "run",
                    "-d",
                    "--name",
                    &name,
                    "--network",
                    "par",
                    "-p",
                    &port,
                    "busybox",
                    "sh",
                    "-c",
                    HELLO_SERVER,
                ],
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut s in starts {
        assert!(s.wait().unwrap().success());
    }
    let mut ips: Vec<String> = (0..N)
        .map(|i| ns.ip_on(&k, &format!("p{i}"), "par"))
        .collect();
    for i in 0..N {
        ns.wait_answer("127.0.0.1", 9200 + i, "hello");
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), N as usize, "duplicate addresses: {ips:?}");
    // Every member knows every other by name.
    let hosts = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "par",
            "busybox",
            "cat",
            "/etc/hosts",
        ],
    );
    for i in 0..N {
        assert!(hosts.contains(&format!("\tp{i} ")), "p{i} missing: {hosts}");
    }
    let names: Vec<String> = (0..N).map(|i| format!("p{i}")).collect();
    let mut rm = vec!["rm", "-f"];
    rm.extend(names.iter().map(String::as_str));
    ns.kiste_ok(&k, &rm);
    ns.kiste_ok(&k, &["network", "rm", "par"]);
    assert_eq!(
        ns.snapshot(&HOST_STATE),
        before,
        "links, addresses or rules left behind"
    );
}

#[test]
fn a_killed_monitor_on_a_user_network_is_released_by_the_next_command() {
    let Some((ns, k)) = Netns::with_busybox("ukill") else {
        return;
    };
    let before = ns.snapshot(&HOST_STATE);
    ns.kiste_ok(&k, &["network", "create", "crash"]);
    let mut run = ns
        .kiste_cmd(
            &k,
            &["run", "--network", "crash", "busybox", "sleep", "100"],
        )
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ns.sh("ip -o link show").contains("veth") {
        assert!(
            Instant::now() < deadline,
            "the container never got its veth"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    let _ = run.wait();
    ns.kiste_ok(&k, &["ps", "-a"]);
    let members = ns.json(&k, &["network", "inspect", "crash"]);
    assert_eq!(members[0]["Containers"], serde_json::json!({}));
    let ids = ns.kiste_ok(&k, &["ps", "-aq"]);
    ns.kiste_ok(&k, &["rm", "-f", ids.trim()]);
    ns.kiste_ok(&k, &["network", "rm", "crash"]);
    assert_eq!(
        ns.snapshot(&HOST_STATE),
        before,
        "links, addresses or rules left behind"
    );
}

#[test]
fn bad_network_input_names_the_value_and_creates_nothing() {
    let Some((ns, k)) = Netns::with_busybox("ubad") else {
        return;
    };
    for (args, value) in [
        (&["-p", "abc"][..], "abc"),
        (&["-p", "80:"][..], "80:"),
        (&["-p", "99999:80"][..], "99999:80"),
        (&["--network", "nosuch"][..], "nosuch"),
        (&["--ip", "10.1.1.1"][..], "10.1.1.1"),
        (&["--mac-address", "zz"][..], "zz"),
        (
            &["--network-alias", "a b", "--network", "bridge"][..],
            "a b",
        ),
    ] {
        let mut full = vec!["run", "--rm"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["busybox", "true"]);
        let r = ns.kiste(&k, &full);
        assert_eq!(r.code, 125, "{full:?}: {}", r.stderr);
        assert!(r.stderr.contains(value), "{value}: {}", r.stderr);
    }
    ns.kiste_ok(
        &k,
        &["network", "create", "--subnet", "10.66.0.0/16", "one"],
    );
    let r = ns.kiste(
        &k,
        &["network", "create", "--subnet", "10.66.5.0/24", "two"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("10.66.5.0/24")
            && r.stderr.contains("one")
            && r.stderr.contains("10.66.0.0/16"),
        "{}",
        r.stderr
    );
    let r = ns.kiste(&k, &["network", "create", "one"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    let r = ns.kiste(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "one",
            "--ip",
            "10.67.0.5",
            "busybox",
            "true",
        ],
    );
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("10.67.0.5"), "{}", r.stderr);
    let r = ns.kiste(&k, &["network", "rm", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("No such network: nosuch"), "{}", r.stderr);
    assert_eq!(ns.kiste_ok(&k, &["ps", "-aq"]).trim(), "");
    ns.kiste_ok(&k, &["network", "rm", "one"]);
}

#[test]
fn dns_flags_and_extra_hosts_shape_the_containers_etc_files() {
    let k = Kiste::new();
    k.busybox();
    let out = k.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--hostname",
        "inner",
        "--dns",
        "10.0.0.9",
        "--dns-search",
        "a.test",
        "--dns-search",
        "b.test",
        "--dns-option",
        "ndots:2",
        "--add-host",
        "db:10.0.0.5",
        "busybox",
        "sh",
        "-c",
        "cat /etc/resolv.conf; echo ---; cat /etc/hosts; hostname",
    ]);
    let (resolv, hosts) = out.split_once("---\n").unwrap();
    assert!(resolv.contains("nameserver 10.0.0.9\n"), "{resolv}");
    assert!(resolv.contains("search a.test b.test\n"), "{resolv}");
    assert!(resolv.contains("options ndots:2\n"), "{resolv}");
    assert_eq!(resolv.matches("nameserver").count(), 1, "{resolv}");
    assert!(hosts.contains("10.0.0.5\tdb\n"), "{hosts}");
    assert!(hosts.ends_with("inner\n"), "{hosts}");
}
