//! Managed plugins without a daemon: `plugin create|enable|ls|inspect|disable|rm|set` and
//! a volume plugin used by `volume create -d` and `run -v`, compared with dockerd 20.10
//! driving the same plugin (tests/fixtures/volume-plugin, built static with musl).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::Kiste;

/// The fixture plugin's binary (built once per test binary run, into target/).
fn fixture_binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target/fixture-volume-plugin");
    let status = Command::new("cargo")
        .args([
            "build",
            "-q",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
        ])
        .arg("--manifest-path")
        .arg(root.join("tests/fixtures/volume-plugin/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .ok()?;
    status
        .success()
        .then(|| target.join("x86_64-unknown-linux-musl/release/volume-plugin"))
}

/// A plugin DIR (config.json + rootfs) whose plugin logs its calls into `calls/log`.
fn plugin_dir(base: &Path, binary: &Path) -> (PathBuf, PathBuf) {
    let dir = base.join("plugin");
    let calls = base.join("calls");
    for d in ["rootfs/bin", "rootfs/run/docker/plugins", "rootfs/data"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::create_dir_all(&calls).unwrap();
    std::fs::copy(binary, dir.join("rootfs/bin/volume-plugin")).unwrap();
    let config = serde_json::json!({
        "Description": "kiste test volume plugin",
        "Documentation": "https://example.invalid/kvol",
        "Interface": {"Types": ["docker.volumedriver/1.0"], "Socket": "kvol.sock"},
        "Entrypoint": ["/bin/volume-plugin", "/run/docker/plugins/kvol.sock", "/data", "/calls/log"],
        "Env": [{"Name": "DEBUG", "Description": "debug", "Settable": ["value"], "Value": "0"}],
        "Network": {"Type": "host"},
        "PropagatedMount": "/data",
        "Mounts": [{"Name": "calls", "Description": "call log", "Source": calls,
                    "Destination": "/calls", "Type": "bind", "Options": ["rbind"],
                    "Settable": ["source"]}],
        "Linux": {"Capabilities": ["CAP_SYS_ADMIN"]}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    (dir, calls.join("log"))
}

/// The calls that change or use a volume (Create, Mount, Unmount, Remove), in order:
/// the look-ups (Get, List, Capabilities) and probes differ between clients.
fn volume_calls(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| {
            ["Create", "Mount", "Unmount", "Remove"]
                .iter()
                .any(|m| l.starts_with(&format!("VolumeDriver.{m} ")))
        })
        .map(String::from)
        .collect()
}

/// Every key path of a JSON value ("Config.Interface.Socket").
fn keys(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Some(m) = v.as_object() {
        for (k, x) in m {
            let p = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.insert(p.clone());
            keys(x, &p, out);
        }
    }
}

/// The steps both engines take; what each printed for `plugin ls`, `inspect`, and the
/// refused `disable`.
struct Seen {
    ls_header: String,
    inspect_keys: BTreeSet<String>,
    volume: serde_json::Value,
    read_back: String,
    disable_in_use: (i32, String),
    calls: Vec<String>,
}

/// The volume both engines make (the same name, so that the calls compare).
const VOLUME: &str = "kiste-plugin-test-vol";

fn drive(cli: &dyn Fn(&[&str]) -> support::Run, name: &str, dir: &Path, log: &Path) -> Seen {
    let ok = |a: &[&str]| {
        let r = cli(a);
        assert_eq!(r.code, 0, "{a:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    };
    let vol = VOLUME;
    assert_eq!(
        ok(&["plugin", "create", name, dir.to_str().unwrap()]).trim(),
        name
    );
    ok(&["plugin", "enable", name]);
    let ls = ok(&["plugin", "ls"]);
    let inspect: serde_json::Value =
        serde_json::from_str(&ok(&["plugin", "inspect", name])).unwrap();
    let mut inspect_keys = BTreeSet::new();
    keys(&inspect[0], "", &mut inspect_keys);
    ok(&["volume", "create", "-d", name, vol]);
    let volume: serde_json::Value = serde_json::from_str(&ok(&["volume", "inspect", vol])).unwrap();
    let mount = format!("{vol}:/x");
    ok(&[
        "run",
        "--rm",
        "-v",
        &mount,
        "busybox",
        "sh",
        "-c",
        "echo from-writer > /x/f",
    ]);
    let read_back = ok(&["run", "--rm", "-v", &mount, "busybox", "cat", "/x/f"]);
    let refused = cli(&["plugin", "disable", name]);
    ok(&["volume", "rm", vol]);
    ok(&["plugin", "disable", name]);
    ok(&["plugin", "rm", name]);
    Seen {
        ls_header: ls
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        inspect_keys,
        volume: volume[0].clone(),
        read_back,
        disable_in_use: (refused.code, refused.stderr),
        calls: volume_calls(log),
    }
}

#[test]
fn volume_plugin_serves_containers_and_matches_dockers_calls() {
    let Some(binary) = fixture_binary() else {
        return support::skip("the musl target cannot build the fixture plugin");
    };
    support::docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let (kdir, klog) = plugin_dir(&k.dir.path().join("k"), &binary);
    let kiste = |a: &[&str]| k.run(a);
    let seen = drive(&kiste, "kvol", &kdir, &klog);

    let ddir_base = k.dir.path().join("d");
    let (ddir, dlog) = plugin_dir(&ddir_base, &binary);
    let dname = format!("kiste-test-kvol-{}", std::process::id());
    let docker =
        |a: &[&str]| -> support::Run { Command::new("docker").args(a).output().unwrap().into() };
    let theirs = drive(&docker, &dname, &ddir, &dlog);
    // Whatever happened above, docker's plugin goes.
    let _ = Command::new("docker")
        .args(["plugin", "rm", "-f", &dname])
        .output();

    assert_eq!(seen.read_back.trim(), "from-writer");
    assert_eq!(theirs.read_back.trim(), "from-writer");
    assert_eq!(seen.ls_header, theirs.ls_header);
    assert_eq!(seen.inspect_keys, theirs.inspect_keys);
    assert_eq!(seen.volume["Driver"], "kvol:latest");
    assert_eq!(theirs.volume["Driver"], format!("{dname}:latest"));
    for field in ["Mountpoint", "Status", "Scope", "Options"] {
        assert_eq!(
            seen.volume[field], theirs.volume[field],
            "volume inspect {field}"
        );
    }
    assert_eq!(seen.disable_in_use.0, theirs.disable_in_use.0);
    assert!(
        seen.disable_in_use
            .1
            .contains("plugin kvol:latest is in use"),
        "{}",
        seen.disable_in_use.1
    );
    assert!(
        theirs.disable_in_use.1.contains("is in use"),
        "{}",
        theirs.disable_in_use.1
    );
    // The same driver calls in the same order: Create, then a Mount and Unmount with the
    // container's id for each container, then Remove.
    assert_eq!(seen.calls, theirs.calls);
    assert_eq!(
        seen.calls,
        [
            "VolumeDriver.Create kiste-plugin-test-vol -",
            "VolumeDriver.Mount kiste-plugin-test-vol id",
            "VolumeDriver.Unmount kiste-plugin-test-vol id",
            "VolumeDriver.Mount kiste-plugin-test-vol id",
            "VolumeDriver.Unmount kiste-plugin-test-vol id",
            "VolumeDriver.Remove kiste-plugin-test-vol -",
        ]
    );
    assert_eq!(
        k.run(&["ps", "-aq"]).stdout.trim(),
        "",
        "plugins are not containers of ps"
    );
}
