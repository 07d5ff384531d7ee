//! The seed workflow, step by step, exactly as a docker user types it: build the sample web
//! server, run it detached with a published port, list it, curl it, stop it by an id
//! prefix, start it again, and remove it — leaving nothing behind.

mod support;

use std::time::Duration;
use support::*;

#[test]
fn seed_workflow_build_run_ps_curl_stop_start_rm_leaves_nothing() {
    let k = Kiste::new();
    k.busybox();
    let built = k.run(&[
        "build",
        "--tag",
        "apache2sample",
        testdata("apache2sample").to_str().unwrap(),
    ]);
    assert_eq!(built.code, 0, "{}{}", built.stdout, built.stderr);
    assert!(
        built
            .stdout
            .contains("Step 2/4 : COPY ./html/ /usr/local/apache2/htdocs/"),
        "{}",
        built.stdout
    );
    assert!(
        built
            .stdout
            .contains("Successfully tagged apache2sample:latest"),
        "{}",
        built.stdout
    );

    let images = k.ok(&["images"]);
    let header = images.lines().next().unwrap();
    for col in ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(header.contains(col), "{images}");
    }
    assert!(
        images
            .lines()
            .any(|l| l.starts_with("apache2sample ") && l.contains("latest")),
        "{images}"
    );

    let port = free_port();
    let publish = format!("{port}:80");
    let id = k.ok(&[
        "run",
        "--name",
        "myapache",
        "-d",
        "-p",
        &publish,
        "apache2sample",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let ps = k.ok(&["ps"]);
    let mut lines = ps.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("CONTAINER ID   IMAGE"), "{ps}");
    for col in ["COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"] {
        assert!(header.contains(col), "{ps}");
    }
    let row = lines.next().expect("one running container");
    assert!(row.starts_with(&id[..12]), "{row}");
    assert!(row.contains("apache2sample"), "{row}");
    assert!(
        row.contains("\"httpd -f -v -p 80 -…\""),
        "COMMAND quoted and cut: {row}"
    );
    assert!(row.contains("Up "), "{row}");
    assert!(row.contains(&format!("0.0.0.0:{port}->80/tcp")), "{row}");
    assert!(row.trim_end().ends_with("myapache"), "{row}");

    let page = http_get(port);
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    let index = std::fs::read_to_string(testdata("apache2sample/html/index.html")).unwrap();
    assert!(
        page.ends_with(&index),
        "curl answers with html/index.html: {page}"
    );

    let logs = k.ok(&["logs", "myapache"]);
    assert!(
        logs.contains("response:200")
            || k.run(&["logs", "myapache"]).stderr.contains("response:200")
    );

    let pid = k.inspect("myapache")["State"]["Pid"].as_i64().unwrap();
    assert!(process_alive(pid));

    // stop by a 6-character id prefix; it prints the argument as given.
    let prefix = &id[..6];
    let t0 = std::time::Instant::now();
    let stopped = k.ok(&["stop", "-t", "1", prefix]);
    assert_eq!(stopped.trim(), prefix);
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "stop waited the timeout before SIGKILL"
    );
    let ps_a = k.ok(&["ps", "-a"]);
    assert!(
        ps_a.contains("Exited (137)"),
        "httpd ignores SIGTERM as PID 1, so it was killed: {ps_a}"
    );
    assert!(
        !k.ok(&["ps"]).contains(&id[..12]),
        "ps without -a shows only running ones"
    );
    assert!(!process_alive(pid));
    assert!(
        !port_in_use(port),
        "the port is released when the container stops"
    );
    // Stopping a stopped container succeeds.
    assert_eq!(k.ok(&["stop", "myapache"]).trim(), "myapache");

    assert_eq!(k.ok(&["start", "myapache"]).trim(), "myapache");
    let again = k.inspect("myapache");
    assert_eq!(again["Id"], id.as_str(), "the same container runs again");
    assert!(http_get(port).ends_with(&index));

    // rm refuses a running container.
    let refused = k.run(&["rm", "myapache"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("container is running"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        refused.stderr.lines().count(),
        1,
        "one line: {}",
        refused.stderr
    );

    let pid = k.inspect("myapache")["State"]["Pid"].as_i64().unwrap();
    assert_eq!(k.ok(&["rm", "-f", "myapache"]).trim(), "myapache");
    assert!(!process_alive(pid), "no process left");
    assert!(k.mounts().is_empty(), "no mount left: {:?}", k.mounts());
    assert!(
        cgroup_left(&id).is_empty(),
        "no cgroup left: {:?}",
        cgroup_left(&id)
    );
    assert!(!port_in_use(port), "no listening port left");
    assert_eq!(
        k.ok(&["ps", "-a"]).lines().count(),
        1,
        "only the header is left"
    );
    assert!(!k.root().join("containers").join(&id).exists());
}

#[test]
fn files_written_in_a_container_survive_stop_and_start() {
    let k = Kiste::new();
    k.busybox();
    let script =
        "if [ -f /mark ]; then echo again; cat /mark; else echo first; echo kept > /mark; fi";
    let first = k.run(&["run", "--name", "keeper", "busybox", "sh", "-c", script]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(first.stdout, "first\n");
    let second = k.run(&["start", "-a", "keeper"]);
    assert_eq!(second.stdout, "again\nkept\n", "{}", second.stderr);
}

#[test]
fn foreground_run_streams_output_and_returns_the_exit_code() {
    let k = Kiste::new();
    k.busybox();
    let r = k.run(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo to-stdout; echo to-stderr >&2; exit 42",
    ]);
    assert_eq!(r.code, 42);
    assert_eq!(r.stdout, "to-stdout\n");
    assert_eq!(r.stderr, "to-stderr\n");
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "", "--rm removed it");
    assert!(k.mounts().is_empty());
}

