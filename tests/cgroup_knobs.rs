//! The finer cgroup knobs of `run`/`create` on this cgroup v1 host, each compared with
//! what docker's engine (dockerd 20.10 through the 28.2 CLI) writes for the same flags:
//! CFS period and quota, cpuset mems, swappiness, real-time period and runtime, device
//! cgroup rules (with wildcards), per-device I/O weights and throttles, and
//! `--oom-kill-disable`. Values are read inside the container (its own cgroup at
//! /sys/fs/cgroup/CONTROLLER) and on the host; bad values exit 125 with one line naming
//! the flag and value, as docker refuses them, and leave no container behind.
//! cgroup v2 runs the same knobs in tests/cgroup_knobs_v2_qemu.rs.

mod support;

use std::os::unix::fs::FileTypeExt;
use support::cgroup::Layout;
use support::docker::{docker, docker_busybox};
use support::*;

/// kiste and docker, ready for a comparison: None (after `skip`) off a v1 host.
fn setup() -> Option<(Kiste, &'static str)> {
    if !support::cgroup_v1_or_skip() {
        return None;
    }
    support::docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let img = docker_busybox(&k, "kiste-knobs-bb:1");
    Some((k, img))
}

/// `run --rm FLAGS IMAGE sh -c SCRIPT` by docker; it must succeed; its stdout.
fn docker_sh(flags: &[&str], img: &str, script: &str) -> String {
    let mut a = vec!["run", "--rm"];
    a.extend(flags);
    a.extend([img, "sh", "-c", script]);
    let r = docker(&a);
    assert_eq!(r.code, 0, "docker {a:?}: {}", r.stderr);
    r.stdout
}

fn with_net_none<'a>(flags: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--network", "none"];
    v.extend(flags);
    v
}

/// A file of the container's v1 cgroup on the host.
fn host_file(controller: &str, id: &str, file: &str) -> String {
    Layout::V1.file(controller, "kiste", id, file)
}

/// The host's first disk (virtio, SCSI, NVMe) as "/dev/NAME" and "MAJ:MIN".
fn block_device() -> Option<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| ["vd", "sd", "xvd", "nvme"].iter().any(|p| n.starts_with(p)))
        .collect();
    names.sort();
    let name = names.into_iter().find(|n| {
        std::fs::metadata(format!("/dev/{n}")).is_ok_and(|m| m.file_type().is_block_device())
    })?;
    let dev = std::fs::read_to_string(format!("/sys/block/{name}/dev")).ok()?;
    Some((format!("/dev/{name}"), dev.trim().to_string()))
}

#[test]
fn cpu_period_quota_cpuset_mems_and_swappiness_are_written_as_dockers_engine_writes_them() {
    let Some((k, img)) = setup() else { return };
    let flags = [
        "--cpu-period",
        "50000",
        "--cpu-quota",
        "25000",
        "--cpuset-mems",
        "0",
        "--memory-swappiness",
        "10",
        "--cpu-shares",
        "512",
    ];
    let script = "cd /sys/fs/cgroup; cat cpu/cpu.cfs_period_us cpu/cpu.cfs_quota_us \
                  cpuset/cpuset.mems memory/memory.swappiness cpu/cpu.shares";
    let ours = k.sh_with(&with_net_none(&flags), "busybox", script);
    assert_eq!(ours, "50000\n25000\n0\n10\n512\n");
    assert_eq!(
        ours,
        docker_sh(&flags, img, script),
        "docker wrote otherwise"
    );
    // The host's view of the same cgroup.
    let mut a = vec!["run", "-d", "--network", "none"];
    a.extend(flags);
    a.extend(["busybox", "sleep", "300"]);
    let id = k.ok(&a).trim().to_string();
    assert_eq!(host_file("cpu", &id, "cpu.cfs_period_us"), "50000");
    assert_eq!(host_file("cpu", &id, "cpu.cfs_quota_us"), "25000");
    assert_eq!(host_file("cpuset", &id, "cpuset.mems"), "0");
    assert_eq!(host_file("memory", &id, "memory.swappiness"), "10");
    k.ok(&["rm", "-f", &id]);
    // `create` records them under docker's HostConfig names, as docker's inspect shows.
    let mut a = vec!["create", "--name", "knobs"];
    a.extend(flags);
    a.extend(["busybox", "true"]);
    k.ok(&a);
    let mut d = vec!["create"];
    d.extend(flags);
    d.extend([img, "true"]);
    let r = docker(&d);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let did = r.stdout.trim().to_string();
    let theirs = docker(&["inspect", &did]);
    docker(&["rm", "-f", &did]);
    let theirs: serde_json::Value = serde_json::from_str(&theirs.stdout).unwrap();
    let ours = k.inspect("knobs");
    for f in [
        "CpuPeriod",
        "CpuQuota",
        "CpusetMems",
        "MemorySwappiness",
        "CpuShares",
        "CpuRealtimePeriod",
        "CpuRealtimeRuntime",
        "DeviceCgroupRules",
        "BlkioWeightDevice",
    ] {
        assert_eq!(
            ours["HostConfig"][f], theirs[0]["HostConfig"][f],
            "HostConfig.{f}"
        );
    }
}

