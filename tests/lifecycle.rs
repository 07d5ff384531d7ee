//! wait, restart, rename, pause/unpause on real containers, and the bad input of each,
//! compared with docker's messages and exit codes.

mod support;
use std::time::{Duration, Instant};
use support::{wait_until, Kiste};

fn state(k: &Kiste, name: &str, field: &str) -> String {
    k.ok(&["inspect", "-f", &format!("{{{{{field}}}}}"), name])
        .trim()
        .to_string()
}

#[test]
fn wait_prints_each_exit_code_and_fails_for_a_missing_container() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "three",
        "busybox",
        "sh",
        "-c",
        "sleep 0.3; exit 3",
    ]);
    k.ok(&["create", "--name", "fresh", "busybox", "true"]);
    let r = k.run(&["wait", "three", "nosuch", "fresh"]);
    assert_eq!(r.stdout, "3\n0\n", "{}", r.stderr);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no such container: nosuch"),
        "{}",
        r.stderr
    );
    // An exited container answers at once with its code.
    assert_eq!(k.ok(&["wait", "three"]), "3\n");
}

#[test]
fn restart_gives_a_running_container_a_new_process() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "100"]);
    let before = state(&k, "sleeper", ".State.Pid");
    let begun = Instant::now();
    assert_eq!(k.ok(&["restart", "-t", "1", "sleeper"]), "sleeper\n");
    // sleep as PID 1 ignores SIGTERM: the restart kills it after the 1 s timeout.
    assert!(begun.elapsed() < Duration::from_secs(8));
    assert_eq!(state(&k, "sleeper", ".State.Status"), "running");
    assert_ne!(state(&k, "sleeper", ".State.Pid"), before);
    // A stopped container is simply started.
    k.ok(&["stop", "-t", "0", "sleeper"]);
    k.ok(&["restart", "sleeper"]);
    assert_eq!(state(&k, "sleeper", ".State.Status"), "running");
}

#[test]
fn rename_changes_the_name_and_refuses_a_taken_or_same_name() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&["create", "--name", "first", "busybox", "true"]);
    k.ok(&["create", "--name", "second", "busybox", "true"]);
    k.ok(&["rename", "first", "renamed"]);
    assert_eq!(state(&k, "renamed", ".Id"), id.trim());
    assert_eq!(k.run(&["inspect", "first"]).code, 1);

    let taken = k.run(&["rename", "renamed", "second"]);
    assert_eq!(taken.code, 1);
    assert!(
        taken
            .stderr
            .contains("\"/second\" is already in use by container"),
        "{}",
        taken.stderr
    );
    let same = k.run(&["rename", "renamed", "renamed"]);
    assert_eq!(same.code, 1);
    assert!(same.stderr.contains("same name as its current name"));
    assert_eq!(k.run(&["rename", "nosuch", "other"]).code, 1);
    assert_eq!(k.run(&["rename", "renamed", "bad/name"]).code, 1);
    // Nothing changed by the refusals.
    assert_eq!(state(&k, "renamed", ".Id"), id.trim());
}

#[test]
fn pause_freezes_the_container_and_unpause_thaws_it() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--name",
        "counter",
        "busybox",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.05; done",
    ]);
    let id = id.trim();
    k.ok(&["pause", "counter"]);
    assert_eq!(state(&k, "counter", ".State.Status"), "paused");
    assert_eq!(state(&k, "counter", ".State.Paused"), "true");
    assert_eq!(state(&k, "counter", ".State.Running"), "true");
    let status = k.ok(&["ps", "--format", "{{.Status}}"]);
    assert!(
        status.trim().starts_with("Up ") && status.trim().ends_with("(Paused)"),
        "{status}"
    );
    // Every process of the container is stopped by the freezer.
    let pid = state(&k, "counter", ".State.Pid");
    let proc_state = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let freezer = support::cgroup::Layout::host();
    if freezer == support::cgroup::Layout::V1 {
        let st =
            std::fs::read_to_string(format!("/sys/fs/cgroup/freezer/kiste/{id}/freezer.state"))
                .unwrap();
        assert_eq!(st.trim(), "FROZEN", "{proc_state}");
    }
    let again = k.run(&["pause", "counter"]);
    assert_eq!(again.code, 1);
    assert!(
        again.stderr.contains("is already paused"),
        "{}",
        again.stderr
    );

    k.ok(&["unpause", "counter"]);
    assert_eq!(state(&k, "counter", ".State.Status"), "running");
    let not = k.run(&["unpause", "counter"]);
    assert_eq!(not.code, 1);
    assert!(not.stderr.contains("is not paused"), "{}", not.stderr);
}

