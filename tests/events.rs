//! `kiste events`: a follower started first sees a `run --rm` container's create, attach,
//! start, die and destroy in order with docker's attributes; `--since`/`--until` replay
//! the journal; filters combine as docker's do; `--format` templates and `json`; bad
//! values end with one line and exit 125; a follower ends when its reader goes away.

mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};
use support::Kiste;

/// A `kiste events` process and the lines it prints.
struct Follower {
    child: Child,
    lines: Receiver<String>,
}

impl Follower {
    fn start(k: &Kiste, args: &[&str]) -> Follower {
        let mut child = k
            .cmd(&[&["events"], args].concat())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Follower { child, lines }
    }

    /// Lines up to and including the first that `last` accepts (panics at the deadline).
    fn until(&self, last: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    let done = last(&l);
                    seen.push(l);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("the follower printed no matching line; it printed {seen:#?}"),
            }
        }
    }

    /// The follower is known to be watching once it shows a volume made after it started.
    fn ready(&self, k: &Kiste, marker: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            k.ok(&["volume", "create", marker]);
            k.ok(&["volume", "rm", marker]);
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                if l.contains(marker) {
                    // The rest of the marker's lines.
                    while self.lines.recv_timeout(Duration::from_millis(100)).is_ok() {}
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the follower never started");
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn follower_sees_a_run_rm_container_from_create_to_destroy() {
    let k = Kiste::new();
    k.busybox();
    let f = Follower::start(&k, &["--format", "{{json .}}"]);
    f.ready(&k, "events-ready");
    let r = k.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "ev-run",
        "--label",
        "tier=web",
        "busybox",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let lines = f.until(|l| l.contains("\"destroy\"") && l.contains("ev-run"));
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["Actor"]["Attributes"]["name"] == "ev-run")
        .collect();
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["Action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "attach", "start", "die", "destroy"]);
    for e in &events {
        assert_eq!(e["Type"], "container");
        assert_eq!(e["scope"], "local");
        assert_eq!(e["from"], "busybox");
        assert_eq!(e["Actor"]["Attributes"]["image"], "busybox");
        assert_eq!(e["Actor"]["Attributes"]["tier"], "web");
        assert_eq!(e["id"], e["Actor"]["ID"]);
        assert_eq!(e["Actor"]["ID"].as_str().unwrap().len(), 64);
        let (t, ns) = (e["time"].as_i64().unwrap(), e["timeNano"].as_i64().unwrap());
        assert_eq!(t, ns / 1_000_000_000);
    }
    assert_eq!(events[3]["Actor"]["Attributes"]["exitCode"], "3");
    let times: Vec<i64> = events
        .iter()
        .map(|e| e["timeNano"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}

#[test]
fn since_and_until_replay_the_journal_in_docker_forms() {
    let k = Kiste::new();
    for v in ["ev-a", "ev-b", "ev-c"] {
        k.ok(&["volume", "create", v]);
    }
    let all = json_lines(&k.ok(&[
        "events", "--since", "0", "--until", "0s", "--format", "json",
    ]));
    let names: Vec<&str> = all
        .iter()
        .map(|e| e["Actor"]["ID"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ev-a", "ev-b", "ev-c"]);
    let ns = |i: usize| all[i]["timeNano"].as_i64().unwrap();
    let unix = |n: i64| format!("{}.{:09}", n / 1_000_000_000, n % 1_000_000_000);
    // Unix seconds with nanoseconds: both ends inclusive, as dockerd's.
    let mid = k.ok(&[
        "events",
        "--since",
        &unix(ns(1)),
        "--until",
        &unix(ns(1)),
        "--format",
        "{{.Actor.ID}}",
    ]);
    assert_eq!(mid, "ev-b\n");
    // RFC 3339 with nanoseconds, and a duration back from now.
    let text = k.ok(&["events", "--since", "10m", "--until", "0s"]);
    let first = text
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let from_first = k.ok(&[
        "events",
        "--since",
        &first,
        "--until",
        "0s",
        "--format",
        "{{.Actor.ID}}",
    ]);
    assert_eq!(from_first, "ev-a\nev-b\nev-c\n");
    assert_eq!(k.ok(&["events", "--since", "1h", "--until", "30m"]), "");
    // `system events` is the same verb.
    assert_eq!(
        k.ok(&["system", "events", "--since", "10m", "--until", "0s"]),
        text
    );
}

#[test]
fn text_line_is_dockers_shape() {
    let k = Kiste::new();
    k.ok(&["volume", "create", "ev-shape"]);
    let text = k.ok(&["events", "--since", "1m", "--until", "0s"]);
    let line = text.lines().next().unwrap();
    let (time, rest) = line.split_once(' ').unwrap();
    assert_eq!(rest, "volume create ev-shape (driver=local)");
    // Go's RFC3339Nano in UTC: seconds, a fraction without trailing zeros, `Z`.
    assert!(time.len() >= 20 && time.len() <= 30, "{time}");
    assert_eq!(&time[10..11], "T", "{time}");
    assert!(time.ends_with('Z'), "{time}");
    if let Some((_, frac)) = time.trim_end_matches('Z').split_once('.') {
        assert!(!frac.ends_with('0') && frac.len() <= 9, "{time}");
    }
}

#[test]
fn filters_and_within_a_key_or_across_keys() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["volume", "create", "ev-vol"]);
    k.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "ev-one",
        "-l",
        "a=1",
        "busybox",
        "true",
    ]);
    k.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "ev-two",
        "-l",
        "a=2",
        "busybox:latest",
        "true",
    ]);
    let q = |filters: &[&str]| -> Vec<String> {
        let mut args = vec!["events", "--since", "10m", "--until", "0s"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        args.extend([
            "--format",
            "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
        ]);
        k.ok(&args).lines().map(str::to_string).collect()
    };
    assert_eq!(
        q(&["event=die", "container=ev-one"]),
        ["container die ev-one"]
    );
    assert_eq!(
        q(&["event=die", "event=destroy", "container=ev-t"]),
        ["container die ev-two", "container destroy ev-two"]
    );
    assert_eq!(q(&["type=volume"]), ["volume create <no value>"]);
    assert_eq!(q(&["volume=ev-vol"]).len(), 1);
    assert_eq!(q(&["label=a=2", "event=start"]), ["container start ev-two"]);
    assert_eq!(q(&["label=a", "event=start"]).len(), 2);
    assert_eq!(q(&["image=busybox", "event=create"]).len(), 2);
    // docker's stripTag: `busybox` matches `busybox:latest`, not the other way round.
    assert_eq!(
        q(&["image=busybox:latest", "event=create"]),
        ["container create ev-two"]
    );
    assert!(q(&["image=other"]).is_empty());
    assert!(q(&["network=nothing"]).is_empty());
    assert!(q(&["daemon=nothing"]).is_empty());
    // `system events` takes the same filters and formats.
    let sys = k.ok(&[
        "system",
        "events",
        "--since",
        "10m",
        "--until",
        "0s",
        "--filter",
        "type=volume",
        "--format",
        "{{.Action}} {{.Actor.ID}}",
    ]);
    assert_eq!(sys, "create ev-vol\n");
}

#[test]
fn format_json_and_templates() {
    let k = Kiste::new();
    k.ok(&["volume", "create", "ev-fmt"]);
    let base = ["events", "--since", "1m", "--until", "0s"];
    let json = k.ok(&[&base[..], &["--format", "json"]].concat());
    let dot = k.ok(&[&base[..], &["--format", "{{json .}}"]].concat());
    assert_eq!(json, dot);
    let e: Value = serde_json::from_str(json.trim()).unwrap();
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec!["Type", "Action", "Actor", "scope", "time", "timeNano"];
    want.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(got, want, "a volume event has no legacy status/id/from");
    let t = k.ok(&[&base[..], &["--format", "{{.Type}}|{{.Action}}|{{.Actor.ID}}|{{.Scope}}|{{.TimeNano}}|{{json .Actor.Attributes}}"]].concat());
    assert_eq!(
        t.trim(),
        format!(
            "volume|create|ev-fmt|local|{}|{{\"driver\":\"local\"}}",
            e["timeNano"]
        )
    );
    let bad = k.run(&[&base[..], &["--format", "{{.Type"]].concat());
    assert_eq!(bad.code, 125, "{}", bad.stderr);
    let missing = k.ok(&[&base[..], &["--format", "{{.Actor.Attributes.name}}"]].concat());
    assert_eq!(missing, "<no value>\n", "Go's text for a key the map lacks");
}

#[test]
fn bad_filters_and_times_end_with_one_line_and_125() {
    let k = Kiste::new();
    for (args, want) in [
        (vec!["--filter", "foo=bar"], "invalid filter 'foo'"),
        (
            vec!["--filter", "foo"],
            "bad format of filter (expected name=value)",
        ),
        (
            vec!["--since", "garbage"],
            "failed to parse value as time or duration: \"garbage\"",
        ),
        (
            vec!["--until", "yesterday"],
            "failed to parse value as time or duration: \"yesterday\"",
        ),
    ] {
        let r = k.run(&[&["events"], &args[..]].concat());
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn follower_ends_when_its_reader_goes_away_or_on_sigterm() {
    let k = Kiste::new();
    let mut f = Follower::start(&k, &[]);
    f.ready(&k, "events-gone");
    // SIGTERM ends it.
    let pid = f.child.id() as i32;
    // SAFETY: our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while f.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the follower outlived SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // A closed stdout ends it without any event to write.
    let mut child = k.cmd(&["events"]).stdout(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "{st:?}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the follower outlived its reader");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn until_in_the_future_follows_then_ends() {
    let k = Kiste::new();
    let started = Instant::now();
    let r = k
        .cmd(&["events", "--since", "1m", "--until", &until_in(2)])
        .output()
        .unwrap();
    assert!(r.status.success());
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

fn until_in(secs: u64) -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        + Duration::from_secs(secs);
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}
