//! `container prune`, `image prune`, `system prune` and `system df`: docker's prompt (and
//! nothing removed unless the answer is "y"), docker's "Deleted …:" blocks and "Total
//! reclaimed space", filters, and `df`'s rows with docker's fields.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use support::docker::ensure_docker;
use support::{checked_output, Kiste};

/// kiste with `answer` typed on stdin.
fn answering(k: &Kiste, args: &[&str], answer: &str) -> (i32, String) {
    let mut c = k.cmd(args);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

fn ids(k: &Kiste) -> Vec<String> {
    let mut v: Vec<String> = k
        .ok(&["ps", "-aq", "--no-trunc"])
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn container_prune_asks_first_and_removes_only_stopped_containers() {
    let k = Kiste::new();
    k.busybox();
    let created = k.ok(&["create", "busybox", "true"]).trim().to_string();
    let exited = k.ok(&["run", "-d", "busybox", "sh", "-c", "echo x > /big; true"]);
    let exited = exited.trim().to_string();
    k.wait_exited(&exited, std::time::Duration::from_secs(10));
    let running = k
        .ok(&["run", "-d", "busybox", "sleep", "300"])
        .trim()
        .to_string();
    // Without -f: docker's prompt; anything but "y" removes nothing.
    let (code, out) = answering(&k, &["container", "prune"], "n\n");
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
        ),
        "{out}"
    );
    assert_eq!(ids(&k).len(), 3);
    // No stdin at all (a CI job without -f) removes nothing either.
    k.ok(&["container", "prune"]);
    assert_eq!(ids(&k).len(), 3);
    let (code, out) = answering(&k, &["container", "prune"], "y\n");
    assert_eq!(code, 0, "{out}");
    let mut deleted: Vec<&str> = out
        .split("Deleted Containers:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.is_empty())
        .collect();
    deleted.sort();
    let mut want = vec![created.as_str(), exited.as_str()];
    want.sort();
    assert_eq!(deleted, want, "{out}");
    let total = out.lines().last().unwrap();
    assert!(total.starts_with("Total reclaimed space: "), "{out}");
    assert_ne!(
        total, "Total reclaimed space: 0B",
        "the log and /big were freed"
    );
    assert_eq!(ids(&k), vec![running]);
    // Nothing left to prune: docker prints only the total.
    assert_eq!(
        k.ok(&["container", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
}

#[test]
fn container_prune_filters_by_label_and_age() {
    let k = Kiste::new();
    k.busybox();
    let keep = k
        .ok(&["create", "-l", "keep=yes", "busybox", "true"])
        .trim()
        .to_string();
    let other = k
        .ok(&["create", "-l", "team=a", "busybox", "true"])
        .trim()
        .to_string();
    // Nothing was created a day ago.
    let out = k.ok(&["container", "prune", "-f", "--filter", "until=24h"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    let out = k.ok(&["container", "prune", "-f", "--filter", "label!=keep"]);
    assert!(out.contains(&other) && !out.contains(&keep), "{out}");
    assert_eq!(ids(&k), vec![keep.clone()]);
    let out = k.ok(&["container", "prune", "-f", "--filter", "label=keep=yes"]);
    assert!(out.contains(&keep), "{out}");
    let bad = k.run(&["container", "prune", "-f", "--filter", "color=red"]);
    assert_eq!(
        (bad.code, bad.stderr.trim()),
        (125, "Error: invalid filter 'color'")
    );
}

#[test]
fn image_prune_dangling_then_all_unused() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("app", &[("Dockerfile", "FROM busybox\nRUN echo 1 > /v\n")]);
    k.ok(&["build", "-q", "-t", "app", ctx.to_str().unwrap()]);
    std::fs::write(ctx.join("Dockerfile"), "FROM busybox\nRUN echo 2 > /v\n").unwrap();
    // Retagging app leaves the first build dangling.
    let old = k
        .ok(&["images", "-q", "--no-trunc", "app"])
        .trim()
        .to_string();
    k.ok(&["build", "-q", "-t", "app", ctx.to_str().unwrap()]);
    let (code, out) = answering(&k, &["image", "prune"], "n\n");
    assert_eq!(code, 0);
    assert!(
        out.starts_with("WARNING! This will remove all dangling images.\n"),
        "{out}"
    );
    let out = k.ok(&["image", "prune", "-f"]);
    assert_eq!(out.lines().next(), Some("Deleted Images:"), "{out}");
    assert!(out.contains(&format!("deleted: {old}")), "{out}");
    assert!(
        out.ends_with("\n\n")
            || out
                .lines()
                .last()
                .unwrap()
                .starts_with("Total reclaimed space: ")
    );
    // busybox is used by a container and stays with -a; app goes.
    k.ok(&["create", "busybox", "true"]);
    let out = k.ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains("untagged: app:latest"), "{out}");
    assert!(!out.contains("busybox"), "{out}");
    assert_eq!(
        k.ok(&["images", "--format", "{{.Repository}}"]),
        "busybox\n"
    );
}

#[test]
fn system_prune_removes_stopped_containers_unused_images_and_build_cache() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("app", &[("Dockerfile", "FROM busybox\nRUN echo hi > /v\n")]);
    k.ok(&["build", "-q", "-t", "app", ctx.to_str().unwrap()]);
    let stopped = k.ok(&["create", "app", "true"]).trim().to_string();
    let running = k
        .ok(&["run", "-d", "busybox", "sleep", "300"])
        .trim()
        .to_string();
    let (code, out) = answering(&k, &["system", "prune", "-a"], "\n");
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - all images without at least one container associated to them\n  - unused build cache\n\nAre you sure you want to continue? [y/N] "
        ),
        "{out}"
    );
    let out = k.ok(&["system", "prune", "-a", "-f"]);
    let containers = out.find("Deleted Containers:\n").expect(&out);
    let images = out.find("Deleted Images:\n").expect(&out);
    assert!(containers < images, "docker's order: {out}");
    assert!(out.contains(&stopped), "{out}");
    assert!(out.contains("untagged: app:latest"), "{out}");
    assert!(out
        .lines()
        .last()
        .unwrap()
        .starts_with("Total reclaimed space: "));
    assert_eq!(ids(&k), vec![running]);
    assert_eq!(
        k.ok(&["images", "--format", "{{.Repository}}"]),
        "busybox\n"
    );
    // The build cache went too: the same build runs its step again.
    let again = k.run(&["build", "-t", "app", ctx.to_str().unwrap()]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(!format!("{}{}", again.stdout, again.stderr).contains("---> Using cache"));
}

#[test]
fn system_df_counts_what_the_store_holds_with_docker_fields() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--name",
        "done",
        "busybox",
        "sh",
        "-c",
        "head -c 100000 /dev/zero > /f",
    ]);
    k.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    let rows: Vec<serde_json::Value> = k
        .ok(&["system", "df", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = rows.iter().map(|r| r["Type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["Images", "Containers", "Local Volumes", "Build Cache"]
    );
    assert_eq!(
        (rows[0]["TotalCount"].as_str(), rows[0]["Active"].as_str()),
        (Some("1"), Some("1"))
    );
    assert_eq!(
        (rows[1]["TotalCount"].as_str(), rows[1]["Active"].as_str()),
        (Some("2"), Some("1"))
    );
    // The stopped container's 100 kB file is reclaimable.
    let reclaim = rows[1]["Reclaimable"].as_str().unwrap();
    assert!(
        reclaim.starts_with("10") && reclaim.contains("kB ("),
        "{reclaim}"
    );
    // docker's row has the same keys.
    ensure_docker();
    let d = checked_output(Command::new("docker").args(["system", "df", "--format", "json"]));
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8(d).unwrap().lines().next().unwrap()).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&rows[0]), keys(&first));
    // The table's header is docker's.
    let table = k.ok(&["system", "df"]);
    assert!(
        table.starts_with("TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"),
        "{table}"
    );
    let t = k.ok(&["system", "df", "--format", "{{.Type}}={{.TotalCount}}"]);
    assert!(t.contains("Containers=2\n"), "{t}");
    let v = k.ok(&["system", "df", "-v"]);
    for heading in [
        "Images space usage:",
        "Containers space usage:",
        "Local Volumes space usage:",
    ] {
        assert!(v.contains(heading), "{v}");
    }
    assert!(v.lines().any(|l| l.ends_with("done")), "{v}");
}