#[test]
fn bad_knob_values_exit_125_naming_flag_and_value_as_docker_refuses_them() {
    let Some((k, img)) = setup() else { return };
    let online = std::fs::read_to_string("/sys/devices/system/node/online")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "0".into());
    let unavailable =
        format!("Requested memory nodes are not available - requested 63, available: {online}");
    let cases: Vec<(Vec<&str>, &str, &str, &str)> = vec![
        (
            vec!["--cpus", "1", "--cpu-period", "50000"],
            "--cpu-period",
            "50000",
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (
            vec!["--cpus", "1", "--cpu-quota", "50000"],
            "--cpu-quota",
            "50000",
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ),
        (
            vec!["--cpu-period", "500"],
            "--cpu-period",
            "500",
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ),
        (
            vec!["--cpu-quota", "500"],
            "--cpu-quota",
            "500",
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ),
        (
            vec!["--cpu-rt-period", "1000", "--cpu-rt-runtime", "2000"],
            "--cpu-rt-runtime",
            "2000",
            "cpu real-time runtime cannot be higher than cpu real-time period",
        ),
        (
            vec!["--cpu-rt-period", "abc"],
            "--cpu-rt-period",
            "abc",
            "strconv.ParseInt: parsing \"abc\": invalid syntax",
        ),
        (
            vec!["--cpuset-mems", "63"],
            "--cpuset-mems",
            "63",
            &unavailable,
        ),
        (
            vec!["--cpuset-mems", "a"],
            "--cpuset-mems",
            "a",
            "Invalid value a for cpuset mems: invalid format: a",
        ),
        (
            vec!["--memory-swappiness", "200"],
            "--memory-swappiness",
            "200",
            "invalid value: 200. Valid memory swappiness range is 0-100",
        ),
        (
            vec!["--device-cgroup-rule", "x"],
            "--device-cgroup-rule",
            "x",
            "invalid device cgroup format 'x'",
        ),
        (
            vec!["--blkio-weight-device", "/dev/null:5"],
            "--blkio-weight-device",
            "/dev/null:5",
            "invalid weight for device: /dev/null:5",
        ),
        (
            vec!["--blkio-weight-device", "vda:200"],
            "--blkio-weight-device",
            "vda:200",
            "bad format for device path: vda:200",
        ),
    ];
    for (flags, flag, value, reason) in &cases {
        for verb in ["run", "create"] {
            let mut a = vec![verb];
            if verb == "run" {
                a.push("--rm");
            }
            a.extend(flags.iter().copied());
            a.extend(["busybox", "true"]);
            let r = k.run(&a);
            assert_eq!(r.code, 125, "kiste {a:?}: {}", r.stderr);
            let line = r.stderr.trim();
            assert_eq!(line.lines().count(), 1, "one line: {line}");
            let named = format!("invalid argument \"{value}\" for \"{flag}\" flag: {reason}");
            assert!(line.ends_with(&named), "kiste {a:?}: {line}");
            a.pop();
            a.pop();
            a.extend([img, "true"]);
            let d = docker(&a);
            // docker's `create` exits 1 for its daemon's refusals, `run` 125.
            assert!(
                d.code == 125 || (verb == "create" && d.code == 1),
                "docker {a:?}: {}",
                d.stderr
            );
            assert!(d.stderr.contains(reason), "docker {a:?}: {}", d.stderr);
        }
    }
    assert_eq!(
        k.ok(&["ps", "-a", "-q"]),
        "",
        "a refused flag made a container"
    );
}