#[test]
fn environment_workdir_user_and_hostname_reach_the_process() {
    let k = Kiste::new();
    k.busybox();
    let r = k.ok(&[
        "run",
        "--rm",
        "-e",
        "FOO=bar",
        "-w",
        "/work/dir",
        "-u",
        "1000:1000",
        "--hostname",
        "box",
        "busybox",
        "sh",
        "-c",
        "echo $FOO; pwd; id -u; id -g; hostname; echo $HOME",
    ]);
    assert_eq!(r, "bar\n/work/dir\n1000\n1000\nbox\n/\n");
    let id = k
        .ok(&["run", "-d", "busybox", "hostname"])
        .trim()
        .to_string();
    k.wait_exited(&id, Duration::from_secs(5));
    assert_eq!(
        k.ok(&["logs", &id]),
        format!("{}\n", &id[..12]),
        "hostname defaults to the short id"
    );
    let pid1 = k.ok(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo $$; ls -d /proc/[0-9]*",
    ]);
    let lines: Vec<&str> = pid1.lines().collect();
    assert_eq!(lines[0], "1", "the command is PID 1");
    assert_eq!(lines[1], "/proc/1");
    assert_eq!(
        lines.len(),
        2,
        "it sees only itself (the glob is expanded before ls runs): {pid1}"
    );
}

#[test]
fn ps_shows_created_exited_and_running_like_docker() {
    let k = Kiste::new();
    k.busybox();
    assert_eq!(
        k.ok(&["ps"]),
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
    );
    let created = k
        .ok(&["create", "--name", "fresh", "busybox", "true"])
        .trim()
        .to_string();
    assert_eq!(created.len(), 64);
    let unnamed = k.ok(&["create", "busybox", "true"]).trim().to_string();
    let name = k.inspect(&unnamed)["Name"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    let (adjective, surname) = name.split_once('_').expect("docker-style adjective_name");
    assert!(
        adjective.chars().all(|c| c.is_ascii_lowercase())
            && surname.chars().all(|c| c.is_ascii_alphanumeric()),
        "{name}"
    );
    k.ok(&["rm", &name]);
    let r = k.run(&["run", "--name", "three", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(r.code, 3);
    let running = k
        .ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "30"])
        .trim()
        .to_string();
    let ps = k.ok(&["ps"]);
    assert_eq!(ps.lines().count(), 2, "{ps}");
    assert!(
        ps.contains("sleeper") && ps.contains("\"sleep 30\""),
        "{ps}"
    );
    let all = k.ok(&["ps", "-a"]);
    let row = |name: &str| {
        all.lines()
            .find(|l| l.trim_end().ends_with(name))
            .unwrap()
            .to_string()
    };
    assert!(row("fresh").contains("   Created   "), "{all}");
    assert!(row("three").contains("Exited (3) "), "{all}");
    assert!(row("three").contains(" ago"), "{all}");
    assert!(row("sleeper").contains("Up "), "{all}");
    assert!(
        all.lines().nth(1).unwrap().trim_end().ends_with("sleeper"),
        "newest first: {all}"
    );
    let q = k.ok(&["ps", "-a", "-q"]);
    assert_eq!(q.lines().count(), 3);
    assert!(q.lines().all(|l| l.len() == 12));
    let nt = k.ok(&["ps", "-q", "--no-trunc"]);
    assert_eq!(nt.trim(), running);
    let wide = k.ok(&["ps", "--no-trunc"]);
    assert!(wide.contains(&running) && wide.contains("\"sleep 30\""));
    assert!(created.starts_with(q.lines().last().unwrap()));
}

#[test]
fn logs_keep_stdout_and_stderr_apart() {
    let k = Kiste::new();
    k.busybox();
    let id = k.ok(&[
        "run",
        "-d",
        "busybox",
        "sh",
        "-c",
        "echo out1; echo err1 >&2; echo out2",
    ]);
    let id = id.trim();
    k.wait_exited(id, Duration::from_secs(5));
    let r = k.run(&["logs", id]);
    assert_eq!(r.stdout, "out1\nout2\n");
    assert_eq!(r.stderr, "err1\n");
    // (stdout and stderr are separate pipes, so their relative order is not fixed;
    // --tail is checked on a stdout-only log.)
    let abc = k.ok(&["run", "-d", "busybox", "sh", "-c", "echo a; echo b; echo c"]);
    let abc = abc.trim();
    k.wait_exited(abc, Duration::from_secs(5));
    assert_eq!(
        k.ok(&["logs", "--tail", "1", abc]),
        "c\n",
        "only the last line"
    );
    assert_eq!(k.ok(&["logs", "-n", "2", abc]), "b\nc\n");
    assert_eq!(k.ok(&["logs", "--tail", "0", abc]), "");
    assert_eq!(k.ok(&["logs", "--since", "1h", id]), "out1\nout2\n");
    assert_eq!(k.ok(&["logs", "--since", "2999-01-01T00:00:00Z", id]), "");
    let bad = k.run(&["logs", "--tail", "lots", id]);
    assert_eq!(bad.code, 125);
    assert!(bad.stderr.contains("--tail"), "{}", bad.stderr);
    let ts = k.ok(&["logs", "-t", id]);
    assert!(
        ts.lines().all(|l| l.len() > 30 && l.as_bytes()[4] == b'-'),
        "{ts}"
    );
}

#[test]
fn kill_sends_the_signal_and_stop_uses_the_stop_signal() {
    let k = Kiste::new();
    k.busybox();
    let trap = "trap 'exit 7' USR1; trap 'exit 9' USR2; echo ready; while :; do sleep 0.05; done";
    // The traps must be set before the signal comes (PID 1 ignores signals it has no handler for).
    let ready = |name: &str| k.wait_for_log(name, "ready", Duration::from_secs(10));
    let a = k.ok(&["run", "-d", "--name", "ka", "busybox", "sh", "-c", trap]);
    ready("ka");
    assert_eq!(k.ok(&["kill", "-s", "USR1", "ka"]).trim(), "ka");
    k.wait_exited(a.trim(), Duration::from_secs(5));
    assert_eq!(k.inspect("ka")["State"]["ExitCode"], 7);
    k.ok(&[
        "run",
        "-d",
        "--name",
        "kb",
        "--stop-signal",
        "SIGUSR2",
        "busybox",
        "sh",
        "-c",
        trap,
    ]);
    ready("kb");
    let t0 = std::time::Instant::now();
    k.ok(&["stop", "kb"]);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "the stop signal ended it without waiting for SIGKILL"
    );
    assert_eq!(k.inspect("kb")["State"]["ExitCode"], 9);
    let bad = k.run(&["kill", "-s", "NOPE", "kb"]);
    assert_eq!(bad.code, 125);
    assert!(bad.stderr.contains("NOPE"), "{}", bad.stderr);
    let not_running = k.run(&["kill", "kb"]);
    assert_eq!(not_running.code, 1);
    assert!(
        not_running.stderr.contains("not running"),
        "{}",
        not_running.stderr
    );
}

