//! The driver, labels and options a container's volumes are made with: `--volume-driver`
//! naming a volume plugin, and `--mount`'s volume-driver, volume-label and volume-opt keys
//! (with the local driver compared with dockerd 20.10, and with the fixture plugin).

mod support;

use support::docker::{docker, docker_busybox, ensure_docker};
use support::plugin::{fixture_binary, plugin_dir, volume_calls};
use support::Kiste;

/// `volume inspect NAME` of kiste, the one object.
fn volume(k: &Kiste, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&k.ok(&["volume", "inspect", name])).unwrap();
    v[0].clone()
}

#[test]
fn volume_driver_and_mount_keys_make_volumes_with_a_plugin() {
    let Some(binary) = fixture_binary() else {
        return support::skip("the musl target cannot build the fixture plugin");
    };
    let k = Kiste::new();
    k.busybox();
    let (dir, log) = plugin_dir(&k.dir.path().join("p"), &binary);
    k.ok(&["plugin", "create", "kvol", dir.to_str().unwrap()]);
    k.ok(&["plugin", "enable", "kvol"]);

    // --volume-driver: the -v volume is made by the plugin, used, and given back.
    k.ok(&[
        "run",
        "--rm",
        "--volume-driver",
        "kvol",
        "-v",
        "kvd-one:/d",
        "busybox",
        "sh",
        "-c",
        "echo through-plugin > /d/f",
    ]);
    let v = volume(&k, "kvd-one");
    assert_eq!(v["Driver"], "kvol:latest");
    assert_eq!(
        k.ok(&["run", "--rm", "-v", "kvd-one:/d", "busybox", "cat", "/d/f"])
            .trim(),
        "through-plugin"
    );

    // --mount with volume-driver, volume-label and volume-opt.
    k.ok(&[
        "run",
        "--rm",
        "--mount",
        "type=volume,src=kvd-two,dst=/d,volume-driver=kvol,volume-label=team=blue,volume-opt=size=7",
        "busybox",
        "true",
    ]);
    let v = volume(&k, "kvd-two");
    assert_eq!(v["Driver"], "kvol:latest");
    assert_eq!(v["Labels"]["team"], "blue");
    assert_eq!(v["Options"]["size"], "7");
    let calls = volume_calls(&log);
    for want in [
        "VolumeDriver.Create kvd-one -",
        "VolumeDriver.Create kvd-two -",
        "VolumeDriver.Mount kvd-two id",
        "VolumeDriver.Unmount kvd-two id",
    ] {
        assert!(calls.iter().any(|c| c == want), "{want} in {calls:?}");
    }

    // A driver the store lacks: dockerd's words, exit 125, no container and no volume.
    let r = k.run(&[
        "run",
        "--rm",
        "--volume-driver",
        "nosuch",
        "-v",
        "kvd-three:/d",
        "busybox",
        "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("error looking up volume plugin nosuch: plugin \"nosuch\" not found"),
        "{}",
        r.stderr
    );
    let r = k.run(&[
        "create",
        "--mount",
        "type=volume,src=kvd-four,dst=/d,volume-driver=nosuch",
        "busybox",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(k.ok(&["ps", "-aq"]).trim(), "");
    let vols = k.ok(&["volume", "ls", "-q"]);
    assert!(
        !vols.contains("kvd-three") && !vols.contains("kvd-four"),
        "{vols}"
    );

    k.ok(&["volume", "rm", "kvd-one", "kvd-two"]);
    k.ok(&["plugin", "disable", "kvol"]);
    k.ok(&["plugin", "rm", "kvol"]);
}

#[test]
fn mount_volume_options_make_a_local_volume_as_docker_does() {
    ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let image = docker_busybox(&k, "kiste-test-volume-drivers:bb");
    let name = format!("kiste-vd-{}", std::process::id());
    let spec = format!(
        "type=volume,src={name},dst=/d,volume-driver=local,volume-label=team=blue,\
         volume-opt=type=tmpfs,volume-opt=device=tmpfs,volume-opt=o=size=1m"
    );
    let script = "grep ' /d ' /proc/mounts | cut -d' ' -f1,3";
    let ours = k.ok(&[
        "run", "--rm", "--mount", &spec, "busybox", "sh", "-c", script,
    ]);
    let theirs = docker(&["run", "--rm", "--mount", &spec, image, "sh", "-c", script]);
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);
    assert_eq!(ours.trim(), "tmpfs tmpfs");
    assert_eq!(ours, theirs.stdout);

    let mine = volume(&k, &name);
    let docker_vol: serde_json::Value =
        serde_json::from_str(&docker(&["volume", "inspect", &name]).stdout).unwrap();
    for field in ["Driver", "Labels", "Options", "Scope"] {
        assert_eq!(mine[field], docker_vol[0][field], "volume inspect {field}");
    }

    // The container's HostConfig.Mounts keep the keys as docker's VolumeOptions.
    let cname = format!("{name}-c");
    k.ok(&["create", "--name", &cname, "--mount", &spec, "busybox"]);
    let r = docker(&["create", "--name", &cname, "--mount", &spec, image]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d: serde_json::Value = serde_json::from_str(&docker(&["inspect", &cname]).stdout).unwrap();
    let o = k.inspect(&cname);
    assert_eq!(
        o["HostConfig"]["Mounts"][0]["VolumeOptions"],
        d[0]["HostConfig"]["Mounts"][0]["VolumeOptions"]
    );

    // volume-* keys on a bind mount: refused as docker refuses them.
    let bad = "type=bind,src=/tmp,dst=/d,volume-opt=a=b";
    let ours = k.run(&["create", "--mount", bad, "busybox"]);
    let theirs = docker(&["create", "--mount", bad, image]);
    assert_eq!(ours.code, 125);
    assert_eq!(ours.code, theirs.code, "{}", theirs.stderr);
    for r in [&ours, &theirs] {
        assert!(
            r.stderr
                .contains("cannot mix 'volume-*' options with mount type 'bind'"),
            "{}",
            r.stderr
        );
    }

    let _ = docker(&["rm", "-f", &cname]);
    let _ = docker(&["volume", "rm", &name]);
    let _ = docker(&["rmi", image]);
}
