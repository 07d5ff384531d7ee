//! `-v`, `--mount`, `--tmpfs`, `--volumes-from` and named/anonymous volumes on real
//! containers: what the container sees, what stays on the host, and docker's refusals.

mod support;

use support::Kiste;

fn host_dir(k: &Kiste, name: &str) -> std::path::PathBuf {
    let d = k.dir.path().join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn bind_mount_rw_writes_through_and_ro_fails_with_erofs() {
    let k = Kiste::new();
    k.busybox();
    let h = host_dir(&k, "h");
    std::fs::write(h.join("in"), "from host\n").unwrap();
    let rw = format!("{}:/h", h.display());
    let out = k.ok(&[
        "run",
        "--rm",
        "-v",
        &rw,
        "busybox",
        "sh",
        "-c",
        "cat /h/in; echo out > /h/out",
    ]);
    assert_eq!(out, "from host\n");
    assert_eq!(std::fs::read_to_string(h.join("out")).unwrap(), "out\n");

    let ro = format!("{}:/h:ro", h.display());
    let r = k.run(&[
        "run",
        "--rm",
        "-v",
        &ro,
        "busybox",
        "sh",
        "-c",
        "echo x > /h/new",
    ]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    assert!(!h.join("new").exists());
    let m = format!("type=bind,src={},dst=/m,readonly", h.display());
    let r = k.run(&["run", "--rm", "--mount", &m, "busybox", "touch", "/m/new"]);
    assert_ne!(r.code, 0);
    assert!(!h.join("new").exists());
}

#[test]
fn missing_ro_bind_source_is_refused_and_nothing_is_created() {
    let k = Kiste::new();
    k.busybox();
    let nope = k.dir.path().join("nope");
    for args in [
        vec!["-v".to_string(), format!("{}:/x:ro", nope.display())],
        vec![
            "--mount".into(),
            format!("type=bind,source={},target=/x", nope.display()),
        ],
    ] {
        let mut a = vec!["run", "--rm", "--name", "never"];
        a.extend(args.iter().map(String::as_str));
        a.extend(["busybox", "true"]);
        let r = k.run(&a);
        assert_eq!(r.code, 125, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "invalid mount config for type \"bind\": bind source path does not exist: {}",
                nope.display()
            )),
            "{}",
            r.stderr
        );
        assert!(!nope.exists());
    }
    assert_eq!(k.ok(&["ps", "-aq"]), "");
    assert_eq!(k.ok(&["volume", "ls", "-q"]), "");
    // A rw `-v` of a missing host dir makes it, as docker does.
    let made = k.dir.path().join("made");
    k.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/x", made.display()),
        "busybox",
        "true",
    ]);
    assert!(made.is_dir());
}

#[test]
fn bad_volume_specs_get_dockers_messages() {
    let k = Kiste::new();
    k.busybox();
    for (spec, want) in [
        ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
        ("/tmp:/x:xx", "invalid mode: xx"),
        (
            "/tmp:rel",
            "invalid mount path: 'rel' mount path must be absolute",
        ),
        (
            "bad@name:/x",
            "includes invalid characters for a local volume name",
        ),
    ] {
        let r = k.run(&["create", "-v", spec, "busybox", "true"]);
        assert_eq!(r.code, 125, "{spec}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{spec}: {}", r.stderr);
    }
    let r = k.run(&["create", "--volumes-from", "nosuch", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("no such container: nosuch"),
        "{}",
        r.stderr
    );
    assert_eq!(k.ok(&["ps", "-aq"]), "");
}

#[test]
fn named_volume_persists_and_is_prefilled_from_the_image() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "seeded",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN mkdir -p /data/sub && echo seed > /data/sub/f && chown -R 1000:1001 /data && chmod 750 /data\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "seeded", ctx.to_str().unwrap()]);
    let out = k.sh_with(
        &["-v", "vol:/data"],
        "seeded",
        "stat -c '%u:%g %a' /data /data/sub/f; cat /data/sub/f; echo more > /data/new",
    );
    assert_eq!(out, "1000:1001 750\n1000:1001 644\nseed\n");
    // A second container (of another image) sees the content, not the image's.
    let out = k.sh_with(&["-v", "vol:/data"], "busybox", "cat /data/sub/f /data/new");
    assert_eq!(out, "seed\nmore\n");
    let v: serde_json::Value = serde_json::from_str(&k.ok(&["volume", "inspect", "vol"])).unwrap();
    let v = &v[0];
    for key in [
        "CreatedAt",
        "Driver",
        "Labels",
        "Mountpoint",
        "Name",
        "Options",
        "Scope",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert!(v["Mountpoint"]
        .as_str()
        .unwrap()
        .ends_with("/volumes/vol/_data"));
    // nocopy leaves a fresh volume empty.
    let out = k.sh_with(
        &["--mount", "type=volume,src=empty,dst=/data,volume-nocopy"],
        "seeded",
        "ls -A /data | wc -l",
    );
    assert_eq!(out.trim(), "0");
}