#[test]
fn stop_and_kill_of_a_paused_container_end_it_with_137() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "-d", "--name", "frozen", "busybox", "sleep", "100"]);
    k.ok(&["pause", "frozen"]);
    k.ok(&["stop", "-t", "1", "frozen"]);
    assert_eq!(state(&k, "frozen", ".State.Status"), "exited");
    assert_eq!(state(&k, "frozen", ".State.ExitCode"), "137");
    assert_eq!(state(&k, "frozen", ".State.Paused"), "false");

    k.ok(&["start", "frozen"]);
    k.ok(&["pause", "frozen"]);
    k.ok(&["kill", "frozen"]);
    assert_eq!(state(&k, "frozen", ".State.ExitCode"), "137");
    // A stopped container cannot be paused, as in docker.
    let r = k.run(&["pause", "frozen"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
}

#[test]
fn on_failure_2_restarts_exactly_twice() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "failing",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo ran; exit 1",
    ]);
    wait_until(
        "three runs and a final exit",
        Duration::from_secs(20),
        || {
            state(&k, "failing", ".State.Status") == "exited"
                && state(&k, "failing", ".RestartCount") == "2"
        },
    );
    assert_eq!(state(&k, "failing", ".State.ExitCode"), "1");
    assert_eq!(
        state(&k, "failing", ".HostConfig.RestartPolicy.Name"),
        "on-failure"
    );
    assert_eq!(
        state(&k, "failing", ".HostConfig.RestartPolicy.MaximumRetryCount"),
        "2"
    );
    assert_eq!(k.ok(&["logs", "failing"]).matches("ran").count(), 3);
    // The monitor is gone: nothing restarts it later.
    assert_eq!(k.monitor_pid(&state(&k, "failing", ".Id")), 0);
}

#[test]
fn always_restarts_after_exit_0_until_stopped() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "looping",
        "--restart",
        "always",
        "busybox",
        "true",
    ]);
    wait_until("two restarts", Duration::from_secs(20), || {
        state(&k, "looping", ".RestartCount")
            .parse::<u32>()
            .unwrap()
            >= 2
    });
    // Between two runs `ps` (without -a) lists it as docker does.
    wait_until("ps shows it restarting", Duration::from_secs(20), || {
        k.ok(&["ps", "--format", "{{.Status}}"])
            .starts_with("Restarting (0) ")
    });
    let begun = Instant::now();
    k.ok(&["stop", "looping"]);
    assert!(begun.elapsed() < Duration::from_secs(5));
    assert_eq!(state(&k, "looping", ".State.Status"), "exited");
    assert_eq!(state(&k, "looping", ".State.Restarting"), "false");
    let count = state(&k, "looping", ".RestartCount");
    // The stop ended the policy: the count stays and the monitor is gone.
    let id = state(&k, "looping", ".Id");
    assert_eq!(k.monitor_pid(&id), 0);
    assert_eq!(state(&k, "looping", ".RestartCount"), count);
}

#[test]
fn stop_of_a_long_running_always_container_does_not_restart_it() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--restart",
        "unless-stopped",
        "busybox",
        "sleep",
        "100",
    ]);
    k.ok(&["stop", "-t", "0", "svc"]);
    assert_eq!(state(&k, "svc", ".State.Status"), "exited");
    assert_eq!(state(&k, "svc", ".RestartCount"), "0");
    // A user's start brings it back and resumes the policy.
    k.ok(&["start", "svc"]);
    assert_eq!(state(&k, "svc", ".State.Status"), "running");
}

#[test]
fn start_all_with_a_restart_policy_filter_starts_only_those() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "create",
        "--name",
        "keep",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "100",
    ]);
    k.ok(&["create", "--name", "other", "busybox", "sleep", "100"]);
    k.ok(&["start", "--all", "--filter", "restart-policy=always"]);
    assert_eq!(state(&k, "keep", ".State.Status"), "running");
    assert_eq!(state(&k, "other", ".State.Status"), "created");
    let bad = k.run(&["start", "--all", "--filter", "restart-policy=bogus"]);
    assert_eq!(bad.code, 125);
}

#[test]
fn a_monitor_killed_during_a_restart_policy_leaves_no_orphan() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--name",
        "orphan",
        "--restart",
        "always",
        "busybox",
        "sleep",
        "100",
    ]);
    let id = id.trim();
    let pid: i64 = state(&k, "orphan", ".State.Pid").parse().unwrap();
    let monitor = k.monitor_pid(id);
    unsafe { libc::kill(monitor as i32, libc::SIGKILL) };
    wait_until(
        "the container dies with its monitor",
        Duration::from_secs(10),
        || {
            !support::process_alive(pid)
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z"))
        },
    );
    // The next command records the exit; nothing restarts it and nothing is left.
    assert_eq!(state(&k, "orphan", ".State.Status"), "exited");
    assert!(support::cgroup_left(id).is_empty());
    assert!(k.mounts().is_empty(), "{:?}", k.mounts());
}

