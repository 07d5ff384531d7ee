//! `update` on real containers (root, cgroup v1 host): limits raised and lowered while the
//! container runs, read back from its cgroup files on the host and from inside it; a
//! stopped container started with the new limits; a restart policy that the running
//! monitor follows; and bad input with docker's exit codes.

mod support;
use std::time::Duration;
use support::cgroup::Layout;
use support::docker::{docker, docker_busybox};
use support::{wait_until, Kiste};

fn field(k: &Kiste, name: &str, field: &str) -> String {
    k.ok(&["inspect", "-f", &format!("{{{{{field}}}}}"), name])
        .trim()
        .to_string()
}

/// A file of the container's v1 cgroup, as the host sees it.
fn host_file(k: &Kiste, name: &str, controller: &str, file: &str) -> String {
    Layout::V1.file(controller, "kiste", &field(k, name, ".Id"), file)
}

/// The same file as the container sees it (its own cgroup namespace).
fn inside_file(k: &Kiste, name: &str, controller: &str, file: &str) -> String {
    let path = format!("/sys/fs/cgroup/{controller}/{file}");
    k.ok(&["exec", name, "cat", &path]).trim().to_string()
}

#[test]
fn update_raises_and_lowers_the_limits_of_a_running_container() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "lim",
        "-m",
        "64m",
        "--pids-limit",
        "20",
        "busybox",
        "sleep",
        "1000",
    ]);
    let r = k.run(&[
        "update",
        "-m",
        "128m",
        "--memory-swap",
        "256m",
        "--pids-limit",
        "50",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--cpuset-cpus",
        "0",
        "lim",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "lim\n"), "{}", r.stderr);
    let mem = |f| {
        (
            host_file(&k, "lim", "memory", f),
            inside_file(&k, "lim", "memory", f),
        )
    };
    let both = |v: u64| (v.to_string(), v.to_string());
    assert_eq!(mem("memory.limit_in_bytes"), both(128 << 20));
    assert_eq!(mem("memory.memsw.limit_in_bytes"), both(256 << 20));
    assert_eq!(host_file(&k, "lim", "pids", "pids.max"), "50");
    assert_eq!(inside_file(&k, "lim", "pids", "pids.max"), "50");
    assert_eq!(host_file(&k, "lim", "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(host_file(&k, "lim", "cpu", "cpu.shares"), "512");
    assert_eq!(host_file(&k, "lim", "cpuset", "cpuset.cpus"), "0");
    // Lowering: the memory limit goes below the old memsw limit first, then memsw.
    k.ok(&["update", "-m", "32m", "--memory-swap", "40m", "lim"]);
    assert_eq!(mem("memory.limit_in_bytes"), both(32 << 20));
    assert_eq!(mem("memory.memsw.limit_in_bytes"), both(40 << 20));
    // Raising memory alone above the set memsw limit is refused, as docker refuses it.
    let r = k.run(&["update", "-m", "64m", "lim"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("update the memoryswap at the same time"),
        "{}",
        r.stderr
    );
    assert_eq!(mem("memory.limit_in_bytes"), both(32 << 20));
    // -1: unlimited pids; the record follows the cgroup.
    k.ok(&["update", "--pids-limit", "-1", "lim"]);
    assert_eq!(host_file(&k, "lim", "pids", "pids.max"), "max");
    assert_eq!(
        field(&k, "lim", ".HostConfig.Memory"),
        (32u64 << 20).to_string()
    );
    assert_eq!(
        field(&k, "lim", ".HostConfig.MemorySwap"),
        (40u64 << 20).to_string()
    );
    assert_eq!(field(&k, "lim", ".HostConfig.PidsLimit"), "-1");
    assert_eq!(field(&k, "lim", ".HostConfig.NanoCpus"), "500000000");
    k.ok(&["rm", "-f", "lim"]);
}

#[test]
fn update_below_the_memory_in_use_names_the_kernels_refusal() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    // A 30 MB shell variable stays in the container's memory (this host has no swap); the
    // echo after the sleep keeps sh from exec'ing sleep in its place.
    k.ok(&[
        "run",
        "-d",
        "--name",
        "big",
        "-m",
        "128m",
        "busybox",
        "sh",
        "-c",
        "x=$(head -c 30000000 /dev/zero | tr '\\0' a); echo held; sleep 1000; echo ${#x}",
    ]);
    k.wait_for_log("big", "held", Duration::from_secs(20));
    let r = k.run(&["update", "-m", "8m", "--memory-swap", "8m", "big"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("memory.limit_in_bytes")
            && r.stderr.contains("busy")
            && r.stderr.lines().count() == 1,
        "{}",
        r.stderr
    );
    // Nothing changed: neither the record nor the cgroup.
    assert_eq!(
        field(&k, "big", ".HostConfig.Memory"),
        (128u64 << 20).to_string()
    );
    assert_eq!(
        host_file(&k, "big", "memory", "memory.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    k.ok(&["rm", "-f", "big"]);
}

#[test]
fn a_stopped_container_starts_with_the_updated_limits() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "create",
        "--name",
        "later",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
    ]);
    assert_eq!(
        k.ok(&["update", "-m", "96m", "--pids-limit", "30", "later"]),
        "later\n"
    );
    let out = k.ok(&["start", "-a", "later"]);
    assert_eq!(out, format!("{}\n30\n", 96u64 << 20));
    // And lowered again while it is stopped.
    k.ok(&["update", "-m", "48m", "later"]);
    let out = k.ok(&["start", "-a", "later"]);
    assert_eq!(out, format!("{}\n30\n", 48u64 << 20));
}

#[test]
fn a_restart_policy_given_by_update_is_followed_by_the_running_monitor() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "-d", "--name", "phoenix", "busybox", "sleep", "1000"]);
    assert_eq!(field(&k, "phoenix", ".HostConfig.RestartPolicy.Name"), "no");
    assert_eq!(
        k.ok(&["update", "--restart", "always", "phoenix"]),
        "phoenix\n"
    );
    assert_eq!(
        field(&k, "phoenix", ".HostConfig.RestartPolicy.Name"),
        "always"
    );
    // The process dies without a `stop`: the monitor started before the update restarts it.
    let pid: i32 = field(&k, "phoenix", ".State.Pid").parse().unwrap();
    // SAFETY: plain kill(2) of the container's process, which this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    wait_until("a restart", Duration::from_secs(20), || {
        field(&k, "phoenix", ".RestartCount") == "1"
            && field(&k, "phoenix", ".State.Status") == "running"
    });
    // And back to "no": the next death is final.
    k.ok(&["update", "--restart", "no", "phoenix"]);
    let pid: i32 = field(&k, "phoenix", ".State.Pid").parse().unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    k.wait_exited("phoenix", Duration::from_secs(20));
    assert_eq!(field(&k, "phoenix", ".RestartCount"), "1");
    k.ok(&["rm", "-f", "phoenix"]);
}

