//! Which cgroup v1 hierarchies a container of kiste's own is in: devices, memory, cpuacct,
//! pids and blkio always (the device allowlist, `stats`, OOM and the process list), the
//! others only when a setting asks for one; `pause` and `update` add a missing one to a
//! running container with every process moved in, and `rm -f` leaves no directory in any
//! hierarchy. Checked against the real kernel on this v1 host (skipped on v2).

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use support::cgroup::Layout;
use support::Kiste;

/// The controllers (mount option names) whose hierarchy holds `kiste/<id>` now.
fn hierarchies_of(id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let dir = e.path();
        if dir.is_symlink() || !dir.join("kiste").join(id).is_dir() {
            continue;
        }
        out.extend(name.split(',').map(str::to_string));
    }
    out
}

/// The controllers this host mounts in their own hierarchy directory.
fn mounted(controller: &str) -> bool {
    PathBuf::from("/sys/fs/cgroup")
        .join(controller)
        .join("cgroup.procs")
        .exists()
}

/// Whether this v1 host mounts `controller`'s hierarchy; else the test is skipped.
fn v1_with(controller: &str) -> bool {
    if !support::cgroup_v1_or_skip() {
        return false;
    }
    if !mounted(controller) {
        support::skip(&format!("the host mounts no {controller} hierarchy"));
        return false;
    }
    true
}

/// File `file` of container `id`'s cgroup in `controller`'s hierarchy, trimmed.
fn file(controller: &str, id: &str, file: &str) -> String {
    Layout::V1.file(controller, "kiste", id, file)
}

fn procs(controller: &str, id: &str) -> BTreeSet<i32> {
    file(controller, id, "cgroup.procs")
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn start(k: &Kiste, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    k.ok(&args).trim().to_string()
}

#[test]
fn a_plain_container_joins_only_the_hierarchies_that_enforce_and_observe_it() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let id = start(&k, &[], "sleep 1000");
    let joined = hierarchies_of(&id);
    for c in ["devices", "memory", "cpuacct", "pids", "blkio"] {
        if mounted(c) {
            assert!(joined.contains(c), "{c} missing from {joined:?}");
        }
    }
    for c in [
        "cpuset",
        "freezer",
        "hugetlb",
        "net_cls",
        "perf_event",
        "rdma",
    ] {
        assert!(
            !joined.contains(c),
            "{c} made without a setting: {joined:?}"
        );
    }
    // cpu is joined only when it shares its hierarchy with cpuacct.
    let cpu_shared = std::fs::read_link("/sys/fs/cgroup/cpuacct").is_ok()
        || PathBuf::from("/sys/fs/cgroup/cpu,cpuacct").is_dir();
    assert_eq!(joined.contains("cpu"), cpu_shared, "{joined:?}");
    // The device allowlist is enforced: mknod is allowed, a disk read is not.
    let out = k.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "mknod /tmp-sda b 8 0 && head -c1 /tmp-sda; echo rc=$?",
    ]);
    assert!(
        out.stdout.contains("rc=1") && out.stderr.contains("not permitted"),
        "{} / {}",
        out.stdout,
        out.stderr
    );
    // stats and top read what they need from the joined hierarchies.
    let top = k.ok(&["top", &id]);
    assert!(top.contains("sleep 1000"), "{top}");
    let mem = k.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}} {{.PIDs}}",
        &id,
    ]);
    assert!(mem.trim().ends_with(" 1"), "{mem}");
    k.ok(&["rm", "-f", &id]);
    assert!(support::cgroup_left(&id).is_empty());
}

