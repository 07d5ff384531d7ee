//! The default bridge as something every store of the host shares: addresses allocated
//! host-wide, rules made again when they went missing, and a reboot (an emptied runroot)
//! survived. Every test runs kiste inside a network namespace of its own
//! (`support::netns`), so its bridge, rules and traffic stay there.

mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::netns::Netns;
use support::*;

/// The address of container `name` on the default bridge.
fn bridge_ip(ns: &Netns, k: &Kiste, name: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(&ns.kiste_ok(k, &["inspect", name])).unwrap();
    v[0]["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn two_stores_starting_in_parallel_on_the_default_bridge_get_distinct_addresses() {
    let Some(ns) = Netns::new("stores") else {
        return;
    };
    let stores = [Kiste::new(), Kiste::new()];
    for k in &stores {
        k.busybox();
    }
    const N: usize = 5;
    let starts: Vec<_> = stores
        .iter()
        .flat_map(|k| (0..N).map(move |i| (k, format!("s{i}"))))
        .map(|(k, name)| {
            ns.kiste_cmd(
                k,
                &["run", "-d", "--name", &name, "busybox", "sleep", "300"],
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut s in starts {
        assert!(s.wait().unwrap().success());
    }
    let mut ips = BTreeSet::new();
    for k in &stores {
        for i in 0..N {
            let ip = bridge_ip(&ns, k, &format!("s{i}"));
            assert!(ips.insert(ip.clone()), "{ip} handed out twice: {ips:?}");
        }
        // A store sees only its own containers on the shared bridge.
        assert_eq!(ns.default_bridge_members(k).len(), N);
    }
    // Removing one store's containers releases only its own addresses.
    let names: Vec<String> = (0..N).map(|i| format!("s{i}")).collect();
    let mut rm = vec!["rm", "-f"];
    rm.extend(names.iter().map(String::as_str));
    ns.kiste_ok(&stores[0], &rm);
    assert!(ns.default_bridge_members(&stores[0]).is_empty());
    assert_eq!(ns.default_bridge_members(&stores[1]).len(), N);
    ns.kiste_ok(&stores[1], &rm);
    for k in &stores {
        ns.assert_clean(k, &[]);
    }
}

#[test]
fn rules_deleted_under_an_existing_bridge_are_made_again_by_the_next_first_member() {
    let Some(ns) = Netns::new("rules") else {
        return;
    };
    let Some(outside) = ns.outside_host("rout", "kt", "192.168.78.1/24", "192.168.78.2/24") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    outside.wait_heard_by(&ns, &k, &[]);
    // A reboot-like loss of the rules (or another tool): the bridge stays, the table goes;
    // the next first member makes them again, and NAT comes back.
    ns.sh("nft delete table ip kiste");
    assert!(ns.sh("ip -o link show kiste0").contains("kiste0"));
    outside.wait_heard_by(&ns, &k, &[]);
    let table = ns.sh("nft list table ip kiste");
    assert!(table.contains("masquerade"), "{table}");
    assert!(table.contains("chain kiste0-fwd"), "{table}");
    drop(outside);
    ns.assert_clean(&k, &["kt-up"]);
}

/// The host ends of container veths in the namespace.
fn veths(ns: &Netns) -> BTreeSet<String> {
    ns.sh("ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1")
        .lines()
        .filter(|l| l.starts_with("veth"))
        .map(str::to_string)
        .collect()
}

#[test]
fn after_a_simulated_reboot_the_old_containers_start_again_with_fresh_distinct_addresses() {
    let Some((ns, k)) = Netns::with_busybox("reboot") else {
        return;
    };
    ns.kiste_ok(&k, &["network", "create", "rb"]);
    let runs: [(&str, &[&str]); 4] = [
        ("b0", &[]),
        ("b1", &[]),
        ("b2", &[]),
        ("u0", &["--network", "rb"]),
    ];
    for (name, extra) in runs {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "sleep", "300"]);
        ns.kiste_ok(&k, &args);
    }
    let ids: Vec<String> = runs
        .iter()
        .map(|(n, _)| {
            ns.kiste_ok(&k, &["inspect", "-f", "{{.Id}}", n])
                .trim()
                .to_string()
        })
        .collect();
    // The "reboot": every monitor dies (its container with it, by its death signal), the
    // mounts go, the runroot (tmpfs) comes back empty; the bridges and the host-wide
    // allocation file stay.
    for id in &ids {
        let pid = k.monitor_pid(id);
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while process_alive(pid) {
            assert!(Instant::now() < deadline, "monitor {pid} never died");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let runroot = k.runroot();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut under: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(runroot.to_str().unwrap()))
        .collect();
    under.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in under {
        let _ = std::process::Command::new("umount")
            .args(["-l", m])
            .status();
    }
    for e in std::fs::read_dir(&runroot).unwrap().flatten() {
        std::fs::remove_dir_all(e.path()).unwrap();
    }
    assert!(
        !ns.default_bridge_members(&k).is_empty(),
        "the allocations were left"
    );
    ns.kiste_ok(&k, &["start", "--all"]);
    let mut ips = BTreeSet::new();
    for (name, _) in &runs[..3] {
        assert!(ips.insert(bridge_ip(&ns, &k, name)), "duplicate: {ips:?}");
    }
    let v: serde_json::Value = serde_json::from_str(&ns.kiste_ok(&k, &["inspect", "u0"])).unwrap();
    assert!(v[0]["NetworkSettings"]["Networks"]["rb"]["IPAddress"]
        .as_str()
        .is_some_and(|ip| !ip.is_empty()));
    let running = ns.kiste_ok(&k, &["ps", "-q"]);
    assert_eq!(running.lines().count(), 4, "{running}");
    // One veth per container, each the container's own: nothing stale.
    let deadline = Instant::now() + Duration::from_secs(10);
    let want: BTreeSet<String> = ids.iter().map(|id| format!("veth{}", &id[..11])).collect();
    while veths(&ns) != want {
        assert!(
            Instant::now() < deadline,
            "veths {:?}, want {want:?}",
            veths(&ns)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let names: Vec<&str> = runs.iter().map(|(n, _)| *n).collect();
    let mut rm = vec!["rm", "-f"];
    rm.extend(names);
    ns.kiste_ok(&k, &rm);
    ns.kiste_ok(&k, &["network", "rm", "rb"]);
    ns.assert_clean(&k, &[]);
}