#[test]
fn update_refuses_bad_values_and_unknown_containers_as_docker_does() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "cc", "busybox", "true"]);
    for (args, want) in [
        (
            &["update", "-m", "1m", "cc"][..],
            "invalid argument \"1m\" for \"-m, --memory\" flag: minimum memory limit allowed is 6MB",
        ),
        (
            &["update", "--cpus", "999", "cc"][..],
            "invalid argument \"999\" for \"--cpus\" flag: range of CPUs is from 0.01 to",
        ),
        (
            &["update", "--blkio-weight", "5", "cc"][..],
            "range of blkio weight is from 10 to 1000",
        ),
        (
            &["update", "--restart", "sometimes", "cc"][..],
            "invalid restart policy 'sometimes'",
        ),
    ] {
        let r = k.run(args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
    // docker: no flag, and a missing container, are errors of the command (exit 1).
    let r = k.run(&["update", "cc"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("you must provide one or more flags"),
        "{}",
        r.stderr
    );
    let r = k.run(&["update", "-m", "64m", "nosuch", "cc"]);
    assert_eq!((r.code, r.stdout.as_str()), (1, "cc\n"), "{}", r.stderr);
    assert!(
        r.stderr
            .to_lowercase()
            .contains("no such container: nosuch"),
        "{}",
        r.stderr
    );
    // An --rm container keeps its policy.
    k.ok(&["create", "--rm", "--name", "gone", "busybox", "true"]);
    let r = k.run(&["update", "--restart", "always", "gone"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("AutoRemove is enabled"), "{}", r.stderr);
}

#[test]
fn a_rootless_update_of_a_limit_without_a_cgroup_is_refused_as_at_run() {
    if let Some(why) = support::rootless::unsupported() {
        return support::skip(why);
    }
    let u = support::rootless::User::create("upd", true);
    u.busybox();
    u.ok(&["create", "--name", "mine", "busybox", "true"]);
    let r = u.run(&["update", "--memory", "64m", "--cpus", "0.5", "mine"]);
    if support::cgroup::Layout::host() == support::cgroup::Layout::V1 {
        assert_eq!(r.code, 125, "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr
                .contains("--memory, --cpus cannot be applied to a rootless container")
                && r.stderr.contains("cgroup v1"),
            "{}",
            r.stderr
        );
        assert_eq!(r.stdout, "");
    }
    // The restart policy needs no cgroup: it changes for a rootless container too.
    assert_eq!(u.ok(&["update", "--restart", "always", "mine"]), "mine\n");
    assert_eq!(
        u.ok(&[
            "inspect",
            "-f",
            "{{.HostConfig.RestartPolicy.Name}}",
            "mine"
        ])
        .trim(),
        "always"
    );
}

/// A file of a docker container's v1 cgroup on the host.
fn docker_file(id: &str, controller: &str, file: &str) -> String {
    Layout::V1.file(controller, "docker", id, file)
}

#[test]
fn update_raises_and_lowers_cpu_period_cpu_quota_cpuset_mems_and_cpu_rt_as_docker_does() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    support::docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let img = docker_busybox(&k, "kiste-update-bb:1");
    let start = [
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "50000",
        "busybox",
        "sleep",
        "1000",
    ];
    k.ok(&[
        &["run", "-d", "--name", "cfs", "--network", "none"][..],
        &start,
    ]
    .concat());
    let mut d = vec![
        "run",
        "-d",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "50000",
    ];
    d.extend([img, "sleep", "1000"]);
    let r = docker(&d);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let did = r.stdout.trim().to_string();
    let cpu = |f| {
        (
            host_file(&k, "cfs", "cpu", f),
            inside_file(&k, "cfs", "cpu", f),
        )
    };
    // Raise, then lower, the same steps for both engines.
    for step in [
        vec!["--cpu-period", "50000", "--cpu-quota", "40000"],
        vec!["--cpu-quota", "10000"],
        vec!["--cpu-quota", "-1"],
        vec!["--cpuset-mems", "0", "--cpu-quota", "20000"],
    ] {
        k.ok(&[&["update"][..], &step, &["cfs"]].concat());
        let r = docker(&[&["update"][..], &step, &[did.as_str()]].concat());
        assert_eq!(r.code, 0, "docker update {step:?}: {}", r.stderr);
        for f in ["cpu.cfs_period_us", "cpu.cfs_quota_us"] {
            let (host, inside) = cpu(f);
            assert_eq!(host, inside, "{f}");
            assert_eq!(host, docker_file(&did, "cpu", f), "{f} after {step:?}");
        }
    }
    assert_eq!(cpu("cpu.cfs_quota_us").0, "20000");
    assert_eq!(host_file(&k, "cfs", "cpuset", "cpuset.mems"), "0");
    assert_eq!(field(&k, "cfs", ".HostConfig.CpuPeriod"), "50000");
    assert_eq!(field(&k, "cfs", ".HostConfig.CpuQuota"), "20000");
    assert_eq!(field(&k, "cfs", ".HostConfig.CpusetMems"), "0");
    // --cpus on a container with a CFS period: refused by both, in docker's words.
    let r = k.run(&["update", "--cpus", "1", "cfs"]);
    let theirs = docker(&["update", "--cpus", "1", &did]);
    docker(&["rm", "-f", &did]);
    let reason =
        "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set";
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(reason), "{}", r.stderr);
    assert!(theirs.stderr.contains(reason), "{}", theirs.stderr);
    assert_eq!(cpu("cpu.cfs_quota_us").0, "20000");
    // Real-time runtime, where the kernel schedules real-time tasks per cgroup.
    if std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        for rt in ["30000", "10000"] {
            k.ok(&[
                "update",
                "--cpu-rt-period",
                "1000000",
                "--cpu-rt-runtime",
                rt,
                "cfs",
            ]);
            assert_eq!(cpu("cpu.rt_runtime_us"), (rt.to_string(), rt.to_string()));
        }
        assert_eq!(field(&k, "cfs", ".HostConfig.CpuRealtimeRuntime"), "10000");
    }
    // A bad value changes nothing and names the flag.
    let r = k.run(&["update", "--cpu-period", "10", "cfs"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("\"--cpu-period\""), "{}", r.stderr);
    assert_eq!(cpu("cpu.cfs_period_us").0, "50000");
    k.ok(&["rm", "-f", "cfs"]);
}

#[test]
fn update_memory_reservation_raises_and_lowers_the_soft_limit_as_docker_does() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    support::docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let img = docker_busybox(&k, "kiste-update-bb:1");
    k.ok(&[
        "run",
        "-d",
        "--name",
        "soft",
        "--network",
        "none",
        "-m",
        "64m",
        "--memory-reservation",
        "16m",
        "busybox",
        "sleep",
        "1000",
    ]);
    let r = docker(&[
        "run",
        "-d",
        "-m",
        "64m",
        "--memory-reservation",
        "16m",
        img,
        "sleep",
        "1000",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let did = r.stdout.trim().to_string();
    let file = "memory.soft_limit_in_bytes";
    for (value, bytes) in [("32m", 32u64 << 20), ("8m", 8 << 20)] {
        k.ok(&["update", "--memory-reservation", value, "soft"]);
        let r = docker(&["update", "--memory-reservation", value, &did]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let ours = host_file(&k, "soft", "memory", file);
        assert_eq!(ours, bytes.to_string());
        assert_eq!(inside_file(&k, "soft", "memory", file), ours);
        assert_eq!(docker_file(&did, "memory", file), ours);
        assert_eq!(
            field(&k, "soft", ".HostConfig.MemoryReservation"),
            bytes.to_string()
        );
    }
    // Above the memory limit: kiste checks the update against the recorded limit, as
    // `run` checks the pair, and changes nothing. docker's engine checks only the values
    // in the request and writes a soft limit above the hard one.
    let r = k.run(&["update", "--memory-reservation", "128m", "soft"]);
    let theirs = docker(&["update", "--memory-reservation", "128m", &did]);
    docker(&["rm", "-f", &did]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("invalid argument \"134217728\" for \"--memory-reservation\" flag: minimum memory limit can not be less than memory reservation limit"),
        "{}",
        r.stderr
    );
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);
    assert_eq!(
        host_file(&k, "soft", "memory", file),
        (8u64 << 20).to_string()
    );
    k.ok(&["rm", "-f", "soft"]);
}
