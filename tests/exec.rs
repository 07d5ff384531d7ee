//! `exec` into real running containers: it sees the container's namespaces (hostname,
//! pid 1, cgroup, user namespace), gets the container's capabilities, seccomp and
//! no_new_privs (and docker's, compared line by line), its user and working directory
//! unless -u/-w say otherwise, the environment with -e/--env-file on top; docker's exit
//! codes; -d, -i and --privileged; a stopped, paused or unknown container is refused.

mod support;

use std::time::{Duration, Instant};
use support::*;

/// The lines of /proc/self/status that say what a process may do.
const SECURITY_LINES: &str =
    "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status";

fn running(k: &Kiste, name: &str, extra: &[&str], cmd: &[&str]) {
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(extra);
    args.push("busybox");
    args.extend_from_slice(cmd);
    k.ok(&args);
}

#[test]
fn exec_joins_every_namespace_and_the_cgroup_of_the_container() {
    let k = Kiste::new();
    k.busybox();
    running(&k, "box", &["--hostname", "boxname"], &["sleep", "1000"]);
    let out = k.ok(&[
        "exec",
        "box",
        "sh",
        "-c",
        "hostname; ps -o pid,args; for n in mnt net ipc; do readlink /proc/1/ns/$n; readlink /proc/self/ns/$n; done; cat /proc/1/cgroup; echo --; cat /proc/self/cgroup",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "boxname", "{out}");
    assert!(
        out.lines().any(|l| l.trim() == "1 sleep 1000"),
        "the container's pid 1 is not in exec's pid namespace:\n{out}"
    );
    let ns: Vec<&str> = lines.iter().copied().filter(|l| l.contains(":[")).collect();
    assert_eq!(ns.len(), 6, "{out}");
    for pair in ns.chunks(2) {
        assert_eq!(pair[0], pair[1], "exec is not in the container's namespace");
    }
    // In the container's cgroup namespace, a process of another cgroup would show a
    // path outside it ("/../..").
    let (init_cg, own_cg) = out.split_once("--\n").unwrap();
    let init_cg: String = init_cg
        .lines()
        .filter(|l| l.contains(":/"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(init_cg, own_cg, "exec is not in the container's cgroup");
}

#[test]
fn exec_gets_the_containers_capabilities_seccomp_and_user() {
    let k = Kiste::new();
    k.busybox();
    // The container's own first process prints what it may do; exec must match it.
    let script = format!("{SECURITY_LINES}; id; sleep 1000");
    running(
        &k,
        "box",
        &["--cap-drop", "NET_RAW"],
        &["sh", "-c", &script],
    );
    running(
        &k,
        "ubox",
        &["-u", "1000:1000", "--security-opt", "no-new-privileges"],
        &["sh", "-c", &script],
    );
    for name in ["box", "ubox"] {
        k.wait_for_log(name, "uid=", Duration::from_secs(10));
        let init = k.ok(&["logs", name]);
        let own = k.ok(&["exec", name, "sh", "-c", &format!("{SECURITY_LINES}; id")]);
        assert_eq!(
            own, init,
            "exec in {name} differs from the container's process"
        );
    }
    let u = k.ok(&["exec", "ubox", "id"]);
    assert_eq!(u.trim(), "uid=1000 gid=1000 groups=1000");
    let nnp = k.ok(&["exec", "ubox", "grep", "NoNewPrivs", "/proc/self/status"]);
    assert!(nnp.contains('1'), "{nnp}");
}

#[test]
fn exec_security_matches_dockers_exec() {
    if !have("docker") {
        skip("docker is not installed");
        return;
    }
    support::docker::ensure_docker();
    let name = format!("kiste-exec-compare-{}", std::process::id());
    let started = std::process::Command::new("docker")
        .args(["run", "-d", "--name", &name, "busybox", "sleep", "1000"])
        .output()
        .unwrap();
    if !started.status.success() {
        skip("docker has no busybox image to compare with");
        return;
    }
    let docker = std::process::Command::new("docker")
        .args(["exec", &name, "sh", "-c", SECURITY_LINES])
        .output()
        .unwrap();
    let _ = std::process::Command::new("docker")
        .args(["rm", "-f", &name])
        .output();
    let k = Kiste::new();
    k.busybox();
    running(&k, "box", &[], &["sleep", "1000"]);
    let ours = k.ok(&["exec", "box", "sh", "-c", SECURITY_LINES]);
    assert_eq!(ours, String::from_utf8_lossy(&docker.stdout));
}

#[test]
fn exec_exit_codes_follow_docker() {
    let k = Kiste::new();
    k.busybox();
    running(&k, "box", &[], &["sleep", "1000"]);
    assert_eq!(k.run(&["exec", "box", "true"]).code, 0);
    assert_eq!(k.run(&["exec", "box", "sh", "-c", "exit 3"]).code, 3);
    let missing = k.run(&["exec", "box", "no-such-command"]);
    assert_eq!(missing.code, 127, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("executable file not found"),
        "{}",
        missing.stderr
    );
    let dir = k.run(&["exec", "box", "/etc"]);
    assert_eq!(dir.code, 126, "{}", dir.stderr);
    let cwd = k.run(&["exec", "-w", "/no/such/dir", "box", "pwd"]);
    assert_eq!(cwd.code, 126, "{}", cwd.stderr);
    assert!(cwd.stderr.contains("chdir to cwd"), "{}", cwd.stderr);
    let user = k.run(&["exec", "-u", "nosuchuser", "box", "id"]);
    assert_eq!(user.code, 126, "{}", user.stderr);
    assert!(
        user.stderr.contains("unable to find user nosuchuser"),
        "{}",
        user.stderr
    );
    let killed = k.run(&["exec", "box", "sh", "-c", "kill -9 $$"]);
    assert_eq!(killed.code, 137);
}

#[test]
fn exec_overrides_user_workdir_and_environment() {
    let k = Kiste::new();
    k.busybox();
    running(
        &k,
        "box",
        &["-e", "FROM_RUN=1", "-w", "/etc"],
        &["sleep", "1000"],
    );
    assert_eq!(k.ok(&["exec", "box", "pwd"]), "/etc\n");
    assert_eq!(k.ok(&["exec", "-w", "/bin", "box", "pwd"]), "/bin\n");
    assert_eq!(
        k.ok(&["exec", "-u", "1000:1000", "box", "id"]),
        "uid=1000 gid=1000 groups=1000\n"
    );
    let env_file = k.dir.path().join("env");
    std::fs::write(&env_file, "# comment\nFROM_FILE=f\nFROM_RUN=file\n").unwrap();
    let out = k.ok(&[
        "exec",
        "--env-file",
        env_file.to_str().unwrap(),
        "-e",
        "FROM_FLAG=e",
        "box",
        "sh",
        "-c",
        "echo $FROM_RUN $FROM_FILE $FROM_FLAG $HOSTNAME $HOME",
    ]);
    let id = k.inspect("box")["Id"].as_str().unwrap()[..12].to_string();
    assert_eq!(out, format!("file f e {id} /\n"));
    let bad = k.run(&["exec", "-w", "relative", "box", "pwd"]);
    assert_eq!(bad.code, 125, "{}", bad.stderr);
}

#[test]
fn exec_into_a_stopped_or_unknown_container_is_refused() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "made", "busybox", "true"]);
    let r = k.run(&["exec", "made", "true"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is not running"), "{}", r.stderr);
    let r = k.run(&["exec", "nosuch", "true"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no such container: nosuch"),
        "{}",
        r.stderr
    );
    k.ok(&["run", "--name", "ran", "busybox", "true"]);
    assert_eq!(k.run(&["exec", "ran", "true"]).code, 1);
}

#[test]
fn exec_into_a_paused_container_is_refused_until_unpause() {
    let k = Kiste::new();
    k.busybox();
    running(&k, "frozen", &[], &["sleep", "1000"]);
    k.ok(&["pause", "frozen"]);
    let r = k.run(&["exec", "frozen", "true"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is paused, unpause the container before exec"),
        "{}",
        r.stderr
    );
    k.ok(&["unpause", "frozen"]);
    k.ok(&["exec", "frozen", "true"]);
    k.ok(&["rm", "-f", "frozen"]);
}

#[test]
fn exec_detached_interactive_and_privileged() {
    let k = Kiste::new();
    k.busybox();
    running(&k, "box", &[], &["sleep", "1000"]);
    let r = k.run(&[
        "exec",
        "-d",
        "box",
        "sh",
        "-c",
        "sleep 0.2; echo done > /marker",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (0, ""));
    let deadline = Instant::now() + Duration::from_secs(10);
    while k.run(&["exec", "box", "cat", "/marker"]).stdout != "done\n" {
        assert!(Instant::now() < deadline, "exec -d did not run");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut cmd = k.cmd(&["exec", "-i", "box", "sh", "-c", "cat; echo end"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "piped\nend\n");
    // Without -i, stdin is empty.
    assert_eq!(k.ok(&["exec", "box", "sh", "-c", "cat; echo end"]), "end\n");
    let own = k.ok(&[
        "exec",
        "box",
        "grep",
        "-E",
        "CapEff|Seccomp:",
        "/proc/self/status",
    ]);
    let wide = k.ok(&[
        "exec",
        "--privileged",
        "box",
        "grep",
        "-E",
        "CapEff|Seccomp:",
        "/proc/self/status",
    ]);
    assert!(own.contains("Seccomp:\t2"), "{own}");
    assert!(wide.contains("Seccomp:\t0"), "{wide}");
    let eff = |s: &str| {
        u64::from_str_radix(s.lines().next().unwrap().split('\t').nth(1).unwrap(), 16).unwrap()
    };
    assert!(
        eff(&wide) > eff(&own) && eff(&wide) & eff(&own) == eff(&own),
        "{own}{wide}"
    );
}

#[test]
fn exec_joins_the_user_namespace_of_the_container() {
    let k = Kiste::new();
    k.busybox();
    running(
        &k,
        "box",
        &["--userns", "map=0:100000:65536"],
        &["sleep", "1000"],
    );
    let out = k.ok(&["exec", "box", "sh", "-c", "id; cat /proc/self/uid_map"]);
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words[0], "uid=0");
    assert_eq!(&words[3..6], ["0", "100000", "65536"], "{out}");
    assert_eq!(k.ok(&["exec", "-u", "1000", "box", "id", "-u"]), "1000\n");
}
