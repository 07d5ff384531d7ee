//! Networks and volumes in the housekeeping verbs: `system prune` removes unused
//! user-defined networks (and with `--volumes` unused anonymous volumes), `system df`
//! counts local volumes, `ps --filter network=|volume=|health=` selects by them, and tab
//! completion offers network and volume names. Anything that touches bridges or kiste's
//! nftables table runs in a network namespace of its own (`support::netns`).

mod support;

use std::process::Command;
use std::time::{Duration, Instant};
use support::netns::Netns;
use support::*;

/// Names `ps -a --filter F` lists, sorted.
fn ps_names(k: &Kiste, filter: &str) -> Vec<String> {
    let out = k.ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn system_prune_removes_unused_networks_and_with_volumes_unused_anonymous_volumes() {
    let Some(ns) = Netns::new("sprune") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    ns.kiste_ok(&k, &["network", "create", "idle"]);
    ns.kiste_ok(&k, &["network", "create", "busy"]);
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "user",
            "--network",
            "busy",
            "busybox",
            "sleep",
            "300",
        ],
    );
    ns.kiste_ok(&k, &["volume", "create", "named"]);
    ns.kiste_ok(
        &k,
        &[
            "create",
            "--name",
            "anon",
            "--network",
            "none",
            "-v",
            "/data",
            "busybox",
            "true",
        ],
    );
    let anon = k.inspect("anon")["Mounts"][0]["Name"]
        .as_str()
        .unwrap()
        .to_string();
    // Without --volumes: networks yes, volumes no; the warning says so, as docker's.
    let out = ns.kiste_ok(&k, &["system", "prune", "-f"]);
    assert!(out.contains("Deleted Networks:\nidle\n"), "{out}");
    assert!(!out.contains("Deleted Volumes"), "{out}");
    let nets = ns.kiste_ok(&k, &["network", "ls", "--format", "{{.Name}}"]);
    assert_eq!(
        nets.lines().collect::<Vec<_>>(),
        ["bridge", "host", "none", "busy"]
    );
    let mut ask = ns.kiste_cmd(&k, &["system", "prune", "--volumes"]);
    let asked = ask.output().unwrap();
    let prompt = String::from_utf8_lossy(&asked.stdout);
    assert!(
        prompt.contains("  - all networks not used by at least one container\n"),
        "{prompt}"
    );
    assert!(
        prompt.contains("  - all anonymous volumes not used by at least one container\n"),
        "{prompt}"
    );
    // The stopped container that held the anonymous volume went with the first prune; now
    // its volume goes, the named one stays (only anonymous ones go, as docker 23+).
    let out = ns.kiste_ok(&k, &["system", "prune", "-f", "--volumes"]);
    assert!(
        out.contains(&format!("Deleted Volumes:\n{anon}\n")),
        "{out}"
    );
    let vols = ns.kiste_ok(&k, &["volume", "ls", "-q"]);
    assert_eq!(vols.trim(), "named");
    ns.kiste_ok(&k, &["rm", "-f", "user"]);
    let out = ns.kiste_ok(&k, &["system", "prune", "-f"]);
    assert!(out.contains("Deleted Networks:\nbusy\n"), "{out}");
    ns.assert_clean(&k, &[]);
}

#[test]
fn system_df_counts_local_volumes_their_sizes_and_users() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["volume", "create", "full"]);
    k.ok(&["volume", "create", "spare"]);
    k.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "full:/d",
        "busybox",
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /d/f",
    ]);
    k.ok(&[
        "create",
        "--name",
        "holder",
        "--network",
        "none",
        "-v",
        "full:/d",
        "busybox",
        "true",
    ]);
    let rows = k.ok(&["system", "df", "--format", "json"]);
    let vols: serde_json::Value = rows
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["Type"] == "Local Volumes")
        .unwrap();
    assert_eq!(vols["TotalCount"], "2");
    assert_eq!(vols["Active"], "1");
    assert_eq!(vols["Size"], "5kB", "{vols}");
    // The used volume's bytes are not reclaimable; the spare one holds none.
    assert_eq!(vols["Reclaimable"], "0B (0%)", "{vols}");
    let verbose = k.ok(&["system", "df", "-v"]);
    let section = verbose.split("Local Volumes space usage:").nth(1).unwrap();
    let full = section.lines().find(|l| l.starts_with("full ")).unwrap();
    assert_eq!(
        full.split_whitespace().collect::<Vec<_>>(),
        ["full", "1", "5kB"]
    );
    let spare = section.lines().find(|l| l.starts_with("spare ")).unwrap();
    assert_eq!(
        spare.split_whitespace().collect::<Vec<_>>(),
        ["spare", "0", "0B"]
    );
    k.ok(&["rm", "holder"]);
    let rows = k.ok(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.Active}} {{.Reclaimable}}",
    ]);
    assert!(rows.contains("Local Volumes 0 5kB (100%)"), "{rows}");
}

