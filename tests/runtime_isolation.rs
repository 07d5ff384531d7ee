//! The runtime from the inside: each test starts a real container (root, busybox
//! rootfs in a temp dir) with `kiste::runtime::spawn` and checks, from a shell script
//! running in it, what a container must and must not see.

mod support;

use kiste::runtime::{spawn, NsMode, RuntimeError};
use support::runtime::*;

#[test]
fn container_is_pid_1_and_sees_only_its_own_processes() {
    let _g = serial();
    let sb = sandbox();
    let out = run(&sb, spec(&sb, "pid", "echo pid=$$; ps -o pid,comm; true"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("pid=1"));
    let procs: Vec<&str> = lines.skip(1).map(str::trim).collect();
    assert_eq!(procs.len(), 2, "{procs:?}");
    assert!(
        procs[0].starts_with("1 ") && procs[0].contains("sh"),
        "{procs:?}"
    );
    assert!(procs[1].contains("ps"), "{procs:?}");
}

#[test]
fn hostname_env_home_and_cwd_are_set() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(
        &sb,
        "env",
        "hostname; echo \"$FOO|$HOSTNAME|$HOME|$PATH\"; pwd",
    );
    s.hostname = "web-1".into();
    s.env = vec!["FOO=bar baz".into()];
    s.cwd = "/srv/app/data".into();
    let out = run(&sb, s);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "web-1\nbar baz|web-1|/root|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/srv/app/data\n"
    );
    assert!(sb.root().join("srv/app/data").is_dir());
}

#[test]
fn every_namespace_differs_from_the_hosts() {
    let _g = serial();
    let sb = sandbox();
    let names = ["pid", "net", "ipc", "uts", "mnt", "cgroup"];
    let script = names
        .iter()
        .map(|n| format!("readlink /proc/self/ns/{n};"))
        .collect::<String>();
    let out = run(&sb, spec(&sb, "ns", &script));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let inside: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(inside.len(), names.len());
    for (n, line) in names.iter().zip(inside) {
        let host = std::fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
        assert_ne!(host.to_string_lossy(), line, "{n} namespace is the host's");
        assert!(line.starts_with(&format!("{n}:[")), "{line}");
    }
}

#[test]
fn private_network_has_only_loopback() {
    let _g = serial();
    let sb = sandbox();
    let out = run(&sb, spec(&sb, "net", "cat /proc/net/dev"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let ifaces: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim()))
        .collect();
    assert_eq!(ifaces, vec!["lo"]);
}

#[test]
fn host_mounts_are_invisible_and_the_standard_ones_exist() {
    let _g = serial();
    let sb = sandbox();
    let out = run(&sb, spec(&sb, "mounts", "cat /proc/self/mountinfo"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let points: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .collect();
    for want in [
        "/",
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/dev/mqueue",
        "/sys",
        "/sys/fs/cgroup",
    ] {
        assert!(points.contains(&want), "{want} missing from {points:?}");
    }
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    for l in host.lines() {
        let p = l.split(' ').nth(4).unwrap();
        if p.starts_with("/work") || p.starts_with("/var/tmp") || p == "/boot" {
            assert!(!points.contains(&p), "host mount {p} visible");
        }
    }
    let dir = sb.dir.path().to_string_lossy().into_owned();
    assert!(
        points.iter().all(|p| !p.contains(&dir)),
        "rootfs host path leaks: {points:?}"
    );
}

#[test]
fn user_by_uid_drops_every_capability() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(
        &sb,
        "user",
        "id -u; id -g; echo $HOME; grep -E 'CapEff|CapPrm' /proc/self/status",
    );
    s.user = "1000".into();
    let out = run(&sb, s);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "1000\n1000\n/home/user\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
    );
}

#[test]
fn user_and_group_by_name() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "username", "id -u; id -g; id -G");
    s.user = "user:wheel".into();
    let out = run(&sb, s);
    assert_eq!(out.stdout, "1000\n10\n10\n", "{}", out.stderr);
    let mut s = spec(&sb, "nouser", "true");
    s.user = "nobody".into();
    let err = try_run(&sb, &mut s).err().expect("unknown user must fail");
    assert_eq!(err.exit_code(), 125);
    assert!(
        err.to_string().contains("unable to find user nobody"),
        "{err}"
    );
}

