//! The rootful bridge network (`--network bridge`). Every test runs kiste inside a network
//! namespace of its own (through `nsenter --net`), so the bridge, the veths, the nftables
//! table and all traffic stay in namespaces the test made; the host's own firewall (here:
//! docker's FORWARD policy drop) is not involved. After each test nothing of a container is
//! left in the namespace: no veth, no rule but the default network's own two chains, no
//! address held.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};
use support::netns::{Netns, HELLO_SERVER};
use support::*;

/// `web`: a bridged busybox answering "hello" on port 80, published on host port 8080.
fn run_published_web(ns: &Netns, k: &Kiste) {
    ns.run_server(k, "web", &["--network", "bridge", "-p", "8080:80"]);
}

/// A field of the container's NetworkSettings, as `inspect` shows it.
fn setting(ns: &Netns, k: &Kiste, name: &str, field: &str) -> String {
    let out = ns.kiste_ok(k, &["inspect", name]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["NetworkSettings"][field]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn ip_of(ns: &Netns, k: &Kiste, name: &str) -> String {
    setting(ns, k, name, "IPAddress")
}

#[test]
fn bridged_container_gets_an_address_and_reaches_the_gateway() {
    let Some((ns, k)) = Netns::with_busybox("gw") else {
        return;
    };
    let out = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "bridge",
            "--hostname",
            "box",
            "--add-host",
            "db:10.88.0.99",
            "busybox",
            "sh",
            "-c",
            "ip -o -4 addr show eth0; ip route; cat /etc/hosts /etc/resolv.conf; ping -c 1 -W 2 10.88.0.1 >/dev/null && echo reached",
        ],
    );
    assert!(out.contains("inet 10.88.0.2/16"), "{out}");
    assert!(out.contains("default via 10.88.0.1 dev eth0"), "{out}");
    assert!(out.contains("reached"), "{out}");
    assert!(
        !out.contains("nameserver 127."),
        "a host loopback resolver: {out}"
    );
    assert!(out.contains("10.88.0.2\tbox\n"), "{out}");
    assert!(out.contains("10.88.0.99\tdb\n"), "{out}");
    let dns = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "bridge",
            "--dns",
            "192.0.2.53",
            "busybox",
            "cat",
            "/etc/resolv.conf",
        ],
    );
    assert!(dns.contains("nameserver 192.0.2.53\n"), "{dns}");
    assert_eq!(dns.matches("nameserver").count(), 1, "{dns}");
    ns.assert_clean(&k, &[]);
}

#[test]
fn published_port_answers_on_loopback_on_a_host_address_and_on_the_container_ip() {
    let Some((ns, k)) = Netns::with_busybox("pub") else {
        return;
    };
    run_published_web(&ns, &k);
    let ip = ip_of(&ns, &k, "web");
    assert_eq!(ip, "10.88.0.2");
    // Loopback: the monitor's forwarder; the bridge's address (a host address): DNAT.
    ns.wait_answer("127.0.0.1", 8080, "hello");
    ns.wait_answer("10.88.0.1", 8080, "hello");
    ns.wait_answer(&ip, 80, "hello");
    let mac = setting(&ns, &k, "web", "MacAddress");
    assert_eq!(mac, "02:42:0a:58:00:02");
    let net: serde_json::Value =
        serde_json::from_str(&ns.kiste_ok(&k, &["network", "inspect", "bridge"])).unwrap();
    let members = net[0]["Containers"].as_object().unwrap();
    assert_eq!(members.len(), 1);
    let (_, web) = members.iter().next().unwrap();
    assert_eq!(web["Name"], "web");
    assert_eq!(web["IPv4Address"], "10.88.0.2/16");
    assert_eq!(net[0]["IPAM"]["Config"][0]["Gateway"], "10.88.0.1");
    ns.kiste_ok(&k, &["rm", "-f", "web"]);
    ns.assert_clean(&k, &[]);
}