#[test]
fn import_turns_a_rootfs_tarball_into_an_image() {
    let k = Kiste::new();
    let rootfs = k.dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/cat")).unwrap();
    std::fs::write(rootfs.join("hello.txt"), "imported\n").unwrap();
    let tar = k.dir.path().join("rootfs.tar");
    tar_dir(&rootfs, &tar);
    let id = k.ok(&["import", tar.to_str().unwrap(), "imported:1.0"]);
    assert!(id.trim().starts_with("sha256:"), "{id}");
    assert!(k
        .ok(&["images"])
        .lines()
        .any(|l| l.starts_with("imported ") && l.contains("1.0")));
    assert_eq!(
        k.ok(&["run", "--rm", "imported:1.0", "/bin/cat", "/hello.txt"]),
        "imported\n"
    );
}

#[test]
fn stopping_several_containers_signals_them_together_not_one_after_another() {
    let k = Kiste::new();
    k.busybox();
    // Each container notes SIGTERM and keeps running, so only SIGKILL ends it.
    let script = "trap 'echo got-term' TERM; echo ready; while :; do sleep 0.05; done";
    for name in ["s1", "s2", "s3"] {
        k.ok(&["run", "-d", "--name", name, "busybox", "sh", "-c", script]);
        k.wait_for_log(name, "ready", Duration::from_secs(10));
    }
    // A timeout no test waits out: stopping one container after another, s2 would get its
    // SIGTERM only once s1's 60 s had passed.
    let stop = k
        .cmd(&["stop", "-t", "60", "s1", "nosuch", "s2", "s3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for name in ["s1", "s2", "s3"] {
        k.wait_for_log(name, "got-term", Duration::from_secs(20));
    }
    // All three have their SIGTERM inside the first timeout; end them without waiting it out.
    k.ok(&["kill", "s1", "s2", "s3"]);
    let out: Run = stop.wait_with_output().unwrap().into();
    assert_eq!(out.code, 1, "the missing one makes it fail: {}", out.stderr);
    assert_eq!(out.stdout, "s1\ns2\ns3\n", "each argument printed in order");
    let ps = k.ok(&["ps", "-a"]);
    assert_eq!(ps.matches("Exited (137)").count(), 3, "{ps}");
}