#[test]
fn missing_command_is_not_found_127() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "notfound", "");
    s.args = vec!["no-such-command".into(), "x".into()];
    let err = try_run(&sb, &mut s).err().expect("must fail");
    assert!(
        matches!(err, RuntimeError::NotFound { ref cmd } if cmd == "no-such-command"),
        "{err:?}"
    );
    assert_eq!(err.exit_code(), 127);
    assert_eq!(
        err.to_string(),
        "no-such-command: executable file not found in $PATH"
    );
    // The failed start leaves no cgroup behind.
    assert!(!controller_dir("memory", s.cgroup.as_ref().unwrap()).exists());
}

#[test]
fn non_executable_file_and_directory_are_126() {
    let _g = serial();
    let sb = sandbox();
    for target in ["/etc/passwd", "/tmp"] {
        let mut s = spec(&sb, "noexec", "");
        s.args = vec![target.into()];
        let err = try_run(&sb, &mut s).err().expect("must fail");
        assert!(
            matches!(err, RuntimeError::CannotExecute { .. }),
            "{target}: {err:?}"
        );
        assert_eq!(err.exit_code(), 126);
    }
}

#[test]
fn exit_status_passes_through() {
    let _g = serial();
    let sb = sandbox();
    let out = run(&sb, spec(&sb, "exit", "exit 7"));
    assert_eq!((out.status, out.signal), (7, None));
    assert!(out.started.start_time > 0);
}

#[test]
fn container_sees_its_own_cgroup_as_root() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    let out = run(
        &sb,
        spec(
            &sb,
            "cgns",
            "cat /proc/self/cgroup; ls /sys/fs/cgroup/memory/ | grep -c limit_in_bytes",
        ),
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let cg_lines = &lines[..lines.len() - 1];
    assert!(!cg_lines.is_empty());
    for l in cg_lines {
        assert!(l.ends_with(":/"), "not rooted at own cgroup: {l}");
    }
    assert_ne!(lines.last(), Some(&"0"), "no memory controller mounted");
}

#[test]
fn process_joins_the_cgroup_before_exec_and_remove_cleans_up() {
    if !support::cgroup_v1_or_skip() {
        return;
    }
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "join", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; cat /sys/fs/cgroup/pids/pids.max; sleep 30");
    let cg = s.cgroup.as_mut().unwrap();
    cg.resources.memory = Some(64 * 1024 * 1024);
    cg.resources.pids_limit = Some(50);
    let cg = cg.clone();
    let io = io(&sb, &mut s);
    let _guard = CgroupGuard(Some(cg.clone()));
    let started = spawn(&s).unwrap();
    let out_path = io.out_path.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&out_path).unwrap().lines().count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "container printed nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Joined before exec: the pid is in every controller the moment spawn returns.
    for ctrl in ["memory", "pids", "cpuacct", "devices"] {
        let procs =
            std::fs::read_to_string(controller_dir(ctrl, &cg).join("cgroup.procs")).unwrap();
        assert!(
            procs.lines().any(|l| l == started.pid.to_string()),
            "{ctrl}: {procs}"
        );
    }
    assert_eq!(kiste::cgroups::pids(&cg), vec![started.pid]);
    assert_eq!(
        kiste::runtime::process_start_time(started.pid),
        Some(started.start_time)
    );
    // remove() kills what is left, then removes every directory.
    kiste::cgroups::remove(&cg).unwrap();
    let (_, sig) = wait(started.pid);
    assert_eq!(sig, Some(libc::SIGKILL));
    for ctrl in [
        "memory", "pids", "cpu", "cpuacct", "cpuset", "blkio", "devices", "freezer",
    ] {
        assert!(!controller_dir(ctrl, &cg).exists(), "{ctrl} left behind");
    }
    kiste::cgroups::remove(&cg).unwrap();
    drop(io);
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "67108864\n50\n"
    );
}

#[test]
fn host_namespaces_are_shared_when_asked() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(
        &sb,
        "hostns",
        "readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname",
    );
    s.namespaces.net = NsMode::Host;
    s.namespaces.uts = NsMode::Host;
    let out = run(&sb, s);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let host_uts = std::fs::read_link("/proc/self/ns/uts").unwrap();
    let hn = nix::unistd::gethostname().unwrap();
    assert_eq!(
        out.stdout,
        format!(
            "{}\n{}\n{}\n",
            host_net.display(),
            host_uts.display(),
            hn.to_string_lossy()
        )
    );
}

