//! `top` and `stats` on real containers: the container's processes through the host's
//! `ps` with the options passed through, and CPU, memory, network, block I/O and pids
//! read from its cgroup and network namespace, in docker's format.

mod support;
use std::time::{Duration, Instant};
use support::{wait_until, Kiste};

fn stats_json(k: &Kiste, name: &str) -> serde_json::Value {
    let out = k.ok(&["stats", "--no-stream", "--format", "{{json .}}", name]);
    serde_json::from_str(out.trim()).unwrap()
}

#[test]
fn top_lists_only_the_containers_processes_with_ps_options() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "three",
        "busybox",
        "sh",
        "-c",
        "sleep 101 & sleep 102 & wait",
    ]);
    wait_until("both sleeps run", Duration::from_secs(10), || {
        k.ok(&["top", "three"]).contains("sleep 102")
    });
    let out = k.ok(&["top", "three"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("UID ") && lines[0].contains(" PID ") && lines[0].ends_with("CMD"),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        out.contains("sleep 101") && out.contains("sh -c sleep 101"),
        "{out}"
    );
    // The host's own processes are not shown.
    assert!(!out.contains("cargo") && !out.contains(&std::process::id().to_string()));

    let custom = k.ok(&["top", "three", "-o", "pid,comm"]);
    let mut rows: Vec<&str> = custom
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    rows.sort();
    assert_eq!(rows, ["sh", "sleep", "sleep"], "{custom}");
    assert!(custom.starts_with("PID "), "{custom}");

    let no_pid = k.run(&["top", "three", "-o", "comm"]);
    assert_eq!(no_pid.code, 1);
    assert!(no_pid.stderr.contains("PID field"), "{}", no_pid.stderr);
    k.ok(&["stop", "-t", "0", "three"]);
    let stopped = k.run(&["top", "three"]);
    assert_eq!(stopped.code, 1);
    assert!(
        stopped.stderr.contains("is not running"),
        "{}",
        stopped.stderr
    );
}

#[test]
fn stats_reports_cpu_memory_limit_and_pids_from_the_cgroup() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "-m",
        "64m",
        "busybox",
        "sh",
        "-c",
        "sleep 100 & while true; do :; done",
    ]);
    k.ok(&["run", "-d", "--name", "idle", "busybox", "sleep", "100"]);
    let busy = stats_json(&k, "busy");
    let cpu: f64 = busy["CPUPerc"]
        .as_str()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(cpu > 10.0, "a busy loop uses CPU: {busy}");
    assert!(
        busy["MemUsage"].as_str().unwrap().ends_with(" / 64MiB"),
        "{busy}"
    );
    assert_eq!(busy["PIDs"], "2");
    assert_eq!(busy["Name"], "busy");
    assert_eq!(busy["Container"], "busy");
    assert_eq!(busy["ID"].as_str().unwrap().len(), 12);
    // Without a limit the host's memory is the limit, as in docker.
    let idle = stats_json(&k, "idle");
    assert!(
        idle["CPUPerc"].as_str().unwrap().starts_with("0."),
        "{idle}"
    );
    assert!(
        idle["MemUsage"].as_str().unwrap().ends_with("GiB"),
        "{idle}"
    );

    // The default table: docker's columns, running containers only (all with -a).
    k.ok(&["stop", "-t", "0", "idle"]);
    let table = k.ok(&["stats", "--no-stream"]);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ]
    );
    assert_eq!(table.lines().count(), 2, "{table}");
    let all = k.ok(&[
        "stats",
        "--no-stream",
        "-a",
        "--no-trunc",
        "--format",
        "{{.ID}} {{.MemUsage}} {{.PIDs}}",
    ]);
    let idle_id = k.inspect("idle")["Id"].as_str().unwrap().to_string();
    assert!(
        all.lines().any(|l| l == format!("{idle_id} 0B / 0B 0")),
        "{all}"
    );
}

#[test]
fn stats_counts_network_bytes_in_the_containers_namespace() {
    let k = Kiste::new();
    k.busybox();
    let r = k.run(&[
        "run",
        "-d",
        "--name",
        "talker",
        "--network",
        "bridge",
        "busybox",
        "sh",
        "-c",
        "ping -c 3 -i 0.2 10.88.0.1; sleep 100",
    ]);
    if r.code != 0 {
        support::skip(&format!("no bridge network here: {}", r.stderr.trim()));
        return;
    }
    wait_until("the pings went out", Duration::from_secs(10), || {
        let net = stats_json(&k, "talker")["NetIO"]
            .as_str()
            .unwrap()
            .to_string();
        !net.ends_with(" / 0B")
    });
    let net = stats_json(&k, "talker")["NetIO"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = net.split(" / ").nth(1).unwrap();
    assert!(sent.ends_with('B') && sent != "0B", "{net}");
}

#[test]
fn stats_without_no_stream_redraws_the_table_each_second() {
    use std::io::Read;
    let k = Kiste::new();
    k.busybox();
    k.ok(&["run", "-d", "--name", "live", "busybox", "sleep", "100"]);
    let mut child = k
        .cmd(&["stats", "live"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 4096];
    // Two frames, each the screen cleared and the table drawn again.
    while seen.matches("\x1b[2J\x1b[H").count() < 2 {
        assert!(
            Instant::now() < deadline,
            "two frames within 15 s: {seen:?}"
        );
        let n = out.read(&mut buf).unwrap();
        assert!(n > 0, "stats ended: {seen:?}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let frame = seen.split("\x1b[2J\x1b[H").nth(1).unwrap();
    assert!(frame.starts_with("CONTAINER ID"), "{frame:?}");
    assert!(
        frame.lines().nth(1).unwrap().contains(" live "),
        "{frame:?}"
    );
}
