//! `volume create --opt` (docker's local driver: type, device, o): a tmpfs volume shared
//! by the containers that run with it and empty again once they are gone, a bind volume
//! (`o=bind`) that shows a host directory, `volume inspect`'s Options, and the options
//! docker's driver refuses, each compared with docker's engine.

mod support;
use std::process::Command;
use std::time::Duration;
use support::*;

/// `docker ARGS`.
fn docker(args: &[&str]) -> Run {
    docker::ensure_docker();
    Command::new("docker").args(args).output().unwrap().into()
}

/// A kiste store with busybox, and busybox in docker (kiste's, loaded) if it has none.
fn kiste_and_docker_busybox() -> Kiste {
    let k = Kiste::new();
    k.busybox();
    if docker(&["image", "inspect", "busybox"]).code != 0 {
        let tar = k.dir.path().join("busybox.tar");
        k.ok(&["save", "-o", tar.to_str().unwrap(), "busybox"]);
        let r = docker(&["load", "-i", tar.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    k
}

/// `volume create OPTS NAME` in kiste and in docker; both `volume inspect`s show the
/// same Options.
fn create_in_both(k: &Kiste, opts: &[&str], name: &str) {
    let create = [&["volume", "create"][..], opts, &[name]].concat();
    assert_eq!(k.ok(&create), format!("{name}\n"));
    let d = docker(&create);
    assert_eq!(d.code, 0, "{}", d.stderr);
    let options = |inspect: &str| -> serde_json::Value {
        serde_json::from_str::<serde_json::Value>(inspect).unwrap()[0]["Options"].clone()
    };
    let ours = k.ok(&["volume", "inspect", name]);
    let theirs = docker(&["volume", "inspect", name]);
    assert_eq!(options(&ours), options(&theirs.stdout));
}

/// The /proc/mounts line of `/v` in a container, without the source's name.
const SHOW_V: &str = "grep ' /v ' /proc/mounts | cut -d' ' -f2-";

#[test]
fn a_tmpfs_volume_is_mounted_with_its_options_shared_while_used_and_empty_after() {
    let k = kiste_and_docker_busybox();
    let name = format!("kiste-tmpfs-{}", std::process::id());
    let opts = [
        "--opt=type=tmpfs",
        "--opt=device=tmpfs",
        "--opt=o=size=10m,uid=1000,nosuid",
    ];
    create_in_both(&k, &opts, &name);

    let vol = format!("{name}:/v");
    let mount_line = k.ok(&["run", "--rm", "-v", &vol, "busybox", "sh", "-c", SHOW_V]);
    let d = docker(&["run", "--rm", "-v", &vol, "busybox", "sh", "-c", SHOW_V]);
    assert_eq!(mount_line, d.stdout, "{}", d.stderr);
    assert!(mount_line.starts_with("/v tmpfs "), "{mount_line}");

    // Two containers running with it share the one file system.
    k.ok(&[
        "run",
        "-d",
        "--name",
        "holder",
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo kept > /v/f; sleep 300",
    ]);
    wait_until("the holder's file", Duration::from_secs(10), || {
        k.run(&["exec", "holder", "cat", "/v/f"]).stdout == "kept\n"
    });
    assert_eq!(
        k.ok(&["run", "--rm", "-v", &vol, "busybox", "cat", "/v/f"]),
        "kept\n"
    );
    // Once the last one is gone it is unmounted: the next container starts empty, as in docker.
    k.ok(&["stop", "-t", "0", "holder"]);
    k.ok(&["rm", "holder"]);
    assert_eq!(
        k.ok(&["run", "--rm", "-v", &vol, "busybox", "ls", "-A", "/v"]),
        ""
    );
    docker(&[
        "run",
        "--rm",
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo x > /v/f",
    ]);
    let d = docker(&["run", "--rm", "-v", &vol, "busybox", "ls", "-A", "/v"]);
    assert_eq!(d.stdout, "");
    let data = k.root().join("volumes").join(&name).join("_data");
    assert!(
        !k.mounts().iter().any(|m| m == data.to_str().unwrap()),
        "{:?}",
        k.mounts()
    );
    k.ok(&["volume", "rm", &name]);
    docker(&["volume", "rm", &name]);
}

#[test]
fn a_bind_volume_shows_its_host_directory_and_a_missing_one_fails_to_mount_as_in_docker() {
    let k = kiste_and_docker_busybox();
    let host = k.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("from-host"), "hello\n").unwrap();
    let device = format!("--opt=device={}", host.display());
    let name = format!("kiste-bind-{}", std::process::id());
    create_in_both(&k, &["--opt=type=none", &device, "--opt=o=bind"], &name);
    let vol = format!("{name}:/v");
    let script = "cat /v/from-host; echo back > /v/from-kiste";
    assert_eq!(
        k.ok(&["run", "--rm", "-v", &vol, "busybox", "sh", "-c", script]),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(host.join("from-kiste")).unwrap(),
        "back\n"
    );
    let d = docker(&["run", "--rm", "-v", &vol, "busybox", "cat", "/v/from-kiste"]);
    assert_eq!(d.stdout, "back\n", "{}", d.stderr);
    // Removing the volume leaves the host directory alone.
    k.ok(&["volume", "rm", &name]);
    docker(&["volume", "rm", &name]);
    assert!(host.join("from-host").exists() && host.join("from-kiste").exists());

    // A device that does not exist: made, then refused at run with docker's words.
    let gone = format!("--opt=device={}", k.dir.path().join("missing").display());
    create_in_both(&k, &["--opt=type=none", &gone, "--opt=o=bind"], &name);
    let r = k.run(&["run", "--rm", "-v", &vol, "busybox", "true"]);
    let d = docker(&["run", "--rm", "-v", &vol, "busybox", "true"]);
    docker(&["volume", "rm", &name]);
    assert_ne!(r.code, 0);
    let tail = |s: &str| {
        s.split("failed to mount local volume: ")
            .nth(1)
            .and_then(|t| t.lines().next())
            .map(|t| t.replace("/var/lib/docker/volumes", "VOLUMES"))
            .unwrap_or_else(|| panic!("{s}"))
    };
    let ours = tail(&r.stderr).replace(&k.root().join("volumes").display().to_string(), "VOLUMES");
    assert_eq!(ours, tail(&d.stderr));
    assert!(
        ours.ends_with(", flags: 0x1000: no such file or directory"),
        "{ours}"
    );
}

#[test]
fn volume_create_refuses_the_options_dockers_local_driver_refuses() {
    let k = Kiste::new();
    for (i, opts) in [
        &["--opt", "foo=bar"][..],
        &["--opt", "type=tmpfs"],
        &["--opt", "device=/tmp", "--opt", "o=bind"],
        &["--opt", "o=size=1m"],
        &["--opt", "size=1m"],
    ]
    .iter()
    .enumerate()
    {
        let name = format!("kiste-badopt-{}-{i}", std::process::id());
        let args = [&["volume", "create"][..], opts, &[&name]].concat();
        let r = k.run(&args);
        let d = docker(&args);
        assert_eq!((r.code, d.code), (1, 1), "{opts:?}: {}", d.stdout);
        assert_eq!(
            r.stderr
                .trim()
                .strip_prefix("Error: ")
                .unwrap_or(r.stderr.trim()),
            d.stderr
                .trim()
                .strip_prefix("Error response from daemon: ")
                .unwrap(),
            "{opts:?}"
        );
        assert!(k.run(&["volume", "inspect", &name]).code != 0);
    }
    // size=0 asks for no quota: accepted by both.
    let name = format!("kiste-size0-{}", std::process::id());
    k.ok(&["volume", "create", "--opt", "size=0", &name]);
    assert_eq!(
        docker(&["volume", "create", "--opt", "size=0", &name]).code,
        0
    );
    docker(&["volume", "rm", &name]);
}
