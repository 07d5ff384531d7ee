//! The default bridge as something every store of the host shares: addresses allocated
//! host-wide, rules made again when they went missing, and a reboot (an emptied runroot)
//! survived. Every test runs kiste inside a network namespace of its own
//! (`support::netns`), so its bridge, rules and traffic stay there.

mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
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
