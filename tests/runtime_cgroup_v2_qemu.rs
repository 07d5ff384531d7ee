//! cgroup v2 for real: this host is v1, so the runtime's v2 path (clone3 into the
//! cgroup, v2 limits, the device eBPF program, the freezer and `stats` counters,
//! removal) is checked in a VM. The test
//! builds `examples/runtime_probe` as a static musl binary, packs it with busybox and a
//! busybox rootfs into an initramfs, boots Debian's kernel under qemu (TCG; KVM is not
//! used), and reads the probe's verdicts from the serial console.
//!
//! Then rootless limits: the static `kiste` binary runs in the VM as the plain user
//! `kuser` (uid 1000, subordinate ids 100000-165535 in the VM's /etc/subuid, mapped by
//! the host's setuid newuidmap/newgidmap copied in with their libraries), from a cgroup
//! root delegated to it the way systemd does for `user@1000.service` (mkdir + chown of
//! the directory and its cgroup.procs, cgroup.subtree_control and cgroup.threads, with
//! only memory and pids enabled above it). The user loads a busybox image saved on the
//! host and runs containers with `--memory 32m --pids-limit 50`, then `update`s one's
//! limits up and down; see `USER_SCRIPT`.
//!
//! Needs: qemu-system-x86 and linux-image-amd64 (Debian packages), the
//! x86_64-unknown-linux-musl Rust target, busybox-static, uidmap. Missing pieces fail the
//! test.

#[path = "qemu_vm/mod.rs"]
mod qemu_vm;
mod support;

use qemu_vm::{find_in_path, kernel_release, Cpio};
use std::path::Path;
use std::process::Command;

const CHECKS: &[&str] = &[
    "layout",
    "namespaces",
    "memory_oom",
    "pids_limit",
    "cpu_max",
    "devices_ebpf",
    "seccomp_caps",
    "freeze_stats",
    "cgroup_removed",
    "rootless_load",
    "rootless_maps",
    "rootless_limits_inside",
    "rootless_leaf",
    "rootless_limits_outside",
    "rootless_update_raise",
    "rootless_update_lower",
    "rootless_refused",
    "rootless_cgroup_removed",
];

/// The busybox image, built on the host by root kiste and saved as a docker archive.
fn busybox_archive(dest: &Path) {
    let k = support::Kiste::new();
    k.busybox();
    k.ok(&["save", "-o", dest.to_str().unwrap(), "busybox"]);
}

/// The host's newuidmap/newgidmap (setuid root) and the shared objects they load, by
/// their paths (ldd's view), for the VM's rootfs.
fn uidmap_files() -> Vec<(String, Vec<u8>, u32)> {
    let mut files = Vec::new();
    for helper in ["newuidmap", "newgidmap"] {
        let path = find_in_path(helper)
            .or_else(|| Some(Path::new("/usr/bin").join(helper)).filter(|p| p.is_file()))
            .unwrap_or_else(|| panic!("{helper} is missing: apt-get install -y uidmap"));
        files.push((
            format!("usr/bin/{helper}"),
            std::fs::read(&path).unwrap(),
            0o4755,
        ));
        let ldd = Command::new("ldd")
            .arg(&path)
            .output()
            .expect("cannot run ldd");
        for line in String::from_utf8_lossy(&ldd.stdout).lines() {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux… (0x…)"
            let lib = line
                .split("=>")
                .last()
                .and_then(|r| r.split_whitespace().next())
                .filter(|l| l.starts_with('/'));
            if let Some(lib) = lib {
                let name = lib.trim_start_matches('/').to_string();
                if !files.iter().any(|(n, _, _)| *n == name) {
                    files.push((name, std::fs::read(lib).unwrap(), 0o755));
                }
            }
        }
    }
    files
}

const STAGE1: &str = r#"#!/bin/busybox sh
# pivot_root cannot leave the initramfs itself: copy everything onto a tmpfs first.
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o size=256m tmpfs /newroot
/bin/busybox cp -a /bin /etc /rootfs /probe /stage2 /kiste /user /home /usr /lib /lib64 /overlay.ko /busybox.tar /newroot/
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp
exec /bin/busybox switch_root /newroot /stage2
"#;

