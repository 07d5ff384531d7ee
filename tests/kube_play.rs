//! `play kube` runs the pods of a Kubernetes file as kiste containers: a generated pod
//! plays back into another store with the same limits and ports, a Deployment's replicas
//! are pods, a pod's containers share localhost, `--down` removes exactly the file's
//! pods, and a bad file or a failed start leaves nothing behind (exit 125).

mod support;

use std::time::{Duration, Instant};
use support::{free_port, http_get, testdata, Kiste};

fn file(name: &str) -> String {
    testdata(&format!("kube/{name}"))
        .to_str()
        .unwrap()
        .to_string()
}

/// Names of the store's containers, sorted.
fn names(k: &Kiste, all: bool) -> Vec<String> {
    let mut args = vec!["ps", "--format", "{{.Names}}"];
    if all {
        args.push("-a");
    }
    let mut v: Vec<String> = k.ok(&args).lines().map(str::to_string).collect();
    v.sort();
    v
}

/// `cmd` in `container` until it prints `want`, within 10 s.
fn exec_until(k: &Kiste, container: &str, cmd: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = k.run(&["exec", container, "sh", "-c", cmd]);
        if r.stdout.contains(want) || Instant::now() > deadline {
            return r.stdout + &r.stderr;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The memory limit a container sees in its own cgroup (v1 or v2).
const MEMORY_LIMIT: &str =
    "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes";

/// The CPU quota per period a container sees (v2 cpu.max, or v1's quota).
const CPU_QUOTA: &str =
    "cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us";

#[test]
fn a_generated_pod_plays_back_in_another_store_with_its_limits_and_ports() {
    let k = Kiste::new();
    k.busybox();
    let port = free_port();
    let publish = format!("{port}:80");
    k.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-m",
        "32m",
        "--cpus",
        "0.5",
        "--stop-timeout",
        "1",
        "-p",
        &publish,
        "busybox",
        "sh",
        "-c",
        "mkdir -p /www && echo round-trip > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    assert!(http_get(port).contains("round-trip"));
    let yaml = k.dir.path().join("web.yaml");
    k.ok(&[
        "generate",
        "kube",
        "-s",
        "-f",
        yaml.to_str().unwrap(),
        "web",
    ]);
    k.ok(&["rm", "-f", "web"]);

    let k2 = Kiste::new();
    let archive = k.dir.path().join("bb.tar");
    k.ok(&["save", "-o", archive.to_str().unwrap(), "busybox"]);
    k2.ok(&["load", "-i", archive.to_str().unwrap()]);
    let r = k2.run(&["play", "kube", yaml.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("Pod:\nweb-pod\nContainers:\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("kind \"Service\" skipped"),
        "{}",
        r.stderr
    );
    assert_eq!(names(&k2, false), ["web-pod-web"]);
    let limit = exec_until(&k2, "web-pod-web", MEMORY_LIMIT, "33554432");
    assert_eq!(limit.trim(), "33554432");
    let quota = exec_until(&k2, "web-pod-web", CPU_QUOTA, "50000");
    assert!(quota.starts_with("50000"), "{quota}");
    assert!(http_get(port).contains("round-trip"));
    let inspect = k2.inspect("web-pod-web");
    assert_eq!(inspect["HostConfig"]["Memory"], 33554432);
    assert_eq!(inspect["Config"]["Labels"]["io.kiste.kube.pod"], "web-pod");
    k2.ok(&["play", "kube", "--down", yaml.to_str().unwrap()]);
    assert!(names(&k2, true).is_empty());
}

#[test]
fn a_deployment_runs_one_pod_per_replica() {
    let k = Kiste::new();
    k.busybox();
    let r = k.run(&["kube", "play", &file("deployment.yaml")]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(names(&k, false), ["api-pod-0-app", "api-pod-1-app"]);
    for c in ["api-pod-0-app", "api-pod-1-app"] {
        assert_eq!(
            exec_until(&k, c, MEMORY_LIMIT, "67108864").trim(),
            "67108864"
        );
        // Each pod has its own hostname (the pod's name).
        assert_eq!(k.ok(&["exec", c, "hostname"]).trim(), &c[..9]);
    }
    k.ok(&["kube", "down", &file("deployment.yaml")]);
    assert!(names(&k, true).is_empty());
}

#[test]
fn containers_of_one_pod_reach_each_other_on_localhost() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["play", "kube", &file("pod-localhost.yaml")]);
    let got = exec_until(
        &k,
        "duo-client",
        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $SERVER",
        "hello-from-server",
    );
    assert!(got.contains("hello-from-server"), "{got}");
    // One pod, one host name, one network namespace.
    assert_eq!(k.ok(&["exec", "duo-client", "hostname"]).trim(), "duo");
    let server = k.inspect("duo-server")["Id"].as_str().unwrap().to_string();
    assert_eq!(
        k.inspect("duo-client")["HostConfig"]["NetworkMode"],
        format!("container:{server}")
    );
    let netns = |c: &str| k.ok(&["exec", c, "readlink", "/proc/self/ns/net"]);
    assert_eq!(netns("duo-client"), netns("duo-server"));
    k.ok(&["play", "kube", "--down", &file("pod-localhost.yaml")]);
}

#[test]
fn down_removes_exactly_the_files_pods() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "bystander",
        "--stop-timeout",
        "1",
        "busybox",
        "sleep",
        "300",
    ]);
    k.ok(&["play", "kube", &file("pod-localhost.yaml")]);
    k.ok(&["play", "kube", "--start=false", &file("unknown-kind.yaml")]);
    assert_eq!(
        names(&k, true),
        ["bystander", "duo-client", "duo-server", "lone-c"]
    );
    let r = k.run(&["play", "kube", "--down", &file("pod-localhost.yaml")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "Pods stopped:\nduo\nPods removed:\nduo\n");
    assert_eq!(names(&k, true), ["bystander", "lone-c"]);
    // A second --down finds nothing and is no error.
    let r = k.run(&["play", "kube", "--down", &file("pod-localhost.yaml")]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    k.ok(&["rm", "-f", "bystander"]);
}

#[test]
fn start_false_creates_and_replace_recreates() {
    let k = Kiste::new();
    k.busybox();
    let r = k.run(&["play", "kube", "--start=false", &file("unknown-kind.yaml")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // podman skips kinds it does not run, with a warning.
    assert!(
        r.stderr
            .contains("kind \"ConfigMap\" is not supported by play kube; skipped"),
        "{}",
        r.stderr
    );
    assert_eq!(k.inspect("lone-c")["State"]["Status"], "created");
    let first = k.inspect("lone-c")["Id"].clone();
    // Playing it again clashes on the name; --replace removes the old pod first.
    let r = k.run(&["play", "kube", &file("unknown-kind.yaml")]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    k.ok(&["play", "kube", "--replace", &file("unknown-kind.yaml")]);
    let again = k.inspect("lone-c");
    assert_ne!(again["Id"], first);
    assert_eq!(again["State"]["Status"], "running");
    k.ok(&["kube", "down", &file("unknown-kind.yaml")]);
}

#[test]
fn a_container_that_cannot_start_takes_its_pod_back_with_it() {
    let k = Kiste::new();
    k.busybox();
    let r = k.run(&["play", "kube", &file("rollback.yaml")]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("broken-missing"), "{}", r.stderr);
    assert!(names(&k, true).is_empty(), "{:?}", names(&k, true));
    assert_eq!(k.ok(&["volume", "ls", "-q"]), "");
    // A volume that was there before the call stays.
    k.ok(&["volume", "create", "broken-claim"]);
    assert_ne!(k.run(&["play", "kube", &file("rollback.yaml")]).code, 0);
    assert_eq!(k.ok(&["volume", "ls", "-q"]), "broken-claim\n");
}

#[test]
fn bad_files_are_refused_whole_with_one_line_naming_file_object_and_key() {
    let k = Kiste::new();
    k.busybox();
    let cases = [
        (
            "bad-yaml.yaml",
            "bad-yaml.yaml:9:1: invalid yaml: did not find expected ',' or ']', while parsing",
        ),
        (
            "no-image.yaml",
            "Pod \"noimage\": spec.containers[0].image: container \"c\" has no image",
        ),
        (
            "bad-quantity.yaml",
            "Pod \"quant\": spec.containers[0].resources.limits.memory: bad quantity \"12Zi\"",
        ),
        (
            "value-from.yaml",
            "Pod \"secretive\": spec.containers[0].env[0] (PASSWORD): valueFrom is not supported",
        ),
    ];
    for (name, want) in cases {
        let path = file(name);
        let r = k.run(&["play", "kube", &path]);
        assert_eq!(r.code, 125, "{name}: {}", r.stderr);
        let lines: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {}", r.stderr);
        assert!(lines[0].contains(&path), "{name}: {}", r.stderr);
        assert!(lines[0].contains(want), "{name}: {}", r.stderr);
    }
    assert!(names(&k, true).is_empty());
    let r = k.run(&["play", "kube", &file("never-pull.yaml")]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("no-such-image"), "{}", r.stderr);
    assert!(names(&k, true).is_empty());
    let r = k.run(&["play", "kube", "/no/such/file.yaml"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.contains("cannot read /no/such/file.yaml"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_pod_on_the_bridge_publishes_any_members_host_port() {
    let Some(ns) = support::netns::Netns::new("kube") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    let r = ns.kiste(
        &k,
        &[
            "play",
            "kube",
            "--network",
            "bridge",
            &file("pod-ports.yaml"),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // Both containers see the pod's one bridged interface.
    for c in ["front-idle", "front-web"] {
        let addr = ns.kiste_ok(&k, &["exec", c, "ip", "-4", "-o", "addr", "show", "eth0"]);
        assert!(addr.contains("inet 10."), "{c}: {addr}");
    }
    ns.wait_answer("127.0.0.1", 8080, "hello-pod");
    ns.kiste_ok(&k, &["kube", "down", &file("pod-ports.yaml")]);
    ns.assert_clean(&k, &[]);
}

#[test]
fn the_file_may_come_on_stdin() {
    use std::io::Write;
    let k = Kiste::new();
    k.busybox();
    let mut child = k
        .cmd(&["play", "kube", "--start=false", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let yaml = std::fs::read(file("unknown-kind.yaml")).unwrap();
    child.stdin.take().unwrap().write_all(&yaml).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(names(&k, true), ["lone-c"]);
    k.ok(&["rm", "lone-c"]);
}