#[test]
fn anonymous_volumes_go_with_rm_v_and_run_rm() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "withvol",
        &[("Dockerfile", "FROM busybox\nVOLUME /cache\n")],
    );
    k.ok(&["build", "-q", "-t", "withvol", ctx.to_str().unwrap()]);
    k.ok(&["create", "--name", "c1", "-v", "/anon", "withvol", "true"]);
    let vols = k.ok(&["volume", "ls", "-q"]);
    assert_eq!(vols.lines().count(), 2, "{vols}");
    let c = k.inspect("c1");
    let dests: Vec<&str> = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Destination"].as_str().unwrap())
        .collect();
    assert!(
        dests.contains(&"/anon") && dests.contains(&"/cache"),
        "{dests:?}"
    );
    k.ok(&["rm", "-v", "c1"]);
    assert_eq!(k.ok(&["volume", "ls", "-q"]), "");

    k.ok(&["run", "--rm", "-v", "keep:/k", "withvol", "true"]);
    assert_eq!(k.ok(&["volume", "ls", "-q"]), "keep\n");
}

#[test]
fn volume_in_use_is_refused_and_prune_removes_unused() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["volume", "create", "--label", "team=a", "used"]);
    k.ok(&["volume", "create", "spare"]);
    k.ok(&[
        "create", "--name", "user", "-v", "used:/u", "-v", "/anon", "busybox", "true",
    ]);
    let r = k.run(&["volume", "rm", "used"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("remove used: volume is in use - ["),
        "{}",
        r.stderr
    );
    assert_eq!(
        k.ok(&["volume", "ls", "-q", "--filter", "label=team=a"]),
        "used\n"
    );
    assert_eq!(
        k.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]),
        "spare\n"
    );
    assert_eq!(
        k.ok(&[
            "volume",
            "ls",
            "--format",
            "{{.Name}} {{.Driver}}",
            "--filter",
            "name=spa"
        ]),
        "spare local\n"
    );
    let r = k.run(&["volume", "rm", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("get nosuch: no such volume"),
        "{}",
        r.stderr
    );
    // Prune without -a leaves named volumes; with -a it removes the unused ones.
    let out = k.ok(&["volume", "prune", "-f"]);
    assert!(!out.contains("spare"), "{out}");
    let out = k.ok(&["volume", "prune", "-f", "-a"]);
    assert!(out.contains("spare"), "{out}");
    let left = k.ok(&["volume", "ls", "-q"]);
    assert!(left.contains("used") && !left.contains("spare"), "{left}");
    // Once its container is gone, prune (without -a) takes the anonymous volume only.
    k.ok(&["rm", "user"]);
    let out = k.ok(&["volume", "prune", "-f"]);
    assert!(
        out.starts_with("Deleted Volumes:\n") && !out.contains("used"),
        "{out}"
    );
    assert_eq!(k.ok(&["volume", "ls", "-q"]), "used\n");
    k.ok(&["volume", "rm", "used"]);
}

