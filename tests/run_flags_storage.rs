//! `--storage-opt size=`: docker's overlay2 rule. On a store that is not XFS with project
//! quotas it is refused in docker's words (compared with docker's engine, whose store is
//! not either); on one that is, the container's writable layer gets an XFS project quota
//! and a write beyond it fails (ENOSPC, as XFS reports a project quota). This host's kernel has no XFS quota support
//! (CONFIG_XFS_QUOTA is off), so the quota itself is checked in a VM: Debian's kernel
//! under qemu (TCG) with xfs.ko, a disk image made here by mkfs.xfs (xfsprogs) and
//! mounted there with `-o pquota`, and this build of kiste (with the libraries it links)
//! as the store's user. The VM runs on cgroup v2, so it also checks docker 28's default
//! cgroup namespace there (private).
//!
//! Needs: xfsprogs, qemu-system-x86, linux-image-amd64, busybox-static, cpio.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

#[test]
fn storage_opt_size_is_refused_off_xfs_with_pquota_as_docker() {
    let k = Kiste::new();
    k.busybox();
    let msg = "--storage-opt is supported only for overlay over xfs with 'pquota' mount option";
    for verb in ["run", "create"] {
        let r = k.run(&[verb, "--storage-opt", "size=10m", "busybox", "true"]);
        assert_eq!(r.code, 125, "{}", r.stderr);
        assert!(r.stderr.contains(msg), "{}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    }
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "", "nothing created");
    if !have("docker") {
        return skip("docker is not installed: no comparison");
    }
    support::docker::ensure_docker();
    let info = Command::new("docker")
        .args(["info", "-f", "{{.Driver}} {{json .DriverStatus}}"])
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    if !info.starts_with("overlay2") || info.contains("\"xfs\"") {
        return skip("docker's store is not overlay2 off xfs: no comparison");
    }
    // docker's engine with kiste's busybox.
    let image = "kiste-runflags-storage:1";
    k.ok(&["tag", "busybox", image]);
    let tar = k.dir.path().join("bb.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), image]);
    let st = Command::new("docker")
        .args(["load", "-q", "-i", tar.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(st.status.success());
    let o = Command::new("docker")
        .args(["run", "--rm", "--storage-opt", "size=10m", image, "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains(msg));
}

fn find_in_path(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// The newest Debian kernel in /boot and its modules' directory.
fn kernel() -> Option<(PathBuf, PathBuf)> {
    let mut images: Vec<PathBuf> = std::fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    images.sort();
    let image = images.pop()?;
    let release = image
        .file_name()?
        .to_str()?
        .strip_prefix("vmlinuz-")?
        .to_string();
    let modules = Path::new("/lib/modules").join(release).join("kernel");
    modules.is_dir().then_some((image, modules))
}

/// The modules, in load order, for a virtio disk with XFS and for overlay.
const MODULES: &[&str] = &[
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
    "crypto/crc32c_generic.ko",
    "lib/libcrc32c.ko",
    "fs/xfs/xfs.ko",
    "fs/overlayfs/overlay.ko",
];

/// The first stage leaves the initramfs (pivot_root cannot), the second runs the checks.
const STAGE1: &str = r#"#!/bin/busybox sh
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o size=400m tmpfs /newroot
/bin/busybox cp -a /bin /lib /lib64 /mod /kiste /busybox.tar /stage2 /newroot/
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run /newroot/xfs
exec /bin/busybox switch_root /newroot /stage2
"#;

const STAGE2: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+memory +pids" > /sys/fs/cgroup/cgroup.subtree_control
for m in /mod/*.ko; do insmod $m || echo "KISTE-VM insmod $m failed"; done
verdict() { if [ "$2" = ok ]; then echo "KISTE-CHECK $1 ok"; else echo "KISTE-CHECK $1 FAIL $2"; fi; }
if mount -o pquota /dev/vda /xfs; then verdict pquota_mount ok; else verdict pquota_mount "$(dmesg | tail -3)"; fi
K="/kiste --root /xfs/kiste --runroot /run/kiste"
$K load -q -i /busybox.tar || echo "KISTE-VM load failed"
out=$($K run --rm --network none --storage-opt size=10m busybox sh -c 'dd if=/dev/zero of=/small bs=1M count=4 2>/dev/null && echo small-ok; dd if=/dev/zero of=/big bs=1M count=20 2>&1; echo rc=$?' 2>&1)
echo "KISTE-VM quota: $(echo $out)"
case "$out" in
  *small-ok*"No space left on device"*"rc=1"*) verdict write_beyond_quota_fails ok;;
  *) verdict write_beyond_quota_fails "$out";;
esac
out=$($K run --rm --network none busybox sh -c 'dd if=/dev/zero of=/big bs=1M count=20 2>/dev/null; echo rc=$?' 2>&1)
if [ "$out" = "rc=0" ]; then verdict no_quota_without_the_option ok; else verdict no_quota_without_the_option "$out"; fi
id=$($K create --network none --storage-opt size=10m busybox true 2>&1)
opt=$($K inspect -f '{{json .HostConfig.StorageOpt}}' $id 2>&1)
if [ "$opt" = '{"size":"10m"}' ]; then verdict inspect_storage_opt ok; else verdict inspect_storage_opt "$opt"; fi
out=$($K start -a $id 2>&1; echo rc=$?)
if [ "$out" = "rc=0" ]; then verdict created_with_quota_starts ok; else verdict created_with_quota_starts "$out"; fi
# Each container has its own project: 8 MiB written in one (kept: no --rm) leaves the
# next one its whole 10 MiB.
w='dd if=/dev/zero of=/eight bs=1M count=8 >/dev/null 2>&1; echo rc=$?'
a=$($K create --network none --storage-opt size=10m busybox sh -c "$w")
b=$($K create --network none --storage-opt size=10m busybox sh -c "$w")
ra=$($K start -a $a 2>&1); rb=$($K start -a $b 2>&1)
if [ "$ra $rb" = "rc=0 rc=0" ]; then verdict own_project_ids ok; else verdict own_project_ids "$ra / $rb"; fi
mode=$($K inspect -f '{{.HostConfig.CgroupnsMode}}' $a 2>&1)
cg=$($K run --rm --network none busybox cat /proc/self/cgroup 2>&1)
if [ "$mode $cg" = "private 0::/" ]; then verdict cgroupns_v2_default_private ok; else verdict cgroupns_v2_default_private "$mode $cg"; fi
umount /xfs
echo KISTE-VM-DONE
poweroff -f
"#;

const CHECKS: &[&str] = &[
    "pquota_mount",
    "write_beyond_quota_fails",
    "no_quota_without_the_option",
    "inspect_storage_opt",
    "created_with_quota_starts",
    "own_project_ids",
    "cgroupns_v2_default_private",
];

/// kiste and the shared objects it loads, at the paths ldd names, for the VM.
fn kiste_files(stage: &Path) {
    let bin = Path::new(env!("CARGO_BIN_EXE_kiste"));
    let st = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(bin)
        .arg(stage.join("kiste"))
        .status()
        .expect("objcopy (binutils)");
    assert!(st.success());
    let ldd = Command::new("ldd").arg(bin).output().expect("ldd");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let lib = line
            .split("=>")
            .last()
            .and_then(|r| r.split_whitespace().next())
            .filter(|l| l.starts_with('/'));
        if let Some(lib) = lib {
            let dest = stage.join(lib.trim_start_matches('/'));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(lib, &dest).unwrap();
        }
    }
}

#[test]
fn storage_opt_size_is_an_xfs_project_quota_on_the_writable_layer() {
    for tool in ["qemu-system-x86_64", "mkfs.xfs", "cpio", "objcopy"] {
        assert!(
            find_in_path(tool).is_some() || Path::new("/sbin").join(tool).exists(),
            "{tool} is missing (scripts/setup.sh installs it)"
        );
    }
    let (kernel, modules) = kernel().expect("no Debian kernel in /boot (linux-image-amd64)");
    let k = Kiste::new();
    k.busybox();
    let work = k.dir.path().join("vm");
    let stage = work.join("initramfs");
    for d in ["bin", "mod", "proc", "sys", "dev"] {
        std::fs::create_dir_all(stage.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", stage.join("bin/busybox")).expect("busybox-static");
    k.ok(&[
        "save",
        "-o",
        stage.join("busybox.tar").to_str().unwrap(),
        "busybox",
    ]);
    kiste_files(&stage);
    for (i, m) in MODULES.iter().enumerate() {
        let name = Path::new(m)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        std::fs::copy(modules.join(m), stage.join(format!("mod/{i:02}-{name}")))
            .unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    use std::os::unix::fs::PermissionsExt;
    for (name, text) in [("init", STAGE1), ("stage2", STAGE2)] {
        let p = stage.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let initrd = work.join("initrd.cpio");
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd {} && find . | cpio -o -H newc --quiet > {}",
            stage.display(),
            initrd.display()
        ))
        .status()
        .unwrap();
    assert!(st.success(), "cpio");
    // The disk: a sparse image with a fresh XFS (300 MiB, mkfs.xfs's minimum).
    let disk = work.join("xfs.img");
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let st = Command::new("mkfs.xfs")
        .args(["-q", "-f"])
        .arg(&disk)
        .status()
        .unwrap();
    assert!(st.success(), "mkfs.xfs");

    let mut vm = Command::new("qemu-system-x86_64")
        .args(["-m", "1024", "-nographic", "-no-reboot", "-kernel"])
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "console=ttyS0 quiet panic=-1"])
        .arg("-drive")
        .arg(format!("file={},format=raw,if=virtio", disk.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serial = vm.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut serial, &mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if vm.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = vm.kill();
            let _ = vm.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = reader.join().unwrap();
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("KISTE-")).collect();
    eprintln!("{}", lines.join("\n"));
    for c in CHECKS {
        let ok = format!("KISTE-CHECK {c} ok");
        assert!(
            // The console may put a terminal reset (ESC c, ESC [2J) before the first line.
            out.lines()
                .any(|l| l.find("KISTE-CHECK").map(|i| l[i..].trim_end()) == Some(ok.as_str())),
            "{c} failed in the VM:\n{}",
            lines.join("\n")
        );
    }
}