/// Field 22 of /proc/PID/stat: the process's start time in clock ticks.
fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

#[test]
fn container_prune_spares_a_container_whose_run_is_starting_it() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&["create", "busybox", "true"]).trim().to_string();
    // As `run` leaves the record while it starts the container: created, with the
    // starting process named as its supervisor.
    let mut starter = Command::new("sleep").arg("60").spawn().unwrap();
    let path = k.root().join("containers").join(&id).join("container.json");
    let mut rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    rec["state"]["monitor_pid"] = starter.id().into();
    rec["state"]["monitor_start_time"] = start_time(starter.id()).into();
    std::fs::write(&path, serde_json::to_string(&rec).unwrap()).unwrap();
    assert_eq!(
        k.ok(&["container", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    assert_eq!(ids(&k), vec![id.clone()]);
    starter.kill().unwrap();
    starter.wait().unwrap();
    k.ok(&["container", "prune", "-f"]);
    assert!(ids(&k).is_empty());
}

#[test]
fn system_prune_with_a_filter_keeps_the_build_cache() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("app", &[("Dockerfile", "FROM busybox\nRUN echo hi > /v\n")]);
    k.ok(&["build", "-q", "-t", "app", ctx.to_str().unwrap()]);
    let (_, out) = answering(&k, &["system", "prune", "--filter", "label=x"], "n\n");
    assert!(!out.contains("build cache"), "{out}");
    k.ok(&["system", "prune", "-f", "--filter", "until=1s"]);
    let again = k.run(&["build", "-t", "app", ctx.to_str().unwrap()]);
    assert!(
        again.stdout.contains("---> Using cache"),
        "{}",
        again.stdout
    );
}

#[test]
fn a_refused_prune_prints_what_docker_prints() {
    let k = Kiste::new();
    ensure_docker();
    for args in [
        vec!["container", "prune"],
        vec!["image", "prune"],
        vec!["image", "prune", "-a"],
    ] {
        let (code, ours) = answering(&k, &args, "n\n");
        // Refusing makes docker remove nothing either.
        let mut d = Command::new("docker");
        d.args(&args).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = d.spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"n\n").unwrap();
        let o = child.wait_with_output().unwrap();
        assert_eq!(code, o.status.code().unwrap_or(-1), "{args:?}");
        assert_eq!(ours, String::from_utf8_lossy(&o.stdout), "{args:?}");
    }
}
