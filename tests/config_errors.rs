//! Bad flags for `run`/`create`: each is refused at create with one line in docker's words
//! (`invalid argument "X" for "--flag" flag: reason`) and exit 125, and leaves nothing
//! behind: no record, no mount, no cgroup. Where docker refuses a value in its own flag
//! parser, kiste's line is the same as docker's.

mod support;

use support::*;

/// The bad flags tried, each as `run` gets it (a negative number after a space, too).
const CASES: &[&[&str]] = &[
    &["--cpus", "-1"],
    &["--cpus", "abc"],
    &["--cpus", "4096"],
    &["--memory", "9999999999999999999999999"],
    &["-m", "12q"],
    &["-m", "-1"],
    &["--memory-reservation", "1k"],
    &["--memory-swap", "1g"],
    &["-c", "abc"],
    &["--cpu-shares", "-5"],
    &["--pids-limit", "abc"],
    &["--pids-limit", "1.5"],
    &["--blkio-weight", "70000"],
    &["--blkio-weight", "5"],
    &["--cpuset-cpus", "4096"],
    &["--ulimit", "bogus=1"],
    &["--ulimit", "nofile=2:1"],
    &["--stop-timeout", "x"],
    &["--device-read-bps", "/dev/null:1mb"],
    &["--device-write-iops", "/dev/null:-1"],
    &["--cap-add", "NOPE"],
    &["--userns", "map=0:1000"],
    &["-p", "80:80:80:80"],
];

/// How docker spells the flag in its message: with the short form when there is one.
fn docker_flag(flag: &str) -> &str {
    match flag {
        "-m" | "--memory" => "-m, --memory",
        "-c" | "--cpu-shares" => "-c, --cpu-shares",
        "-p" | "--publish" => "-p, --publish",
        other => other,
    }
}

fn message(r: &Run) -> &str {
    r.stderr
        .trim_end()
        .strip_prefix("Error: ")
        .unwrap_or(&r.stderr)
}

#[test]
fn bad_flags_get_one_line_naming_flag_and_value_and_leave_nothing() {
    let k = Kiste::new();
    k.busybox();
    let parent = format!("kiste-config-errors-{}", std::process::id());
    for case in CASES {
        for verb in ["run", "create"] {
            let mut args = vec![verb, "-d", "--cgroup-parent", &parent];
            if verb == "create" {
                args.remove(1);
            }
            args.extend_from_slice(case);
            args.extend(["busybox", "true"]);
            let r = k.run(&args);
            assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
            assert_eq!(
                r.stderr.trim_end().lines().count(),
                1,
                "{args:?}: one line: {}",
                r.stderr
            );
            let want = format!(
                "invalid argument \"{}\" for \"{}\" flag: ",
                case[1],
                docker_flag(case[0])
            );
            assert!(message(&r).starts_with(&want), "{args:?}: {}", r.stderr);
        }
    }
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "", "no record was written");
    let records = std::fs::read_dir(k.root().join("containers"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .count()
        })
        .unwrap_or(0);
    assert_eq!(records, 0, "no container directory was made");
    assert!(k.mounts().is_empty(), "no mount: {:?}", k.mounts());
    assert!(cgroup_left(&parent).is_empty(), "no cgroup was made");
}

#[test]
fn a_good_flag_set_still_creates_after_the_checks() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "create",
        "--cpus",
        "0.5",
        "-m",
        "64m",
        "--memory-swap",
        "-1",
        "--pids-limit",
        "-1",
        "--stop-timeout",
        "3",
        "--ulimit",
        "nofile=512:1024",
        "--cap-drop",
        "all",
        "--security-opt",
        "no-new-privileges",
        "-p",
        "127.0.0.1:8080:80/udp",
        "-p",
        "9090:90",
        "busybox",
        "true",
    ]);
    let v = k.inspect(id.trim());
    let h = &v["HostConfig"];
    assert_eq!(h["NanoCpus"], 500_000_000);
    assert_eq!(h["Memory"], 64 << 20);
    assert_eq!(h["MemorySwap"], -1);
    assert_eq!(h["PidsLimit"], -1);
    assert_eq!(h["CapDrop"], serde_json::json!(["ALL"]));
    assert_eq!(h["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
    assert_eq!(
        h["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Soft": 512, "Hard": 1024}])
    );
    assert_eq!(
        h["PortBindings"],
        serde_json::json!({
            "80/udp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
            "90/tcp": [{"HostIp": "", "HostPort": "9090"}],
        })
    );
    assert_eq!(
        v["NetworkSettings"]["Ports"],
        serde_json::json!({}),
        "a container that is not running publishes nothing"
    );
}

