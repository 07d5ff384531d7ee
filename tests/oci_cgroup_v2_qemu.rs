//! `kiste oci` on cgroup v2, in a VM (this host is v1): Debian's kernel under qemu (TCG)
//! boots an initramfs with the static `kiste` and two hand-written busybox bundles
//! whose config asks for memory, pids and cpu limits. In the VM, `kiste oci run` in the
//! foreground prints memory.max, pids.max and cpu.max from inside the container's
//! cgroup namespace; a detached one is read through `kiste oci exec`, `kiste oci update`
//! changes its limits (`--resources` JSON and runc's flags; the real-time flags refused
//! as v2 has no such knob), `pause`/`resume` write cgroup.freeze while `state` says
//! paused, and `delete` leaves no cgroup. Each check prints a verdict line on the serial
//! console.
//!
//! Needs: qemu-system-x86 and linux-image-amd64 (Debian packages), the
//! x86_64-unknown-linux-musl Rust target, busybox-static. Missing pieces fail the test.

#[path = "qemu_vm/mod.rs"]
mod qemu_vm;
mod support;

use qemu_vm::Cpio;
use support::oci::{config, Options};

const CHECKS: &[&str] = &[
    "fg_limits_inside",
    "fg_cgroup_removed",
    "run_detached",
    "limits_inside",
    "limits_outside",
    "update_resources",
    "update_flags",
    "rt_refused",
    "rt_refused_why",
    "pause_frozen",
    "pause_state",
    "resume_thawed",
    "resume_state",
    "delete_cgroup_removed",
    "delete_state_gone",
];

const STAGE1: &str = r#"#!/bin/busybox sh
# pivot_root cannot leave the initramfs itself: copy everything onto a tmpfs first.
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o size=200m tmpfs /newroot
/bin/busybox cp -a /bin /etc /kiste /bundle /fg /stage2 /newroot/
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run
exec /bin/busybox switch_root /newroot /stage2
"#;

const STAGE2: &str = r#"#!/bin/busybox sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpuset +cpu +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
echo "OCIV2-VM-UP $(uname -r) controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
verdict() { if [ "$2" = ok ]; then echo "OCIV2 $1 ok"; else echo "OCIV2 $1 FAIL $2"; fi; }
check() { if [ "$3" = "$2" ]; then verdict $1 ok; else verdict $1 "want [$2] got [$3]"; fi; }
has() { case "$3" in *"$2"*) verdict $1 ok;; *) verdict $1 "want [$2] in [$3]";; esac; }
O="/kiste oci --root /run/oci"
LIMITS="cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max"
# Foreground: the bundle's process prints its own cgroup's limits.
cd /fg
check fg_limits_inside "33554432 40 20000 50000" "$(echo $($O run fg 2>&1 </dev/null))"
check fg_cgroup_removed "gone" "$(test -e /sys/fs/cgroup/kiste/fg || echo gone)"
cd /bundle
$O run -d c1 </dev/null >/dev/null 2>/tmp/run.err
has run_detached '"status": "running"' "$($O state c1 2>&1) $(cat /tmp/run.err)"
D=/sys/fs/cgroup/kiste/c1
check limits_inside "33554432 40 20000 50000" "$(echo $($O exec c1 $LIMITS 2>&1))"
check limits_outside "33554432 40 20000 50000" "$(echo $(cat $D/memory.max $D/pids.max $D/cpu.max))"
echo '{"memory":{"limit":67108864},"pids":{"limit":80},"cpu":{"quota":40000,"period":100000}}' > /tmp/r.json
$O update --resources /tmp/r.json c1 2>&1
check update_resources "67108864 80 40000 100000" "$(echo $($O exec c1 $LIMITS 2>&1))"
$O update --memory 16777216 --pids-limit 20 --cpu-quota 10000 c1 2>&1
check update_flags "16777216 20 10000 100000" "$(echo $($O exec c1 $LIMITS 2>&1))"
out=$($O update --cpu-rt-period 100000 --cpu-rt-runtime 1000 c1 2>&1)
rc=$?
has rt_refused "1 kiste oci: " "$rc $out"
has rt_refused_why "real-time" "$out"
$O pause c1 2>&1
check pause_frozen "1" "$(cat $D/cgroup.freeze)"
has pause_state '"status": "paused"' "$($O state c1 2>&1)"
$O resume c1 2>&1
check resume_thawed "0" "$(cat $D/cgroup.freeze)"
has resume_state '"status": "running"' "$($O state c1 2>&1)"
$O delete --force c1 2>&1
check delete_cgroup_removed "gone" "$(test -e $D || test -e /sys/fs/cgroup/kiste/c1 || echo gone)"
out=$($O state c1 2>&1)
has delete_state_gone "container does not exist: c1" "$? $out"
echo "OCIV2-DONE"
poweroff -f
"#;

/// A config for `args` with the limits the checks read, in cgroup /kiste/ID, rootfs
/// /bundle/rootfs.
fn bundle_config(id: &str, args: &[&str]) -> Vec<u8> {
    let mut c = config(
        args,
        &Options {
            root: "/bundle/rootfs",
            readonly: false,
            ambient: false,
            extra_mounts: true,
            cgroupns: true,
            terminal: false,
            hostname: id,
            cgroups_path: format!("/kiste/{id}"),
        },
    );
    c["linux"]["resources"]["memory"] = serde_json::json!({"limit": 33_554_432});
    c["linux"]["resources"]["pids"] = serde_json::json!({"limit": 40});
    c["linux"]["resources"]["cpu"] = serde_json::json!({"quota": 20_000, "period": 50_000});
    serde_json::to_vec_pretty(&c).unwrap()
}

fn initramfs(kiste: &std::path::Path) -> Vec<u8> {
    let mut c = Cpio::new();
    c.busybox();
    c.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
    c.file("etc/group", 0o644, b"root:x:0:\n");
    // The bundles' rootfs: busybox and its applets, like the host's tests build.
    let busybox = std::fs::read("/bin/busybox").unwrap();
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for d in ["bundle", "bundle/rootfs", "bundle/rootfs/bin", "fg"] {
        c.dir(d);
    }
    c.file("bundle/rootfs/bin/busybox", 0o755, &busybox);
    for a in String::from_utf8_lossy(&list.stdout).lines() {
        if a != "busybox" {
            c.symlink(&format!("bundle/rootfs/bin/{a}"), "busybox");
        }
    }
    c.file(
        "bundle/config.json",
        0o644,
        &bundle_config("c1", &["sleep", "600"]),
    );
    c.file(
        "fg/config.json",
        0o644,
        &bundle_config(
            "fg",
            &[
                "cat",
                "/sys/fs/cgroup/memory.max",
                "/sys/fs/cgroup/pids.max",
                "/sys/fs/cgroup/cpu.max",
            ],
        ),
    );
    c.file("kiste", 0o755, &std::fs::read(kiste).unwrap());
    c.file("init", 0o755, STAGE1.as_bytes());
    c.file("stage2", 0o755, STAGE2.as_bytes());
    c.finish()
}

#[test]
fn kiste_oci_limits_update_pause_and_delete_on_cgroup_v2_in_a_qemu_vm() {
    let kiste = qemu_vm::static_kiste();
    let work = tempfile::tempdir().unwrap();
    let initrd = work.path().join("initrd.cpio");
    std::fs::write(&initrd, initramfs(&kiste)).unwrap();
    let console = qemu_vm::boot(&initrd);
    qemu_vm::assert_checks(&console, "OCIV2", CHECKS);
}