#[test]
fn tmpfs_gets_its_size_and_volumes_from_shares_mounts() {
    let k = Kiste::new();
    k.busybox();
    let out = k.sh_with(&["--tmpfs", "/t:size=1m"], "busybox", "df -k /t | tail -1");
    assert_eq!(out.split_whitespace().nth(1), Some("1024"), "{out}");
    let out = k.sh_with(
        &[
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=2097152,tmpfs-mode=1770",
        ],
        "busybox",
        "df -k /t | tail -1; stat -c %a /t",
    );
    assert!(out.contains(" 2048 ") && out.ends_with("1770\n"), "{out}");

    k.ok(&[
        "create",
        "--name",
        "src",
        "-v",
        "shared:/s",
        "busybox",
        "true",
    ]);
    k.sh_with(&["--volumes-from", "src"], "busybox", "echo hi > /s/f");
    let r = k.run(&[
        "run",
        "--rm",
        "--volumes-from",
        "src:ro",
        "busybox",
        "sh",
        "-c",
        "cat /s/f; touch /s/g",
    ]);
    assert_eq!(r.stdout, "hi\n");
    assert_ne!(r.code, 0, "a :ro volumes-from mount must refuse writes");
}

#[test]
fn a_symlink_in_the_image_cannot_point_a_mount_at_the_host() {
    let k = Kiste::new();
    k.busybox();
    let outside = k.dir.path().join("outside");
    let ctx = k.context(
        "evil",
        &[(
            "Dockerfile",
            &format!(
                "FROM busybox\nRUN ln -s /../../../../..{} /data\n",
                outside.display()
            ),
        )],
    );
    k.ok(&["build", "-q", "-t", "evil", ctx.to_str().unwrap()]);
    let h = host_dir(&k, "h");
    k.ok(&[
        "run",
        "--rm",
        "-v",
        &format!("{}:/data/sub", h.display()),
        "evil",
        "true",
    ]);
    k.ok(&["run", "--rm", "--tmpfs", "/data/t", "evil", "true"]);
    assert!(!outside.exists(), "a mount point was made on the host");
}

#[test]
fn read_only_rootfs_keeps_volumes_writable() {
    let k = Kiste::new();
    k.busybox();
    let out = k.sh_with(
        &["--read-only", "-v", "rw:/w", "--tmpfs", "/t"],
        "busybox",
        "touch /w/a && touch /t/a && echo ok; touch /x 2>/dev/null || echo ro",
    );
    assert_eq!(out, "ok\nro\n");
}

#[test]
fn inspect_mounts_have_dockers_fields() {
    let k = Kiste::new();
    k.busybox();
    let h = host_dir(&k, "h");
    k.ok(&[
        "create",
        "--name",
        "mnt",
        "-v",
        &format!("{}:/h:ro", h.display()),
        "-v",
        "named:/n",
        "--tmpfs",
        "/t:size=1m",
        "busybox",
        "true",
    ]);
    let c = k.inspect("mnt");
    let mounts = c["Mounts"].as_array().unwrap();
    let bind = mounts.iter().find(|m| m["Type"] == "bind").unwrap();
    let mut keys: Vec<&String> = bind.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["Destination", "Mode", "Propagation", "RW", "Source", "Type"]
    );
    assert_eq!(
        (bind["Mode"].as_str(), bind["RW"].as_bool()),
        (Some("ro"), Some(false))
    );
    let vol = mounts.iter().find(|m| m["Type"] == "volume").unwrap();
    let mut keys: Vec<&String> = vol.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "Destination",
            "Driver",
            "Mode",
            "Name",
            "Propagation",
            "RW",
            "Source",
            "Type"
        ]
    );
    assert_eq!(vol["Name"], "named");
    assert_eq!(c["HostConfig"]["Binds"][1], "named:/n");
    assert_eq!(c["HostConfig"]["Tmpfs"]["/t"], "size=1m");
}

