//! `kiste oci` with the namespaces entered after the clone: a user namespace joined by
//! path (held by an `unshare -U --map-root-user` the test starts), a new time namespace
//! with monotonic and boottime offsets, a time namespace joined by path, and the bad
//! paths and offsets runc refuses (exit 1, nothing left behind).

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::oci::*;
use support::runtime::serial;

/// A process holding namespaces made by `unshare ARGS`; killed when dropped.
struct Holder {
    child: Child,
}

impl Holder {
    /// `unshare ARGS sleep 300`, once the sleep runs in the new namespaces (its
    /// /proc/PID/ns/KIND differs from ours).
    fn start(args: &[&str], kind: &str) -> Holder {
        let child = Command::new("unshare")
            .args(args)
            .args(["sleep", "300"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let h = Holder { child };
        let ours = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let comm = std::fs::read_to_string(format!("/proc/{}/comm", h.pid())).unwrap();
            let theirs = std::fs::read_link(h.ns(kind)).unwrap();
            if comm.trim() == "sleep" && theirs != ours {
                return h;
            }
            assert!(Instant::now() < deadline, "unshare {args:?} did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn ns(&self, kind: &str) -> String {
        format!("/proc/{}/ns/{kind}", self.pid())
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with_namespace(b: &mut Bundle, ns: serde_json::Value) {
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(ns);
}

/// `kiste oci run` of the bundle: (exit code, stdout, stderr).
fn run(b: &Bundle, id: &str) -> (i32, String, String) {
    b.write();
    let (code, out, err) = b.oci_files(id, &["run", id]);
    (code, text(&out), text(&err))
}

fn host_uptime() -> f64 {
    let t = std::fs::read_to_string("/proc/uptime").unwrap();
    t.split_whitespace().next().unwrap().parse().unwrap()
}

fn time_ns_supported() -> bool {
    std::path::Path::new("/proc/self/ns/time").exists()
}

#[test]
fn a_user_namespace_joined_by_path_has_the_holders_maps() {
    let _g = serial();
    let holder = Holder::start(&["-U", "--map-root-user"], "user");
    let mut b = bundle(
        "userpath",
        "cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user; id -u",
    );
    with_namespace(
        &mut b,
        serde_json::json!({"type": "user", "path": holder.ns("user")}),
    );
    // Only uid and gid 0 are mapped: devpts without gid=5, as `runc spec --rootless`.
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if let Some(o) = m["options"].as_array_mut() {
            o.retain(|v| v != "gid=5");
        }
    }
    let (code, out, err) = run(&b, "up");
    assert_eq!(code, 0, "{err}");
    let want_uid = std::fs::read_to_string(format!("/proc/{}/uid_map", holder.pid())).unwrap();
    let want_gid = std::fs::read_to_string(format!("/proc/{}/gid_map", holder.pid())).unwrap();
    let host = std::fs::read_to_string("/proc/self/uid_map").unwrap();
    assert_ne!(want_uid, host, "the holder's map is the host's");
    let ns = std::fs::read_link(holder.ns("user")).unwrap();
    assert_eq!(
        out,
        format!("{want_uid}{want_gid}{}\n0\n", ns.display()),
        "{err}"
    );
    assert!(b.cgroup_dirs().is_empty(), "{:?}", b.cgroup_dirs());
}

#[test]
fn a_time_namespace_shifts_uptime_by_its_offsets() {
    let _g = serial();
    if !time_ns_supported() {
        return support::skip("the kernel has no time namespaces");
    }
    let mut b = bundle(
        "timens",
        "cat /proc/uptime; cat /proc/self/timens_offsets; readlink /proc/self/ns/time",
    );
    with_namespace(&mut b, serde_json::json!({"type": "time"}));
    let (boot, mono) = (864_000i64, 1_728_000i64);
    b.config["linux"]["timeOffsets"] = serde_json::json!({
        "boottime": {"secs": boot, "nanosecs": 500},
        "monotonic": {"secs": mono, "nanosecs": 7},
    });
    let before = host_uptime();
    let (code, out, err) = run(&b, "tn");
    let after = host_uptime();
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let inside: f64 = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no uptime in {out:?} ({err})"));
    // /proc/uptime is CLOCK_BOOTTIME: the boottime offset shifts it.
    assert!(
        inside >= before + boot as f64 - 0.01 && inside <= after + boot as f64 + 0.01,
        "uptime {inside} inside, {before}..{after} outside, offset {boot}"
    );
    let offsets: Vec<&str> = lines.by_ref().take(2).collect();
    let has = |want: [&str; 3]| {
        offsets
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == want)
    };
    assert!(has(["monotonic", "1728000", "7"]), "{offsets:?}");
    assert!(has(["boottime", "864000", "500"]), "{offsets:?}");
    let ns = lines.next().unwrap_or_default();
    assert_ne!(
        ns,
        std::fs::read_link("/proc/self/ns/time")
            .unwrap()
            .to_str()
            .unwrap(),
        "the container is in the host's time namespace"
    );
    assert!(b.cgroup_dirs().is_empty(), "{:?}", b.cgroup_dirs());
}

#[test]
fn a_time_namespace_joined_by_path_has_the_holders_offsets() {
    let _g = serial();
    if !time_ns_supported() {
        return support::skip("the kernel has no time namespaces");
    }
    let holder = Holder::start(&["-T", "--boottime", "5000"], "time");
    let mut b = bundle("timepath", "cat /proc/uptime; readlink /proc/self/ns/time");
    with_namespace(
        &mut b,
        serde_json::json!({"type": "time", "path": holder.ns("time")}),
    );
    let before = host_uptime();
    let (code, out, err) = run(&b, "tp");
    let after = host_uptime();
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let inside: f64 = lines
        .next()
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no uptime in {out:?} ({err})"));
    assert!(
        inside >= before + 4999.99 && inside <= after + 5000.01,
        "uptime {inside} inside, {before}..{after} outside"
    );
    let ns = std::fs::read_link(holder.ns("time")).unwrap();
    assert_eq!(lines.next(), ns.to_str());
}

#[test]
fn bad_user_and_time_namespace_paths_and_offsets_are_refused_leaving_nothing() {
    let _g = serial();
    let b = bundle("badlate", "true");
    let mut cases = vec![
        (
            serde_json::json!({"type": "user", "path": "/etc/hostname"}),
            None,
            "not a namespace",
        ),
        (
            serde_json::json!({"type": "user", "path": "/proc/self/ns/net"}),
            None,
            "not a user namespace",
        ),
    ];
    if time_ns_supported() {
        cases.push((
            serde_json::json!({"type": "time", "path": "/proc/self/ns/uts"}),
            None,
            "not a time namespace",
        ));
        cases.push((
            serde_json::json!({"type": "time", "path": "/proc/self/ns/time"}),
            Some(serde_json::json!({"boottime": {"secs": 1}})),
            "cannot be set when joining time namespace",
        ));
    }
    // Offsets without a time namespace: runc refuses them too.
    cases.push((
        serde_json::json!({"type": "ipc"}),
        Some(serde_json::json!({"monotonic": {"secs": 1}})),
        "time offsets need a time namespace",
    ));
    for (ns, offsets, needle) in cases {
        let mut c = b.config.clone();
        c["linux"]["namespaces"] = serde_json::json!([{"type": "mount"}, ns]);
        if let Some(o) = offsets {
            c["linux"]["timeOffsets"] = o;
        }
        b.write_config(&c);
        for verb in ["create", "run"] {
            let out = b.oci(&[verb, "bad"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{verb} {c}: {err}");
            assert!(err.contains(needle), "{err:?} lacks {needle:?}");
            assert!(!b.state.join("bad").exists(), "{verb} left its state dir");
            assert!(b.cgroup_dirs().is_empty(), "{:?}", b.cgroup_dirs());
            let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
            assert!(!mounts.contains(b.dir().to_str().unwrap()), "left a mount");
        }
    }
}
