//! The default network's subnet: configurable (`KISTE_DEFAULT_SUBNET`, podman's
//! `default_subnet` in containers.conf), chosen around the host's routes otherwise, and a
//! bad value is one clear error with nothing made. Each test runs in a network namespace
//! of its own (`support::netns`).

mod support;

use support::netns::Netns;
use support::*;

fn eth0_addr(ns: &Netns, k: &Kiste, env: &[(&str, &str)]) -> Run {
    let mut c = ns.kiste_cmd(
        k,
        &[
            "run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0",
        ],
    );
    for (key, v) in env {
        c.env(key, v);
    }
    c.output().unwrap().into()
}

#[test]
fn a_configured_default_subnet_is_used_and_a_bad_one_refused() {
    let Some(ns) = Netns::new("dsub") else { return };
    let k = Kiste::new();
    k.busybox();
    let bad = eth0_addr(&ns, &k, &[("KISTE_DEFAULT_SUBNET", "10.66.0.0/99")]);
    assert_eq!(bad.code, 125, "{}{}", bad.stdout, bad.stderr);
    assert!(
        bad.stderr
            .contains("KISTE_DEFAULT_SUBNET: invalid subnet \"10.66.0.0/99\""),
        "{}",
        bad.stderr
    );
    assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
    assert!(
        !ns.sh("ip -o link").contains("kiste0"),
        "nothing is made for a bad subnet"
    );
    assert!(k.ok(&["ps", "-aq"]).trim().is_empty());

    let conf = k.root().join("containers.conf");
    std::fs::write(
        &conf,
        "[engine]\nruntime = \"runc\"\n[network]\ndefault_subnet = \"10.66.0.0/16\"\n",
    )
    .unwrap();
    let ok = eth0_addr(&ns, &k, &[("CONTAINERS_CONF", conf.to_str().unwrap())]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("inet 10.66."), "{}", ok.stdout);
    // Later commands find the bridge's subnet from its route, whatever the environment.
    let again = eth0_addr(&ns, &k, &[]);
    assert!(again.stdout.contains("inet 10.66."), "{}", again.stdout);
    let inspect = ns.kiste_ok(&k, &["network", "inspect", "bridge"]);
    assert!(inspect.contains("10.66.0.0/16"), "{inspect}");
}

#[test]
fn the_default_subnet_avoids_a_route_the_host_already_has() {
    let Some(ns) = Netns::new("droute") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    // The host already reaches 10.88.0.0/16 through another device.
    ns.sh("ip link add kt-taken type veth peer name kt-taken-p && ip addr add 10.88.0.1/16 dev kt-taken && ip link set kt-taken up && ip link set kt-taken-p up");
    let r = eth0_addr(&ns, &k, &[("CONTAINERS_CONF", "/nonexistent")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("inet 10.87."), "{}", r.stdout);
}