#[test]
fn cpu_rt_period_and_runtime_are_written_with_room_made_in_kistes_parent() {
    let Some((k, img)) = setup() else { return };
    if !std::path::Path::new("/sys/fs/cgroup/cpu/cpu.rt_runtime_us").exists() {
        // No CONFIG_RT_GROUP_SCHED: refused as docker's daemon refuses it.
        let r = k.run(&["run", "--rm", "--cpu-rt-runtime", "1000", "busybox", "true"]);
        assert_eq!(r.code, 125);
        assert!(r
            .stderr
            .contains("Your kernel does not support CPU real-time scheduler"));
        return;
    }
    let flags = ["--cpu-rt-period", "500000", "--cpu-rt-runtime", "20000"];
    let script = "cat /sys/fs/cgroup/cpu/cpu.rt_period_us /sys/fs/cgroup/cpu/cpu.rt_runtime_us";
    let ours = k.sh_with(&with_net_none(&flags), "busybox", script);
    assert_eq!(ours, "500000\n20000\n");
    let id = k
        .ok(&["create", "--cpu-rt-runtime", "10000", "busybox", "true"])
        .trim()
        .to_string();
    let host = k.inspect(&id)["HostConfig"].clone();
    assert_eq!(
        (
            host["CpuRealtimePeriod"].clone(),
            host["CpuRealtimeRuntime"].clone()
        ),
        (serde_json::json!(0), serde_json::json!(10000))
    );
    // docker's engine gets a runtime only when dockerd was started with its own
    // --cpu-rt-runtime budget; without it runc's write is refused by the kernel. Where it
    // runs, it writes what kiste writes.
    let mut a = vec!["run", "--rm"];
    a.extend(flags);
    a.extend([img, "sh", "-c", script]);
    let d = docker(&a);
    if d.code == 0 {
        assert_eq!(d.stdout, ours);
    } else {
        assert!(d.stderr.contains("cpu.rt_runtime_us"), "{}", d.stderr);
    }
}

#[test]
fn device_cgroup_rules_allow_a_device_the_defaults_deny_as_in_docker() {
    let Some((k, img)) = setup() else { return };
    // /dev/fuse (10:229) is outside the default allowlist of both; mknod is allowed.
    let script = "mknod /dev/f c 10 229; : < /dev/f && echo opened";
    for rule in [
        None,
        Some("c 10:229 rw"),
        Some("c 10:* rw"),
        Some("a *:* rwm"),
    ] {
        let flags: Vec<&str> = rule.map_or(vec![], |r| vec!["--device-cgroup-rule", r]);
        let ours = k.run(
            &[
                &["run", "--rm", "--network", "none"][..],
                &flags,
                &["busybox", "sh", "-c", script],
            ]
            .concat(),
        );
        let theirs = docker(&[&["run", "--rm"][..], &flags, &[img, "sh", "-c", script]].concat());
        let want = if rule.is_some() { "opened\n" } else { "" };
        assert_eq!(ours.stdout, want, "rule {rule:?}: {}", ours.stderr);
        assert_eq!(
            theirs.stdout, want,
            "docker, rule {rule:?}: {}",
            theirs.stderr
        );
        if rule.is_none() {
            assert!(
                ours.stderr.contains("Operation not permitted"),
                "{}",
                ours.stderr
            );
        }
    }
    // The rule is in the host's devices.list after the defaults.
    let id = k
        .ok(&[
            "run",
            "-d",
            "--network",
            "none",
            "--device-cgroup-rule",
            "c 10:* rw",
            "busybox",
            "sleep",
            "300",
        ])
        .trim()
        .to_string();
    let list = host_file("devices", &id, "devices.list");
    assert!(list.lines().any(|l| l == "c 10:* rw"), "{list}");
    assert!(list.lines().any(|l| l == "c 1:3 rwm"), "{list}");
    assert_eq!(
        k.inspect(&id)["HostConfig"]["DeviceCgroupRules"],
        serde_json::json!(["c 10:* rw"])
    );
    k.ok(&["rm", "-f", &id]);
}

