//! The cgroup knobs of tests/cgroup_knobs.rs on cgroup v2, in a VM (this host is v1):
//! `kiste run` as root in Debian's kernel under qemu, reading cpu.max for
//! `--cpu-period/--cpu-quota`, cpuset.mems, the device eBPF program for
//! `--device-cgroup-rule` (denied by default, allowed by a wildcard rule), io.weight for
//! `--blkio-weight` and `--blkio-weight-device` (runc's scaling: 300 is 2930), io.max for throttles, docker's warning
//! for `--memory-swappiness` and its refusal of real-time knobs on v2, and `update`
//! raising and lowering cpu.max and cpuset.mems. A null_blk device (blk-mq, so the I/O
//! cost controller can weigh it, enabled for it in the root's io.cost.qos as an admin
//! would) is the disk. Each check prints a verdict line on the
//! serial console.
//!
//! Needs: qemu-system-x86 and linux-image-amd64 (Debian packages), the
//! x86_64-unknown-linux-musl Rust target, busybox-static. Missing pieces fail the test.

#[path = "qemu_vm/mod.rs"]
mod qemu_vm;
mod support;

use qemu_vm::Cpio;

const CHECKS: &[&str] = &[
    "load",
    "cpu_max",
    "cpu_max_period_only",
    "cpuset_mems",
    "device_denied_by_default",
    "device_rule_wildcard",
    "device_rule_all",
    "io_weight",
    "io_weight_device",
    "io_max",
    "swappiness_warned",
    "rt_refused",
    "update_raise",
    "update_lower",
    "update_cpuset_mems",
];

const STAGE1: &str = r#"#!/bin/busybox sh
# pivot_root cannot leave the initramfs itself: copy everything onto a tmpfs first.
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o size=300m tmpfs /newroot
/bin/busybox cp -a /bin /etc /kiste /overlay.ko /configfs.ko /null_blk.ko /busybox.tar /stage2 /newroot/
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/var/lib
exec /bin/busybox switch_root /newroot /stage2
"#;

