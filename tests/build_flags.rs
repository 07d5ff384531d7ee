//! `build`'s flags for its RUN steps' containers, each checked from inside a RUN step:
//! the memory and CPU limits and the cgroup they land in, `--ulimit`, `--shm-size`,
//! `--add-host`, `--network`; compared with docker's classic builder (dockerd 20.10 here)
//! where its engine runs the same flags. Bad values exit 125 with one line and leave
//! nothing behind.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

/// The RUN step's view of the flags, one `name=value` line each.
const PROBE: &str = "RUN { \
echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); \
echo memsw=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo none); \
echo shares=$(cat /sys/fs/cgroup/cpu/cpu.shares); \
echo cpus=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus); \
echo mems=$(cat /sys/fs/cgroup/cpuset/cpuset.mems); \
echo cfs=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us):$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us); \
echo nofile=$(ulimit -n):$(ulimit -Hn); \
echo shm=$(df -k /dev/shm | tail -1 | awk '{print $2}'); \
echo foo=$(grep -w foo /etc/hosts | cut -f1); \
} > /probe\n";

/// docker's classic builder with the same flags, on the same busybox, and the probe it wrote.
fn docker_probe(k: &Kiste, flags: &[&str]) -> String {
    docker::ensure_docker();
    let bb = busybox_context(&k.dir.path().join("docker-bb"));
    checked_output(
        Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", "kiste-buildflags-busybox"])
            .arg(&bb),
    );
    let ctx = k.context(
        "docker-probe",
        &[(
            "Dockerfile",
            &format!("FROM kiste-buildflags-busybox\n{PROBE}"),
        )],
    );
    let id = String::from_utf8(checked_output(
        Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "--force-rm"])
            .args(flags)
            .arg(&ctx),
    ))
    .unwrap();
    let id = id.trim();
    let out = String::from_utf8(checked_output(
        Command::new("docker").args(["run", "--rm", id, "cat", "/probe"]),
    ))
    .unwrap();
    let _ = Command::new("docker").args(["rmi", id]).output();
    out
}

#[test]
fn run_step_limits_ulimits_shm_and_hosts_are_seen_inside_a_run_as_with_docker() {
    if !cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "probe",
        &[("Dockerfile", &format!("FROM busybox\n{PROBE}"))],
    );
    let flags: &[&str] = &[
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "--shm-size",
        "16m",
        "--ulimit",
        "nofile=512:1024",
        "--add-host",
        "foo:1.2.3.4",
    ];
    let mut args = vec!["build", "-q", "-t", "probe"];
    args.extend_from_slice(flags);
    args.push(ctx.to_str().unwrap());
    k.ok(&args);
    let ours = k.sh("probe", "cat /probe");
    for line in [
        "mem=67108864",
        "memsw=134217728",
        "shares=512",
        "cpus=0",
        "mems=0",
        "cfs=50000:25000",
        "nofile=512:1024",
        "shm=16384",
        "foo=1.2.3.4",
    ] {
        assert!(ours.lines().any(|l| l == line), "{line} not in:\n{ours}");
    }
    // The same lines from docker's classic builder (it applies each of these flags to
    // its RUN containers).
    let theirs = docker_probe(&k, flags);
    assert_eq!(ours, theirs, "kiste:\n{ours}\ndocker:\n{theirs}");
    // Without the flags the step gets the defaults (docker's 64 MiB /dev/shm).
    let plain = k.context(
        "plain",
        &[("Dockerfile", &format!("FROM busybox\n{PROBE}"))],
    );
    k.ok(&["build", "-q", "-t", "plain", plain.to_str().unwrap()]);
    let out = k.sh("plain", "cat /probe");
    assert!(
        out.contains("shm=65536\n") && out.contains("foo=\n"),
        "{out}"
    );
    assert!(!out.contains("mem=67108864"), "{out}");
}

