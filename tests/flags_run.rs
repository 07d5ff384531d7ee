//! Behaviour of `run`/`create` flags from docker's list that no other test exercised:
//! `--label-file` (compared with docker's engine), `--cidfile`, `--attach`, `--tty`, and of
//! `images --filter`, `rm --volumes`, `stop --timeout`.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::docker::docker_busybox;
use support::*;

#[test]
fn label_file_labels_are_overridden_by_label_flags_as_in_docker() {
    let k = Kiste::new();
    k.busybox();
    let file = k.dir.path().join("labels");
    std::fs::write(&file, "# a comment\napp=web\n\ntier=front\nempty=\n").unwrap();
    let f = file.to_str().unwrap();
    let id = k.ok(&[
        "create",
        "--label-file",
        f,
        "-l",
        "tier=back",
        "busybox",
        "true",
    ]);
    let ours = k.ok(&["inspect", "-f", "{{json .Config.Labels}}", id.trim()]);
    let ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
    assert_eq!(
        ours,
        serde_json::json!({"app": "web", "tier": "back", "empty": ""})
    );
    // A missing file is kiste's error, and no container is made.
    let r = k.run(&[
        "create",
        "--label-file",
        "/nonexistent/labels",
        "busybox",
        "true",
    ]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("/nonexistent/labels"), "{}", r.stderr);
    assert_eq!(k.ok(&["ps", "-a", "-q"]).lines().count(), 1);

    if !have("docker") {
        return skip("docker is not installed: no comparison");
    }
    support::docker::ensure_docker();
    let image = docker_busybox(&k, "kiste-flags-bb:1");
    let out = Command::new("docker")
        .args([
            "create",
            "--label-file",
            f,
            "-l",
            "tier=back",
            image,
            "true",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let did = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let theirs = Command::new("docker")
        .args(["inspect", "-f", "{{json .Config.Labels}}", &did])
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rm", &did]).output();
    let _ = Command::new("docker").args(["rmi", image]).output();
    let theirs: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn cidfile_gets_the_full_id_and_an_existing_one_is_refused() {
    let k = Kiste::new();
    k.busybox();
    let cid = k.dir.path().join("cid");
    let c = cid.to_str().unwrap();
    let id = k.ok(&["create", "--cidfile", c, "busybox", "true"]);
    assert_eq!(std::fs::read_to_string(&cid).unwrap(), id.trim());
    assert_eq!(id.trim().len(), 64);
    // docker's refusal, before anything is made.
    let r = k.run(&["run", "--cidfile", c, "busybox", "true"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains(
            "container ID file found, make sure the other container isn't running or delete"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(k.ok(&["ps", "-a", "-q"]).lines().count(), 1);
    // run writes it too.
    let cid2 = k.dir.path().join("cid2");
    k.ok(&[
        "run",
        "-d",
        "--cidfile",
        cid2.to_str().unwrap(),
        "busybox",
        "true",
    ]);
    let id2 = std::fs::read_to_string(&cid2).unwrap();
    assert_eq!(k.inspect(&id2)["Id"], id2.as_str());
}

#[test]
fn attach_picks_the_streams_a_foreground_run_shows() {
    let k = Kiste::new();
    k.busybox();
    let script = "echo out; echo err >&2";
    let r = k.run(&["run", "--rm", "-a", "stdout", "busybox", "sh", "-c", script]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "out\n", "")
    );
    let r = k.run(&[
        "run", "--rm", "--attach", "stderr", "busybox", "sh", "-c", script,
    ]);
    assert_eq!(
        (r.code, r.stdout.as_str(), r.stderr.as_str()),
        (0, "", "err\n")
    );
    let r = k.run(&[
        "run", "--rm", "-a", "stdout", "-a", "stderr", "busybox", "sh", "-c", script,
    ]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
}

#[test]
fn tty_gives_the_container_a_terminal_even_without_one_here() {
    let k = Kiste::new();
    k.busybox();
    let script = "test -t 1 && echo tty || echo notty";
    // A terminal's line discipline turns \n into \r\n, as docker's does.
    assert_eq!(
        k.ok(&["run", "--rm", "-t", "busybox", "sh", "-c", script]),
        "tty\r\n"
    );
    assert_eq!(
        k.ok(&["run", "--rm", "--tty", "busybox", "sh", "-c", script]),
        "tty\r\n"
    );
    assert_eq!(
        k.ok(&["run", "--rm", "busybox", "sh", "-c", script]),
        "notty\n"
    );
}

#[test]
fn images_filter_selects_by_reference_label_and_dangling() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "labelled",
        &[("Dockerfile", "FROM busybox\nLABEL role=db\n")],
    );
    k.ok(&["build", "-q", "-t", "app/db:1", ctx.to_str().unwrap()]);
    k.ok(&["tag", "busybox", "app/base:1"]);
    let names = |filters: &[&str]| -> Vec<String> {
        let mut a = vec!["images", "--format", "{{.Repository}}:{{.Tag}}"];
        for f in filters {
            a.extend(["--filter", f]);
        }
        let mut v: Vec<String> = k.ok(&a).lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(names(&["reference=app/*"]), ["app/base:1", "app/db:1"]);
    assert_eq!(names(&["label=role=db"]), ["app/db:1"]);
    assert_eq!(names(&["label=role"]), ["app/db:1"]);
    assert_eq!(names(&["reference=app/*", "label=role=db"]), ["app/db:1"]);
    assert_eq!(names(&["dangling=true"]), Vec::<String>::new());
    let r = k.run(&["images", "--filter", "colour=blue"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
}

#[test]
fn rm_volumes_removes_anonymous_volumes_and_keeps_named_ones() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "create",
        "--name",
        "va",
        "-v",
        "/anon",
        "-v",
        "keep:/named",
        "busybox",
        "true",
    ]);
    let vols = k.ok(&["volume", "ls", "-q"]);
    assert_eq!(vols.lines().count(), 2, "{vols}");
    k.ok(&["rm", "--volumes", "va"]);
    assert_eq!(k.ok(&["volume", "ls", "-q"]), "keep\n");
    // Without -v the anonymous volume stays, as docker's does.
    k.ok(&["create", "--name", "vb", "-v", "/anon", "busybox", "true"]);
    k.ok(&["rm", "vb"]);
    assert_eq!(k.ok(&["volume", "ls", "-q"]).lines().count(), 2);
}

#[test]
fn stop_timeout_kills_a_container_that_ignores_sigterm_after_that_long() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "busybox",
        "sh",
        "-c",
        "trap '' TERM; while :; do sleep 0.1; done",
    ]);
    let id = id.trim();
    let t = Instant::now();
    k.ok(&["stop", "--timeout", "1", id]);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(k.inspect(id)["State"]["ExitCode"], 137);
}