const STAGE2: &str = r#"#!/bin/busybox sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpuset +cpu +io +memory +pids +hugetlb" > /sys/fs/cgroup/cgroup.subtree_control
insmod /overlay.ko
insmod /configfs.ko
insmod /null_blk.ko nr_devices=1 queue_mode=2 gb=1
echo "KNOBS-VM-UP $(uname -r) controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
verdict() { if [ "$2" = ok ]; then echo "KNOBS $1 ok"; else echo "KNOBS $1 FAIL $2"; fi; }
check() { if [ "$3" = "$2" ]; then verdict $1 ok; else verdict $1 "want [$2] got [$3]"; fi; }
has() { case "$3" in *"$2"*) verdict $1 ok;; *) verdict $1 "want [$2] in [$3]";; esac; }
K=/kiste
if out=$($K load -i /busybox.tar 2>&1); then verdict load ok; else verdict load "$out"; fi
R="$K run --rm --network none"
check cpu_max "20000 50000" "$($R --cpu-period 50000 --cpu-quota 20000 busybox cat /sys/fs/cgroup/cpu.max 2>&1)"
check cpu_max_period_only "max 50000" "$($R --cpu-period 50000 busybox cat /sys/fs/cgroup/cpu.max 2>&1)"
check cpuset_mems "0" "$($R --cpuset-mems 0 busybox cat /sys/fs/cgroup/cpuset.mems 2>&1)"
S='mknod /dev/k c 1 11; : > /dev/k && echo opened'
has device_denied_by_default "Operation not permitted" "$($R busybox sh -c "$S" 2>&1)"
check device_rule_wildcard "opened" "$($R --device-cgroup-rule 'c 1:* w' busybox sh -c "$S" 2>&1)"
check device_rule_all "opened" "$($R --device-cgroup-rule 'a *:* rwm' busybox sh -c "$S" 2>&1)"
W='cat /sys/fs/cgroup/io.bfq.weight 2>/dev/null || cat /sys/fs/cgroup/io.weight'
out=$($R --blkio-weight 300 busybox sh -c "$W" 2>&1)
case "$out" in *"default 2930"*|*"default 300"*) verdict io_weight ok;; *) verdict io_weight "got [$out]";; esac
DEV=$(cat /sys/block/nullb0/dev)
# Per-device weights need the I/O cost controller on for the disk, the admin's choice.
echo "$DEV enable=1" > /sys/fs/cgroup/io.cost.qos
out=$($R --blkio-weight-device /dev/nullb0:300 busybox sh -c "$W" 2>&1)
case "$out" in *"$DEV 2930"*|*"$DEV 300"*) verdict io_weight_device ok;; *) verdict io_weight_device "$DEV: got [$out]";; esac
has io_max "$DEV rbps=max wbps=1048576 riops=max wiops=200" "$($R --device-write-bps /dev/nullb0:1mb --device-write-iops /dev/nullb0:200 busybox cat /sys/fs/cgroup/io.max 2>&1)"
out=$($R --memory-swappiness 10 busybox echo ran 2>&1)
case "$out" in *"Memory swappiness discarded."*ran*) verdict swappiness_warned ok;; *) verdict swappiness_warned "got [$out]";; esac
out=$($R --cpu-rt-runtime 1000 busybox true 2>&1)
rc=$?
case "$rc $out" in "125 "*'invalid argument "1000" for "--cpu-rt-runtime" flag: Your kernel does not support CPU real-time scheduler'*) verdict rt_refused ok;; *) verdict rt_refused "exit $rc: $out";; esac
cid=$($K run -d --network none --cpu-period 100000 --cpu-quota 50000 busybox sleep 600 2>&1)
D=/sys/fs/cgroup/kiste/$cid
$K update --cpu-period 50000 --cpu-quota 40000 $cid >/dev/null 2>&1
check update_raise "40000 50000" "$(cat $D/cpu.max)"
$K update --cpu-quota 10000 $cid >/dev/null 2>&1
check update_lower "10000 50000" "$(cat $D/cpu.max)"
$K update --cpuset-mems 0 $cid >/dev/null 2>&1
check update_cpuset_mems "0" "$(cat $D/cpuset.mems)"
$K rm -f $cid >/dev/null 2>&1
echo "KNOBS-DONE"
poweroff -f
"#;

fn initramfs(kiste: &std::path::Path, image: &std::path::Path) -> Vec<u8> {
    let mut c = Cpio::new();
    c.busybox();
    c.file("etc/passwd", 0o644, b"root:x:0:0:root:/root:/bin/sh\n");
    c.file("etc/group", 0o644, b"root:x:0:\n");
    c.file(
        "overlay.ko",
        0o644,
        &qemu_vm::module("fs/overlayfs/overlay.ko"),
    );
    c.file(
        "configfs.ko",
        0o644,
        &qemu_vm::module("fs/configfs/configfs.ko"),
    );
    c.file(
        "null_blk.ko",
        0o644,
        &qemu_vm::module("drivers/block/null_blk/null_blk.ko"),
    );
    c.file("kiste", 0o755, &std::fs::read(kiste).unwrap());
    c.file("busybox.tar", 0o644, &std::fs::read(image).unwrap());
    c.file("init", 0o755, STAGE1.as_bytes());
    c.file("stage2", 0o755, STAGE2.as_bytes());
    c.finish()
}

#[test]
fn cgroup_v2_knobs_apply_in_a_qemu_vm() {
    let kiste = qemu_vm::static_kiste();
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("busybox.tar");
    let k = support::Kiste::new();
    k.busybox();
    k.ok(&["save", "-o", image.to_str().unwrap(), "busybox"]);
    let initrd = work.path().join("initrd.cpio");
    std::fs::write(&initrd, initramfs(&kiste, &image)).unwrap();
    let console = qemu_vm::boot(&initrd);
    qemu_vm::assert_checks(&console, "KNOBS", CHECKS);
}
