//! What a build's RUN steps share and what they must not: on cgroup v1 one cgroup per
//! build, joined by each RUN step in turn (a step finds it empty of the steps before it)
//! and gone with the build, whether it succeeds or a step fails; no scratch dir, mount
//! or cgroup is left by a failing step; a step sees only the layers before it.

mod support;

use std::path::{Path, PathBuf};
use support::*;

const HIERARCHIES: &[&str] = &[
    "memory", "cpu", "cpuacct", "pids", "cpuset", "freezer", "blkio", "devices",
];

/// The cgroups below `parent` in every v1 hierarchy.
fn cgroups_below(parent: &str) -> Vec<PathBuf> {
    HIERARCHIES
        .iter()
        .flat_map(|h| {
            std::fs::read_dir(Path::new("/sys/fs/cgroup").join(h).join(parent))
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_dir())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn remove_parent(parent: &str) {
    for h in HIERARCHIES {
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(h).join(parent));
    }
}

fn scratch_dirs(k: &Kiste) -> Vec<PathBuf> {
    std::fs::read_dir(k.root().join("build"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn run_steps_of_a_build_share_one_cgroup_that_goes_with_the_build() {
    if !cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let parent = format!("kiste-test-brr-{}", std::process::id());
    // Inside a step's cgroup namespace the hierarchy's root is the step's cgroup: its
    // inode names the cgroup.
    let ctx = k.context(
        "share",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             RUN ls -id /sys/fs/cgroup/devices | awk '{print $1}' > /first\n\
             RUN ls -id /sys/fs/cgroup/devices | awk '{print $1}' > /second\n",
        )],
    );
    k.ok(&[
        "build",
        "-q",
        "--cgroup-parent",
        &parent,
        "-t",
        "share",
        ctx.to_str().unwrap(),
    ]);
    let left = cgroups_below(&parent);
    remove_parent(&parent);
    assert!(left.is_empty(), "cgroups left: {left:?}");
    let out = k.sh("share", "cat /first /second");
    let ids: Vec<&str> = out.lines().collect();
    assert_eq!(ids.len(), 2, "{out}");
    assert!(ids[0].parse::<u64>().is_ok(), "{out}");
    assert_eq!(ids[0], ids[1], "the two RUN steps ran in different cgroups");
}

#[test]
fn a_run_step_finds_the_shared_cgroup_empty_of_the_steps_before_it() {
    if !cgroup_v1_or_skip() {
        return;
    }
    let k = Kiste::new();
    k.busybox();
    // The first step leaves a process in the background; its pid namespace ends with
    // the step, so the next step is alone in the cgroup (pids.current counts every task,
    // whatever its namespace; the probe uses only shell builtins: the shell alone).
    let ctx = k.context(
        "alone",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             RUN sleep 1000 & echo started\n\
             RUN read n < /sys/fs/cgroup/pids/pids.current; echo $n > /count\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "alone", ctx.to_str().unwrap()]);
    assert_eq!(k.sh("alone", "cat /count").trim(), "1");
}

#[test]
fn a_failing_run_step_leaves_no_cgroup_mount_or_scratch_dir() {
    let k = Kiste::new();
    k.busybox();
    let parent = format!("kiste-test-brf-{}", std::process::id());
    let ctx = k.context(
        "fail",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN echo one > /one\nRUN echo two > /two; exit 3\n",
        )],
    );
    let r = k.run(&[
        "build",
        "-q",
        "--cgroup-parent",
        &parent,
        ctx.to_str().unwrap(),
    ]);
    let left = cgroups_below(&parent);
    remove_parent(&parent);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("returned a non-zero code: 3"),
        "{}",
        r.stderr
    );
    assert!(left.is_empty(), "cgroups left: {left:?}");
    assert!(k.mounts().is_empty(), "mounts left: {:?}", k.mounts());
    assert!(
        scratch_dirs(&k).is_empty(),
        "build dirs left: {:?}",
        scratch_dirs(&k)
    );
}

#[test]
fn a_run_step_sees_the_layers_before_it_and_nothing_else_of_earlier_steps() {
    let k = Kiste::new();
    k.busybox();
    // /dev/shm and /tmp's mounts are the step's own; /dev and /proc are not layers.
    let ctx = k.context(
        "see",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             RUN echo one > /one && echo shm > /dev/shm/leak && mkdir -p /made\n\
             RUN rm /one && echo two > /made/two\n\
             RUN { ls /; ls /made; test -e /dev/shm/leak && echo leaked; true; } > /seen\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "see", ctx.to_str().unwrap()]);
    let seen = k.sh("see", "cat /seen");
    let names: Vec<&str> = seen.lines().collect();
    assert!(names.contains(&"made") && names.contains(&"two"), "{seen}");
    assert!(!names.contains(&"one"), "a removed file came back: {seen}");
    assert!(!seen.contains("leaked"), "{seen}");
}

/// Every directory below `dir`, which must hold nothing else (no file, no symlink).
fn only_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let t = e.file_type().unwrap();
        assert!(t.is_dir(), "not a directory: {}", e.path().display());
        found.push(e.path());
        found.extend(only_dirs(&e.path()));
    }
    found
}

#[test]
fn run_steps_share_empty_mount_points_on_the_run_root_that_stay_empty() {
    let k = Kiste::new();
    k.busybox();
    // busybox has no /dev, /proc or /sys: the steps get them from a layer of empty
    // directories on the run root, which they see as mount points and cannot write to.
    let ctx = k.context(
        "points",
        &[(
            "Dockerfile",
            "FROM busybox\n\
             RUN echo x > /dev/x; echo y > /proc/y 2>/dev/null; mkdir -p /made\n\
             RUN echo z > /dev/z; test -d /proc/self && echo proc > /made/proc\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "points", ctx.to_str().unwrap()]);
    let points = k.runroot().join("build-points");
    let dirs = only_dirs(&points);
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.strip_prefix(&points).unwrap().display().to_string())
        .collect();
    assert!(names.contains(&"rootfs".to_string()), "{names:?}");
    assert!(
        names.contains(&"mount-points-dev-proc-sys/proc".to_string()),
        "{names:?}"
    );
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(k.mounts().is_empty(), "mounts left: {:?}", k.mounts());
    let out = k.sh("points", "cat /made/proc; ls -a /");
    assert!(out.starts_with("proc\n"), "{out}");
    // A second build finds them and uses them as they are.
    k.ok(&[
        "build",
        "-q",
        "--no-cache",
        "-t",
        "points",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(only_dirs(&points).len(), 5);
}