#[test]
fn bind_and_tmpfs_mounts_with_created_destinations() {
    let _g = serial();
    let sb = sandbox();
    let host_dir = sb.dir.path().join("data");
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("hello"), "from host\n").unwrap();
    let host_file = sb.dir.path().join("single.conf");
    std::fs::write(&host_file, "conf\n").unwrap();
    let mut s = spec(
        &sb,
        "mounts2",
        "cat /data/hello; cat /etc/app/single.conf; echo x > /data/new; echo rw=$?; \
         echo y > /etc/app/single.conf; echo ro=$?; grep ' /scratch ' /proc/self/mountinfo | cut -d' ' -f6",
    );
    s.mounts = vec![
        kiste::runtime::Mount {
            source: host_dir.clone(),
            destination: "/data".into(),
            kind: kiste::runtime::MountKind::Bind,
            readonly: false,
        },
        kiste::runtime::Mount {
            source: host_file,
            destination: "/etc/app/single.conf".into(),
            kind: kiste::runtime::MountKind::Bind,
            readonly: true,
        },
        kiste::runtime::Mount {
            source: "".into(),
            destination: "/scratch".into(),
            kind: kiste::runtime::MountKind::Tmpfs {
                options: "size=1m".into(),
            },
            readonly: false,
        },
    ];
    let out = run(&sb, s);
    assert_eq!(
        out.stdout, "from host\nconf\nrw=0\nro=1\nrw,nosuid,nodev,noexec,relatime\n",
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_to_string(host_dir.join("new")).unwrap(),
        "x\n"
    );
}

#[test]
fn user_namespace_maps_root_to_an_unprivileged_range() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(
        &sb,
        "userns",
        "id -u; cat /proc/self/uid_map; ls /dev | wc -l; echo ok > /dev/null && echo null-ok",
    );
    let map = vec![kiste::runtime::IdMap {
        container_id: 0,
        host_id: 100000,
        size: 65536,
    }];
    s.namespaces.user = Some(kiste::runtime::UserNsMaps {
        uid: map.clone(),
        gid: map,
    });
    let out = run(&sb, s);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "0");
    let map: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(map, vec!["0", "100000", "65536"]);
    assert_eq!(lines.last(), Some(&"null-ok"));
}

#[test]
fn rlimits_are_applied_and_never_raised_above_the_hard_limit() {
    let _g = serial();
    let sb = sandbox();
    let mut s = spec(&sb, "rlimit", "ulimit -n; ulimit -Hn");
    let hard = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .unwrap()
        .1;
    s.rlimits = vec![kiste::runtime::Rlimit {
        resource: libc::RLIMIT_NOFILE as i32,
        soft: 512,
        hard: hard + 1000,
    }];
    let out = run(&sb, s);
    assert_eq!(out.stdout, format!("512\n{hard}\n"), "{}", out.stderr);
}

#[test]
fn signals_start_at_their_defaults() {
    let _g = serial();
    let sb = sandbox();
    // The test harness (like kiste) ignores SIGPIPE; the container must not inherit it.
    let out = run(
        &sb,
        spec(
            &sb,
            "signals",
            "grep -E '^Sig(Ign|Blk):' /proc/self/status; yes | head -n1",
        ),
    );
    assert_eq!(
        out.stdout, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\ny\n",
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr, "");
}

#[test]
fn rootfs_through_a_symlink_works_and_a_missing_one_is_an_error() {
    let _g = serial();
    let sb = sandbox();
    let link = sb.dir.path().join("link");
    std::os::unix::fs::symlink(sb.root(), &link).unwrap();
    let mut s = spec(&sb, "rootlink", "ls /bin/busybox");
    s.rootfs = link;
    assert_eq!(run(&sb, s).stdout, "/bin/busybox\n");
    let mut s = spec(&sb, "noroot", "true");
    s.rootfs = sb.dir.path().join("missing");
    let err = try_run(&sb, &mut s).err().expect("must fail");
    assert!(err.to_string().contains("is not a directory"), "{err}");
}

#[test]
fn a_terminal_on_stdin_becomes_the_controlling_terminal() {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    let _g = serial();
    let sb = sandbox();
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut s = spec(
        &sb,
        "tty",
        "read -r a b c d e f g rest < /proc/self/stat; echo tty_nr=$g; [ -t 0 ] && echo isatty",
    );
    let fd = pty.slave.as_raw_fd();
    s.stdio = kiste::runtime::Stdio {
        stdin: fd,
        stdout: fd,
        stderr: fd,
    };
    let _guard = CgroupGuard(s.cgroup.clone());
    let started = spawn(&s).unwrap();
    drop(pty.slave);
    let (status, _) = wait(started.pid);
    assert_eq!(status, 0);
    let mut master = std::fs::File::from(pty.master);
    let mut buf = vec![0u8; 4096];
    let n = master.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).replace('\r', "");
    assert!(text.contains("isatty"), "{text:?}");
    let nr = text
        .lines()
        .find_map(|l| l.strip_prefix("tty_nr="))
        .unwrap();
    assert_ne!(nr, "0", "no controlling terminal: {text:?}");
}

