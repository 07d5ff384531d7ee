//! Honest output around the container handle: `start -a` with several containers is
//! refused before any starts, as docker does; `-p` with `--network host` warns that the
//! ports are discarded (docker's words), and `--network none` takes them silently, as in
//! docker.

mod support;

use support::*;

#[test]
fn start_attach_with_several_containers_is_refused_before_any_starts() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "one", "busybox", "echo", "one"]);
    k.ok(&["create", "--name", "two", "busybox", "echo", "two"]);
    let r = k.run(&["start", "-a", "one", "two"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("you cannot start and attach multiple containers at once"),
        "{}",
        r.stderr
    );
    for name in ["one", "two"] {
        assert_eq!(
            k.inspect(name)["State"]["Status"],
            "created",
            "{name} not started"
        );
    }
    let r = k.run(&["start", "-a", "one"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "one\n"));
}

#[test]
fn publishing_with_host_network_warns_as_docker_does() {
    let k = Kiste::new();
    k.busybox();
    let port = free_port().to_string() + ":80";
    let host = k.run(&[
        "create",
        "--network",
        "host",
        "-p",
        &port,
        "busybox",
        "true",
    ]);
    assert_eq!(host.code, 0, "{}", host.stderr);
    assert!(
        host.stderr
            .contains("WARNING: Published ports are discarded when using host network mode"),
        "{}",
        host.stderr
    );
    assert_eq!(host.stdout.trim().len(), 64, "only the id on stdout");
    let none = k.run(&[
        "create",
        "--network",
        "none",
        "-p",
        &port,
        "busybox",
        "true",
    ]);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert!(!none.stderr.contains("WARNING"), "{}", none.stderr);
}
