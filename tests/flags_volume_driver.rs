//! `run`/`create --volume-driver`: `local` (docker's built-in driver, kiste's one) makes
//! the container's volumes as without the flag; another driver fails the create with
//! dockerd's plugin-not-found error (exit 125, nothing created) when a volume would be
//! made with it, and is only recorded when none would, as docker does.

mod support;

use std::process::Command;
use support::{docker, Kiste};

#[test]
fn volume_driver_local_works_and_an_unknown_one_fails_as_dockerd() {
    let k = Kiste::new();
    k.busybox();
    let out = k.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--volume-driver",
        "local",
        "-v",
        "vd-data:/d",
        "busybox",
        "sh",
        "-c",
        "echo hi > /d/f && cat /d/f",
    ]);
    assert_eq!(out, "hi\n");
    assert!(k.ok(&["volume", "ls", "-q"]).contains("vd-data"));

    let r = k.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--volume-driver",
        "nope",
        "-v",
        "vd-other:/d",
        "busybox",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let want = "create vd-other: error looking up volume plugin nope: plugin \"nope\" not found";
    assert_eq!(r.stderr.trim(), format!("Error: {want}"));
    assert!(
        !k.ok(&["volume", "ls", "-q"]).contains("vd-other"),
        "no volume made"
    );
    assert_eq!(k.ok(&["ps", "-aq"]), "", "no container made");
    // An anonymous volume is named by its generated name, as dockerd names it.
    let r = k.run(&["create", "--volume-driver", "nope", "-v", "/d", "busybox"]);
    assert_eq!(r.code, 125);
    assert!(r
        .stderr
        .contains(": error looking up volume plugin nope: plugin \"nope\" not found"));

    // Without a volume to make the driver is only recorded (docker's HostConfig.VolumeDriver).
    let id = k.ok(&["create", "--volume-driver", "nope", "busybox", "true"]);
    let v = k.inspect(id.trim());
    assert_eq!(v["HostConfig"]["VolumeDriver"], "nope");

    // dockerd's message for the same driver, from its volume service.
    docker::ensure_docker();
    let name = format!("vd-other-{}", std::process::id());
    let d = Command::new("docker")
        .args(["volume", "create", "-d", "nope", &name])
        .output()
        .unwrap();
    assert!(!d.status.success());
    let theirs = String::from_utf8_lossy(&d.stderr);
    assert_eq!(
        theirs.trim(),
        format!(
            "Error response from daemon: {}",
            want.replace("vd-other", &name)
        )
    );
}
