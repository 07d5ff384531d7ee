//! The runtime checks run inside the cgroup v2 VM of tests/runtime_cgroup_v2_qemu.rs
//! (built as a static musl binary): each check starts a real container and prints
//! `KISTE-PROBE <name> ok` or `KISTE-PROBE <name> FAIL <why>`, then `KISTE-PROBE-DONE`.
//!
//! runtime_probe ROOTFS

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use kiste::cgroups::{self, CgroupLayout};

// The tests' one reader of cgroup settings; here it runs its v2 branch for real.
#[path = "../tests/support/cgroup.rs"]
mod cgroup;
use cgroup::{Knob, Layout};
use kiste::runtime::{
    default_security, spawn, CgroupSpec, ContainerSpec, Namespaces, Resources, Stdio,
};

struct Outcome {
    signal: Option<i32>,
    status: i32,
    stdout: String,
    stderr: String,
    oom: bool,
    cgroup_gone: bool,
}

fn spec(rootfs: &Path, name: &str, script: &str) -> ContainerSpec {
    ContainerSpec {
        id: name.into(),
        rootfs: rootfs.to_path_buf(),
        rootfs_tree: None,
        args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec![],
        cwd: "/".into(),
        user: String::new(),
        hostname: name.into(),
        namespaces: Namespaces::default(),
        mounts: vec![],
        devices: vec![],
        rlimits: vec![],
        security: default_security(),
        cgroup: Some(CgroupSpec {
            parent: "kiste".into(),
            name: format!("probe-{name}"),
            resources: Resources::default(),
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
    }
}

fn run(mut s: ContainerSpec) -> Result<Outcome, String> {
    let out_path = PathBuf::from(format!("/tmp/{}.out", s.id));
    let err_path = PathBuf::from(format!("/tmp/{}.err", s.id));
    let out = fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let err = fs::File::create(&err_path).map_err(|e| e.to_string())?;
    s.stdio = Stdio {
        stdin: 0,
        stdout: out.as_raw_fd(),
        stderr: err.as_raw_fd(),
    };
    let started = spawn(&s).map_err(|e| format!("spawn: {e}"))?;
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(started.pid, &mut status, 0) };
    let cg = s.cgroup.as_ref().unwrap();
    let oom = cgroups::oom_killed(cg);
    cgroups::remove(cg).map_err(|e| format!("remove: {e}"))?;
    let cgroup_gone = !Path::new("/sys/fs/cgroup/kiste").join(&cg.name).exists();
    Ok(Outcome {
        signal: libc::WIFSIGNALED(status).then(|| libc::WTERMSIG(status)),
        status: libc::WEXITSTATUS(status),
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
        oom,
        cgroup_gone,
    })
}

fn check(name: &str, result: Result<(), String>) {
    match result {
        Ok(()) => println!("KISTE-PROBE {name} ok"),
        Err(why) => println!("KISTE-PROBE {name} FAIL {}", why.replace('\n', "\\n")),
    }
}

fn expect(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

fn main() {
    let rootfs = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "/rootfs".into()));

    check(
        "layout",
        expect(
            cgroups::detect() == CgroupLayout::V2 && Layout::host() == Layout::V2,
            || "detect() or the tests' Layout::host() did not say V2".into(),
        ),
    );

    check(
        "namespaces",
        (|| {
            let o = run(spec(&rootfs, "ns", "echo $$; hostname; cat /proc/self/cgroup; ls /sys/fs/cgroup/cpu.max; cat /proc/net/dev | grep -c :"))?;
            expect(
                o.status == 0 && o.stdout == "1\nns\n0::/\n/sys/fs/cgroup/cpu.max\n1\n",
                || format!("{:?} {:?}", o.stdout, o.stderr),
            )?;
            expect(o.cgroup_gone, || "cgroup left behind".into())
        })(),
    );

    check(
        "memory_oom",
        (|| {
            let (limit, want) = cgroup::probe(&[(Knob::MemoryLimit, &(32 << 20).to_string())]);
            let script =
                format!("{limit}; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived");
            let mut s = spec(&rootfs, "oom", &script);
            s.cgroup.as_mut().unwrap().resources.memory = Some(32 << 20);
            let o = run(s)?;
            expect(o.stdout.starts_with(&want), || {
                format!("memory.max: {:?}", o.stdout)
            })?;
            expect(o.signal == Some(libc::SIGKILL), || {
                format!("not killed: status {} {:?}", o.status, o.stdout)
            })?;
            expect(o.oom, || "oom_killed() false".into())
        })(),
    );

    check(
        "pids_limit",
        (|| {
            let script = "sh -c 'i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done'; \
                      read cur < /sys/fs/cgroup/pids.current; read max < /sys/fs/cgroup/pids.max; echo $cur $max; kill -9 -1";
            let mut s = spec(&rootfs, "pids", script);
            s.cgroup.as_mut().unwrap().resources.pids_limit = Some(10);
            let o = run(s)?;
            expect(
                o.stdout == "9 10\n" && o.stderr.contains("can't fork"),
                || format!("{:?} {:?}", o.stdout, o.stderr),
            )
        })(),
    );

    check(
        "cpu_max",
        (|| {
            let (script, want) =
                cgroup::probe(&[(Knob::CpuMax, "50000 100000"), (Knob::CpuShares, "512")]);
            let mut s = spec(&rootfs, "cpu", &script);
            let r = &mut s.cgroup.as_mut().unwrap().resources;
            r.cpus = Some(0.5);
            r.cpu_shares = Some(512);
            let o = run(s)?;
            expect(o.stdout == want && want == "50000 100000\n20\n", || {
                format!("{:?} {:?} (want {want:?})", o.stdout, o.stderr)
            })
        })(),
    );

    check(
        "devices_ebpf",
        (|| {
            let script =
                "mknod /tmp/mem c 1 1 && echo made; head -c1 /tmp/mem >/dev/null; echo mem=$?; \
                      mknod /tmp/null2 c 1 3 && echo x > /tmp/null2; echo null=$?";
            let o = run(spec(&rootfs, "dev", script))?;
            expect(
                o.stdout == "made\nmem=1\nnull=0\n" && o.stderr.contains("Operation not permitted"),
                || format!("{:?} {:?}", o.stdout, o.stderr),
            )
        })(),
    );

    check(
        "seccomp_caps",
        (|| {
            let o = run(spec(
                &rootfs,
                "sec",
                "grep -E '^(CapEff|Seccomp):' /proc/self/status; unshare -U true; echo unshare=$?",
            ))?;
            expect(
                o.stdout == "CapEff:\t00000000a80425fb\nSeccomp:\t2\nunshare=1\n",
                || format!("{:?} {:?}", o.stdout, o.stderr),
            )
        })(),
    );

    check(
        "freeze_stats",
        (|| {
            let mut s = spec(&rootfs, "frz", "exec sleep 100");
            s.stdio = Stdio {
                stdin: 0,
                stdout: 1,
                stderr: 2,
            };
            let started = spawn(&s).map_err(|e| format!("spawn: {e}"))?;
            let cg = s.cgroup.clone().unwrap();
            let result = (|| {
                cgroups::freeze::set_frozen(&cg, true).map_err(|e| e.to_string())?;
                let events = fs::read_to_string("/sys/fs/cgroup/kiste/probe-frz/cgroup.events")
                    .unwrap_or_default();
                expect(
                    cgroups::freeze::is_frozen(&cg) && events.contains("frozen 1"),
                    || format!("not frozen: {events:?}"),
                )?;
                let st = cgroups::stats::stats(&cg);
                expect(st.pids == 1 && st.memory > 0 && st.cpu_ns > 0, || {
                    format!("stats: {st:?}")
                })?;
                cgroups::freeze::set_frozen(&cg, false).map_err(|e| e.to_string())?;
                expect(!cgroups::freeze::is_frozen(&cg), || "still frozen".into())
            })();
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(started.pid, libc::SIGKILL);
                libc::waitpid(started.pid, std::ptr::null_mut(), 0);
            }
            cgroups::remove(&cg).map_err(|e| format!("remove: {e}"))?;
            result
        })(),
    );

    check(
        "cgroup_removed",
        (|| {
            let dirs: Vec<String> = fs::read_dir("/sys/fs/cgroup/kiste")
                .map_err(|e| e.to_string())?
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            expect(dirs.is_empty(), || format!("left: {dirs:?}"))
        })(),
    );

    println!("KISTE-PROBE-DONE");
}