const STAGE2: &str = r#"#!/bin/busybox sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+cpuset +cpu +io +memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
echo "KISTE-VM-UP $(uname -r) controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
/probe /rootfs
echo "KISTE-PROBE-EXIT $?"
# Rootless: delegate user@1000.service to kuser as systemd would, with memory and pids
# enabled above it (not cpu: a --cpus must be refused), and log the user in there.
insmod /overlay.ko
chmod 1777 /tmp
chown 1000:1000 /home/kuser
mkdir -p /run/user/1000 && chown 1000:1000 /run/user/1000 && chmod 700 /run/user/1000
S=/sys/fs/cgroup/user.slice
D=$S/user@1000.service
mkdir -p $D
echo "+memory +pids" > $S/cgroup.subtree_control
chown 1000:1000 $D $D/cgroup.procs $D/cgroup.subtree_control $D/cgroup.threads
sh -c "echo \$\$ > $D/cgroup.procs && exec su -s /bin/sh kuser -c /user"
echo "KISTE-ROOTLESS-EXIT $?"
poweroff -f
"#;

/// What the user runs in the VM, as uid 1000 in the delegated cgroup (the shell of a
/// login into user@1000.service). Each check prints its verdict like the probe.
const USER_SCRIPT: &str = r#"#!/bin/busybox sh
export HOME=/home/kuser XDG_RUNTIME_DIR=/run/user/1000 PATH=/usr/bin:/bin
D=/sys/fs/cgroup/user.slice/user@1000.service
verdict() { if [ "$2" = ok ]; then echo "KISTE-PROBE $1 ok"; else echo "KISTE-PROBE $1 FAIL $2"; fi; }
echo "KISTE-ROOTLESS as $(id -u):$(id -g) in $(cat /proc/self/cgroup)"
if out=$(/kiste load -i /busybox.tar 2>&1); then verdict rootless_load ok; else verdict rootless_load "$out"; exit 1; fi
out=$(/kiste run --rm --network none --memory 32m --pids-limit 50 busybox cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /proc/self/uid_map 2>&1)
echo "KISTE-ROOTLESS inside: $(echo $out)"
case "$(echo $out)" in
  *" 1 100000 65536"*) verdict rootless_maps ok;;
  *) verdict rootless_maps "no subordinate range in the container's uid_map: $out";;
esac
case "$(echo $out)" in
  "33554432 50 "*) verdict rootless_limits_inside ok;;
  *) verdict rootless_limits_inside "memory.max and pids.max read $out";;
esac
# The user's own shell was in the delegated cgroup: kiste moved it into a leaf.
if grep -qx "$$" $D/kiste-leaf/cgroup.procs; then verdict rootless_leaf ok; else verdict rootless_leaf "shell $$ not in $D/kiste-leaf: $(cat /proc/self/cgroup)"; fi
cid=$(/kiste run -d --network none --memory 32m --pids-limit 50 busybox sleep 600 2>&1)
dir=$D/kiste/$cid
outside="memory.max=$(cat $dir/memory.max) pids.max=$(cat $dir/pids.max) procs=$(cat $dir/cgroup.procs | wc -l)"
echo "KISTE-ROOTLESS outside $dir: $outside"
case "$outside" in
  "memory.max=33554432 pids.max=50 procs=1") verdict rootless_limits_outside ok;;
  *) verdict rootless_limits_outside "$cid: $outside";;
esac
# `update` raises and lowers the running container's limits in its v2 cgroup.
for step in "raise 64m 80 67108864" "lower 16m 20 16777216"; do
  set -- $step
  out=$(/kiste update --memory $2 --pids-limit $3 $cid 2>&1)
  got="$out memory.max=$(cat $dir/memory.max) pids.max=$(cat $dir/pids.max)"
  echo "KISTE-ROOTLESS update $1: $got"
  if [ "$got" = "$cid memory.max=$4 pids.max=$3" ]; then verdict rootless_update_$1 ok; else verdict rootless_update_$1 "$got"; fi
done
err=$(/kiste run --rm --network none --cpus 1 busybox true 2>&1)
rc=$?
echo "KISTE-ROOTLESS refused ($rc): $err"
case "$rc $err" in
  "125 "*"--cpus cannot be applied to a rootless container: the cpu controller is not delegated"*) verdict rootless_refused ok;;
  *) verdict rootless_refused "exit $rc: $err";;
