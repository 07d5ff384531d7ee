//! cgroup v2 for real: this host is v1, so the runtime's v2 path (clone3 into the
//! cgroup, v2 limits, the device eBPF program, the freezer and `stats` counters,
//! removal) is checked in a VM. The test
//! builds `examples/runtime_probe` as a static musl binary, packs it with busybox and a
//! busybox rootfs into an initramfs, boots Debian's kernel under qemu (TCG; KVM is not
//! used), and reads the probe's verdicts from the serial console.
//!
//! Needs: qemu-system-x86 and linux-image-amd64 (Debian packages), the
//! x86_64-unknown-linux-musl Rust target, busybox-static. Missing pieces fail the test.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
];

fn find_in_path(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// The newest Debian kernel image in /boot.
fn kernel() -> Option<PathBuf> {
    let mut images: Vec<PathBuf> = std::fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .collect();
    images.sort();
    images.pop()
}

fn build_probe() -> PathBuf {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let base = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(manifest).join("target"));
    // A separate target dir: the outer `cargo test` may still hold the lock on its own.
    let target_dir = base.join("qemu-probe");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(manifest)
        .args([
            "build",
            "--release",
            "--target",
            "x86_64-unknown-linux-musl",
            "--example",
            "runtime_probe",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("cannot run cargo to build the probe");
    assert!(
        status.success(),
        "building the static probe failed (is the x86_64-unknown-linux-musl target installed?)"
    );
    target_dir.join("x86_64-unknown-linux-musl/release/examples/runtime_probe")
}

/// A cpio "newc" archive, the format the kernel unpacks as initramfs.
struct Cpio {
    data: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn new() -> Cpio {
        Cpio {
            data: Vec::new(),
            ino: 1,
        }
    }

    fn pad(&mut self) {
        while !self.data.len().is_multiple_of(4) {
            self.data.push(0);
        }
    }

    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), body: &[u8]) {
        let fields = [
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            body.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.ino += 1;
        self.data.extend_from_slice(b"070701");
        for f in fields {
            self.data.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.data.extend_from_slice(name.as_bytes());
        self.data.push(0);
        self.pad();
        self.data.extend_from_slice(body);
        self.pad();
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), b"");
    }

    fn file(&mut self, name: &str, mode: u32, body: &[u8]) {
        self.entry(name, 0o100000 | mode, (0, 0), body);
    }

    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, (0, 0), target.as_bytes());
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), b"");
        self.data
    }
}

const STAGE1: &str = r#"#!/bin/busybox sh
# pivot_root cannot leave the initramfs itself: copy everything onto a tmpfs first.
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o size=256m tmpfs /newroot
/bin/busybox cp -a /bin /etc /rootfs /probe /stage2 /newroot/
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
poweroff -f
"#;

fn initramfs(probe: &Path) -> Vec<u8> {
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
    for etc in ["etc", "rootfs/etc"] {
        c.file(
            &format!("{etc}/passwd"),
            0o644,
            b"root:x:0:0:root:/root:/bin/sh\n",
        );
        c.file(&format!("{etc}/group"), 0o644, b"root:x:0:\n");
    }
    c.file("probe", 0o755, &std::fs::read(probe).unwrap());
    c.file("init", 0o755, STAGE1.as_bytes());
    c.file("stage2", 0o755, STAGE2.as_bytes());
    c.finish()
}

#[test]
fn cgroup_v2_runtime_checks_pass_in_a_qemu_vm() {
    let qemu = find_in_path("qemu-system-x86_64").unwrap_or_else(|| {
        panic!("qemu-system-x86_64 is missing: apt-get install -y --no-install-recommends qemu-system-x86 linux-image-amd64")
    });
    let kernel = kernel().unwrap_or_else(|| {
        panic!("no /boot/vmlinuz-*: apt-get install -y --no-install-recommends linux-image-amd64")
    });
    let probe = build_probe();
    let work = tempfile::tempdir().unwrap();
    let initrd = work.path().join("initrd.cpio");
    std::fs::write(&initrd, initramfs(&probe)).unwrap();

    let mut vm = Command::new(qemu)
        .args([
            "-m",
            "512",
            "-smp",
            "2",
            "-nographic",
            "-no-reboot",
            "-nodefaults",
            "-serial",
            "stdio",
        ])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "console=ttyS0 quiet loglevel=1 panic=-1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start qemu");
    let mut stdout = vm.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(s) = vm.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = vm.kill();
            let _ = vm.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let console = reader.join().unwrap();
    assert!(
        status.is_some(),
        "the VM did not power off within 300 s; console:\n{console}"
    );
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