#[test]
fn bad_restart_policies_are_refused_with_docker_messages_and_125() {
    let k = Kiste::new();
    k.busybox();
    for (policy, message) in [
        ("bogus", "invalid restart policy 'bogus'"),
        (
            "on-failure:x",
            "invalid restart policy format: maximum retry count must be an integer",
        ),
        (
            "always:3",
            "maximum retry count cannot be used with restart policy 'always'",
        ),
    ] {
        let r = k.run(&["run", "--restart", policy, "busybox", "true"]);
        assert_eq!(r.code, 125, "{policy}");
        assert!(r.stderr.contains(message), "{policy}: {}", r.stderr);
    }
    let r = k.run(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("cannot specify both --restart and --rm"));
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "", "nothing was created");
}

#[test]
fn wait_answers_with_the_exit_code_of_an_rm_container_its_monitor_removed() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "read x < /dev/null; sleep 1; exit 3",
    ]);
    assert_eq!(k.ok(&["wait", id.trim()]), "3\n");
    assert!(k.ok(&["ps", "-aq"]).trim().is_empty(), "the record is gone");
}

/// An `--rm` container's upper dir is thrown away with it, so its root is mounted with
/// overlay's `volatile` (its unmount does not sync the disk); a kept container's root is
/// not, so its writes survive a crash as docker's do. Both still write normally.
#[test]
fn an_rm_containers_root_skips_the_disk_sync_and_a_kept_ones_does_not() {
    let k = Kiste::new();
    k.busybox();
    let root_line = "echo data > /f && cat /f && grep ' / / ' /proc/self/mountinfo";
    let rm = k.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        root_line,
    ]);
    assert!(rm.starts_with("data\n"), "{rm}");
    assert!(rm.contains(" - overlay "), "{rm}");
    assert!(rm.contains("volatile"), "--rm root is not volatile: {rm}");
    let kept = k.ok(&[
        "run",
        "--name",
        "kept",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        root_line,
    ]);
    assert!(kept.starts_with("data\n"), "{kept}");
    assert!(kept.contains(" - overlay "), "{kept}");
    assert!(
        !kept.contains("volatile"),
        "a kept container's root is volatile: {kept}"
    );
    // The kept container's write is in its upper dir after it exited.
    let diff = k.ok(&["diff", "kept"]);
    assert!(diff.lines().any(|l| l == "A /f"), "{diff}");
}

/// A running `--rm` container's root is mounted in its own mount namespace only (the
/// host never holds it, so nothing is left to unmount), and what reads or writes a
/// running container's files still works: `exec`, `cp` both ways, `diff`, `export`
/// and `commit`; when it ends, nothing of it is left mounted.
#[test]
fn an_rm_containers_root_lives_in_its_own_namespace_and_cp_exec_diff_export_work() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sleep",
        "60",
    ]);
    let id = id.trim();
    assert!(
        k.mounts().is_empty(),
        "mounted on the host: {:?}",
        k.mounts()
    );
    assert_eq!(
        k.ok(&["exec", id, "sh", "-c", "echo ex > /y; cat /y"]),
        "ex\n"
    );
    let file = k.dir.path().join("in.txt");
    std::fs::write(&file, "copied\n").unwrap();
    k.ok(&["cp", file.to_str().unwrap(), &format!("{id}:/in.txt")]);
    assert_eq!(k.ok(&["exec", id, "cat", "/in.txt"]), "copied\n");
    let back = k.dir.path().join("back.txt");
    k.ok(&["cp", &format!("{id}:/y"), back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "ex\n");
    let diff = k.ok(&["diff", id]);
    assert!(diff.lines().any(|l| l == "A /in.txt"), "{diff}");
    let tar = k.dir.path().join("export.tar");
    k.ok(&["export", "-o", tar.to_str().unwrap(), id]);
    let listing = support::checked_output(std::process::Command::new("tar").arg("tf").arg(&tar));
    let listing = String::from_utf8_lossy(&listing);
    assert!(
        listing.lines().any(|l| l.trim_start_matches("./") == "y"),
        "{listing}"
    );
    k.ok(&["commit", id, "committed"]);
    assert_eq!(k.sh("committed", "cat /in.txt"), "copied\n");
    assert!(
        k.mounts().is_empty(),
        "mounted on the host: {:?}",
        k.mounts()
    );
    k.ok(&["rm", "-f", id]);
    assert!(k.mounts().is_empty(), "left mounted: {:?}", k.mounts());
    assert!(k.ok(&["ps", "-aq"]).trim().is_empty(), "the record is gone");
}