esac
/kiste rm -f $cid >/dev/null
left=$(find $D/kiste -mindepth 1 -type d)
if [ ! -e $dir ] && [ -z "$left" ]; then verdict rootless_cgroup_removed ok; else verdict rootless_cgroup_removed "left in $D/kiste: $left"; fi
"#;

fn initramfs(probe: &Path, kiste: &Path, image: &Path) -> Vec<u8> {
    let busybox =
        std::fs::read("/bin/busybox").expect("busybox-static must be installed (/bin/busybox)");
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    let applets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(String::from)
        .collect();
    let mut c = Cpio::new();
    for d in [
        "bin",
        "dev",
        "etc",
        "proc",
        "sys",
        "tmp",
        "rootfs",
        "rootfs/bin",
        "rootfs/etc",
        "rootfs/tmp",
        "rootfs/proc",
        "rootfs/sys",
        "rootfs/dev",
        "home",
        "home/kuser",
        "usr",
        "usr/bin",
        "lib",
        "lib/x86_64-linux-gnu",
        "lib64",
    ] {
        c.dir(d);
    }
    c.entry("dev/console", 0o020600, (5, 1), b"");
    for root in ["bin", "rootfs/bin"] {
        c.file(&format!("{root}/busybox"), 0o755, &busybox);
        for a in applets.iter().filter(|a| *a != "busybox") {
            c.symlink(&format!("{root}/{a}"), "busybox");
        }
    }
    c.file(
        "rootfs/etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\n",
    );
    c.file("rootfs/etc/group", 0o644, b"root:x:0:\n");
    c.file(
        "etc/passwd",
        0o644,
        b"root:x:0:0:root:/root:/bin/sh\nkuser:x:1000:1000::/home/kuser:/bin/sh\n",
    );
    c.file("etc/group", 0o644, b"root:x:0:\nkuser:x:1000:\n");
    for f in ["etc/subuid", "etc/subgid"] {
        c.file(f, 0o644, b"kuser:100000:65536\n");
    }
    c.file("etc/nsswitch.conf", 0o644, b"passwd: files\ngroup: files\n");
    for (name, body, mode) in uidmap_files() {
        c.file(&name, mode, &body);
    }
    let overlay = format!(
        "/lib/modules/{}/kernel/fs/overlayfs/overlay.ko",
        kernel_release()
    );
    c.file(
        "overlay.ko",
        0o644,
        &std::fs::read(&overlay).unwrap_or_else(|e| panic!("{overlay}: {e}")),
    );
    c.file("kiste", 0o755, &std::fs::read(kiste).unwrap());
    c.file("busybox.tar", 0o644, &std::fs::read(image).unwrap());
    c.file("user", 0o755, USER_SCRIPT.as_bytes());
    c.file("probe", 0o755, &std::fs::read(probe).unwrap());
    c.file("init", 0o755, STAGE1.as_bytes());
    c.file("stage2", 0o755, STAGE2.as_bytes());
    c.finish()
}

#[test]
fn cgroup_v2_runtime_checks_pass_in_a_qemu_vm() {
    let (probe, kiste) = qemu_vm::static_build();
    let work = tempfile::tempdir().unwrap();
    let image = work.path().join("busybox.tar");
    busybox_archive(&image);
    let initrd = work.path().join("initrd.cpio");
    std::fs::write(&initrd, initramfs(&probe, &kiste, &image)).unwrap();

    let console = qemu_vm::boot(&initrd);
    assert!(
        console.contains("KISTE-VM-UP"),
        "the VM never reached its init; console:\n{console}"
    );
    assert!(
        console.contains("KISTE-PROBE-DONE"),
        "the probe did not finish; console:\n{console}"
    );
    for l in console.lines().filter(|l| l.starts_with("KISTE-")) {
        eprintln!("{l}");
    }
    let mut failed = Vec::new();
    for name in CHECKS {
        let ok = format!("KISTE-PROBE {name} ok");
        if !console.lines().any(|l| l.trim_end() == ok) {
            let line = console
                .lines()
                .find(|l| l.starts_with(&format!("KISTE-PROBE {name} ")))
                .unwrap_or("(no verdict)");
            failed.push(format!("{name}: {line}"));
        }
    }
    assert!(
        failed.is_empty(),
        "v2 checks failed:\n{}\nconsole:\n{console}",
        failed.join("\n")
    );
}