#[test]
fn rslave_bind_sees_host_mounts_made_after_start() {
    let k = Kiste::new();
    k.busybox();
    let d = host_dir(&k, "shared");
    let sh = |cmd: &str| {
        std::process::Command::new("sh")
            .args(["-c", cmd])
            .status()
            .unwrap()
            .success()
    };
    let dp = d.display().to_string();
    assert!(sh(&format!(
        "mount -t tmpfs kiste-test {dp} && mount --make-rshared {dp} && mkdir {dp}/sub"
    )));
    let m = format!("type=bind,src={dp},dst=/m,bind-propagation=rslave");
    let id = k.ok(&[
        "run", "-d", "--mount", &m, "busybox", "sh", "-c",
        "echo started; while ! grep -q ' /m/sub ' /proc/self/mountinfo; do sleep 0.1; done; echo seen",
    ]);
    let id = id.trim();
    k.wait_for_log(id, "started", std::time::Duration::from_secs(10));
    assert!(sh(&format!("mount -t tmpfs kiste-test-sub {dp}/sub")));
    k.wait_for_log(id, "seen", std::time::Duration::from_secs(10));
    k.ok(&["rm", "-f", id]);
    assert!(sh(&format!("umount {dp}/sub && umount {dp}")));
}

/// The keys of a JSON object, sorted.
fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn volume_inspect_and_mounts_have_the_same_fields_as_dockers() {
    use std::process::Command;
    if !support::have("docker") {
        return support::skip("docker is not installed");
    }
    support::docker::ensure_docker();
    let pid = std::process::id();
    let (vol, tag, ctr) = (
        format!("kiste-vol-{pid}"),
        format!("kiste-vol-img-{pid}"),
        format!("kiste-vol-ctr-{pid}"),
    );
    let k = Kiste::new();
    k.busybox();
    let h = host_dir(&k, "h");
    let docker = |args: &[&str]| -> String {
        String::from_utf8(support::checked_output(Command::new("docker").args(args))).unwrap()
    };
    docker(&["volume", "create", "--label", "a=b", &vol]);
    let theirs: serde_json::Value =
        serde_json::from_str(&docker(&["volume", "inspect", &vol])).unwrap();
    let ctx = support::busybox_context(&k.dir.path().join("dctx"));
    docker(&["build", "-q", "-t", &tag, ctx.to_str().unwrap()]);
    let bind = format!("{}:/h:ro", h.display());
    let named = format!("{vol}:/n");
    docker(&[
        "create", "--name", &ctr, "-v", &bind, "-v", &named, "-v", "/anon", &tag, "true",
    ]);
    let their_mounts: serde_json::Value =
        serde_json::from_str(&docker(&["inspect", "--format", "{{json .Mounts}}", &ctr])).unwrap();
    let _ = Command::new("docker").args(["rm", "-v", &ctr]).output();
    let _ = Command::new("docker").args(["volume", "rm", &vol]).output();
    let _ = Command::new("docker").args(["rmi", &tag]).output();

    k.ok(&["volume", "create", "--label", "a=b", &vol]);
    let ours: serde_json::Value =
        serde_json::from_str(&k.ok(&["volume", "inspect", &vol])).unwrap();
    assert_eq!(keys(&ours[0]), keys(&theirs[0]));
    assert_eq!(ours[0]["Labels"], theirs[0]["Labels"]);
    k.ok(&[
        "create", "--name", "ctr", "-v", &bind, "-v", &named, "-v", "/anon", "busybox", "true",
    ]);
    let our_mounts = k.inspect("ctr")["Mounts"].clone();
    let by_dest = |list: &serde_json::Value, d: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| m["Destination"] == d)
            .unwrap()
            .clone()
    };
    for d in ["/h", "/n", "/anon"] {
        let (o, t) = (by_dest(&our_mounts, d), by_dest(&their_mounts, d));
        assert_eq!(keys(&o), keys(&t), "{d}");
        for f in ["Type", "Destination", "Mode", "RW", "Propagation"] {
            assert_eq!(o[f], t[f], "{d} {f}");
        }
    }
}

#[test]
fn a_user_namespace_root_writes_its_volumes() {
    let k = Kiste::new();
    k.busybox();
    let out = k.sh_with(
        &[
            "--userns",
            "map=0:100000:65536",
            "-v",
            "uvol:/u",
            "--tmpfs",
            "/t",
        ],
        "busybox",
        "echo hi > /u/f && cat /u/f && touch /t/x && echo ok",
    );
    assert_eq!(out, "hi\nok\n");
}
