//! `network ls` and `network inspect` against docker's for a created network: the same
//! columns, the same field names in the same order, the same value shapes; and
//! `--mac-address` as the container itself sees it. kiste runs in a network namespace of
//! its own (`support::netns`).

mod support;

use serde_json::Value;
use support::docker::ensure_docker;
use support::netns::Netns;
use support::*;

/// The shape of a JSON value: object keys in printed order (with their shapes), the shape
/// of an array's first element, the type of a scalar.
fn shape(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", shape(v))).collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!("[{}]", a.first().map(shape).unwrap_or_default()),
        Value::String(_) => "s".into(),
        Value::Number(_) => "n".into(),
        Value::Bool(_) => "b".into(),
        Value::Null => "null".into(),
    }
}

/// Parses `text` keeping the printed key order (serde_json's `Value` would sort it).
fn keys_in_order(text: &str) -> Vec<String> {
    // Every `"Key": ` at the start of a line, in document order.
    text.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let rest = t.strip_prefix('"')?;
            let end = rest.find("\": ")?;
            Some(rest[..end].to_string())
        })
        .collect()
}

fn docker(args: &[&str]) -> String {
    String::from_utf8(checked_output(
        std::process::Command::new("docker").args(args),
    ))
    .unwrap()
}

#[test]
fn network_ls_and_inspect_show_dockers_columns_and_fields_in_dockers_order() {
    let Some(ns) = Netns::new("parity") else {
        return;
    };
    ensure_docker();
    let name = format!("kt-parity-{}", std::process::id());
    docker(&["network", "create", &name]);
    let d_inspect = docker(&["network", "inspect", &name]);
    let d_ls = docker(&["network", "ls", "--filter", &format!("name={name}")]);
    let d_json = docker(&[
        "network",
        "ls",
        "--filter",
        &format!("name={name}"),
        "--format",
        "{{json .}}",
    ]);
    docker(&["network", "rm", &name]);

    let k = Kiste::new();
    ns.kiste_ok(&k, &["network", "create", &name]);
    let k_inspect = ns.kiste_ok(&k, &["network", "inspect", &name]);
    let k_ls = ns.kiste_ok(&k, &["network", "ls", "--filter", &format!("name={name}")]);
    let k_json = ns.kiste_ok(
        &k,
        &[
            "network",
            "ls",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{json .}}",
        ],
    );

    // The same fields, nested the same way, printed in the same order and indentation.
    let (dv, kv): (Value, Value) = (
        serde_json::from_str(&d_inspect).unwrap(),
        serde_json::from_str(&k_inspect).unwrap(),
    );
    assert_eq!(
        shape(&kv),
        shape(&dv),
        "kiste:\n{k_inspect}\ndocker:\n{d_inspect}"
    );
    let d_keys = keys_in_order(&d_inspect);
    assert_eq!(keys_in_order(&k_inspect), d_keys);
    let indent =
        |s: &str| s.lines().nth(2).unwrap().len() - s.lines().nth(2).unwrap().trim_start().len();
    assert_eq!(indent(&k_inspect), indent(&d_inspect));
    // Time stamps in docker's two formats.
    let created = kv[0]["Created"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
    // `network ls`: the same header and the same row shape; the same `{{json .}}` fields.
    assert_eq!(k_ls.lines().next(), d_ls.lines().next());
    assert_eq!(k_ls.lines().count(), 2, "{k_ls}");
    let row: Vec<&str> = k_ls.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[1..], &[name.as_str(), "bridge", "local"]);
    let (dj, kj): (Value, Value) = (
        serde_json::from_str(d_json.trim()).unwrap(),
        serde_json::from_str(k_json.trim()).unwrap(),
    );
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&kj), keys(&dj));
    let go_time = |v: &Value| {
        let t = v["CreatedAt"].as_str().unwrap().to_string();
        (
            t.len() > 20 && t.ends_with(" +0000 UTC") && t.as_bytes()[10] == b' ',
            t,
        )
    };
    assert!(
        go_time(&kj).0,
        "{:?} vs docker's {:?}",
        go_time(&kj).1,
        go_time(&dj).1
    );
    ns.kiste_ok(&k, &["network", "rm", &name]);
}

#[test]
fn a_containers_endpoint_in_network_inspect_has_dockers_fields_and_its_chosen_mac() {
    let Some(ns) = Netns::new("mac") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    ns.kiste_ok(&k, &["network", "create", "macnet"]);
    let mac = "02:11:22:33:44:55";
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "macc",
            "--network",
            "macnet",
            "--mac-address",
            mac,
            "busybox",
            "sh",
            "-c",
            "cat /sys/class/net/eth0/address; sleep 300",
        ],
    );
    // What the container itself sees on its interface.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let seen = ns.kiste_ok(&k, &["logs", "macc"]);
        if !seen.is_empty() {
            assert_eq!(seen.trim(), mac);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no output");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = ns.kiste_ok(&k, &["network", "inspect", "macnet"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let id = ns.kiste_ok(&k, &["inspect", "-f", "{{.Id}}", "macc"]);
    let ep = &v[0]["Containers"][id.trim()];
    assert_eq!(
        keys_in_order(&out)
            .into_iter()
            .skip_while(|k| k != "Containers")
            .skip(2)
            .take(5)
            .collect::<Vec<_>>(),
        [
            "Name",
            "EndpointID",
            "MacAddress",
            "IPv4Address",
            "IPv6Address"
        ]
    );
    assert_eq!(ep["Name"], "macc");
    assert_eq!(ep["MacAddress"], mac);
    assert!(ep["IPv4Address"].as_str().unwrap().ends_with("/24"), "{ep}");
    let c = k.inspect("macc");
    assert_eq!(
        c["NetworkSettings"]["Networks"]["macnet"]["MacAddress"],
        mac
    );
    ns.kiste_ok(&k, &["rm", "-f", "macc"]);
    ns.kiste_ok(&k, &["network", "rm", "macnet"]);
    ns.assert_clean(&k, &[]);
}
