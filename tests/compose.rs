//! `kiste compose` running real multi-container apps on kiste bridge networks, each test
//! in a network namespace of its own (`support::netns`): a busybox httpd reached by its
//! service name once healthy, `service_completed_successfully` with a named volume shared
//! by two services, rollback of a failed `up`, `down -v` removing exactly the project's
//! objects, and an attached `up` that prefixes the logs and stops the project on SIGTERM.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::netns::Netns;
use support::*;

/// The web service: its page appears only after two seconds, and the healthcheck fetches it.
const WEB: &str = r#"
  web:
    image: busybox
    init: true
    command: sh -c 'sleep 2; mkdir -p /www; echo hello-from-web > /www/index.html; exec httpd -f -p 80 -h /www'
    healthcheck:
      test: ["CMD-SHELL", "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 1 127.0.0.1 80 | grep -q hello-from-web"]
      interval: 300ms
      retries: 100
    ports: ["127.0.0.1:8080:80", {target: 80, published: 8081, protocol: tcp}]
"#;

fn setup(tag: &str, compose: &str) -> Option<(Netns, Kiste, tempfile::TempDir)> {
    let ns = Netns::new(tag)?;
    let k = Kiste::new();
    k.busybox();
    let dir = tempfile::Builder::new()
        .prefix("compose-")
        .tempdir()
        .unwrap();
    std::fs::write(dir.path().join("compose.yaml"), compose).unwrap();
    Some((ns, k, dir))
}

fn compose(ns: &Netns, k: &Kiste, dir: &Path, args: &[&str]) -> Run {
    let mut a = vec!["compose", "-p", "proj"];
    a.extend(args);
    let mut c = ns.kiste_cmd(k, &a);
    c.current_dir(dir);
    c.output().unwrap().into()
}

fn compose_ok(ns: &Netns, k: &Kiste, dir: &Path, args: &[&str]) -> String {
    let r = compose(ns, k, dir, args);
    assert_eq!(r.code, 0, "compose {args:?}: {}{}", r.stdout, r.stderr);
    r.stdout
}

fn inspect(ns: &Netns, k: &Kiste, name: &str) -> Value {
    let v: Value = serde_json::from_str(&ns.kiste_ok(k, &["inspect", name])).unwrap();
    v[0].clone()
}

