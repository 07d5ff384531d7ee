//! Networks of a rootless container: the default one (its own namespace connected by
//! pasta: an address, a default route, outbound connections, `-p` published on the host
//! as the user), `--network none` (loopback only) and `--network host`.

mod support;

use std::io::{BufRead, Write};
use std::net::TcpListener;
use support::rootless::{unsupported, User};
use support::*;

fn pasta_or_skip() -> bool {
    if let Some(why) = unsupported() {
        skip(why);
        return false;
    }
    if !have("pasta") {
        skip("the default rootless network needs pasta (Debian's passt)");
        return false;
    }
    true
}

#[test]
fn a_user_publishes_a_port_that_answers_on_the_host() {
    if !pasta_or_skip() {
        return;
    }
    let u = User::create("pub", true);
    u.busybox();
    let port = free_port();
    let published = format!("{port}:80");
    u.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &published,
        "busybox",
        "sh",
        "-c",
        "echo hello-rootless > /index.html; exec httpd -f -p 80 -h /",
    ]);
    let answer = http_get(port);
    assert!(answer.contains("hello-rootless"), "{answer}");
    assert_eq!(
        u.ok(&["ps", "--format", "{{.Ports}}"]),
        format!("0.0.0.0:{port}->80/tcp\n")
    );
    // The port is held by the user's helper, and given back when the container goes.
    u.ok(&["rm", "-f", "web"]);
    wait_until(
        "the port to be released",
        std::time::Duration::from_secs(10),
        || !port_in_use(port),
    );
    assert!(
        u.processes().iter().all(|pid| {
            // (name) state …: a zombie left for a non-reaping init does not count.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'));
            zombie || !(stat.contains("(pasta") || stat.contains("(passt"))
        }),
        "no network helper outlives its container"
    );
}

#[test]
fn a_rootless_container_reaches_out_through_its_default_route() {
    if !pasta_or_skip() {
        return;
    }
    let u = User::create("out", true);
    u.busybox();
    // A server on the host's loopback: pasta maps the container's gateway to it. The first
    // line is what counts: Debian 12's pasta (2023-03) can deliver the reply more than once
    // to busybox nc after the server's close.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(&s).read_line(&mut line).unwrap();
        assert_eq!(line, "ping\n");
        (&s).write_all(b"from-the-host\n").unwrap();
    });
    let script = format!(
        "ip route | grep -q '^default via' || exit 3; gw=$(ip route | awk '/^default/ {{print $3}}'); echo ping | timeout 10 nc $gw {port} | head -n 1; true"
    );
    let out = u.ok(&["run", "--rm", "busybox", "sh", "-c", &script]);
    assert_eq!(out, "from-the-host\n");
    server.join().unwrap();
}

#[test]
fn network_none_has_only_loopback_and_host_shares_the_hosts_interfaces() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let u = User::create("nn", true);
    u.busybox();
    let none = u.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "ls /sys/class/net",
    ]);
    assert_eq!(none, "lo\n");
    let host: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let inside = u.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "sh",
        "-c",
        "ls /sys/class/net",
    ]);
    let mut inside: Vec<&str> = inside.split_whitespace().collect();
    let mut host: Vec<&str> = host.iter().map(String::as_str).collect();
    inside.sort_unstable();
    host.sort_unstable();
    assert_eq!(inside, host);
}
