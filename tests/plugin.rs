//! Managed plugins without a daemon: `plugin create|enable|ls|inspect|disable|rm|set` and
//! a volume plugin used by `volume create -d` and `run -v`, compared with dockerd 20.10
//! driving the same plugin (tests/fixtures/volume-plugin, built static with musl).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use support::plugin::{fixture_binary, plugin_dir, volume_calls};
use support::Kiste;

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

#[test]
fn plugin_verbs_list_inspect_set_enable_and_disable() {
    let Some(binary) = fixture_binary() else {
        return support::skip("the musl target cannot build the fixture plugin");
    };
    let k = Kiste::new();
    let (dir, _log) = plugin_dir(&k.dir.path().join("p"), &binary);
    let dir = dir.to_str().unwrap();
    k.ok(&["plugin", "create", "kvol", dir]);
    k.ok(&["plugin", "create", "other:v2", dir]);
    let id = k
        .ok(&["plugin", "inspect", "-f", "{{.Id}}", "kvol"])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64);
    assert_eq!(
        k.ok(&[
            "plugin",
            "inspect",
            "--format",
            "{{.Name}} {{.Enabled}}",
            &id[..8]
        ])
        .trim(),
        "kvol:latest false"
    );
    // `set` on a disabled plugin: a settable Env and a settable mount source.
    let elsewhere = k.dir.path().join("calls2");
    std::fs::create_dir_all(&elsewhere).unwrap();
    k.ok(&[
        "plugin",
        "set",
        "kvol",
        "DEBUG=1",
        &format!("calls.source={}", elsewhere.display()),
    ]);
    let settings = k.ok(&["plugin", "inspect", "-f", "{{json .Settings}}", "kvol"]);
    assert!(settings.contains("\"DEBUG=1\""), "{settings}");
    assert!(settings.contains(elsewhere.to_str().unwrap()), "{settings}");
    let refused = k.run(&["plugin", "set", "kvol", "PATH=/x"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    k.ok(&["plugin", "enable", "--timeout", "20", "kvol"]);
    // The plugin got its settings: it logs into the new mount source.
    support::wait_until(
        "the plugin's probe in its log",
        std::time::Duration::from_secs(10),
        || k.run(&["volume", "create", "-d", "kvol", "probe"]).code == 0,
    );
    assert!(std::fs::read_to_string(elsewhere.join("log"))
        .unwrap()
        .contains("VolumeDriver.Create probe"));
    let q = k.ok(&["plugin", "ls", "-q"]);
    assert_eq!(q.lines().count(), 2);
    assert!(q.lines().all(|l| l.len() == 12), "{q}");
    let full = k.ok(&["plugin", "ls", "-q", "--no-trunc"]);
    assert!(full.lines().any(|l| l == id), "{full}");
    assert_eq!(
        k.ok(&[
            "plugin",
            "ls",
            "-f",
            "enabled=true",
            "--format",
            "{{.Name}}"
        ])
        .trim(),
        "kvol:latest"
    );
    assert_eq!(
        k.ok(&[
            "plugin",
            "ls",
            "-f",
            "enabled=false",
            "--format",
            "{{.Name}}"
        ])
        .trim(),
        "other:v2"
    );
    assert_eq!(
        k.ok(&["plugin", "ls", "-f", "capability=volumedriver", "-q"])
            .lines()
            .count(),
        2
    );
    assert_eq!(
        k.ok(&["plugin", "ls", "-f", "capability=networkdriver", "-q"])
            .trim(),
        ""
    );
    let bad = k.run(&["plugin", "ls", "-f", "enabled=maybe"]);
    assert_eq!(
        (
            bad.code,
            bad.stderr.contains("Invalid filter 'enabled=[maybe]'")
        ),
        (1, true),
        "{}",
        bad.stderr
    );
    // In use (its volume exists): refused without -f, as dockerd refuses it.
    let in_use = k.run(&["plugin", "disable", "kvol"]);
    assert_eq!(in_use.code, 1);
    assert!(
        in_use.stderr.contains("plugin kvol:latest is in use"),
        "{}",
        in_use.stderr
    );
    let enabled = k.run(&["plugin", "rm", "kvol"]);
    assert_eq!(
        enabled.code, 1,
        "an enabled plugin is not removed without -f"
    );
    k.ok(&["plugin", "disable", "-f", "kvol"]);
    assert_eq!(
        k.ok(&["plugin", "ls", "-f", "enabled=true", "-q"]).trim(),
        ""
    );
    k.ok(&["plugin", "enable", "kvol"]);
    k.ok(&["plugin", "rm", "-f", "kvol"]);
    k.ok(&["plugin", "rm", "other:v2"]);
    assert_eq!(k.ok(&["plugin", "ls", "-q"]).trim(), "");
    let socket_dirs = std::fs::read_dir(k.runroot().join("plugins"))
        .unwrap()
        .count();
    assert_eq!(
        socket_dirs, 1,
        "only the engine's store is left in the runroot"
    );
}

#[test]
fn bad_config_and_rootfs_escape_are_refused_with_nothing_left() {
    let Some(binary) = fixture_binary() else {
        return support::skip("the musl target cannot build the fixture plugin");
    };
    let k = Kiste::new();
    let (dir, _log) = plugin_dir(&k.dir.path().join("p"), &binary);
    let config = dir.join("config.json");
    let good = std::fs::read_to_string(&config).unwrap();
    let refused = |what: &str| {
        let r = k.run(&["plugin", "create", "bad", dir.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{what}: {}{}", r.stdout, r.stderr);
        r.stderr
    };
    std::fs::write(&config, "{not json").unwrap();
    assert!(refused("malformed").contains("invalid config.json"));
    std::fs::write(&config, good.replace("\"kvol.sock\"", "\"\"")).unwrap();
    assert!(refused("no socket").contains("Interface.Socket"));
    std::fs::write(&config, good.replace("CAP_SYS_ADMIN", "CAP_NOPE")).unwrap();
    assert!(refused("unknown capability").contains("CAP_NOPE"));
    // config.json as a symlink out of DIR: resolved inside DIR, where nothing is.
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &config).unwrap();
    refused("config.json symlink");
    std::fs::remove_file(&config).unwrap();
    std::fs::write(&config, &good).unwrap();
    // rootfs as a symlink to the host's root, then a rootfs whose link points out.
    let rootfs = dir.join("rootfs");
    std::fs::rename(&rootfs, dir.join("real-rootfs")).unwrap();
    std::os::unix::fs::symlink("/", &rootfs).unwrap();
    assert!(refused("rootfs symlink").contains("not a directory"));
    std::fs::remove_file(&rootfs).unwrap();
    std::fs::rename(dir.join("real-rootfs"), &rootfs).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", rootfs.join("leak")).unwrap();
    k.ok(&["plugin", "create", "linked", dir.to_str().unwrap()]);
    let id = k
        .ok(&["plugin", "inspect", "-f", "{{.Id}}", "linked"])
        .trim()
        .to_string();
    let copied = k.root().join("plugins").join(&id).join("rootfs/leak");
    assert_eq!(
        std::fs::read_link(&copied).unwrap(),
        Path::new("/etc/shadow"),
        "the link is copied as a link"
    );
    k.ok(&["plugin", "rm", "linked"]);
    let left: Vec<_> = std::fs::read_dir(k.root().join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "lock")
        .collect();
    assert!(left.is_empty(), "nothing is left behind: {left:?}");
}

#[test]
fn plugin_push_install_and_upgrade_through_a_local_registry() {
    let Some(binary) = fixture_binary() else {
        return support::skip("the musl target cannot build the fixture plugin");
    };
    let k = Kiste::new();
    let Some(reg) = support::registry::Registry::start(&k.dir.path().join("reg"), "", "") else {
        return support::skip("docker-registry is not installed");
    };
    let (dir, _log) = plugin_dir(&k.dir.path().join("p"), &binary);
    let name = format!("{}/test/kvol:1", reg.host());
    k.ok(&["plugin", "create", &name, dir.to_str().unwrap()]);
    let pushed = k.ok(&["plugin", "push", "--disable-content-trust", &name]);
    assert!(pushed.contains("1: digest: sha256:"), "{pushed}");
    let (manifest, _) = reg.get_json(
        "/v2/test/kvol/manifests/1",
        "application/vnd.docker.distribution.manifest.v2+json",
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.docker.plugin.v1+json"
    );
    k.ok(&["plugin", "rm", &name]);

    // Without --grant-all-permissions and without a terminal: refused, privileges listed.
    let refused = k.run(&["plugin", "install", &name]);
    assert_eq!(refused.code, 1, "{}{}", refused.stdout, refused.stderr);
    assert!(
        refused.stdout.contains(" - network: [host]"),
        "{}",
        refused.stdout
    );
    assert!(
        refused.stdout.contains(" - capabilities: [CAP_SYS_ADMIN]"),
        "{}",
        refused.stdout
    );
    assert_eq!(
        k.ok(&["plugin", "ls", "-q"]).trim(),
        "",
        "nothing is installed"
    );

    k.ok(&[
        "plugin",
        "install",
        "--grant-all-permissions",
        "--disable-content-trust",
        "--alias",
        "kv",
        "--disable",
        &name,
        "DEBUG=1",
    ]);
    let inspect = k.ok(&[
        "plugin",
        "inspect",
        "-f",
        "{{.Name}} {{.Enabled}} {{.PluginReference}} {{json .Settings.Env}}",
        "kv",
    ]);
    assert_eq!(
        inspect.trim(),
        format!("kv:latest false {name} [\"DEBUG=1\"]")
    );
    k.ok(&["plugin", "enable", "kv"]);
    k.ok(&["volume", "create", "-d", "kv", "from-registry"]);
    assert_eq!(k.ok(&["volume", "ls", "-q"]).trim(), "from-registry");
    k.ok(&["volume", "rm", "from-registry"]);
    k.ok(&["plugin", "disable", "kv"]);

    // upgrade: the same repository by default; another one only with --skip-remote-check.
    let other = format!("{}/test/other:1", reg.host());
    // --compress keeps the gzip layer at create; push sends exactly those bytes.
    k.ok(&[
        "plugin",
        "create",
        "--compress",
        &other,
        dir.to_str().unwrap(),
    ]);
    let other_id = k
        .ok(&["plugin", "inspect", "-f", "{{.Id}}", &other])
        .trim()
        .to_string();
    let kept = std::fs::read(
        k.root()
            .join("plugins")
            .join(&other_id)
            .join("rootfs.tar.gz"),
    )
    .unwrap();
    assert_eq!(&kept[..2], b"\x1f\x8b", "a gzip stream");
    k.ok(&["plugin", "push", &other]);
    let (other_manifest, _) = reg.get_json(
        "/v2/test/other/manifests/1",
        "application/vnd.docker.distribution.manifest.v2+json",
    );
    assert_eq!(
        other_manifest["layers"][0]["digest"],
        support::registry::sha256(&kept)
    );
    let mismatch = k.run(&["plugin", "upgrade", "--grant-all-permissions", "kv", &other]);
    assert_eq!(mismatch.code, 1, "{}", mismatch.stderr);
    k.ok(&[
        "plugin",
        "upgrade",
        "--grant-all-permissions",
        "--disable-content-trust",
        "--skip-remote-check",
        "kv",
        &other,
    ]);
    assert_eq!(
        k.ok(&["plugin", "inspect", "-f", "{{.PluginReference}}", "kv"])
            .trim(),
        other
    );
    k.ok(&["plugin", "enable", "kv"]);
    k.ok(&["plugin", "rm", "-f", "kv"]);
    k.ok(&["plugin", "rm", &other]);
}