/// Whether the docker that the lead started answers (this test never starts one).
fn docker_answers() -> bool {
    std::process::Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A docker image this test built, removed again however the test ends.
struct DockerImage(String);

impl Drop for DockerImage {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

#[test]
fn flag_errors_read_like_docker() {
    if !docker_answers() {
        support::skip("no docker daemon answers here to compare with");
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let image = DockerImage(format!("kiste-config-errors-{}", std::process::id()));
    let image = image.0.as_str();
    let ctx = busybox_context(&k.dir.path().join("docker-ctx"));
    let built = std::process::Command::new("docker")
        .args(["build", "-q", "-t", image])
        .arg(&ctx)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let mut compared = 0;
    for case in CASES {
        let theirs: Run = std::process::Command::new("docker")
            .args(["run", "--rm"])
            .args(*case)
            .args([image, "true"])
            .output()
            .unwrap()
            .into();
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(case);
        args.extend(["busybox", "true"]);
        let ours = k.run(&args);
        // docker's own flag parser: its first line is the whole message, and ours is that line.
        let first = theirs.stderr.lines().next().unwrap_or_default();
        if first.starts_with("invalid argument") {
            assert_eq!(theirs.code, 125, "{case:?}");
            assert_eq!(message(&ours), first, "{case:?}");
            compared += 1;
        }
    }
    assert!(
        compared >= 8,
        "only {compared} messages came from docker's flag parser"
    );
}

#[test]
fn values_clap_refuses_are_one_docker_line_too() {
    let k = Kiste::new();
    for args in [
        &["stop", "-t", "abc", "x"][..],
        &["build", "--timestamp", "x", "."],
    ] {
        let r = k.run(args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
        let want = format!(
            "invalid argument \"{}\" for \"{}\" flag: ",
            args[2], args[1]
        );
        let want = want.replace("\"-t\"", "\"--time\"");
        assert!(message(&r).starts_with(&want), "{args:?}: {}", r.stderr);
    }
    let negative = k.run(&["stop", "-t", "-1", "nosuch"]);
    assert!(
        negative.stderr.contains("no such container"),
        "a negative timeout is a value, not a flag: {}",
        negative.stderr
    );
}

#[test]
fn another_containers_namespace_is_checked_at_create_and_joined_at_start() {
    let k = Kiste::new();
    k.busybox();
    let unknown = k.run(&["create", "--ipc", "container:nosuch", "busybox", "true"]);
    assert_eq!(unknown.code, 125);
    assert_eq!(
        message(&unknown),
        "invalid argument \"container:nosuch\" for \"--ipc\" flag: no such container: nosuch"
    );
    k.ok(&["run", "-d", "--name", "holder", "busybox", "sleep", "30"]);
    let pid = k.inspect("holder")["State"]["Pid"].as_i64().unwrap();
    let want = std::fs::read_link(format!("/proc/{pid}/ns/ipc")).unwrap();
    let seen = k.ok(&[
        "run",
        "--rm",
        "--ipc",
        "container:holder",
        "busybox",
        "readlink",
        "/proc/self/ns/ipc",
    ]);
    assert_eq!(seen.trim(), want.to_string_lossy());
    let joined = k.ok(&["create", "--ipc", "container:holder", "busybox", "true"]);
    let id = k.inspect("holder")["Id"].as_str().unwrap().to_string();
    assert_eq!(
        k.inspect(joined.trim())["HostConfig"]["IpcMode"],
        format!("container:{id}"),
        "the record keeps the container's id, as docker does"
    );
    k.ok(&["rm", "-f", "holder"]);
    let late = k.run(&["start", joined.trim()]);
    assert_ne!(late.code, 0);
    assert!(
        late.stderr.contains("cannot join the ipc namespace") && late.stderr.contains(&id),
        "{}",
        late.stderr
    );
}

#[test]
fn a_seccomp_profile_is_checked_at_create_and_kept_in_the_record() {
    let k = Kiste::new();
    k.busybox();
    let bad = k.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"defaultAction":"SCMP_ACT_MAYBE"}"#).unwrap();
    let opt = format!("seccomp={}", bad.display());
    let r = k.run(&["create", "--security-opt", &opt, "busybox", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert_eq!(r.stderr.trim_end().lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("SCMP_ACT_MAYBE") && r.stderr.contains("--security-opt"),
        "valid JSON is not enough: {}",
        r.stderr
    );

    let good = k.dir.path().join("no-chmod.json");
    std::fs::write(
        &good,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod","fchmodat","fchmodat2"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", good.display());
    let id = k.ok(&[
        "create",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "touch /f; chmod 600 /f; echo rc=$?",
    ]);
    // The record holds the parsed profile: the file is not needed at start.
    std::fs::remove_file(&good).unwrap();
    let out = k.ok(&["start", "-a", id.trim()]);
    assert!(
        out.contains("rc=1"),
        "chmod is refused by the profile: {out}"
    );
}