fn started_at(ns: &Netns, k: &Kiste, name: &str) -> jiff::Timestamp {
    inspect(ns, k, name)["State"]["StartedAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Poll `compose logs SERVICE` until it holds `text`.
fn wait_log(ns: &Netns, k: &Kiste, dir: &Path, service: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = compose_ok(ns, k, dir, &["logs", service]);
        if out.contains(text) {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the logs of {service}: {out}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn names(ns: &Netns, k: &Kiste, args: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = ns.kiste_ok(k, args).lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn client_reaches_web_by_service_name_after_web_is_healthy() {
    let client = r#"
  client:
    image: busybox
    init: true
    command: ["sh", "-c", "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 web 80; exec sleep 1000"]
    depends_on:
      web:
        condition: service_healthy
"#;
    let Some((ns, k, dir)) = setup("compose-web", &format!("services:{WEB}{client}")) else {
        return;
    };
    let r = compose(&ns, &k, dir.path(), &["up", "-d"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "Network proj_default  Created",
        "Container proj-web-1  Started",
        "Container proj-client-1  Started",
    ] {
        assert!(r.stderr.contains(line), "{line}: {}", r.stderr);
    }
    let web = inspect(&ns, &k, "proj-web-1");
    assert_eq!(web["State"]["Health"]["Status"], "healthy");
    // The client asked once, by name, and got the page: web served when it started.
    let logs = wait_log(&ns, &k, dir.path(), "client", "hello-from-web");
    assert!(
        logs.lines().all(|l| l.starts_with("client-1  | ")),
        "{logs}"
    );
    let gap =
        started_at(&ns, &k, "proj-client-1").duration_since(started_at(&ns, &k, "proj-web-1"));
    assert!(
        gap >= jiff::SignedDuration::from_secs(2),
        "client started {gap:?} after web, before its page existed"
    );
    // Both published ports (short and long syntax) reach it from the host.
    for port in [8080, 8081] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ns
            .sh(&format!(
                "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 127.0.0.1 {port} || true"
            ))
            .contains("hello-from-web")
        {
            assert!(Instant::now() < deadline, "port {port} never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // Names and labels as docker compose v2 sets them.
    let labels = &inspect(&ns, &k, "proj-client-1")["Config"]["Labels"];
    assert_eq!(labels["com.docker.compose.project"], "proj");
    assert_eq!(labels["com.docker.compose.service"], "client");
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    assert_eq!(labels["com.docker.compose.oneoff"], "False");
    assert_eq!(
        labels["com.docker.compose.project.working_dir"],
        dir.path().to_str().unwrap()
    );
    assert!(
        labels["com.docker.compose.config-hash"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );
    let ps = compose_ok(&ns, &k, dir.path(), &["ps"]);
    assert!(ps.contains("running (healthy)"), "{ps}");
    // A second up changes nothing; exec reaches the running service.
    let again = compose(&ns, &k, dir.path(), &["up", "-d"]);
    assert!(
        again.stderr.contains("Container proj-web-1  Running"),
        "{}",
        again.stderr
    );
    assert_eq!(
        compose_ok(
            &ns,
            &k,
            dir.path(),
            &["exec", "web", "cat", "/www/index.html"]
        ),
        "hello-from-web\n"
    );
    compose_ok(&ns, &k, dir.path(), &["down"]);
    assert!(names(&ns, &k, &["ps", "-aq"]).is_empty());
    ns.assert_clean(&k, &[]);
}

const SEEDED: &str = r#"
services:
  init:
    image: busybox
    command: ["sh", "-c", "echo seeded > /data/ready; exit ${INIT_EXIT:-0}"]
    volumes: [data:/data]
  app:
    image: busybox
    init: true
    command: ["sh", "-c", "cat /data/ready; exec sleep 1000"]
    volumes:
      - type: volume
        source: data
        target: /data
    depends_on:
      init:
        condition: service_completed_successfully
volumes:
  data: {}
"#;

#[test]
fn completed_init_seeds_a_named_volume_the_app_reads() {
    let Some((ns, k, dir)) = setup("compose-seed", SEEDED) else {
        return;
    };
    compose_ok(&ns, &k, dir.path(), &["up", "-d"]);
    wait_log(&ns, &k, dir.path(), "app", "app-1  | seeded");
    assert_eq!(inspect(&ns, &k, "proj-init-1")["State"]["ExitCode"], 0);
    let vol: Value =
        serde_json::from_str(&ns.kiste_ok(&k, &["volume", "inspect", "proj_data"])).unwrap();
    assert_eq!(vol[0]["Labels"]["com.docker.compose.project"], "proj");
    assert_eq!(vol[0]["Labels"]["com.docker.compose.volume"], "data");
    let r = compose(&ns, &k, dir.path(), &["down", "-v"]);
    let (app, init) = (
        r.stderr.find("proj-app-1  Removed"),
        r.stderr.find("proj-init-1  Removed"),
    );
    assert!(
        app.is_some() && app < init,
        "dependents go first: {}",
        r.stderr
    );
}

#[test]
fn failed_dependency_rolls_back_what_this_up_made() {
    let Some((ns, k, dir)) = setup("compose-rollback", SEEDED) else {
        return;
    };
    let mut c = ns.kiste_cmd(&k, &["compose", "-p", "proj", "up", "-d"]);
    c.current_dir(dir.path()).env("INIT_EXIT", "3");
    let r: Run = c.output().unwrap().into();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .trim_end()
            .ends_with("Error: service \"init\" didn't complete successfully: exit 3"),
        "{}",
        r.stderr
    );
    assert!(
        names(&ns, &k, &["ps", "-aq"]).is_empty(),
        "the init container is rolled back"
    );
    assert!(!ns.kiste_ok(&k, &["network", "ls"]).contains("proj_default"));
    assert!(ns.kiste_ok(&k, &["volume", "ls", "-q"]).trim().is_empty());
    ns.assert_clean(&k, &[]);
}

#[test]
fn failed_start_keeps_what_existed_before() {
    let broken =
        "\n  broken:\n    image: busybox\n    command: [/no/such/program]\n    depends_on: [web]\n";
    let Some((ns, k, dir)) = setup("compose-keep", &format!("services:{WEB}")) else {
        return;
    };
    compose_ok(&ns, &k, dir.path(), &["up", "-d"]);
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("services:{WEB}{broken}"),
    )
    .unwrap();
    let r = compose(&ns, &k, dir.path(), &["up", "-d"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot start service broken"),
        "{}",
        r.stderr
    );
    assert_eq!(
        names(&ns, &k, &["ps", "-a", "--format", "{{.Names}}"]),
        ["proj-web-1"]
    );
    assert_eq!(inspect(&ns, &k, "proj-web-1")["State"]["Status"], "running");
    assert!(
        ns.kiste_ok(&k, &["network", "ls"]).contains("proj_default"),
        "the network existed before"
    );
    compose_ok(&ns, &k, dir.path(), &["down"]);
}

#[test]
fn down_v_removes_exactly_the_projects_objects() {
    let Some((ns, k, dir)) = setup("compose-down", SEEDED) else {
        return;
    };
    compose_ok(&ns, &k, dir.path(), &["up", "-d"]);
    // Look-alikes that are not the project's.
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--init",
            "--name",
            "proj-app-2",
            "busybox",
            "sleep",
            "1000",
        ],
    );
    ns.kiste_ok(&k, &["volume", "create", "proj_data2"]);
    ns.kiste_ok(&k, &["network", "create", "proj_default2"]);
    // From a directory without the files: `-p` names the project, as docker compose allows.
    let elsewhere = tempfile::tempdir().unwrap();
    let r = compose(&ns, &k, elsewhere.path(), &["down", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "Container proj-app-1  Removed",
        "Container proj-init-1  Removed",
        "Network proj_default  Removed",
        "Volume proj_data  Removed",
    ] {
        assert!(r.stderr.contains(line), "{line}: {}", r.stderr);
    }
    assert_eq!(
        names(&ns, &k, &["ps", "-a", "--format", "{{.Names}}"]),
        ["proj-app-2"]
    );
    assert_eq!(names(&ns, &k, &["volume", "ls", "-q"]), ["proj_data2"]);
    let nets = ns.kiste_ok(&k, &["network", "ls", "--format", "{{.Name}}"]);
    assert!(
        nets.lines().any(|n| n == "proj_default2") && !nets.lines().any(|n| n == "proj_default"),
        "{nets}"
    );
    ns.kiste_ok(&k, &["rm", "-f", "proj-app-2"]);
    ns.kiste_ok(&k, &["network", "rm", "proj_default2"]);
}

#[test]
fn attached_up_prefixes_logs_and_sigterm_stops_the_project() {
    let talker = "\n  talker:\n    image: busybox\n    init: true\n    command: [sh, -c, 'echo ready; exec sleep 1000']\n";
    let Some((ns, k, dir)) = setup("compose-attach", &format!("services:{talker}")) else {
        return;
    };
    let mut c = ns.kiste_cmd(&k, &["compose", "-p", "proj", "up"]);
    c.current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "talker-1  | ready\n");
    // nsenter execs kiste (no --fork): the child is kiste itself.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "ends as an interrupted compose does"
    );
    assert_eq!(
        inspect(&ns, &k, "proj-talker-1")["State"]["Status"],
        "exited"
    );
    compose_ok(&ns, &k, dir.path(), &["down"]);
}

#[test]
fn run_rm_runs_a_one_off_with_its_exit_code() {
    let Some((ns, k, dir)) = setup(
        "compose-run",
        "services:\n  tool:\n    image: busybox\n    environment: [GREETING=hi]\n",
    ) else {
        return;
    };
    let r = compose(
        &ns,
        &k,
        dir.path(),
        &["run", "--rm", "tool", "sh", "-c", "echo $GREETING; exit 4"],
    );
    assert_eq!((r.code, r.stdout.as_str()), (4, "hi\n"), "{}", r.stderr);
    assert!(
        names(&ns, &k, &["ps", "-aq"]).is_empty(),
        "--rm removed the one-off"
    );
    compose_ok(&ns, &k, dir.path(), &["down"]);
    ns.assert_clean(&k, &[]);
}

#[test]
fn build_with_args_and_target_and_a_second_network_alias() {
    let Some(ns) = Netns::new("compose-build") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    let dir = testdata("compose/build");
    let r = compose(&ns, &k, &dir, &["up", "-d", "--build"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Built as docker compose v2 names it, from the target stage with the build arg.
    assert!(ns
        .kiste_ok(&k, &["images", "--format", "{{.Repository}}"])
        .lines()
        .any(|l| l == "proj-app"));
    wait_log(&ns, &k, &dir, "app", "app-1  | final:hello");
    // The alias on the api's second network answers the client on that network only.
    wait_log(&ns, &k, &dir, "backend-client", "api-answer");
    let api = inspect(&ns, &k, "proj-api-1");
    let mut exposed: Vec<&String> = api["Config"]["ExposedPorts"]
        .as_object()
        .expect("expose is recorded")
        .keys()
        .collect();
    exposed.sort();
    assert_eq!(exposed, ["80/tcp", "9000/udp", "9001/udp"]);
    let nets = api["NetworkSettings"]["Networks"].clone();
    let mut joined: Vec<&String> = nets.as_object().unwrap().keys().collect();
    joined.sort();
    assert_eq!(joined, ["proj_back", "proj_front"]);
    compose_ok(&ns, &k, &dir, &["down", "--rmi", "local"]);
    assert!(
        !ns.kiste_ok(&k, &["images", "--format", "{{.Repository}}"])
            .lines()
            .any(|l| l == "proj-app"),
        "--rmi local removes the built image"
    );
    ns.assert_clean(&k, &[]);
}

#[test]
fn stop_start_restart_and_rm_act_on_the_services_containers() {
    let talker = "\n  talker:\n    image: busybox\n    init: true\n    command: [sh, -c, 'echo up; exec sleep 1000']\n";
    let Some((ns, k, dir)) = setup("compose-life", &format!("services:{talker}")) else {
        return;
    };
    let r = compose(&ns, &k, dir.path(), &["up", "--no-start"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        inspect(&ns, &k, "proj-talker-1")["State"]["Status"],
        "created"
    );
    compose_ok(&ns, &k, dir.path(), &["start"]);
    assert_eq!(
        inspect(&ns, &k, "proj-talker-1")["State"]["Status"],
        "running"
    );
    let first = started_at(&ns, &k, "proj-talker-1");
    compose_ok(&ns, &k, dir.path(), &["stop", "talker"]);
    assert_eq!(
        inspect(&ns, &k, "proj-talker-1")["State"]["Status"],
        "exited"
    );
    assert!(
        compose_ok(&ns, &k, dir.path(), &["ps", "-q"]).is_empty(),
        "ps shows running ones"
    );
    assert_eq!(
        compose_ok(&ns, &k, dir.path(), &["ps", "-aq"])
            .lines()
            .count(),
        1
    );
    compose_ok(&ns, &k, dir.path(), &["restart"]);
    assert_eq!(
        inspect(&ns, &k, "proj-talker-1")["State"]["Status"],
        "running"
    );
    assert!(started_at(&ns, &k, "proj-talker-1") > first);
    let r = compose(&ns, &k, dir.path(), &["rm", "-f", "-s"]);
    assert!(
        r.stderr.contains("Container proj-talker-1  Removed"),
        "{}",
        r.stderr
    );
    assert!(names(&ns, &k, &["ps", "-aq"]).is_empty());
    let r = compose(&ns, &k, dir.path(), &["stop", "nosuch"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (1, "Error: no such service: nosuch")
    );
    compose_ok(&ns, &k, dir.path(), &["down"]);
}

#[test]
fn abort_on_container_exit_stops_all_with_the_testers_exit_code() {
    let tester = r#"
  tester:
    image: busybox
    command: ["sh", "-c", "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 3 web 80 | grep -q hello-from-web && echo passed && exit 3"]
    depends_on:
      web:
        condition: service_healthy
"#;
    let Some((ns, k, dir)) = setup("compose-abort", &format!("services:{WEB}{tester}")) else {
        return;
    };
    let r = compose(&ns, &k, dir.path(), &["up", "--exit-code-from", "tester"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("tester-1  | passed"), "{}", r.stdout);
    assert!(
        r.stderr.contains("proj-tester-1 exited with code 3"),
        "{}",
        r.stderr
    );
    assert_eq!(
        inspect(&ns, &k, "proj-web-1")["State"]["Status"],
        "exited",
        "web was stopped too"
    );
    compose_ok(&ns, &k, dir.path(), &["down"]);
}

#[test]
fn sigterm_while_waiting_for_health_rolls_the_up_back() {
    let never = r#"
  slow:
    image: busybox
    init: true
    command: [sleep, "1000"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 200ms
      retries: 100000
  app:
    image: busybox
    command: [true]
    depends_on:
      slow:
        condition: service_healthy
"#;
    let Some((ns, k, dir)) = setup("compose-sigterm", &format!("services:{never}")) else {
        return;
    };
    let mut c = ns.kiste_cmd(&k, &["compose", "-p", "proj", "up", "-d"]);
    c.current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ns
        .kiste_ok(&k, &["ps", "--format", "{{.Names}}"])
        .contains("proj-slow-1")
    {
        assert!(Instant::now() < deadline, "slow never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted while waiting for slow"),
        "{stderr}"
    );
    assert!(
        names(&ns, &k, &["ps", "-aq"]).is_empty(),
        "rolled back: {stderr}"
    );
    assert!(!ns.kiste_ok(&k, &["network", "ls"]).contains("proj_default"));
    ns.assert_clean(&k, &[]);
}