#[test]
fn namespaces_given_by_path_are_joined() {
    let _g = serial();
    let sb = sandbox();
    let mut a = spec(&sb, "ns-owner", "sleep 30");
    let io_a = io(&sb, &mut a);
    let _guard = CgroupGuard(a.cgroup.clone());
    let owner = spawn(&a).unwrap();
    let ns = |kind: &str| std::path::PathBuf::from(format!("/proc/{}/ns/{kind}", owner.pid));
    let mut b = spec(
        &sb,
        "ns-joiner",
        "for n in net ipc uts pid; do readlink /proc/self/ns/$n; done; ps -o comm | grep -c sleep",
    );
    b.namespaces.net = NsMode::Path(ns("net"));
    b.namespaces.ipc = NsMode::Path(ns("ipc"));
    b.namespaces.uts = NsMode::Path(ns("uts"));
    b.namespaces.pid = NsMode::Path(ns("pid"));
    let want: Vec<String> = ["net", "ipc", "uts", "pid"]
        .iter()
        .map(|k| {
            std::fs::read_link(ns(k))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    let out = run(&sb, b);
    kiste::cgroups::remove(a.cgroup.as_ref().unwrap()).unwrap();
    wait(owner.pid);
    drop(io_a);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{:?} {:?}", out.stdout, out.stderr);
    assert_eq!(
        lines[..4],
        want.iter().map(String::as_str).collect::<Vec<_>>()[..],
        "{}",
        out.stdout
    );
    assert_eq!(
        lines[4], "1",
        "the joined pid namespace should show the owner's sleep"
    );
    // The caller's own pid namespace for children is restored.
    let mine = std::fs::read_link("/proc/self/ns/pid_for_children").unwrap();
    assert_eq!(mine, std::fs::read_link("/proc/self/ns/pid").unwrap());
}

/// Issue 8 §5: the directories kiste creates in an image that lacks them (/proc, /sys,
/// /dev, the parents of a mount target) are 0755 and root's, as docker makes them, not
/// 0777 from the umask 0 of the setup (a user in the container could rewrite them).
#[test]
fn mount_points_created_in_the_image_are_0755_and_roots() {
    use std::os::unix::fs::MetadataExt;
    let _g = serial();
    let sb = sandbox();
    for d in ["proc", "sys", "dev"] {
        std::fs::remove_dir(sb.root().join(d)).unwrap();
    }
    let host_dir = sb.dir.path().join("vol");
    std::fs::create_dir(&host_dir).unwrap();
    let host_file = sb.dir.path().join("single.conf");
    std::fs::write(&host_file, "x\n").unwrap();
    let mut s = spec(
        &sb,
        "modes",
        "stat -c '%a %u' /srv/a/b /opt/conf.d/single.conf",
    );
    s.mounts = vec![
        kiste::runtime::Mount {
            source: host_dir,
            destination: "/srv/a/b".into(),
            kind: kiste::runtime::MountKind::Bind,
            readonly: false,
        },
        kiste::runtime::Mount {
            source: host_file,
            destination: "/opt/conf.d/single.conf".into(),
            kind: kiste::runtime::MountKind::Bind,
            readonly: true,
        },
    ];
    let out = run(&sb, s);
    assert_eq!(out.status, 0, "{}", out.stderr);
    for d in [
        "proc",
        "sys",
        "dev",
        "srv",
        "srv/a",
        "srv/a/b",
        "opt",
        "opt/conf.d",
    ] {
        let meta = std::fs::metadata(sb.root().join(d)).unwrap();
        assert_eq!(
            (meta.mode() & 0o7777, meta.uid(), meta.gid()),
            (0o755, 0, 0),
            "/{d} as created in the rootfs"
        );
    }
    let target = std::fs::metadata(sb.root().join("opt/conf.d/single.conf")).unwrap();
    assert_eq!(target.mode() & 0o7777, 0o644, "bind target file");
}
