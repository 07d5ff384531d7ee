//! `exec` as an unprivileged user: it joins the container (same namespaces, same user as
//! the container unless `-u`), its exit code is the command's, and the container's files
//! keep their owners.

mod support;

use support::rootless::{unsupported, User};
use support::*;

#[test]
fn a_user_execs_into_a_container_as_its_user_and_as_another() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let u = User::create("exec", true);
    u.busybox();
    u.ok(&[
        "run",
        "-d",
        "--name",
        "ex",
        "-h",
        "exechost",
        "busybox",
        "sh",
        "-c",
        "echo inside > /mark; chown 33:33 /mark; exec sleep 600",
    ]);
    let wait = std::time::Instant::now();
    while u.run(&["exec", "ex", "test", "-e", "/mark"]).code != 0 {
        assert!(wait.elapsed().as_secs() < 10, "/mark never appeared");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(u.ok(&["exec", "ex", "hostname"]), "exechost\n");
    assert_eq!(u.ok(&["exec", "ex", "id", "-u"]), "0\n");
    assert_eq!(u.ok(&["exec", "-u", "1000", "ex", "id", "-u"]), "1000\n");
    assert_eq!(
        u.ok(&["exec", "ex", "stat", "-c", "%u %n", "/mark"]),
        "33 /mark\n"
    );
    // The container's own pid namespace: its first process is pid 1.
    assert_eq!(u.ok(&["exec", "ex", "cat", "/proc/1/comm"]), "sleep\n");
    assert_eq!(u.run(&["exec", "ex", "sh", "-c", "exit 3"]).code, 3);
    assert_eq!(u.run(&["exec", "ex", "no-such-command"]).code, 127);
    u.ok(&["rm", "-f", "ex"]);
    assert_eq!(u.run(&["exec", "ex", "true"]).code, 1, "no such container");
}
