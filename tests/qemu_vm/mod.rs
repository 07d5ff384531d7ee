//! A cgroup v2 kernel in qemu for tests on this cgroup v1 host (the recipe of
//! /work/shared/RECIPES.md and tests/runtime_cgroup_v2_qemu.rs): a static musl `kiste`,
//! a "newc" initramfs with busybox, and a boot of Debian's kernel under TCG whose serial
//! console the test reads. Included by path from the tests that boot a VM.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn find_in_path(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// The newest Debian kernel image in /boot.
pub fn kernel() -> Option<PathBuf> {
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

/// The release of that kernel (its modules' directory).
pub fn kernel_release() -> String {
    kernel()
        .and_then(|k| {
            k.file_name()?
                .to_str()?
                .strip_prefix("vmlinuz-")
                .map(String::from)
        })
        .expect("no /boot/vmlinuz-*")
}

/// A module of that kernel, by its path below kernel/.
pub fn module(rel: &str) -> Vec<u8> {
    let path = format!("/lib/modules/{}/kernel/{rel}", kernel_release());
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `kiste` and `examples/runtime_probe` built static (musl, release) in their own target
/// dir, since the outer `cargo test` may hold the lock on the usual one: one build serves
/// every VM test. Returns (runtime_probe, kiste).
pub fn static_build() -> (PathBuf, PathBuf) {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let base = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(manifest).join("target"));
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
            "--bin",
            "kiste",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("cannot run cargo to build the static kiste");
    assert!(
        status.success(),
        "building the static kiste failed (is the x86_64-unknown-linux-musl target installed?)"
    );
    let release = target_dir.join("x86_64-unknown-linux-musl/release");
    (
        release.join("examples/runtime_probe"),
        release.join("kiste"),
    )
}

/// The static `kiste` of `static_build`.
pub fn static_kiste() -> PathBuf {
    static_build().1
}

/// A cpio "newc" archive, the format the kernel unpacks as initramfs.
pub struct Cpio {
    data: Vec<u8>,
    ino: u32,
}

impl Cpio {
    pub fn new() -> Cpio {
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

    pub fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), body: &[u8]) {
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

    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), b"");
    }

    pub fn file(&mut self, name: &str, mode: u32, body: &[u8]) {
        self.entry(name, 0o100000 | mode, (0, 0), body);
    }

    pub fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o120777, (0, 0), target.as_bytes());
    }

    /// /bin/busybox with a link for each applet, and /dev/console.
    pub fn busybox(&mut self) {
        let busybox =
            std::fs::read("/bin/busybox").expect("busybox-static must be installed (/bin/busybox)");
        let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
        for d in ["bin", "dev", "etc", "proc", "sys", "tmp"] {
            self.dir(d);
        }
        self.entry("dev/console", 0o020600, (5, 1), b"");
        self.file("bin/busybox", 0o755, &busybox);
        for a in String::from_utf8_lossy(&list.stdout).lines() {
            if a != "busybox" {
                self.symlink(&format!("bin/{a}"), "busybox");
            }
        }
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), b"");
        self.data
    }
}

/// Boots the kernel with `initrd` (2 CPUs, 512 MB, TCG) and returns the serial console
/// once the VM powers off (panics after 300 s).
pub fn boot(initrd: &Path) -> String {
    let qemu = find_in_path("qemu-system-x86_64").unwrap_or_else(|| {
        panic!("qemu-system-x86_64 is missing: apt-get install -y --no-install-recommends qemu-system-x86 linux-image-amd64")
    });
    let kernel = kernel().unwrap_or_else(|| {
        panic!("no /boot/vmlinuz-*: apt-get install -y --no-install-recommends linux-image-amd64")
    });
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
        .arg(initrd)
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
    console
}

/// The checks in `names` whose "PREFIX NAME ok" line is missing, with their verdict line.
pub fn failed(console: &str, prefix: &str, names: &[&str]) -> Vec<String> {
    let mut failed = Vec::new();
    for name in names {
        // A line counts wherever the console puts it (a terminal reset may come first).
        let ok = format!("{prefix} {name} ok");
        if !console.lines().any(|l| l.trim_end().ends_with(&ok)) {
            let line = console
                .lines()
                .find(|l| l.contains(&format!("{prefix} {name} ")))
                .unwrap_or("(no verdict)");
            failed.push(format!("{name}: {line}"));
        }
    }
    failed
}

/// The VM reached its init (`PREFIX-VM-UP`) and finished (`PREFIX-DONE`), and every check
/// in `names` said ok; the verdict lines go to stderr, the console with any failure.
pub fn assert_checks(console: &str, prefix: &str, names: &[&str]) {
    assert!(
        console.contains(&format!("{prefix}-VM-UP")),
        "the VM never reached its init; console:\n{console}"
    );
    assert!(
        console.contains(&format!("{prefix}-DONE")),
        "the checks did not finish; console:\n{console}"
    );
    for l in console.lines().filter(|l| l.contains(prefix)) {
        eprintln!("{l}");
    }
    let failed = failed(console, prefix, names);
    assert!(
        failed.is_empty(),
        "v2 checks failed:\n{}\nconsole:\n{console}",
        failed.join("\n")
    );
}
