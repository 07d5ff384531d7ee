//! `info`, `system info` and `version --format json`: docker's field names and layout where
//! the thing exists here, the counts of this store, and the host facts docker reports the
//! same way (cgroup version, kernel, OS, architecture).

mod support;

use serde_json::Value;
use std::process::Command;
use support::docker::ensure_docker;
use support::{checked_output, Kiste};

fn info_json(k: &Kiste) -> Value {
    serde_json::from_str(&k.ok(&["info", "--format", "{{json .}}"])).unwrap()
}

fn docker_info() -> Value {
    ensure_docker();
    let out = checked_output(Command::new("docker").args(["info", "--format", "{{json .}}"]));
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn info_counts_containers_by_state_and_images() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "idle", "busybox", "true"]);
    k.ok(&["run", "--name", "done", "busybox", "true"]);
    k.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "300"]);
    let v = info_json(&k);
    assert_eq!(v["Containers"], 3, "{v}");
    assert_eq!(v["ContainersRunning"], 1);
    assert_eq!(v["ContainersPaused"], 0);
    assert_eq!(v["ContainersStopped"], 2);
    assert_eq!(v["Images"], 1);
    assert_eq!(v["DockerRootDir"], k.root().to_str().unwrap());
    assert_eq!(v["RunRoot"], k.runroot().to_str().unwrap());
    assert_eq!(v["Rootless"], false);
    // The text form shows the same counts in docker's indented layout.
    let text = k.ok(&["info"]);
    for line in [
        "Server:",
        " Containers: 3",
        "  Running: 1",
        "  Paused: 0",
        "  Stopped: 2",
        " Images: 1",
        " Storage Driver: overlay",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in:\n{text}");
    }
    k.ok(&["rm", "-f", "busy"]);
    assert_eq!(info_json(&k)["ContainersRunning"], 0);
}

#[test]
fn info_reports_the_host_as_docker_does() {
    let k = Kiste::new();
    let ours = info_json(&k);
    let docker = docker_info();
    for key in [
        "CgroupVersion",
        "CgroupDriver",
        "KernelVersion",
        "OperatingSystem",
        "OSType",
        "Architecture",
        "NCPU",
        "MemTotal",
        "LoggingDriver",
        "IPv4Forwarding",
    ] {
        assert_eq!(ours[key], docker[key], "{key}");
    }
    // Backing filesystem of the store: the same words docker uses for its own.
    let backing = &ours["DriverStatus"][0];
    assert_eq!(backing[0], "Backing Filesystem");
    // Every field kiste shares with docker has docker's JSON type.
    let type_of = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let mut shared = 0;
    for (key, val) in ours.as_object().unwrap() {
        if let Some(d) = docker.get(key) {
            if !d.is_null() {
                assert_eq!(type_of(val), type_of(d), "{key}: {val} vs docker's {d}");
                shared += 1;
            }
        }
    }
    assert!(shared >= 30, "only {shared} of docker's fields");
    // Text: the same lines as docker's for facts about the host.
    let text = k.ok(&["system", "info"]);
    let dtext = String::from_utf8(checked_output(Command::new("docker").arg("info"))).unwrap();
    for prefix in [
        " Cgroup Version: ",
        " Cgroup Driver: ",
        " Kernel Version: ",
        " Operating System: ",
        " Architecture: ",
        " CPUs: ",
        " Total Memory: ",
        " Logging Driver: ",
        "  Backing Filesystem: ",
    ] {
        let line = |t: &str| t.lines().find(|l| l.starts_with(prefix)).map(String::from);
        assert_eq!(line(&text), line(&dtext), "{prefix}");
    }
}

#[test]
fn info_format_fields_and_errors() {
    let k = Kiste::new();
    let out = k.ok(&[
        "info",
        "--format",
        "{{.Driver}} {{.CgroupDriver}} {{.Images}} {{.Swarm.LocalNodeState}}",
    ]);
    assert_eq!(out, "overlay cgroupfs 0 inactive\n");
    let j: Value = serde_json::from_str(&k.ok(&["info", "--format", "json"])).unwrap();
    assert_eq!(j["Images"], 0);
    let bad = k.run(&["info", "--format", "{{.Nope"]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
    assert!(bad.stderr.contains("template"), "{}", bad.stderr);
}

#[test]
fn version_format_json_has_docker_client_fields() {
    let k = Kiste::new();
    let v: Value = serde_json::from_str(&k.ok(&["version", "--format", "json"])).unwrap();
    ensure_docker();
    let d: Value = serde_json::from_slice(&checked_output(Command::new("docker").args([
        "version",
        "--format",
        "{{json .}}",
    ])))
    .unwrap();
    for key in ["Version", "GitCommit", "Os", "Arch", "BuildTime"] {
        assert!(v["Client"][key].is_string(), "Client.{key} in {v}");
        assert!(d["Client"][key].is_string(), "docker's Client.{key}");
    }
    assert_eq!(v["Client"]["Os"], d["Client"]["Os"]);
    assert_eq!(v["Client"]["Arch"], d["Client"]["Arch"]);
    assert_eq!(v["Client"]["Version"], env!("CARGO_PKG_VERSION"));
    let t = k.ok(&["version", "--format", "{{.Client.Os}}/{{.Client.Arch}}"]);
    assert_eq!(
        t.trim(),
        format!(
            "{}/{}",
            d["Client"]["Os"].as_str().unwrap(),
            d["Client"]["Arch"].as_str().unwrap()
        )
    );
}
