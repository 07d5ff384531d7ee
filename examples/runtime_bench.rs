//! Measures the runtime's start path: spawn `true` in a busybox rootfs with every
//! namespace, docker's default security and a memory-limited cgroup, wait for it and
//! remove the cgroup; repeated, then prints min/median/p90. Root only.
//!
//! cargo run --release --example runtime_bench -- [ROOTFS] [N]

use std::time::{Duration, Instant};

use kiste::runtime::{
    default_security, spawn, CgroupSpec, ContainerSpec, Namespaces, Resources, Stdio,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let rootfs = args.next().unwrap_or_else(make_rootfs);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let mut times = Vec::with_capacity(n);
    let mut phases = Vec::with_capacity(n);
    for i in 0..n + 5 {
        let spec = ContainerSpec {
            id: format!("bench{i}"),
            rootfs: rootfs.clone().into(),
            rootfs_tree: None,
            args: vec!["true".into()],
            env: vec![],
            cwd: "/".into(),
            user: String::new(),
            hostname: "bench".into(),
            namespaces: Namespaces::default(),
            mounts: vec![],
            devices: vec![],
            rlimits: vec![],
            security: default_security(),
            cgroup: Some(CgroupSpec {
                parent: "kiste".into(),
                name: format!("bench-{}-{i}", std::process::id()),
                resources: Resources {
                    memory: Some(64 << 20),
                    ..Default::default()
                },
                devices: vec![],
                allow_all_devices: false,
                role: Default::default(),
            }),
            stdio: Stdio {
                stdin: 0,
                stdout: 1,
                stderr: 2,
            },
            init: false,
            oci: None,
            tuning: None,
        };
        let mut spec = spec;
        if std::env::var_os("BENCH_NO_CGROUP").is_some() {
            spec.cgroup = None;
        }
        if std::env::var_os("BENCH_HOST_NET").is_some() {
            spec.namespaces.net = kiste::runtime::NsMode::Host;
        }
        if std::env::var_os("BENCH_NO_SECCOMP").is_some() {
            spec.security.seccomp = kiste::runtime::Seccomp::Unconfined;
        }
        let t0 = Instant::now();
        let started = spawn(&spec).expect("spawn");
        let t_spawn = t0.elapsed();
        let mut status = 0;
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(started.pid, &mut status, 0) };
        let t_wait = t0.elapsed();
        if let Some(cg) = &spec.cgroup {
            kiste::cgroups::remove(cg).unwrap();
        }
        let dt = t0.elapsed();
        if i >= 5 {
            times.push(dt);
            phases.push((t_spawn, t_wait - t_spawn, dt - t_wait));
        }
    }
    times.sort();
    let med = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    println!(
        "phases (median): spawn {:.2} ms, run+exit {:.2} ms, cgroup remove {:.2} ms",
        med(phases.iter().map(|p| p.0).collect()),
        med(phases.iter().map(|p| p.1).collect()),
        med(phases.iter().map(|p| p.2).collect())
    );
    let c0 = Instant::now();
    for _ in 0..100 {
        kiste::runtime::check_seccomp_profile(DEFAULT_LIKE).unwrap();
    }
    println!(
        "seccomp default-size profile compile: {:.1} us",
        c0.elapsed().as_secs_f64() * 1e4
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "spawn+wait+remove `true` x{n}: min {:.2} ms, median {:.2} ms, p90 {:.2} ms",
        ms(times[0]),
        ms(times[n / 2]),
        ms(times[n * 9 / 10])
    );
}

/// A profile of the default's size, to time compilation alone.
const DEFAULT_LIKE: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","write","openat","close","mmap","futex","clone","execve","exit_group","brk"],"action":"SCMP_ACT_ALLOW"}]}"#;

fn make_rootfs() -> String {
    let dir = std::env::temp_dir().join(format!("kiste-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    for a in ["true", "sh"] {
        let _ = std::os::unix::fs::symlink("busybox", dir.join("bin").join(a));
    }
    dir.to_string_lossy().into_owned()
}
