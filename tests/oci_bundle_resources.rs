//! `kiste oci run` applies a bundle's `linux.resources` beyond memory and pids, through
//! the same cgroup writer as `kiste run`: the CFS period and quota as given, cpu.mems,
//! device rules with a wildcard major and a deny of one device, block I/O throttles,
//! and hugepage limits and per-device weights where the host can honour them (refused
//! by name, with nothing left behind, where it cannot). Read from inside the container
//! (its cgroup namespace shows its own cgroup) on this cgroup v1 host.

mod support;

use std::os::unix::fs::FileTypeExt;
use support::oci::*;
use support::runtime::serial;

/// `kiste oci run` of the bundle; (exit code, stdout, stderr).
fn run(b: &Bundle, id: &str) -> (i32, String, String) {
    let (code, out, err) = b.oci_files(id, &["run", id]);
    (code, text(&out), text(&err))
}

/// The host's first disk as (major, minor).
fn disk() -> Option<(u64, u64)> {
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
    let (a, b) = dev.trim().split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[test]
fn cpu_mems_cfs_device_wildcards_and_io_throttles_are_applied() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let Some((major, minor)) = disk() else {
        support::skip("no disk (virtio, SCSI or NVMe) to throttle");
        return;
    };
    let mut b = bundle("res", "");
    // mknod needs CAP_MKNOD; the device cgroup decides what may be opened.
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!("CAP_MKNOD"));
    }
    b.config["linux"]["resources"] = serde_json::json!({
        "cpu": {"period": 50000, "quota": 20000, "mems": "0"},
        "blockIO": {
            "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 150}]
        },
        "devices": [
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 10, "access": "rw"},
            {"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        ]
    });
    b.config["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        "cd /sys/fs/cgroup; cat cpu/cpu.cfs_period_us cpu/cpu.cfs_quota_us cpuset/cpuset.mems \
         blkio/blkio.throttle.read_bps_device blkio/blkio.throttle.write_iops_device; \
         mknod /dev/f c 10 229 && : < /dev/f && echo fuse-opened; \
         (: < /dev/null) 2>/dev/zero || echo null-denied; (: < /dev/zero) && echo zero-opened"
    ]);
    b.write();
    let (code, out, err) = run(&b, "res");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "50000\n20000\n0\n{major}:{minor} 1048576\n{major}:{minor} 150\n\
             fuse-opened\nnull-denied\nzero-opened\n"
        ),
        "{err}"
    );
    assert!(b.cgroup_dirs().is_empty(), "left: {:?}", b.cgroup_dirs());
}

#[test]
fn hugepage_limits_and_weight_devices_the_host_cannot_honour_are_refused_leaving_nothing() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let hugetlb = std::path::Path::new("/sys/fs/cgroup/hugetlb/cgroup.procs").exists();
    let mut b = bundle(
        "huge",
        "cat /sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes",
    );
    b.config["linux"]["resources"]["hugepageLimits"] =
        serde_json::json!([{"pageSize": "2MB", "limit": 4194304}]);
    b.write();
    let (code, out, err) = run(&b, "huge");
    if hugetlb {
        assert_eq!((code, out.as_str()), (0, "4194304\n"), "{err}");
    } else {
        assert_eq!(code, 1, "{out}");
        assert!(
            err.contains("the hugetlb cgroup controller is not mounted"),
            "{err}"
        );
    }
    assert!(b.cgroup_dirs().is_empty(), "left: {:?}", b.cgroup_dirs());
    // A page size that is no hugetlb file name never reaches the cgroup.
    b.config["linux"]["resources"]["hugepageLimits"] =
        serde_json::json!([{"pageSize": "../../x", "limit": 1}]);
    b.write();
    let (code, _, err) = run(&b, "huge2");
    assert_eq!(code, 1);
    assert!(err.contains("bad page size"), "{err}");
    assert!(b.cgroup_dirs().is_empty(), "left: {:?}", b.cgroup_dirs());
    // A weight for a disk whose I/O scheduler does not weigh cgroups is refused by device.
    let Some((major, minor)) = disk() else {
        support::skip("no disk (virtio, SCSI or NVMe) to weigh");
        return;
    };
    let name = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .find(|e| {
            std::fs::read_to_string(e.path().join("dev"))
                .is_ok_and(|d| d.trim() == format!("{major}:{minor}"))
        })
        .map(|e| e.path().join("queue/scheduler"))
        .unwrap();
    let scheduler = std::fs::read_to_string(name).unwrap_or_default();
    let mut b = bundle("weight", "cat /sys/fs/cgroup/blkio/blkio.bfq.weight_device");
    b.config["linux"]["resources"]["blockIO"] =
        serde_json::json!({"weightDevice": [{"major": major, "minor": minor, "weight": 300}]});
    b.write();
    let (code, out, err) = run(&b, "weight");
    if scheduler.contains("[bfq]") {
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!("{major}:{minor} 300")), "{out}");
    } else {
        assert_eq!(code, 1, "{out}");
        assert!(
            err.contains(&format!(
                "cannot apply --blkio-weight-device {major}:{minor}"
            )),
            "{err}"
        );
    }
    assert!(b.cgroup_dirs().is_empty(), "left: {:?}", b.cgroup_dirs());
}
