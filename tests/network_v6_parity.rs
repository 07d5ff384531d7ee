//! IPv6 networks and endpoints compared with dockerd's (20.10 here, driven by docker's
//! 28.2 CLI): a dual-stack network's `network inspect` (IPAM config with ranges, aux
//! addresses and options, driver options, labels), the unknown IPAM driver's and a bad
//! MTU's refusals word for word, and a container's `--ip6`/`--link-local-ip` endpoint in
//! `inspect`. kiste runs in a network namespace of its own (`support::netns`).

mod support;

use serde_json::Value;
use std::process::Command;
use support::docker::{docker_busybox, ensure_docker};
use support::netns::Netns;
use support::*;

fn docker(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("docker").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_dual_stack_networks_inspect_and_the_ipam_driver_refusal_match_dockerds() {
    let Some(ns) = Netns::new("v6parity") else {
        return;
    };
    ensure_docker();
    let name = format!("kt-v6parity-{}", std::process::id());
    let flags = [
        "--ipv6",
        "--subnet",
        "10.203.0.0/24",
        "--gateway",
        "10.203.0.254",
        "--ip-range",
        "10.203.0.128/25",
        "--aux-address",
        "printer=10.203.0.5",
        "--subnet",
        "fd00:203::/64",
        "--gateway",
        "fd00:203::1",
        "--ip-range",
        "fd00:203::/80",
        "--aux-address",
        "printer6=fd00:203::5",
        "--ipam-driver",
        "default",
        "--ipam-opt",
        "foo=bar",
        "--opt",
        "com.docker.network.driver.mtu=1400",
        "--label",
        "tier=v6",
    ];
    let mut args = vec!["network", "create"];
    args.extend_from_slice(&flags);
    args.push(&name);
    let (code, _, err) = docker(&args);
    assert_eq!(code, 0, "docker: {err}");
    let (_, d_inspect, _) = docker(&["network", "inspect", &name]);
    docker(&["network", "rm", &name]);
    let k = Kiste::new();
    ns.kiste_ok(&k, &args);
    let k_inspect = ns.kiste_ok(&k, &["network", "inspect", &name]);
    let (d, kv): (Value, Value) = (
        serde_json::from_str(&d_inspect).unwrap(),
        serde_json::from_str(&k_inspect).unwrap(),
    );
    for field in [
        "EnableIPv6",
        "IPAM",
        "Options",
        "Labels",
        "Internal",
        "Driver",
    ] {
        assert_eq!(
            kv[0][field], d[0][field],
            "{field}:\nkiste {k_inspect}\ndocker {d_inspect}"
        );
    }
    // The unknown IPAM driver: docker's words.
    let (code, _, err) = docker(&["network", "create", "--ipam-driver", "nosuch", &name]);
    let r = ns.kiste(&k, &["network", "create", "--ipam-driver", "nosuch", &name]);
    assert_eq!((r.code, r.stderr.trim()), (code, err.trim()));
    // And a bad MTU.
    let mtu = [
        "network",
        "create",
        "--opt",
        "com.docker.network.driver.mtu=abc",
        &name,
    ];
    let (code, _, err) = docker(&mtu);
    let r = ns.kiste(&k, &mtu);
    assert_eq!((r.code, r.stderr.trim()), (code, err.trim()));
    ns.kiste_ok(&k, &["network", "rm", &name]);
}

#[test]
fn a_containers_ip6_and_link_local_ip_show_in_inspect_as_dockerds() {
    let Some(ns) = Netns::new("v6ctr") else {
        return;
    };
    ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let image = docker_busybox(&k, "kiste-net6-bb:1");
    let net = format!("kt-v6ctr-{}", std::process::id());
    let ctr = format!("kt-v6ctr-c-{}", std::process::id());
    let create = [
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "10.204.0.0/24",
        "--subnet",
        "fd00:204::/64",
        "--gateway",
        "fd00:204::1",
        &net,
    ];
    let run = [
        "run",
        "-d",
        "--name",
        &ctr,
        "--network",
        &net,
        "--ip",
        "10.204.0.10",
        "--ip6",
        "fd00:204::10",
        "--link-local-ip",
        "169.254.20.4",
        image,
        "sleep",
        "60",
    ];
    let (code, _, err) = docker(&create);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = docker(&run);
    let d = docker(&["inspect", &ctr]).1;
    docker(&["rm", "-f", &ctr]);
    docker(&["network", "rm", &net]);
    docker(&["rmi", image]);
    assert_eq!(code, 0, "docker run: {err}");
    ns.kiste_ok(&k, &create);
    ns.kiste_ok(&k, &run);
    let kv = k.inspect(&ctr);
    let dv: Value = serde_json::from_str::<Value>(&d).unwrap()[0].clone();
    let (ks, ds) = (&kv["NetworkSettings"], &dv["NetworkSettings"]);
    // The endpoint on the network (docker fills the top-level copies only for its default
    // bridge network).
    let (ke, de) = (&ks["Networks"][&net], &ds["Networks"][&net]);
    for field in [
        "IPAMConfig",
        "Gateway",
        "IPAddress",
        "IPPrefixLen",
        "IPv6Gateway",
        "GlobalIPv6Address",
        "GlobalIPv6PrefixLen",
        "MacAddress",
        "DriverOpts",
    ] {
        assert_eq!(ke[field], de[field], "{field}: kiste {ke}\ndocker {de}");
    }
    // And inside: both addresses and the link-local one on eth0.
    let eth0 = ns.kiste_ok(&k, &["exec", &ctr, "ip", "-o", "addr", "show", "eth0"]);
    for want in ["10.204.0.10/24", "fd00:204::10/64", "169.254.20.4/16"] {
        assert!(eth0.contains(want), "{want}: {eth0}");
    }
    ns.kiste_ok(&k, &["rm", "-f", &ctr]);
    ns.kiste_ok(&k, &["network", "rm", &net]);
}