#[test]
fn cgroup_parent_holds_the_run_steps_cgroup_and_nothing_stays() {
    if !cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let parent = format!("kiste-test-bf-{}", std::process::id());
    let ctx = k.context(
        "wait",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --mount=type=bind,target=/ctx \
             i=0; while [ ! -e /ctx/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo done\n",
        )],
    );
    let mut child = k
        .cmd(&[
            "build",
            "-q",
            "--cgroup-parent",
            &parent,
            "--memory",
            "32m",
            ctx.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let memory = std::path::Path::new("/sys/fs/cgroup/memory").join(&parent);
    let steps = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&memory)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let step = loop {
        if let Some(s) = steps().into_iter().next() {
            break s;
        }
        assert!(Instant::now() < deadline, "no RUN cgroup below {parent}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let name = step.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("build-"), "{name}");
    let limit = std::fs::read_to_string(step.join("memory.limit_in_bytes")).unwrap();
    assert_eq!(limit.trim(), (32u64 << 20).to_string());
    std::fs::write(ctx.join("go"), "").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(steps().is_empty(), "left: {:?}", steps());
    for c in [
        "memory", "cpu", "pids", "cpuset", "freezer", "blkio", "devices",
    ] {
        let _ = std::fs::remove_dir(std::path::Path::new("/sys/fs/cgroup").join(c).join(&parent));
    }
}

#[test]
fn network_none_cuts_run_steps_off_and_default_and_host_reach_the_host() {
    let k = Kiste::new();
    k.busybox();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            drop(s);
        }
    });
    let ctx = k.context(
        "net",
        &[(
            "Dockerfile",
            &format!(
                "FROM busybox\nRUN (nc -w 3 127.0.0.1 {port} </dev/null && echo reached || echo unreachable) > /net; ls /sys/class/net > /links\n"
            ),
        )],
    );
    for (mode, want, links) in [
        (None, "reached", None),
        (Some("default"), "reached", None),
        (Some("host"), "reached", None),
        (Some("none"), "unreachable", Some("lo")),
    ] {
        let tag = format!("net-{}", mode.unwrap_or("unset"));
        let mut args = vec!["build", "-q", "-t", tag.as_str()];
        if let Some(m) = mode {
            args.extend(["--network", m]);
        }
        args.push(ctx.to_str().unwrap());
        k.ok(&args);
        assert_eq!(k.sh(&tag, "cat /net").trim(), want, "--network {mode:?}");
        if let Some(l) = links {
            assert_eq!(k.sh(&tag, "cat /links").trim(), l);
        }
    }
    // BuildKit takes default, none and host only.
    let r = k.run(&["build", "--network", "bridge", ctx.to_str().unwrap()]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("\"bridge\"") && r.stderr.contains("--network"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_values_exit_125_with_one_line_and_leave_nothing() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("bad", &[("Dockerfile", "FROM busybox\nRUN touch /x\n")]);
    let images_before = k.ok(&["images", "-aq"]);
    let cases: &[(&str, &str)] = &[
        ("--memory", "1k"),
        ("--memory", "lots"),
        ("--memory-swap", "10m"),
        ("--cpu-shares", "1"),
        ("--cpu-shares", "x"),
        ("--cpuset-cpus", "a-b"),
        ("--cpuset-mems", "9"),
        ("--cpu-period", "10"),
        ("--cpu-quota", "10"),
        ("--shm-size", "big"),
        ("--ulimit", "nofile=x"),
        ("--ulimit", "nosuch=1"),
        ("--add-host", "nocolon"),
        ("--add-host", "foo:999.1.1.1"),
        ("--network", "bridge"),
        ("--cgroup-parent", "../escape"),
        ("--platform", "a/b/c/d"),
        ("--security-opt", "seccomp=unconfined"),
    ];
    for (flag, value) in cases {
        let r = k.run(&["build", flag, value, ctx.to_str().unwrap()]);
        assert_eq!(r.code, 125, "{flag} {value}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{flag} {value}: {}", r.stderr);
        assert!(
            lines[0].contains(flag) && lines[0].contains(value),
            "{flag} {value}: {}",
            r.stderr
        );
        assert_eq!(r.stdout, "", "{flag} {value}");
    }
    assert_eq!(k.ok(&["images", "-aq"]), images_before);
    assert_eq!(k.ok(&["ps", "-aq"]), "");
    assert!(k.mounts().is_empty(), "{:?}", k.mounts());
    let scratch = k.root().join("build");
    let left: Vec<_> = std::fs::read_dir(&scratch)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn security_opt_is_refused_on_build_as_dockers_daemon_refuses_it() {
    docker::ensure_docker();
    let k = Kiste::new();
    let ctx = k.context("sec", &[("Dockerfile", "FROM scratch\n")]);
    let docker = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "--security-opt", "seccomp=unconfined"])
        .arg(&ctx)
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&docker.stderr);
    let r = k.run(&[
        "build",
        "--security-opt",
        "seccomp=unconfined",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let reason = "The daemon on this platform does not support setting security options on build";
    assert!(theirs.contains(reason), "docker: {theirs}");
    assert!(r.stderr.contains(reason), "{}", r.stderr);
}

#[test]
fn compress_and_disable_content_trust_are_accepted_and_compress_says_why_it_does_nothing() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("cz", &[("Dockerfile", "FROM busybox\nRUN echo hi > /hi\n")]);
    let r = k.run(&[
        "build",
        "-q",
        "-t",
        "cz",
        "--compress",
        "--disable-content-trust",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("--compress has no effect").count(),
        1,
        "{}",
        r.stderr
    );
    assert_eq!(k.sh("cz", "cat /hi").trim(), "hi");
    let quiet = k.run(&["image", "build", "-q", ctx.to_str().unwrap()]);
    assert!(!quiet.stderr.contains("--compress"), "{}", quiet.stderr);
    let r = k.run(&[
        "builder",
        "build",
        "--disable-content-trust=false",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("Content Trust"), "{}", r.stderr);
}
