//! `diff` and `commit`: a container's changes listed as docker lists them (compared with
//! docker on the same image when it is there), and a committed image that runs with them.

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use support::Kiste;

const SCRIPT: &str = "touch /x; rm /bin/ls; mkdir -p /tmp/d; echo a > /etc/newf";

fn lines(s: &str) -> BTreeSet<String> {
    s.lines().map(String::from).collect()
}

#[test]
fn diff_lists_added_changed_and_deleted_paths() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--name",
        "d1",
        "-v",
        "vol:/data",
        "--tmpfs",
        "/t",
        "busybox",
        "sh",
        "-c",
        SCRIPT,
    ]);
    let out = k.ok(&["diff", "d1"]);
    assert_eq!(
        lines(&out),
        lines("C /bin\nD /bin/ls\nC /etc\nA /etc/newf\nA /tmp\nA /tmp/d\nA /x\n"),
        "{out}"
    );
    let r = k.run(&["diff", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no such container: nosuch"),
        "{}",
        r.stderr
    );
}

#[test]
fn diff_matches_docker_on_the_same_image() {
    if !support::have("docker") {
        return support::skip("docker is not installed");
    }
    support::docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let ctx = support::busybox_context(&k.dir.path().join("dctx"));
    let tag = format!("kiste-diff-{}", std::process::id());
    support::checked_output(
        Command::new("docker")
            .args(["build", "-q", "-t", &tag])
            .arg(&ctx),
    );
    let name = format!("kiste-diff-{}", std::process::id());
    support::checked_output(
        Command::new("docker").args(["run", "--name", &name, &tag, "sh", "-c", SCRIPT]),
    );
    let docker = support::checked_output(Command::new("docker").args(["diff", &name]));
    let _ = Command::new("docker")
        .args(["rm", &name])
        .stdout(Stdio::null())
        .status();
    let _ = Command::new("docker")
        .args(["rmi", &tag])
        .stdout(Stdio::null())
        .status();
    k.ok(&["run", "--name", "d1", "busybox", "sh", "-c", SCRIPT]);
    let ours = k.ok(&["diff", "d1"]);
    assert_eq!(lines(&ours), lines(&String::from_utf8_lossy(&docker)));
}

#[test]
fn commit_makes_an_image_that_runs_with_the_changes() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--name",
        "c1",
        "-v",
        "vol:/data",
        "busybox",
        "sh",
        "-c",
        SCRIPT,
    ]);
    let id = k.ok(&[
        "commit",
        "-m",
        "a message",
        "-a",
        "someone",
        "-c",
        "CMD [\"cat\", \"/etc/newf\"]",
        "-c",
        "ENV COMMITTED=yes",
        "c1",
        "committed:v1",
    ]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert_eq!(k.ok(&["run", "--rm", "committed:v1"]), "a\n");
    let out = k.sh("committed:v1", "test -e /x && echo x; test -e /bin/ls || echo no-ls; echo $COMMITTED; test -e /data || echo no-data");
    assert_eq!(out, "x\nno-ls\nyes\nno-data\n");
    let img: serde_json::Value = serde_json::from_str(&k.ok(&["inspect", "committed:v1"])).unwrap();
    assert_eq!(
        img[0]["Config"]["Cmd"],
        serde_json::json!(["cat", "/etc/newf"])
    );
    let base: serde_json::Value = serde_json::from_str(&k.ok(&["inspect", "busybox"])).unwrap();
    let count = |v: &serde_json::Value| v[0]["RootFS"]["Layers"].as_array().unwrap().len();
    assert_eq!(count(&img), count(&base) + 1);
    let hist = k.ok(&["history", "--no-trunc", "committed:v1"]);
    assert!(hist.contains("a message"), "{hist}");
}

#[test]
fn commit_of_a_running_container_thaws_it_after_and_keeps_a_users_pause() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "live",
        "busybox",
        "sh",
        "-c",
        "echo one > /one; echo ready; exec sleep 600",
    ]);
    k.wait_for_log("live", "ready", std::time::Duration::from_secs(10));
    k.ok(&["commit", "live", "live:paused"]);
    let state = |k: &Kiste| k.inspect("live")["State"].clone();
    let freezer = |k: &Kiste| {
        let id = k.inspect("live")["Id"].as_str().unwrap().to_string();
        support::cgroup_left(&id)
            .iter()
            .map(|d| d.join("freezer.state"))
            .find(|f| f.exists())
            .map(|f| std::fs::read_to_string(f).unwrap().trim().to_string())
    };
    assert_eq!(state(&k)["Paused"], false);
    assert_eq!(state(&k)["Running"], true);
    if let Some(f) = freezer(&k) {
        assert_eq!(f, "THAWED");
    }
    assert_eq!(
        k.ok(&["run", "--rm", "live:paused", "cat", "/one"]),
        "one\n"
    );
    k.ok(&["commit", "--pause=false", "live", "live:unpaused"]);
    assert_eq!(
        k.ok(&["run", "--rm", "live:unpaused", "cat", "/one"]),
        "one\n"
    );
    // A pause the user made stays after a commit.
    k.ok(&["pause", "live"]);
    k.ok(&["commit", "live", "live:again"]);
    assert_eq!(state(&k)["Paused"], true);
    if let Some(f) = freezer(&k) {
        assert_eq!(f, "FROZEN");
    }
    k.ok(&["unpause", "live"]);
    k.ok(&["rm", "-f", "live"]);
}