#[test]
fn two_bridged_containers_reach_each_other() {
    let Some((ns, k)) = Netns::with_busybox("two") else {
        return;
    };
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "srv",
            "--network",
            "bridge",
            "busybox",
            "sh",
            "-c",
            HELLO_SERVER,
        ],
    );
    let a = ip_of(&ns, &k, "srv");
    ns.wait_answer(&a, 80, "hello");
    let out = ns.kiste_ok(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "bridge",
            "busybox",
            "sh",
            "-c",
            &format!("echo x | nc -w 2 {a} 80"),
        ],
    );
    assert_eq!(out.trim(), "hello");
    ns.kiste_ok(&k, &["rm", "-f", "srv"]);
    ns.assert_clean(&k, &[]);
}

#[test]
fn outbound_traffic_is_masqueraded_and_published_ports_answer_from_outside() {
    let Some(ns) = Netns::new("nat") else { return };
    let Some(outside) = Netns::new("out") else {
        return;
    };
    // The "outside host": 192.168.77.2, with no route back to the bridge's subnet, so only
    // masqueraded traffic can get answers.
    ns.sh(&format!(
        "ip link add kt-up type veth peer name kt-out netns {}; ip addr add 192.168.77.1/24 dev kt-up; ip link set kt-up up",
        outside.name
    ));
    outside.sh("ip addr add 192.168.77.2/24 dev kt-out; ip link set kt-out up");
    let mut server = outside
        .enter("sh")
        .args(["-c", "echo outside | busybox nc -l -p 9000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let k = Kiste::new();
    k.busybox();
    let deadline = Instant::now() + Duration::from_secs(10);
    let out = loop {
        let r = ns.kiste(
            &k,
            &[
                "run",
                "--rm",
                "--network",
                "bridge",
                "busybox",
                "sh",
                "-c",
                "echo inside | nc -w 2 192.168.77.2 9000",
            ],
        );
        if r.stdout.contains("outside") || Instant::now() > deadline {
            break r.stdout;
        }
    };
    assert_eq!(out.trim(), "outside");
    let _ = server.wait();

    run_published_web(&ns, &k);
    outside.wait_answer("192.168.77.1", 8080, "hello");
    ns.kiste_ok(&k, &["rm", "-f", "web"]);
    ns.assert_clean(&k, &["kt-up"]);
}

#[test]
fn bad_network_input_is_one_line_with_exit_125_and_creates_nothing() {
    let Some((ns, k)) = Netns::with_busybox("bad") else {
        return;
    };
    for (args, value) in [
        (&["--network", "bridge", "-p", "80:"][..], "80:"),
        (&["--network", "bridge", "-p", "99999:80"][..], "99999:80"),
        (&["--network", "nosuch"][..], "nosuch"),
        (&["--add-host", "db"][..], "db"),
        (&["--dns", "dns.example"][..], "dns.example"),
    ] {
        let mut full = vec!["run", "--rm"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["busybox", "true"]);
        let r = ns.kiste(&k, &full);
        assert_eq!(r.code, 125, "{full:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains(value), "{value}: {}", r.stderr);
    }
    // A host port taken: refused before anything is made.
    ns.sh("(busybox nc -l -p 8081 >/dev/null 2>&1 &) ; true");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ns.sh("cat /proc/net/tcp /proc/net/tcp6").contains(":1F91 ") {
        assert!(Instant::now() < deadline, "the blocker never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = ns.kiste(
        &k,
        &[
            "run",
            "--rm",
            "--network",
            "bridge",
            "-p",
            "8081:80",
            "busybox",
            "true",
        ],
    );
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("8081"), "{}", r.stderr);
    assert_eq!(ns.kiste_ok(&k, &["ps", "-aq"]).trim(), "");
    ns.sh("echo x | busybox nc -w 1 127.0.0.1 8081 >/dev/null || true");
    ns.assert_clean(&k, &[]);
}

#[test]
fn a_killed_monitor_leaves_its_address_and_veth_to_the_next_command() {
    let Some((ns, k)) = Netns::with_busybox("crash") else {
        return;
    };
    let mut run = ns
        .kiste_cmd(
            &k,
            &["run", "--network", "bridge", "busybox", "sleep", "100"],
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
    // nsenter execs kiste: this is the monitor.
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    let _ = run.wait();
    ns.kiste_ok(&k, &["ps", "-a"]);
    ns.assert_clean(&k, &[]);
}

#[test]
fn containers_started_in_parallel_get_distinct_addresses_and_their_ports_answer() {
    let Some((ns, k)) = Netns::with_busybox("par") else {
        return;
    };
    const N: u16 = 10;
    let starts: Vec<_> = (0..N)
        .map(|i| {
            let name = format!("par{i}");
            let port = format!("{}:80", 9100 + i);
            ns.kiste_cmd(
                &k,
                &[
                    "run",
                    "-d",
                    "--name",
                    &name,
                    "--network",
                    "bridge",
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
    let mut ips: Vec<String> = (0..N).map(|i| ip_of(&ns, &k, &format!("par{i}"))).collect();
    for i in 0..N {
        ns.wait_answer("127.0.0.1", 9100 + i, "hello");
        ns.wait_answer("10.88.0.1", 9100 + i, "hello");
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), N as usize, "duplicate addresses: {ips:?}");
    let names: Vec<String> = (0..N).map(|i| format!("par{i}")).collect();
    let mut rm = vec!["rm", "-f"];
    rm.extend(names.iter().map(String::as_str));
    ns.kiste_ok(&k, &rm);
    ns.assert_clean(&k, &[]);
}

#[test]
fn a_network_that_fails_after_the_clone_leaves_nothing_and_names_the_container() {
    let Some((ns, k)) = Netns::with_busybox("late") else {
        return;
    };
    ns.kiste_ok(&k, &["network", "create", "kt-late"]);
    ns.kiste_ok(
        &k,
        &[
            "create",
            "--name",
            "late",
            "--network",
            "bridge",
            "busybox",
            "true",
        ],
    );
    // An endpoint sysctl the kernel does not have: its write fails in the container's
    // namespace, after the process was cloned and the default bridge's veth was made.
    ns.kiste_ok(
        &k,
        &[
            "network",
            "connect",
            "--driver-opt",
            "com.docker.network.endpoint.sysctls=net.ipv4.conf.IFNAME.kiste_no_such=1",
            "kt-late",
            "late",
        ],
    );
    let id = ns.kiste_ok(&k, &["inspect", "--format", "{{.Id}}", "late"]);
    let id = id.trim();
    // Through a detached monitor (`start`) and in the foreground (`start -a`).
    for args in [&["start", "late"][..], &["start", "-a", "late"]] {
        let r = ns.kiste(&k, args);
        assert_ne!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains(id) && r.stderr.contains("kiste_no_such"),
            "{}",
            r.stderr
        );
        assert_eq!(
            ns.kiste_ok(&k, &["inspect", "--format", "{{.State.Running}}", "late"])
                .trim(),
            "false"
        );
        // No address held on either network, no cgroup, no mount, no process.
        assert!(ns.default_bridge_members(&k).is_empty());
        let net = ns.json(&k, &["network", "inspect", "kt-late"]);
        let members = &net[0]["Containers"];
        assert!(
            members.as_object().is_none_or(|m| m.is_empty()),
            "{members}"
        );
        assert_eq!(cgroup_left(id), Vec::<std::path::PathBuf>::new());
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(id), "{mounts}");
        let ps = ns.sh("ps -eo args");
        assert!(!ps.contains(id), "{ps}");
    }
    ns.kiste_ok(&k, &["rm", "late"]);
    ns.kiste_ok(&k, &["network", "rm", "kt-late"]);
    ns.assert_clean(&k, &[]);
}

#[test]
fn a_bridged_command_that_cannot_start_says_why_and_leaves_nothing() {
    let Some((ns, k)) = Netns::with_busybox("noexec") else {
        return;
    };
    // The process fails while the monitor still puts it on the network: its own reason
    // (not "exited during setup") reaches the user, as without a network.
    for _ in 0..3 {
        let r = ns.kiste(
            &k,
            &["run", "--rm", "--network", "bridge", "busybox", "nosuchcmd"],
        );
        assert_eq!(r.code, 127, "{}", r.stderr);
        assert!(
            r.stderr.contains("executable file not found"),
            "{}",
            r.stderr
        );
    }
    assert_eq!(ns.kiste_ok(&k, &["ps", "-aq"]).trim(), "");
    ns.assert_clean(&k, &[]);
}
