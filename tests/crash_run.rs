//! `kiste run` killed with SIGKILL at every stage of a start — before the record, while
//! mounting, before and after the container's exec — leaves nothing behind once the next
//! kiste command has run: no `--rm` record, no mount, no cgroup, no container process.

mod support;

use std::time::Duration;
use support::*;

/// Live processes (zombies aside) whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<i32> {
    let want = argv.join("\0") + "\0";
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let zombie = stat[stat.rfind(')')? + 1..].trim_start().starts_with('Z');
            (cmd == want.as_bytes() && !zombie).then_some(pid)
        })
        .collect()
}

/// The ids of the container records in the store.
fn record_ids(k: &Kiste) -> Vec<String> {
    std::fs::read_dir(k.root().join("containers"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 64)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_run_rm_killed_at_any_stage_of_its_start_leaves_nothing_behind() {
    let k = Kiste::new();
    k.busybox();
    let argv = ["sleep", "3201"];
    // The kill lands at a different stage each time: from before the record exists to
    // well after the container runs. The delay picks the moment; nothing waits on it.
    for delay_us in (0..40_000).step_by(2_500) {
        let mut run = k
            .cmd(&["run", "--rm", "busybox", argv[0], argv[1]])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(delay_us));
        unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
        run.wait().unwrap();
        wait_until(
            "the container to die with its kiste run",
            Duration::from_secs(10),
            || processes(&argv).is_empty(),
        );
        let ids = record_ids(&k);
        assert_eq!(
            k.ok(&["ps", "-a", "-q"]),
            "",
            "killed after {delay_us} µs: the --rm record is removed"
        );
        assert!(
            record_ids(&k).is_empty(),
            "killed after {delay_us} µs: dirs left"
        );
        assert!(
            k.mounts().is_empty(),
            "killed after {delay_us} µs: mounts left: {:?}",
            k.mounts()
        );
        for id in ids {
            assert!(
                cgroup_left(&id).is_empty(),
                "killed after {delay_us} µs: cgroup of {id} left"
            );
        }
    }
}

#[test]
fn a_run_killed_before_its_container_runs_leaves_a_created_container_that_can_start() {
    let k = Kiste::new();
    k.busybox();
    // Killed at once: at most the record exists, nothing runs.
    let mut run = k
        .cmd(&["run", "--name", "early", "busybox", "echo", "hi"])
        .spawn()
        .unwrap();
    unsafe { libc::kill(run.id() as i32, libc::SIGKILL) };
    run.wait().unwrap();
    let ps = k.ok(&["ps", "-a"]);
    if ps.contains("early") {
        assert!(k.mounts().is_empty(), "mounts left: {:?}", k.mounts());
        // Whatever stage it died in, the container is in one consistent state and runs.
        let out = k.run(&["start", "-a", "early"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "hi\n"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_run_rm_has_removed_its_record_dirs_cgroup_and_mount_when_it_returns() {
    let k = Kiste::new();
    k.busybox();
    let cidfile = k.root().join("cid");
    let cid = cidfile.to_str().unwrap();
    for cmd in [
        &["--network", "none", "busybox", "true"][..],
        &["busybox", "sh", "-c", "echo x > /written; mkdir /d"][..],
    ] {
        let _ = std::fs::remove_file(&cidfile);
        k.ok(&[&["run", "--rm", "--cidfile", cid][..], cmd].concat());
        // Nothing runs in between: what `run --rm` left is what it returned with.
        let id = std::fs::read_to_string(&cidfile).unwrap();
        assert_eq!(id.len(), 64, "{cmd:?}: the id is written: {id:?}");
        assert!(
            record_ids(&k).is_empty(),
            "{cmd:?}: container dir left: {:?}",
            record_ids(&k)
        );
        let run_dirs: Vec<_> = std::fs::read_dir(k.runroot().join("containers"))
            .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(run_dirs.is_empty(), "{cmd:?}: run dirs left: {run_dirs:?}");
        assert!(cgroup_left(&id).is_empty(), "{cmd:?}: cgroup of {id} left");
        assert!(
            k.mounts().is_empty(),
            "{cmd:?}: mounts left: {:?}",
            k.mounts()
        );
    }
}

#[test]
fn a_run_dir_left_without_its_container_is_removed_by_the_next_command() {
    let k = Kiste::new();
    k.busybox();
    let live = k
        .ok(&["run", "-d", "busybox", "sleep", "3202"])
        .trim()
        .to_string();
    // What an `--rm` run killed between removing its record and its run dir leaves.
    let left = k.runroot().join("containers").join("ab".repeat(32));
    std::fs::create_dir_all(left.join("rootfs")).unwrap();
    for f in ["hosts", "hostname", "resolv.conf"] {
        std::fs::write(left.join(f), "x").unwrap();
    }
    // Not a container's: kiste never names a run dir so.
    let other = k.runroot().join("containers").join("not-an-id");
    std::fs::create_dir_all(&other).unwrap();
    k.ok(&["ps", "-q"]);
    assert!(!left.exists(), "the left run dir is removed");
    assert!(
        other.exists(),
        "a dir that is no container's run dir is kept"
    );
    assert!(
        k.runroot()
            .join("containers")
            .join(&live)
            .join("rootfs")
            .exists(),
        "the running container's run dir is kept"
    );
    k.ok(&["rm", "-f", &live]);
}
