//! `run`/`create`'s process and namespace flags, checked inside the container and against
//! docker's engine where it can run them here: `--sysctl`, `--oom-score-adj`,
//! `--domainname`, `--group-add`, `--cgroupns`, `--shm-size`, `--runtime`; their bad
//! values (exit 125, one line naming the flag and value, nothing created); and how they
//! are kept for a later `start` and a restart policy.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;

/// kiste's `image`, loaded into docker under `name` (a name no other test uses).
fn to_docker(k: &Kiste, image: &str, name: &str) {
    k.ok(&["tag", image, name]);
    let tar = k
        .dir
        .path()
        .join(format!("{}.tar", name.replace([':', '/'], "_")));
    k.ok(&["save", "-o", tar.to_str().unwrap(), name]);
    let st = Command::new("docker")
        .args(["load", "-q", "-i", tar.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

/// docker's run with `args`: (exit code, stdout, stderr).
fn docker(args: &[&str]) -> (i32, String, String) {
    let o = Command::new("docker").args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn docker_or_skip() -> bool {
    if !have("docker") {
        skip("docker is not installed: no comparison");
        return false;
    }
    support::docker::ensure_docker();
    true
}

const SHOW: &str = "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax \
    /proc/self/oom_score_adj /proc/sys/kernel/domainname; id -G; \
    df -k /dev/shm | tail -1 | awk '{print $2}'";

/// The HostConfig and Config fields these flags show in `inspect`.
fn fields(v: &serde_json::Value) -> serde_json::Value {
    let h = &v["HostConfig"];
    serde_json::json!({
        "Sysctls": h["Sysctls"], "OomScoreAdj": h["OomScoreAdj"], "GroupAdd": h["GroupAdd"],
        "ShmSize": h["ShmSize"], "Runtime": h["Runtime"], "CgroupnsMode": h["CgroupnsMode"],
        "Domainname": v["Config"]["Domainname"],
    })
}

#[test]
fn sysctl_oom_score_adj_domainname_group_add_and_shm_size_act_inside_as_in_docker() {
    let k = Kiste::new();
    k.busybox();
    let tuned: &[&str] = &[
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--sysctl",
        "kernel.shmmax=123456789",
        "--oom-score-adj",
        "345",
        "--domainname",
        "example.org",
        "--group-add",
        "10",
        "--group-add",
        "4711",
        "--shm-size",
        "96m",
    ];
    let mut args = vec!["run", "--rm"];
    args.extend(tuned);
    args.extend(["busybox", "sh", "-c", SHOW]);
    let ours = k.ok(&args);
    assert_eq!(
        ours, "1\n123456789\n345\nexample.org\n0 10 4711\n98304\n",
        "the values inside the container"
    );
    // Without the flags: the host's defaults inside its own namespaces, docker's 64m.
    let plain = k.sh(
        "busybox",
        "cat /proc/self/oom_score_adj; df -k /dev/shm | tail -1",
    );
    assert!(
        plain.starts_with("0\n") && plain.contains(" 65536 "),
        "{plain}"
    );

    let mut create = vec!["create"];
    create.extend(tuned);
    create.extend(["busybox", "true"]);
    let id = k.ok(&create);
    let ours_inspect = fields(&k.inspect(id.trim()));
    assert_eq!(ours_inspect["ShmSize"], 96 << 20);
    assert_eq!(ours_inspect["Runtime"], "runc");

    if !docker_or_skip() {
        return;
    }
    to_docker(&k, "busybox", "kiste-runflags-bb:1");
    let mut dargs = vec!["run", "--rm"];
    dargs.extend(tuned);
    dargs.extend(["kiste-runflags-bb:1", "sh", "-c", SHOW]);
    let (code, theirs, err) = docker(&dargs);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ours, theirs, "the same effect as docker's");
    let mut dcreate = vec!["create"];
    dcreate.extend(tuned);
    dcreate.extend(["kiste-runflags-bb:1", "true"]);
    let (code, did, err) = docker(&dcreate);
    assert_eq!(code, 0, "{err}");
    let (_, dv, _) = docker(&["inspect", did.trim()]);
    let _ = docker(&["rm", did.trim()]);
    let dv: serde_json::Value = serde_json::from_str(&dv).unwrap();
    assert_eq!(
        ours_inspect,
        fields(&dv[0]),
        "inspect shows what docker's does"
    );
}

#[test]
fn group_add_names_come_from_the_containers_etc_group_not_the_hosts() {
    let k = Kiste::new();
    k.busybox();
    // A group the host does not have, and one whose id differs from the host's.
    let ctx = k.context(
        "groups",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN mkdir -p /etc && printf 'root:x:0:\\naudio:x:63:\\nkistegrp:x:4242:\\n' > /etc/group\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "grp", ctx.to_str().unwrap()]);
    let script = "id -G";
    let flags = [
        "--group-add",
        "kistegrp",
        "--group-add",
        "audio",
        "--group-add",
        "7",
    ];
    let mut args = vec!["run", "--rm"];
    args.extend(flags);
    args.extend(["grp", "sh", "-c", script]);
    let ours = k.ok(&args);
    assert_eq!(ours, "0 7 63 4242\n", "the kernel keeps them sorted");
    // A name the container's /etc/group lacks fails the start, as docker's does.
    let r = k.run(&["run", "--rm", "--group-add", "nosuchgroup", "grp", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("unable to find group nosuchgroup: no matching entries in group file"),
        "{}",
        r.stderr
    );
    // A created container keeps them for its start.
    let id = k.ok(&["create", "--group-add", "kistegrp", "grp", "id", "-G"]);
    assert_eq!(k.ok(&["start", "-a", id.trim()]), "0 4242\n");

    if !docker_or_skip() {
        return;
    }
    to_docker(&k, "grp", "kiste-runflags-grp:1");
    let mut dargs = vec!["run", "--rm"];
    dargs.extend(flags);
    dargs.extend(["kiste-runflags-grp:1", "sh", "-c", script]);
    let (code, theirs, err) = docker(&dargs);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ours, theirs);
    let (code, _, err) = docker(&[
        "run",
        "--rm",
        "--group-add",
        "nosuchgroup",
        "kiste-runflags-grp:1",
        "true",
    ]);
    assert_eq!(code, 125);
    assert!(err.contains("no matching entries in group file"), "{err}");
}

#[test]
fn cgroupns_private_shows_the_root_and_host_the_containers_cgroup() {
    let k = Kiste::new();
    k.busybox();
    let line = "grep -E '^[0-9]+:(pids|memory):' /proc/self/cgroup | head -1 | cut -d: -f3";
    let private = k.sh_with(&["--cgroupns", "private"], "busybox", line);
    assert_eq!(private, "/\n");
    let id = k.ok(&["create", "--cgroupns", "host", "busybox", "sh", "-c", line]);
    let host = k.ok(&["start", "-a", id.trim()]);
    assert_eq!(host.trim(), format!("/kiste/{}", id.trim()));
    assert_eq!(k.inspect(id.trim())["HostConfig"]["CgroupnsMode"], "host");
    // docker 28's default: host on cgroup v1 (this machine), private on v2.
    let v1 = support::cgroup::Layout::host() == support::cgroup::Layout::V1;
    let dflt = k.ok(&["create", "busybox", "true"]);
    let want = if v1 { "host" } else { "private" };
    assert_eq!(k.inspect(dflt.trim())["HostConfig"]["CgroupnsMode"], want);
    if v1 {
        // The container's own cgroup is what it sees of the hierarchy.
        let seen = k.sh_with(
            &["--cgroupns", "host"],
            "busybox",
            "test -d /sys/fs/cgroup/pids/kiste && echo the-hosts-tree || echo its-own",
        );
        assert_eq!(seen, "its-own\n");
    }

    if !docker_or_skip() {
        return;
    }
    to_docker(&k, "busybox", "kiste-runflags-bb:1");
    let (_, theirs, err) = docker(&[
        "run",
        "--rm",
        "--cgroupns",
        "private",
        "kiste-runflags-bb:1",
        "sh",
        "-c",
        line,
    ]);
    assert_eq!(theirs, private, "{err}");
    let (_, theirs, _) = docker(&[
        "run",
        "--rm",
        "--cgroupns",
        "host",
        "kiste-runflags-bb:1",
        "sh",
        "-c",
        line,
    ]);
    assert!(theirs.starts_with("/docker/"), "{theirs}");
    let (_, did, _) = docker(&["create", "kiste-runflags-bb:1", "true"]);
    let (_, mode, _) = docker(&["inspect", "-f", "{{.HostConfig.CgroupnsMode}}", did.trim()]);
    let _ = docker(&["rm", did.trim()]);
    assert_eq!(mode.trim(), want, "docker's default here");
}

#[test]
fn runtime_runc_and_kiste_run_kistes_runtime_and_others_are_refused() {
    let k = Kiste::new();
    k.busybox();
    for name in ["runc", "kiste"] {
        let id = k.ok(&["create", "--runtime", name, "busybox", "echo", "ran"]);
        assert_eq!(k.ok(&["start", "-a", id.trim()]), "ran\n");
        assert_eq!(k.inspect(id.trim())["HostConfig"]["Runtime"], name);
    }
    let before = k.ok(&["ps", "-a", "-q"]);
    let r = k.run(&["run", "--runtime", "crun", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("unknown or invalid runtime name: crun"),
        "{}",
        r.stderr
    );
    assert_eq!(k.ok(&["ps", "-a", "-q"]), before, "nothing created");
    if !docker_or_skip() {
        return;
    }
    to_docker(&k, "busybox", "kiste-runflags-bb:1");
    let (code, _, err) = docker(&[
        "run",
        "--rm",
        "--runtime",
        "crun",
        "kiste-runflags-bb:1",
        "true",
    ]);
    assert_eq!(code, 125, "docker refuses a runtime it lacks: {err}");
    let (code, out, err) = docker(&[
        "run",
        "--rm",
        "--runtime",
        "runc",
        "kiste-runflags-bb:1",
        "echo",
        "ran",
    ]);
    assert_eq!((code, out.as_str()), (0, "ran\n"), "{err}");
}

#[test]
fn bad_values_of_the_tuning_flags_exit_125_naming_flag_and_value_and_create_nothing() {
    let k = Kiste::new();
    k.busybox();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["--sysctl", "foo.bar=1"],
            "--sysctl",
            "sysctl 'foo.bar=1' is not allowed",
        ),
        (
            &["--sysctl", "kernel.hostname=x"],
            "--sysctl",
            "is not allowed",
        ),
        (
            &["--sysctl", "novalue"],
            "--sysctl",
            "sysctl 'novalue' is not allowed",
        ),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
            "--sysctl",
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace",
        ),
        (
            &["--ipc", "host", "--sysctl", "kernel.shmmax=1000"],
            "--sysctl",
            "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace",
        ),
        (
            &["--oom-score-adj", "1001"],
            "--oom-score-adj",
            "Invalid value 1001, range for oom score adj is [-1000, 1000]",
        ),
        (
            &["--oom-score-adj", "abc"],
            "--oom-score-adj",
            "strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (&["--cgroupns", "foo"], "--cgroupns", "invalid CGROUP mode"),
        (&["--shm-size", "abc"], "--shm-size", "invalid size: 'abc'"),
        (&["--shm-size", "-1"], "--shm-size", "invalid size: '-1'"),
        (
            &["--storage-opt", "foo"],
            "--storage-opt",
            "invalid storage option",
        ),
        (
            &["--storage-opt", "foo=1"],
            "--storage-opt",
            "Unknown option foo",
        ),
        (
            &["--runtime", "crun"],
            "--runtime",
            "unknown or invalid runtime name: crun",
        ),
        (
            &["--uts", "host", "--domainname", "example.org"],
            "--domainname",
            "kernel.domainname",
        ),
    ];
    for (flags, flag, reason) in cases {
        for verb in ["run", "create"] {
            let mut args = vec![verb];
            args.extend(*flags);
            args.extend(["busybox", "true"]);
            let r = k.run(&args);
            assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
            assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
            let value = flags.last().unwrap();
            assert!(
                r.stderr.contains(&format!("\"{flag}\""))
                    && r.stderr.contains(value)
                    && r.stderr.contains(reason),
                "{args:?}: {}",
                r.stderr
            );
        }
    }
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "", "nothing was created");
    // docker's CLI and daemon refuse the same values with 125.
    if !docker_or_skip() {
        return;
    }
    to_docker(&k, "busybox", "kiste-runflags-bb:1");
    for (flags, _, reason) in cases {
        let mut args = vec!["run", "--rm"];
        args.extend(*flags);
        args.extend(["kiste-runflags-bb:1", "true"]);
        let (code, _, err) = docker(&args);
        assert_eq!(code, 125, "docker {args:?}: {err}");
        // docker 20.10's daemon names the runtime differently ("Unknown runtime
        // specified"); docker 28's says what kiste says.
        if !flags.contains(&"--runtime") && !flags.contains(&"--cgroupns") {
            let words = reason.split(['"', '\'']).next().unwrap_or(reason);
            assert!(err.contains(words), "docker {args:?}: {err}");
        }
    }
}

#[test]
fn tuning_flags_last_through_start_and_a_restart_policy() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--restart",
        "on-failure:2",
        "--oom-score-adj",
        "222",
        "--sysctl",
        "net.ipv4.ip_forward=1",
        "--domainname",
        "again.org",
        "--shm-size",
        "80m",
        "busybox",
        "sh",
        "-c",
        "echo $(cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/domainname) $(df -k /dev/shm | tail -1 | awk '{print $2}'); exit 1",
    ]);
    let id = id.trim();
    k.wait_exited(id, Duration::from_secs(30));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while k.inspect(id)["RestartCount"] != 2 || k.inspect(id)["State"]["Status"] != "exited" {
        assert!(std::time::Instant::now() < deadline, "no restarts");
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs = k.ok(&["logs", id]);
    assert_eq!(
        logs,
        "222 1 again.org 81920\n".repeat(3),
        "every run has them"
    );
    // A start by the user, too (with its policy: three runs again).
    let r = k.run(&["start", "-a", id]);
    assert_eq!(r.stdout, "222 1 again.org 81920\n".repeat(3));
}
