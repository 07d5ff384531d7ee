//! `--expose`: the ports land in the container's Config.ExposedPorts as docker records
//! them (compared with docker's engine), with the image's; `-P` publishes them too.

mod support;

use std::process::Command;
use support::*;

#[test]
fn expose_records_ports_as_docker_does_and_publish_all_publishes_them() {
    let k = Kiste::new();
    k.busybox();
    let flags = [
        "--expose",
        "80",
        "--expose",
        "53/udp",
        "--expose",
        "7000-7001",
    ];
    let mut args = vec!["create"];
    args.extend(flags);
    args.extend(["busybox", "true"]);
    let id = k.ok(&args);
    let ours = k.ok(&["inspect", "-f", "{{json .Config.ExposedPorts}}", id.trim()]);
    let ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
    assert_eq!(
        ours,
        serde_json::json!({"53/udp": {}, "7000/tcp": {}, "7001/tcp": {}, "80/tcp": {}})
    );
    // A bad one is refused before anything is made.
    let r = k.run(&["create", "--expose", "70000", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("\"--expose\""), "{}", r.stderr);
    assert_eq!(k.ok(&["ps", "-a", "-q"]).lines().count(), 1);

    // -P publishes what --expose adds.
    let id = k.ok(&[
        "run", "-d", "-P", "--expose", "8080", "busybox", "sleep", "30",
    ]);
    let port = k.ok(&["port", id.trim(), "8080/tcp"]);
    assert!(port.starts_with("0.0.0.0:"), "{port}");
    k.ok(&["rm", "-f", id.trim()]);

    if !have("docker") {
        return skip("docker is not installed: no comparison");
    }
    support::docker::ensure_docker();
    const NAME: &str = "kiste-flags-expose:1";
    k.ok(&["tag", "busybox", NAME]);
    let tar = k.dir.path().join("e.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), NAME]);
    assert!(Command::new("docker")
        .args(["load", "-q", "-i", tar.to_str().unwrap()])
        .status()
        .unwrap()
        .success());
    let mut dargs = vec!["create"];
    dargs.extend(flags);
    dargs.extend([NAME, "true"]);
    let out = Command::new("docker").args(&dargs).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let did = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let theirs = Command::new("docker")
        .args(["inspect", "-f", "{{json .Config.ExposedPorts}}", &did])
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rm", &did]).output();
    let _ = Command::new("docker").args(["rmi", NAME]).output();
    let theirs: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
    assert_eq!(ours, theirs);
}
