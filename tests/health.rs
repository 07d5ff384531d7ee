//! Healthchecks run by the monitor: `--health-*` flags and the image's HEALTHCHECK, the
//! status in `ps` and `inspect` (compared with docker's words), `healthcheck run`, the
//! probe's confinement (the container's user, cgroup and namespaces), timeouts, and the
//! flags' bad input.

mod support;
use std::path::PathBuf;
use std::time::Duration;
use support::{wait_until, Kiste};

/// The container's root file system as mounted on the host while it runs.
fn rootfs(k: &Kiste, id: &str) -> PathBuf {
    k.runroot().join("containers").join(id).join("rootfs")
}

fn status(k: &Kiste, name: &str) -> String {
    k.ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("name={name}"),
        "--format",
        "{{.Status}}",
    ])
    .trim()
    .to_string()
}

fn health(k: &Kiste, name: &str) -> serde_json::Value {
    k.inspect(name)["State"]["Health"].clone()
}

const CHECK: &str = "test -e /ok && echo fine";

#[test]
fn health_goes_starting_unhealthy_healthy_in_ps_and_inspect() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        CHECK,
        "--health-interval",
        "200ms",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "100",
    ]);
    let id = id.trim();
    let first = status(&k, "hc");
    assert!(first.ends_with("(health: starting)"), "{first}");
    assert_eq!(health(&k, "hc")["Status"], "starting");
    wait_until(
        "unhealthy after two failures",
        Duration::from_secs(10),
        || status(&k, "hc").ends_with("(unhealthy)"),
    );
    let h = health(&k, "hc");
    assert!(h["FailingStreak"].as_u64().unwrap() >= 2, "{h}");
    assert_eq!(h["Log"][0]["ExitCode"], 1);

    std::fs::write(rootfs(&k, id).join("ok"), "").unwrap();
    wait_until(
        "healthy after the check passes",
        Duration::from_secs(10),
        || status(&k, "hc").ends_with("(healthy)"),
    );
    let h = health(&k, "hc");
    assert_eq!(h["FailingStreak"], 0);
    let log = h["Log"].as_array().unwrap();
    assert!(log.len() <= 5);
    let last = log.last().unwrap();
    assert_eq!(
        (last["ExitCode"].as_i64(), last["Output"].as_str()),
        (Some(0), Some("fine\n"))
    );
    assert!(status(&k, "hc").starts_with("Up "));
    let cfg = &k.inspect("hc")["Config"]["Healthcheck"];
    assert_eq!(cfg["Test"], serde_json::json!(["CMD-SHELL", CHECK]));
    assert_eq!(cfg["Interval"], 200_000_000);
    assert_eq!(cfg["Retries"], 2);
}

#[test]
fn healthcheck_run_exits_0_when_healthy_and_1_when_not() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "--name",
        "manual",
        "--health-cmd",
        CHECK,
        "busybox",
        "sleep",
        "100",
    ]);
    let r = k.run(&["healthcheck", "run", "manual"]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (1, "unhealthy\n"),
        "{}",
        r.stderr
    );
    std::fs::write(rootfs(&k, id.trim()).join("ok"), "").unwrap();
    assert_eq!(k.run(&["healthcheck", "run", "manual"]).code, 0);
    // Recorded like the monitor's probes (the default interval is 30 s: these are ours).
    let h = health(&k, "manual");
    assert_eq!(h["Status"], "healthy");
    assert_eq!(h["Log"].as_array().unwrap().len(), 2);

    k.ok(&["run", "-d", "--name", "nocheck", "busybox", "sleep", "100"]);
    let none = k.run(&["healthcheck", "run", "nocheck"]);
    assert_eq!(none.code, 125);
    assert!(
        none.stderr.contains("has no defined healthcheck"),
        "{}",
        none.stderr
    );
    assert!(k.inspect("nocheck")["State"]["Health"].is_null());
}

#[test]
fn the_probe_runs_as_the_container_user_in_its_cgroup_and_namespaces() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "confined",
        "-u",
        "1000:1000",
        "-h",
        "inside",
        "--cgroupns",
        "private",
        "--health-cmd",
        "id -u; hostname; grep CapEff /proc/self/status; cat /proc/self/cgroup",
        "--health-interval",
        "100ms",
        "busybox",
        "sleep",
        "100",
    ]);
    wait_until("a probe ran", Duration::from_secs(10), || {
        !health(&k, "confined")["Log"].as_array().unwrap().is_empty()
    });
    let probe = health(&k, "confined")["Log"][0].clone();
    assert_eq!(probe["ExitCode"], 0, "{probe}");
    let out = probe["Output"].as_str().unwrap().to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    assert_eq!(lines[1], "inside", "{out}");
    // The container's user has no capabilities, nor has its probe.
    assert_eq!(
        lines[2].split_whitespace().nth(1),
        Some("0000000000000000"),
        "{out}"
    );
    // In the container's cgroup namespace its own cgroup is "/": the probe is in it.
    assert!(lines[3..].iter().all(|l| l.ends_with(":/")), "{out}");
}

