//! The everyday workflow as an unprivileged user (a user made for the test, kiste run
//! through `runuser`): build with RUN, run/ps/logs/stop/start/rm with image owners kept
//! (0, 33, 1000 inside; the mapped sub-ids on the host), `USER 1000` stopped by a later
//! invocation, the store in ~/.local/share/kiste and the state in $XDG_RUNTIME_DIR/kiste.

mod support;

use std::os::unix::fs::MetadataExt;
use support::rootless::{unsupported, User};
use support::*;

const T: std::time::Duration = std::time::Duration::from_secs(10);

const OWNERS: &str = "FROM busybox\nRUN mkdir -p /data /home/u && touch /data/root /data/www /data/user && chown 33:33 /data/www && chown 1000:1000 /data/user /home/u\nUSER 1000\nWORKDIR /home/u\nCMD [\"sh\", \"-c\", \"trap 'echo bye; exit 0' TERM; echo started; while true; do sleep 0.1; done\"]\n";

/// `busybox` and `owners` (files of uid 0, 33 and 1000; USER 1000) in the user's store.
fn owners_image(u: &User) {
    u.busybox();
    let ctx = u.context("owners", &[("Dockerfile", OWNERS)]);
    u.ok(&["build", "-q", "-t", "owners", ctx.to_str().unwrap()]);
}

#[test]
fn a_user_builds_with_run_and_sees_the_image_owners_inside() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let u = User::create("own", true);
    owners_image(&u);
    let out = u.ok(&[
        "run",
        "--rm",
        "owners",
        "sh",
        "-c",
        "id -u; stat -c '%n %u:%g' /data/root /data/www /data/user /home/u",
    ]);
    assert_eq!(
        out,
        "1000\n/data/root 0:0\n/data/www 33:33\n/data/user 1000:1000\n/home/u 1000:1000\n"
    );
    // The store and the state are where XDG puts them, and nobody else may enter them.
    let store = std::fs::metadata(u.store()).unwrap();
    assert_eq!((store.uid(), store.mode() & 0o777), (u.uid, 0o700));
    let run = std::fs::metadata(u.runtime_dir.join("kiste")).unwrap();
    assert_eq!((run.uid(), run.mode() & 0o777), (u.uid, 0o700));
    // Layers hold the mapped ids on the host, never host root's or another user's.
    let sub = u.subuid.expect("useradd gave the user a subordinate range");
    let layers = u.store().join("images/layers");
    let owners: std::collections::BTreeSet<u32> = walkdir::WalkDir::new(&layers)
        .into_iter()
        .filter_map(|e| e.ok()?.metadata().ok().map(|m| m.uid()))
        .collect();
    let want: std::collections::BTreeSet<u32> = [u.uid, sub + 32, sub + 999].into();
    assert_eq!(
        owners,
        want,
        "owners of the files under {}",
        layers.display()
    );
}

#[test]
fn a_user_runs_stops_starts_and_removes_a_container_running_as_user_1000() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let u = User::create("run", true);
    owners_image(&u);
    let id = u
        .ok(&["run", "-d", "--name", "web", "owners"])
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "{id}");
    assert!(u
        .ok(&["ps", "--format", "{{.Names}} {{.Status}}"])
        .starts_with("web Up"));
    wait_until("the container's log", T, || {
        u.ok(&["logs", "web"]).contains("started")
    });
    // Its process runs on the host as the mapped id of 1000.
    let sub = u.subuid.unwrap();
    let pid: i32 = u
        .ok(&["inspect", "-f", "{{.State.Pid}}", "web"])
        .trim()
        .parse()
        .unwrap();
    let host_uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u32>()
        .unwrap();
    assert_eq!(host_uid, sub + 999);
    // A later invocation's stop reaches it: the trap answers SIGTERM.
    let t = std::time::Instant::now();
    u.ok(&["stop", "web"]);
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert!(u.ok(&["logs", "web"]).contains("bye"));
    assert_eq!(
        u.ok(&["inspect", "-f", "{{.State.ExitCode}}", "web"]),
        "0\n"
    );
    assert!(!process_alive(pid as i64));
    u.ok(&["start", "web"]);
    assert!(u
        .ok(&["ps", "--format", "{{.Names}} {{.Status}}"])
        .starts_with("web Up"));
    // A file a container writes lands in its upper dir, owned by the mapped id.
    let w = u
        .ok(&["run", "-d", "owners", "sh", "-c", "echo x > /home/u/made"])
        .trim()
        .to_string();
    wait_until("the writer to exit", T, || {
        u.ok(&["inspect", "-f", "{{.State.Status}}", &w]) == "exited\n"
    });
    let made = u
        .store()
        .join("containers")
        .join(&w)
        .join("upper/home/u/made");
    let m = std::fs::metadata(&made).unwrap();
    assert_eq!((m.uid(), m.gid()), (sub + 999, u.uid), "{}", made.display());
    u.ok(&["rm", "-f", "web", &w]);
    assert_eq!(u.ok(&["ps", "-aq"]), "");
    assert!(!process_alive(pid as i64));
}

/// Poll `cond` for up to 10 s.
/// fuse-overlayfs chosen for a RUN step (deleting a file, replacing a directory) and for
/// the container: owners and deletions come out as with the kernel's overlay.
#[test]
fn fuse_overlayfs_serves_the_same_owners_and_deletions_when_chosen() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    if !have("fuse-overlayfs") {
        return skip("fuse-overlayfs is not installed");
    }
    let u = User::create("fuse", true);
    owners_image(&u);
    let del = u.context(
        "del",
        &[(
            "Dockerfile",
            "FROM owners\nUSER 0\nRUN rm /data/www && rm -rf /home/u && mkdir /home/u && touch /home/u/new\n",
        )],
    );
    let fuse = [("KISTE_ROOTLESS_OVERLAY", Some("fuse-overlayfs"))];
    let built = u.run_env(&["build", "-q", "-t", "del", del.to_str().unwrap()], &fuse);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let script = "grep -c ' / fuse.fuse-overlayfs ' /proc/mounts; stat -c '%n %u' /data/* /home/u/*; echo more > /home/u/new";
    let r = u.run_env(&["run", "--name", "fz", "del", "sh", "-c", script], &fuse);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "1\n/data/root 0\n/data/user 1000\n/home/u/new 0\n"
    );
    let id = u.ok(&["inspect", "-f", "{{.Id}}", "fz"]);
    let upper = u
        .store()
        .join("containers")
        .join(id.trim())
        .join("upper/home/u/new");
    assert_eq!(std::fs::read_to_string(upper).unwrap(), "more\n");
}