#[test]
fn device_throttles_and_oom_kill_disable_match_dockers_engine_on_run_and_create() {
    let Some((k, img)) = setup() else { return };
    let Some((dev, num)) = block_device() else {
        support::skip("no disk (virtio, SCSI or NVMe) to throttle");
        return;
    };
    let rbps = format!("{dev}:1mb");
    let wbps = format!("{dev}:2mb");
    let riops = format!("{dev}:100");
    let wiops = format!("{dev}:200");
    let flags = [
        "--device-read-bps",
        rbps.as_str(),
        "--device-write-bps",
        wbps.as_str(),
        "--device-read-iops",
        riops.as_str(),
        "--device-write-iops",
        wiops.as_str(),
        "--oom-kill-disable",
        "-m",
        "32m",
    ];
    let script = "cd /sys/fs/cgroup; cat blkio/blkio.throttle.read_bps_device \
                  blkio/blkio.throttle.write_bps_device blkio/blkio.throttle.read_iops_device \
                  blkio/blkio.throttle.write_iops_device; \
                  sed -n 's/^oom_kill_disable //p' memory/memory.oom_control";
    let want = format!("{num} 1048576\n{num} 2097152\n{num} 100\n{num} 200\n1\n");
    let ours = k.sh_with(&with_net_none(&flags), "busybox", script);
    assert_eq!(ours, want);
    assert_eq!(
        docker_sh(&flags, img, script),
        want,
        "docker wrote otherwise"
    );
    // `create` then `start -a`: the same cgroup.
    let mut a = vec!["create", "--name", "thr", "--network", "none"];
    a.extend(flags);
    a.extend(["busybox", "sh", "-c", script]);
    k.ok(&a);
    assert_eq!(k.ok(&["start", "-a", "thr"]), want);
    let host = k.inspect("thr")["HostConfig"].clone();
    assert_eq!(host["OomKillDisable"], serde_json::json!(true));
    assert_eq!(
        host["BlkioDeviceReadBps"],
        serde_json::json!([{"Path": dev, "Rate": 1048576}])
    );
}

#[test]
fn blkio_weight_device_is_written_or_refused_where_the_scheduler_has_no_weights() {
    let Some((k, img)) = setup() else { return };
    let Some((dev, num)) = block_device() else {
        support::skip("no disk (virtio, SCSI or NVMe) to weigh");
        return;
    };
    let name = dev.trim_start_matches("/dev/");
    let scheduler =
        std::fs::read_to_string(format!("/sys/block/{name}/queue/scheduler")).unwrap_or_default();
    let weighted = ["[bfq]", "[cfq]"].iter().any(|s| scheduler.contains(s));
    let spec = format!("{dev}:200");
    let flags = ["--blkio-weight-device", spec.as_str()];
    let script = "cat /sys/fs/cgroup/blkio/blkio.bfq.weight_device \
                  /sys/fs/cgroup/blkio/blkio.weight_device 2>/dev/null";
    let ours = k.run(
        &[
            &["run", "--rm", "--network", "none"][..],
            &flags,
            &["busybox", "sh", "-c", script],
        ]
        .concat(),
    );
    let theirs = docker(&[&["run", "--rm"][..], &flags, &[img, "sh", "-c", script]].concat());
    if weighted {
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert!(
            ours.stdout.contains(&format!("{num} 200")),
            "{}",
            ours.stdout
        );
        assert_eq!(ours.stdout, theirs.stdout);
    } else {
        // docker's engine drops the weight with a warning; kiste says it cannot apply it.
        assert_eq!(ours.code, 125, "{}", ours.stderr);
        assert!(
            ours.stderr
                .contains(&format!("cannot apply --blkio-weight-device {num}: the device's I/O scheduler does not weigh cgroups")),
            "{}",
            ours.stderr
        );
        assert!(
            theirs.stderr.contains("Weight-device discarded"),
            "{}",
            theirs.stderr
        );
    }
    // The record keeps the device and weight as docker names them.
    let id = k
        .ok(&["create", "--blkio-weight-device", &spec, "busybox", "true"])
        .trim()
        .to_string();
    assert_eq!(
        k.inspect(&id)["HostConfig"]["BlkioWeightDevice"],
        serde_json::json!([{"Path": dev, "Weight": 200}])
    );
}
