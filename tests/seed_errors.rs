//! Bad input on the seed workflow: each gives one clear line and docker's exit code
//! (125 kiste's own error, 126 cannot execute, 127 not found; 1 for build and for
//! multi-container verbs), and leaves no record, mount, process or port behind.

mod support;

use support::*;

fn one_line(r: &Run) {
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "one line of error: {:?}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn build_errors_name_the_file_and_line() {
    let k = Kiste::new();
    k.busybox();
    let missing_ctx = k.run(&["build", "-t", "x", "/nonexistent/ctx"]);
    assert_eq!(missing_ctx.code, 1);
    assert!(
        missing_ctx.stderr.contains("/nonexistent/ctx"),
        "{}",
        missing_ctx.stderr
    );
    one_line(&missing_ctx);

    let empty = k.context("empty", &[("a.txt", "a")]);
    let no_df = k.run(&["build", "-t", "x", empty.to_str().unwrap()]);
    assert_eq!(no_df.code, 1);
    assert!(no_df.stderr.contains("Dockerfile"), "{}", no_df.stderr);
    one_line(&no_df);

    let cases: &[(&str, &str, &str)] = &[
        ("outside", "FROM busybox\nCOPY ../secret /x\n", "Dockerfile:2: COPY failed: forbidden path outside the build context"),
        ("missing", "FROM busybox\n\nCOPY nothere /x\n", "Dockerfile:3: COPY failed: file not found in build context"),
        ("unknown", "FROM busybox\nFROBNICATE x\n", "Dockerfile:2: unknown instruction"),
        ("noimage", "FROM nosuchimage:1\n", "Dockerfile:1: base image \"nosuchimage:1\""),
        ("failrun", "FROM busybox\nRUN echo failing-step; exit 3\n", "Dockerfile:2: The command '/bin/sh -c echo failing-step; exit 3' returned a non-zero code: 3"),
        ("nocmd", "FROM busybox\nRUN /does/not/exist\n", "Dockerfile:2:"),
    ];
    for (name, dockerfile, expected) in cases {
        let ctx = k.context(name, &[("Dockerfile", dockerfile), ("a.txt", "a")]);
        let r = k.run(&["build", "-t", &format!("bad-{name}"), ctx.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains(expected),
            "{name}: expected {expected:?} in {:?}",
            r.stderr
        );
        assert!(
            !k.ok(&["images"]).contains(&format!("bad-{name}")),
            "{name}: nothing stored"
        );
    }
    let leak_dir = k.context(
        "leakdir",
        &[("Dockerfile", "FROM busybox\nCOPY leak/passwd /x\n")],
    );
    std::os::unix::fs::symlink("/etc", leak_dir.join("leak")).unwrap();
    let r = k.run(&["build", "-t", "leaky", leak_dir.to_str().unwrap()]);
    assert_eq!(
        r.code, 1,
        "a symlink leading out of the context is refused: {}",
        r.stdout
    );
    // The link resolves inside the context (as BuildKit does): leak/passwd is then
    // <context>/etc/passwd, which does not exist; the host's /etc is never read.
    assert!(
        r.stderr.contains("Dockerfile:2:") && r.stderr.contains("not found in build context"),
        "{}",
        r.stderr
    );
    assert!(!k.ok(&["images"]).contains("leaky"), "nothing stored");
    assert!(
        k.mounts().is_empty(),
        "a failed RUN leaves no mount: {:?}",
        k.mounts()
    );
    assert_eq!(
        std::fs::read_dir(k.root().join("build"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "no build scratch left"
    );
}

#[test]
fn run_errors_use_docker_exit_codes_and_leave_nothing() {
    let k = Kiste::new();
    k.busybox();
    // --pull never: without it kiste first says "Unable to find image" and tries docker.io.
    let unknown = k.run(&["run", "--rm", "--pull", "never", "nosuchimage"]);
    assert_eq!(unknown.code, 125);
    assert!(unknown.stderr.contains("nosuchimage"), "{}", unknown.stderr);
    one_line(&unknown);

    let not_found = k.run(&["run", "--rm", "busybox", "/no/such/command"]);
    assert_eq!(not_found.code, 127, "{}", not_found.stderr);
    assert!(
        not_found.stderr.contains("/no/such/command"),
        "{}",
        not_found.stderr
    );
    one_line(&not_found);
    let not_found_path = k.run(&["run", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(not_found_path.code, 127);
    assert!(
        not_found_path
            .stderr
            .contains("executable file not found in $PATH"),
        "{}",
        not_found_path.stderr
    );

    let not_exec = k.run(&["run", "--rm", "busybox", "/bin"]);
    assert_eq!(
        not_exec.code, 126,
        "a directory cannot be executed: {}",
        not_exec.stderr
    );
    one_line(&not_exec);

    let detached = k.run(&["run", "-d", "--name", "broken", "busybox", "nosuchcmd"]);
    assert_eq!(
        detached.code, 127,
        "run -d reports a failed start: {}",
        detached.stderr
    );
    assert!(
        k.ok(&["ps", "-a"]).contains("Created"),
        "the container stays, as in docker"
    );
    assert_eq!(k.inspect("broken")["State"]["ExitCode"], 127);
    k.ok(&["rm", "broken"]);

    k.ok(&["create", "--name", "taken", "busybox", "true"]);
    let dup = k.run(&["run", "--name", "taken", "busybox", "true"]);
    assert_eq!(dup.code, 125);
    assert!(
        dup.stderr.contains("\"/taken\" is already in use"),
        "{}",
        dup.stderr
    );
    one_line(&dup);

    let port = free_port();
    let holder = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    let taken = k.run(&[
        "run",
        "-d",
        "--name",
        "porty",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "sleep",
        "30",
    ]);
    assert_eq!(taken.code, 125);
    assert!(
        taken.stderr.contains(&port.to_string()) && taken.stderr.contains("in use"),
        "{}",
        taken.stderr
    );
    one_line(&taken);
    drop(holder);
    assert!(!k.ok(&["ps"]).contains("porty"), "nothing runs");
    assert!(k.mounts().is_empty(), "no mount left: {:?}", k.mounts());

    for bad in [
        &["run", "--rm", "-p", "80:80:80:80", "busybox", "true"][..],
        &["run", "--rm", "--memory", "12q", "busybox", "true"],
        &["run", "--rm", "-w", "relative/dir", "busybox", "true"],
    ] {
        let r = k.run(bad);
        assert_eq!(r.code, 125, "{bad:?}");
        one_line(&r);
    }
    assert_eq!(
        k.ok(&["ps", "-a", "-q"]).lines().count(),
        2,
        "only 'taken' and 'porty' were created"
    );
}

#[test]
fn unknown_and_ambiguous_containers_are_reported() {
    let k = Kiste::new();
    k.busybox();
    let r = k.run(&["stop", "nosuch"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no such container: nosuch"),
        "{}",
        r.stderr
    );
    one_line(&r);
    // 17 containers: two must share their first hex digit.
    let mut ids = Vec::new();
    for _ in 0..17 {
        ids.push(k.ok(&["create", "busybox", "true"]).trim().to_string());
    }
    let c = (0..16)
        .map(|d| format!("{d:x}"))
        .find(|p| ids.iter().filter(|i| i.starts_with(p.as_str())).count() > 1)
        .unwrap();
    let amb = k.run(&["rm", &c]);
    assert_eq!(amb.code, 1);
    assert!(
        amb.stderr.contains("multiple containers match"),
        "{}",
        amb.stderr
    );
    for id in ids.iter().filter(|i| i.starts_with(c.as_str())) {
        assert!(
            amb.stderr.contains(&id[..12]),
            "the matches are listed: {}",
            amb.stderr
        );
    }
    // rm goes on past a missing one and exits non-zero.
    let (a, b) = (&ids[0], &ids[1]);
    let r = k.run(&["rm", &a[..12], "nosuch", &b[..12]]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, format!("{}\n{}\n", &a[..12], &b[..12]));
    assert!(r.stderr.contains("nosuch"));
    assert_eq!(k.ok(&["ps", "-a", "-q"]).lines().count(), 15);
}
