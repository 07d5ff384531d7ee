//! Published ports: TCP and UDP forwarded from the host into the container's own network
//! namespace, on every host address or only the one given (`-p ip:host:container`).

mod support;

use std::net::UdpSocket;
use std::time::Duration;
use support::*;

/// An image with a static UDP echo server (busybox has no UDP server applet).
fn udp_image(k: &Kiste) {
    let ctx = k.context(
        "udp",
        &[(
            "Dockerfile",
            "FROM busybox\nCOPY udp_echo /bin/udp_echo\nCMD [\"udp_echo\", \"9999\"]\n",
        )],
    );
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/payload/udp_echo.c");
    let st = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(ctx.join("udp_echo"))
        .arg(&src)
        .status()
        .expect("gcc is installed");
    assert!(st.success());
    k.ok(&["build", "-q", "-t", "udp-echo", ctx.to_str().unwrap()]);
}

#[test]
fn udp_ports_are_forwarded_both_ways() {
    let k = Kiste::new();
    k.busybox();
    udp_image(&k);
    let port = free_port();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "echo",
        "-p",
        &format!("{port}:9999/udp"),
        "udp-echo",
    ]);
    let ps = k.ok(&["ps"]);
    assert!(ps.contains(&format!("0.0.0.0:{port}->9999/udp")), "{ps}");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 64];
    let mut answer = None;
    for _ in 0..25 {
        sock.send_to(b"ping over udp", ("127.0.0.1", port)).unwrap();
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            answer = Some(buf[..n].to_vec());
            break;
        }
    }
    assert_eq!(answer.as_deref(), Some(&b"ping over udp"[..]));
    k.ok(&["rm", "-f", "echo"]);
    assert!(
        UdpSocket::bind(("0.0.0.0", port)).is_ok(),
        "the UDP port is released"
    );
}

#[test]
fn a_port_published_on_one_address_listens_only_there() {
    let k = Kiste::new();
    k.busybox();
    let port = free_port();
    k.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &format!("127.0.0.1:{port}:80"),
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/bin",
    ]);
    assert!(k.ok(&["ps"]).contains(&format!("127.0.0.1:{port}->80/tcp")));
    let answer = http_get(port);
    assert!(answer.contains("HTTP/1.1"), "{answer}");
    let inspect = k.inspect("web");
    assert_eq!(
        inspect["HostConfig"]["PortBindings"]["80/tcp"][0]["HostIp"],
        "127.0.0.1"
    );
    assert_eq!(
        inspect["NetworkSettings"]["Ports"],
        serde_json::json!({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": port.to_string()}]}),
        "docker's map of the bound ports"
    );
    assert_eq!(
        listeners(port),
        vec!["127.0.0.1".to_string()],
        "it listens on loopback only"
    );
    k.ok(&["rm", "-f", "web"]);
    assert!(!port_in_use(port));
}

/// The IPv4 addresses listening on TCP `port` in the host's namespace (/proc/net/tcp).
fn listeners(port: u16) -> Vec<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (addr, p) = f[1].split_once(':')?;
            (f[3] == "0A" && u16::from_str_radix(p, 16).ok()? == port).then(|| {
                let a = u32::from_str_radix(addr, 16).unwrap().to_le_bytes();
                format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
            })
        })
        .collect()
}

#[test]
fn a_random_host_port_is_chosen_for_a_bare_container_port() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run", "-d", "--name", "anyport", "-p", "80", "busybox", "httpd", "-f", "-p", "80", "-h",
        "/bin",
    ]);
    let ps = k.ok(&["ps"]);
    let mapping = ps
        .split_whitespace()
        .find(|w| w.ends_with("->80/tcp"))
        .expect("a mapping")
        .to_string();
    let port: u16 = mapping
        .trim_start_matches("0.0.0.0:")
        .trim_end_matches("->80/tcp")
        .parse()
        .unwrap();
    assert!(port > 0);
    assert_eq!(listeners(port), vec!["0.0.0.0".to_string()]);
    assert!(http_get(port).contains("HTTP/1.1"));
}