#[test]
fn ps_filters_by_network_volume_and_health() {
    let Some(ns) = Netns::new("psf") else {
        return;
    };
    let k = Kiste::new();
    k.busybox();
    ns.kiste_ok(&k, &["network", "create", "pnet"]);
    let id = ns.kiste_ok(&k, &["network", "inspect", "-f", "{{.Id}}", "pnet"]);
    ns.kiste_ok(
        &k,
        &[
            "create",
            "--name",
            "onnet",
            "--network",
            "pnet",
            "busybox",
            "true",
        ],
    );
    ns.kiste_ok(
        &k,
        &[
            "create",
            "--name",
            "nonet",
            "--network",
            "none",
            "-v",
            "vol1:/data",
            "busybox",
            "true",
        ],
    );
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "well",
            "--network",
            "none",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
            "busybox",
            "sleep",
            "300",
        ],
    );
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "sick",
            "--network",
            "none",
            "--health-cmd",
            "false",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            "busybox",
            "sleep",
            "300",
        ],
    );
    ns.kiste_ok(
        &k,
        &[
            "run",
            "-d",
            "--name",
            "early",
            "--network",
            "none",
            "--health-cmd",
            "true",
            "--health-interval",
            "1h",
            "--health-start-period",
            "1h",
            "busybox",
            "sleep",
            "300",
        ],
    );
    assert_eq!(ps_names(&k, "network=pnet"), ["onnet"]);
    assert_eq!(
        ps_names(&k, &format!("network={}", &id.trim()[..12])),
        ["onnet"]
    );
    assert_eq!(
        ps_names(&k, "network=none"),
        ["early", "nonet", "sick", "well"]
    );
    assert_eq!(ps_names(&k, "volume=vol1"), ["nonet"]);
    assert_eq!(ps_names(&k, "volume=/data"), ["nonet"]);
    assert!(ps_names(&k, "volume=other").is_empty());
    let deadline = Instant::now() + Duration::from_secs(20);
    while ps_names(&k, "health=healthy") != ["well"] || ps_names(&k, "health=unhealthy") != ["sick"]
    {
        assert!(
            Instant::now() < deadline,
            "health never settled: {}",
            k.ok(&["ps", "-a"])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ps_names(&k, "health=starting"), ["early"]);
    assert_eq!(ps_names(&k, "health=none"), ["nonet", "onnet"]);
    let bad = k.run(&["ps", "--filter", "health=fine"]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
    assert!(bad.stderr.contains("fine"), "{}", bad.stderr);
    // The ps columns name the networks and volumes too.
    let cols = k.ok(&[
        "ps",
        "-a",
        "--filter",
        "name=nonet",
        "--format",
        "{{.Networks}} {{.Mounts}} {{.LocalVolumes}}",
    ]);
    assert_eq!(cols.trim(), "none vol1 1");
    ns.kiste_ok(&k, &["rm", "-f", "onnet", "nonet", "well", "sick", "early"]);
    ns.kiste_ok(&k, &["network", "rm", "pnet"]);
    ns.assert_clean(&k, &[]);
}

/// The candidates real bash offers for `words` (the last one is being completed).
fn bash_complete(k: &Kiste, words: &[&str]) -> Vec<String> {
    let script = k.dir.path().join("kiste.bash");
    let out =
        checked_output(Command::new(env!("CARGO_BIN_EXE_kiste")).args(["completion", "bash"]));
    std::fs::write(&script, out).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        r#"source '{}'
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
_clap_complete_kiste kiste "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script.display(),
        quoted.join(" ")
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &prog])
        .env("KISTE_ROOT", k.root())
        .env("KISTE_RUNROOT", k.runroot())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .collect();
    v.sort();
    v
}

#[test]
fn completion_offers_volume_and_network_names() {
    let k = Kiste::new();
    k.ok(&["volume", "create", "alpha"]);
    k.ok(&["volume", "create", "beta"]);
    k.ok(&["network", "create", "front"]);
    k.ok(&["network", "create", "back"]);
    assert_eq!(
        bash_complete(&k, &["kiste", "volume", "inspect", ""]),
        ["alpha", "beta"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "volume", "rm", "al"]),
        ["alpha"]
    );
    assert_eq!(bash_complete(&k, &["kiste", "run", "-v", "b"]), ["beta:"]);
    assert!(bash_complete(&k, &["kiste", "run", "-v", "/"])
        .iter()
        .any(|p| p.starts_with("/tmp")));
    assert_eq!(
        bash_complete(&k, &["kiste", "network", "inspect", ""]),
        ["back", "bridge", "front", "host", "none"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "network", "rm", ""]),
        ["back", "front"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "network", "connect", ""]),
        ["back", "bridge", "front"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "network", "disconnect", "f"]),
        ["front"]
    );
    assert!(bash_complete(&k, &["kiste", "run", "--network", ""]).contains(&"front".to_string()));
}
