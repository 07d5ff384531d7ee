//! What rootless kiste refuses and says: a limit flag where no cgroup can hold it, a
//! privileged host port, a missing newuidmap, a missing or foreign runtime directory,
//! no subordinate range (a warning, then a single-id mapping that still works); and two
//! users who do not see or touch each other's containers and images.

mod support;

use std::os::unix::fs::MetadataExt;
use support::rootless::{unsupported, User};
use support::*;

#[test]
fn limit_flags_and_privileged_ports_are_refused_with_the_reason() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let u = User::create("lim", true);
    u.busybox();
    let r = u.run(&[
        "run", "--rm", "--memory", "64m", "--cpus", "0.5", "busybox", "true",
    ]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("--memory, --cpus cannot be applied to a rootless container"),
        "{}",
        r.stderr
    );
    let why = if cgroup::Layout::host() == cgroup::Layout::V1 {
        "cgroup v1"
    } else {
        "delegated cgroup v2"
    };
    assert!(r.stderr.contains(why), "{}", r.stderr);
    assert_eq!(u.ok(&["ps", "-aq"]), "", "nothing was created");
    // Without a limit flag the same run works.
    assert_eq!(u.ok(&["run", "--rm", "busybox", "echo", "ok"]), "ok\n");

    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if start <= 80 {
        return skip("port 80 is unprivileged on this host");
    }
    let r = u.run(&["run", "--rm", "-p", "80:80", "busybox", "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot publish host port 80")
            && r.stderr.contains("net.ipv4.ip_unprivileged_port_start"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_setups_say_what_to_install_or_configure() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let u = User::create("bad", true);
    // No newuidmap on PATH (and no pause process yet to join).
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().to_str().unwrap();
    let r = u.run_env(&["ps"], &[("PATH", Some(path))]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("install the uidmap package"),
        "{}",
        r.stderr
    );
    // XDG_RUNTIME_DIR names a directory that does not exist.
    let r = u.run_env(&["ps"], &[("XDG_RUNTIME_DIR", Some("/nonexistent/run"))]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("XDG_RUNTIME_DIR does not exist"),
        "{}",
        r.stderr
    );
    // Without XDG_RUNTIME_DIR the fallback in /tmp must be the user's own.
    let fallback = std::path::PathBuf::from(format!("/tmp/kiste-{}", u.uid));
    let _ = std::fs::remove_dir_all(&fallback);
    std::fs::create_dir(&fallback).unwrap();
    let r = u.run_env(&["ps"], &[("XDG_RUNTIME_DIR", None)]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("not a directory owned by uid"),
        "{}",
        r.stderr
    );
    std::fs::remove_dir(&fallback).unwrap();
    let r = u.run_env(&["ps", "-q"], &[("XDG_RUNTIME_DIR", None)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = std::fs::metadata(&fallback).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (u.uid, 0o700));
}

#[test]
fn without_a_subordinate_range_only_the_users_own_id_is_mapped_with_a_warning() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let u = User::create("one", false);
    assert_eq!(u.subuid, None);
    let r = u.run(&["images", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("usermod --add-subuids"), "{}", r.stderr);
    // The warning comes once, when the namespace is made.
    let r = u.run(&["images", "-q"]);
    assert!(!r.stderr.contains("usermod"), "{}", r.stderr);
    u.busybox();
    assert_eq!(
        u.ok(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map"
        ])
        .split_whitespace()
        .collect::<Vec<_>>(),
        ["0", "0", &u.uid.to_string(), "1"]
    );
}

#[test]
fn two_users_do_not_see_or_touch_each_others_containers_and_images() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let a = User::create("isa", true);
    let b = User::create("isb", true);
    a.busybox();
    b.busybox();
    a.ok(&["tag", "busybox", "only-a"]);
    let ida = a.ok(&["run", "-d", "--name", "same", "busybox", "sleep", "300"]);
    let idb = b.ok(&["run", "-d", "--name", "same", "busybox", "sleep", "300"]);
    assert_eq!(a.ok(&["ps", "-aq", "--no-trunc"]), ida);
    assert_eq!(b.ok(&["ps", "-aq", "--no-trunc"]), idb);
    assert!(!b.ok(&["images"]).contains("only-a"));
    let r = b.run(&["stop", ida.trim()]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("no such container"), "{}", r.stderr);
    // Neither the store nor the processes of one are open to the other.
    let peek = std::process::Command::new("runuser")
        .args(["-u", &b.name, "--", "ls"])
        .arg(a.store())
        .output()
        .unwrap();
    assert!(!peek.status.success(), "b lists a's store");
    let pid_a = a.ok(&["inspect", "-f", "{{.State.Pid}}", "same"]);
    let kill = std::process::Command::new("runuser")
        .args(["-u", &b.name, "--", "kill", "-0", pid_a.trim()])
        .output()
        .unwrap();
    assert!(!kill.status.success(), "b may signal a's container");
    assert!(a.ok(&["ps", "--format", "{{.Status}}"]).starts_with("Up"));
    b.ok(&["rm", "-f", "same"]);
    assert!(a.ok(&["ps", "--format", "{{.Status}}"]).starts_with("Up"));
}