#[test]
fn a_probe_past_its_timeout_fails_with_docker_output() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 10",
        "--health-timeout",
        "200ms",
        "--health-interval",
        "100ms",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "100",
    ]);
    wait_until("unhealthy by timeout", Duration::from_secs(10), || {
        health(&k, "slow")["Status"] == "unhealthy"
    });
    let probe = &health(&k, "slow")["Log"][0];
    assert_eq!(probe["ExitCode"], -1);
    assert_eq!(probe["Output"], "Health check exceeded timeout (200ms)");
}

#[test]
fn the_image_healthcheck_runs_and_no_healthcheck_turns_it_off() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context("hc-image", &[(
        "Dockerfile",
        "FROM busybox\nHEALTHCHECK --interval=100ms --retries=1 CMD [\"sh\", \"-c\", \"echo from-image\"]\n",
    )]);
    k.ok(&["build", "-q", "-t", "checked", ctx.to_str().unwrap()]);
    k.ok(&["run", "-d", "--name", "img", "checked", "sleep", "100"]);
    wait_until(
        "healthy from the image's check",
        Duration::from_secs(10),
        || health(&k, "img")["Status"] == "healthy",
    );
    assert_eq!(health(&k, "img")["Log"][0]["Output"], "from-image\n");

    k.ok(&[
        "run",
        "-d",
        "--name",
        "off",
        "--no-healthcheck",
        "checked",
        "sleep",
        "100",
    ]);
    assert!(health(&k, "off").is_null());
    assert!(!status(&k, "off").contains("health"));
}

#[test]
fn bad_health_flags_are_refused_with_docker_messages() {
    let k = Kiste::new();
    k.busybox();
    for (args, message) in [
        (
            vec!["--health-interval", "x"],
            "invalid argument \"x\" for \"--health-interval\" flag: time: invalid duration \"x\"",
        ),
        (
            vec!["--no-healthcheck", "--health-cmd", "true"],
            "--no-healthcheck conflicts with --health-* options",
        ),
        (
            vec!["--health-retries", "-1"],
            "--health-retries cannot be negative",
        ),
        (
            vec!["--health-timeout", "-1s"],
            "--health-timeout cannot be negative",
        ),
    ] {
        let mut all = vec!["run", "--rm"];
        all.extend(&args);
        all.extend(["busybox", "true"]);
        let r = k.run(&all);
        assert_eq!(r.code, 125, "{args:?}");
        assert!(r.stderr.contains(message), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn health_words_in_ps_are_dockers() {
    support::docker::ensure_docker();
    let have_busybox = std::process::Command::new("docker")
        .args(["image", "inspect", "busybox"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_busybox {
        support::skip("docker has no busybox image to compare with");
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let name = format!("kiste-health-{}", std::process::id());
    let args = [
        "--health-cmd",
        CHECK,
        "--health-interval",
        "200ms",
        "--health-retries",
        "1",
    ];
    let docker = |a: &[&str]| support::checked_output(std::process::Command::new("docker").args(a));
    let mut drun = vec!["run", "-d", "--name", &name];
    drun.extend(args);
    drun.extend(["busybox", "sleep", "100"]);
    docker(&drun);
    let mut krun = vec!["run", "-d", "--name", "cmp"];
    krun.extend(args);
    krun.extend(["busybox", "sleep", "100"]);
    let id = k.ok(&krun);
    let docker_status = || {
        String::from_utf8(docker(&[
            "ps",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Status}}",
        ]))
        .unwrap()
    };
    let word = |s: &str| {
        s.trim()
            .rsplit_once('(')
            .map(|(_, w)| w.trim_end_matches(')').to_string())
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for (want, make_ok) in [("unhealthy", false), ("healthy", true)] {
            if make_ok {
                docker(&["exec", &name, "touch", "/ok"]);
                std::fs::write(rootfs(&k, id.trim()).join("ok"), "").unwrap();
            }
            wait_until(want, Duration::from_secs(15), || {
                word(&docker_status()).as_deref() == Some(want)
                    && word(&status(&k, "cmp")).as_deref() == Some(want)
            });
        }
    }));
    docker(&["rm", "-f", &name]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn a_container_with_a_user_namespace_is_probed_inside_it() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "mapped",
        "--userns",
        "map=0:100000:65536",
        "-h",
        "mappedhost",
        "--health-cmd",
        "id -u; hostname; cat /proc/self/uid_map",
        "--health-interval",
        "100ms",
        "busybox",
        "sleep",
        "100",
    ]);
    wait_until("a probe ran", Duration::from_secs(10), || {
        !health(&k, "mapped")["Log"].as_array().unwrap().is_empty()
    });
    let probe = health(&k, "mapped")["Log"][0].clone();
    assert_eq!(probe["ExitCode"], 0, "{probe}");
    let out = probe["Output"].as_str().unwrap().to_string();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "0", "{out}");
    assert_eq!(lines[1], "mappedhost", "{out}");
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"],
        "the probe is in the container's user namespace: {out}"
    );
    wait_until("healthy", Duration::from_secs(10), || {
        status(&k, "mapped").contains("(healthy)")
    });
    k.ok(&["rm", "-f", "mapped"]);
}