#[test]
fn cpuset_cpus_makes_a_cpuset_directory_that_copies_its_mems() {
    if !v1_with("cpuset") {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let id = start(&k, &["--cpuset-cpus", "0"], "sleep 1000");
    assert!(hierarchies_of(&id).contains("cpuset"));
    assert_eq!(file("cpuset", &id, "cpuset.cpus"), "0");
    let parent_mems = Layout::V1.file("cpuset", "kiste", "", "cpuset.mems");
    assert_eq!(file("cpuset", &id, "cpuset.mems"), parent_mems);
    assert!(!procs("cpuset", &id).is_empty());
    k.ok(&["rm", "-f", &id]);
    assert!(support::cgroup_left(&id).is_empty());
}

#[test]
fn pause_freezes_every_process_of_a_container_started_without_a_freezer() {
    if !v1_with("freezer") {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let id = start(&k, &[], "sleep 1000 & sleep 1001");
    assert!(!hierarchies_of(&id).contains("freezer"));
    // A process that came after start: exec'd, and forking a child of its own.
    k.ok(&["exec", "-d", &id, "sh", "-c", "sleep 1002 & sleep 1003"]);
    let members = || procs("pids", &id);
    support::wait_until("the exec'd processes", Duration::from_secs(5), || {
        members().len() >= 4
    });
    k.ok(&["pause", &id]);
    assert_eq!(file("freezer", &id, "freezer.state"), "FROZEN");
    let all = members();
    assert_eq!(
        procs("freezer", &id),
        all,
        "every process is in the freezer"
    );
    for pid in &all {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("State:")).unwrap();
        assert!(!line.contains("R (running)"), "{pid}: {line}");
    }
    k.ok(&["unpause", &id]);
    assert_eq!(file("freezer", &id, "freezer.state"), "THAWED");
    k.ok(&["exec", &id, "true"]);
    k.ok(&["rm", "-f", &id]);
    assert!(support::cgroup_left(&id).is_empty());
}

#[test]
fn update_of_a_missing_hierarchy_makes_it_and_moves_every_process() {
    if !v1_with("cpuset") {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let id = start(&k, &[], "sleep 1000 & sleep 1001");
    support::wait_until("both sleeps", Duration::from_secs(5), || {
        procs("pids", &id).len() >= 2
    });
    assert!(!hierarchies_of(&id).contains("cpuset"));
    k.ok(&["update", "--cpuset-cpus", "0", &id]);
    assert_eq!(file("cpuset", &id, "cpuset.cpus"), "0");
    assert_eq!(procs("cpuset", &id), procs("pids", &id));
    let inside = k.ok(&["exec", &id, "grep", "Cpus_allowed_list", "/proc/1/status"]);
    assert!(inside.trim().ends_with("\t0"), "{inside}");
    if Layout::V1.has_io_weight("kiste") {
        // blkio is always joined; a weight is written to the existing directory.
        k.ok(&["update", "--blkio-weight", "300", &id]);
    }
    k.ok(&["rm", "-f", &id]);
    assert!(support::cgroup_left(&id).is_empty());
}

/// The controllers whose hierarchy has a directory below `parent` (a RUN step's).
fn steps_below(parent: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let dir = e.path().join(parent);
        if e.path().is_symlink() {
            continue;
        }
        let has_step = std::fs::read_dir(&dir)
            .map(|rd| rd.flatten().any(|c| c.path().is_dir()))
            .unwrap_or(false);
        if has_step {
            let name = e.file_name().to_string_lossy().into_owned();
            out.extend(name.split(',').map(str::to_string));
        }
    }
    out
}

/// Builds `ctx` with `flags` and a cgroup parent of its own, and returns the hierarchies
/// its RUN step was in while it waited for the test.
fn step_hierarchies(k: &Kiste, ctx: &std::path::Path, flags: &[&str]) -> BTreeSet<String> {
    let parent = format!("kiste-test-steps-{}", std::process::id());
    let _ = std::fs::remove_file(ctx.join("go"));
    let mut args = vec!["build", "-q", "--no-cache", "--cgroup-parent", &parent];
    args.extend_from_slice(flags);
    args.push(ctx.to_str().unwrap());
    let mut child = k
        .cmd(&args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    support::wait_until("the RUN step's cgroup", Duration::from_secs(60), || {
        !steps_below(&parent).is_empty()
    });
    let seen = steps_below(&parent);
    std::fs::write(ctx.join("go"), "").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(steps_below(&parent).is_empty(), "a step's cgroup stayed");
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(e.path().join(&parent));
    }
    seen
}

#[test]
fn a_run_step_joins_devices_and_pids_and_the_hierarchies_of_its_limits() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "steps",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN --mount=type=bind,target=/ctx \
             i=0; while [ ! -e /ctx/go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n",
        )],
    );
    let want: BTreeSet<String> = ["devices", "pids"]
        .into_iter()
        .filter(|c| mounted(c))
        .map(str::to_string)
        .collect();
    assert_eq!(step_hierarchies(&k, &ctx, &[]), want);
    let limited = step_hierarchies(&k, &ctx, &["--memory", "64m"]);
    assert!(limited.contains("memory"), "{limited:?}");
    assert!(!limited.contains("freezer"), "{limited:?}");
}
