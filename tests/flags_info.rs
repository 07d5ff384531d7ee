//! `info --format`: every field of docker's `info` JSON that means something without a
//! daemon is there, with docker's JSON type, so templates written for docker work.

mod support;

use std::process::Command;
use support::*;

#[test]
fn info_has_every_field_of_dockers_but_the_daemons_internals() {
    if !have("docker") {
        return skip("docker is not installed: no comparison");
    }
    support::docker::ensure_docker();
    let k = Kiste::new();
    let ours: serde_json::Value =
        serde_json::from_str(&k.ok(&["info", "--format", "{{json .}}"])).unwrap();
    let out = Command::new("docker")
        .args(["info", "--format", "{{json .}}"])
        .output()
        .unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Go runtime and daemon configuration internals kiste has no counterpart for.
    let daemon_only = ["NGoroutines", "RegistryConfig"];
    for (key, val) in theirs.as_object().unwrap() {
        if daemon_only.contains(&key.as_str()) {
            continue;
        }
        let mine = ours
            .get(key)
            .unwrap_or_else(|| panic!("kiste info has no {key} (docker: {val})"));
        let kind = |v: &serde_json::Value| std::mem::discriminant(v);
        if !val.is_null() && !mine.is_null() {
            assert_eq!(kind(mine), kind(val), "{key}: {mine} vs docker's {val}");
        }
    }
    // A template of docker's fields renders.
    let line = k.ok(&[
        "system",
        "info",
        "--format",
        "{{.OomKillDisable}} {{.KernelMemory}} {{.IndexServerAddress}} {{.Isolation}}|",
    ]);
    assert!(
        line.ends_with(" false https://index.docker.io/v1/ |\n"),
        "{line}"
    );
    assert!(k
        .ok(&["info", "--format", "{{.SystemTime}}"])
        .starts_with("20"));
}
