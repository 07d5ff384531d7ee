//! `kiste system service` (a Docker Engine API on a unix socket) and `run/create
//! --use-api-socket`, driven by real clients: curl from the host, and docker's own 28.x
//! CLI (statically linked) inside a kiste container, whose siblings kiste then shows.
//! Field names are compared with dockerd 20.10's answers for the same endpoints.

mod support;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

/// A `kiste system service` this test started; killed (by its pid) and reaped on drop.
struct Service {
    child: Child,
    sock: PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn service(k: &Kiste, time: &str) -> Service {
    let sock = k.dir.path().join("api.sock");
    let uri = format!("unix://{}", sock.display());
    let child = k
        .cmd(&["system", "service", "--socket", &uri, "--time", time])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the api socket", Duration::from_secs(10), || {
        std::os::unix::net::UnixStream::connect(&sock).is_ok()
    });
    Service { child, sock }
}

/// One answer: status, headers (lower-case names) and body.
struct Answer {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// `curl --unix-socket SOCK` with `args` (method, data…) on `path`.
fn curl(sock: &Path, args: &[&str], path: &str) -> Answer {
    let out = Command::new("curl")
        .args(["-s", "-S", "-i", "--unix-socket"])
        .arg(sock)
        .args(args)
        .arg(format!("http://docker{path}"))
        .output()
        .expect("curl is installed");
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no answer to {path}: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let headers = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = headers
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn post_json(sock: &Path, path: &str, body: &str) -> Answer {
    curl(
        sock,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ],
        path,
    )
}

/// docker's multiplexed log stream split back into (stream, bytes) frames.
fn demux(mut bytes: &[u8]) -> Vec<(u8, String)> {
    let mut frames = Vec::new();
    while bytes.len() >= 8 {
        let len = u32::from_be_bytes(bytes[4..8].try_into().unwrap()) as usize;
        assert_eq!(&bytes[1..4], &[0, 0, 0], "frame header");
        frames.push((
            bytes[0],
            String::from_utf8_lossy(&bytes[8..8 + len]).into_owned(),
        ));
        bytes = &bytes[8 + len..];
    }
    assert!(bytes.is_empty(), "a partial frame is left");
    frames
}

#[test]
fn ping_and_version_answer_with_the_headers_dockers_cli_negotiates_with() {
    let k = Kiste::new();
    let s = service(&k, "0");
    let a = curl(&s.sock, &[], "/_ping");
    assert_eq!((a.status, a.body.as_slice()), (200, &b"OK"[..]));
    assert!(a.headers.contains("api-version: 1.41"), "{}", a.headers);
    assert!(a.headers.contains("ostype: linux"), "{}", a.headers);
    let a = curl(&s.sock, &["-I"], "/v1.41/_ping");
    assert_eq!(a.status, 200);
    let v = curl(&s.sock, &[], "/v1.41/version").json();
    assert_eq!(v["ApiVersion"], "1.41");
    assert_eq!(v["Os"], "linux");
    let a = curl(&s.sock, &[], "/v1.99/version");
    assert_eq!(a.status, 400);
    assert!(a.json()["message"].as_str().unwrap().contains("too new"));
    let info = curl(&s.sock, &[], "/info").json();
    assert_eq!(info["Containers"], 0, "{info}");
}

#[test]
fn bad_requests_get_dockers_status_codes_and_the_service_goes_on() {
    let k = Kiste::new();
    k.busybox();
    let s = service(&k, "0");
    let big = format!("X-Big: {}", "a".repeat(20 * 1024));
    assert_eq!(curl(&s.sock, &["-H", &big], "/_ping").status, 431);
    let a = post_json(&s.sock, "/containers/create", "{not json");
    assert_eq!(a.status, 400);
    assert!(a.json()["message"]
        .as_str()
        .unwrap()
        .contains("invalid JSON"));
    let a = post_json(
        &s.sock,
        "/containers/create",
        r#"{"Image":"nosuchimage:1","Cmd":["true"]}"#,
    );
    assert_eq!(a.status, 404, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["message"], "No such image: nosuchimage:1");
    let a = post_json(
        &s.sock,
        "/containers/create",
        r#"{"Image":"busybox","HostConfig":{"OomKillDisable":true}}"#,
    );
    assert_eq!(a.status, 400);
    assert!(a.json()["message"]
        .as_str()
        .unwrap()
        .contains("OomKillDisable"));
    let a = curl(&s.sock, &[], "/containers/nosuch/json");
    assert_eq!(
        (a.status, a.json()["message"].as_str()),
        (404, Some("No such container: nosuch"))
    );
    assert_eq!(
        curl(&s.sock, &["-X", "DELETE"], "/containers/nosuch").status,
        404
    );
    assert_eq!(curl(&s.sock, &[], "/images/nosuch/json").status, 404);
    assert_eq!(curl(&s.sock, &[], "/no/such/endpoint").status, 404);
    let a = post_json(
        &s.sock,
        "/containers/create?name=att",
        r#"{"Image":"busybox","Cmd":["true"]}"#,
    );
    assert_eq!(a.status, 201);
    // Without an upgrade and without stream=1: a plain answer with no past output.
    let a = curl(
        &s.sock,
        &["-X", "POST"],
        "/containers/att/attach?stdout=1&logs=1",
    );
    assert_eq!(a.status, 200);
    assert!(
        a.headers
            .contains("content-type: application/vnd.docker.multiplexed-stream"),
        "{}",
        a.headers
    );
    assert!(a.body.is_empty());
    // After all that the same service still answers.
    assert_eq!(curl(&s.sock, &[], "/_ping").status, 200);
}

#[test]
fn curl_creates_starts_waits_reads_logs_and_removes_a_container() {
    let k = Kiste::new();
    k.busybox();
    let s = service(&k, "0");
    let a = post_json(
        &s.sock,
        "/v1.41/containers/create?name=apitest",
        r#"{"Image":"busybox","Cmd":["sh","-c","echo out; echo err >&2; exit 3"],"Labels":{"via":"api"}}"#,
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let id = a.json()["Id"].as_str().unwrap().to_string();
    assert_eq!(
        k.ok(&["inspect", "-f", "{{.Name}}", "apitest"]).trim(),
        "/apitest"
    );

    let list = curl(&s.sock, &[], "/containers/json").json();
    assert_eq!(list, serde_json::json!([]), "not running: only with all=1");
    let list = curl(&s.sock, &[], "/containers/json?all=1").json();
    assert_eq!(list[0]["Id"], id.as_str());
    assert_eq!(list[0]["Names"], serde_json::json!(["/apitest"]));
    assert_eq!(list[0]["State"], "created");
    assert_eq!(list[0]["Labels"]["via"], "api");
    let filtered = curl(
        &s.sock,
        &[],
        "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22via%3Dnone%22%5D%7D",
    )
    .json();
    assert_eq!(filtered, serde_json::json!([]));

    assert_eq!(
        curl(&s.sock, &["-X", "POST"], &format!("/containers/{id}/start")).status,
        204
    );
    let w = curl(&s.sock, &["-X", "POST"], "/containers/apitest/wait");
    assert_eq!(w.status, 200);
    assert_eq!(w.json()["StatusCode"], 3);
    let v = curl(&s.sock, &[], "/containers/apitest/json").json();
    assert_eq!(v["State"]["ExitCode"], 3);
    assert_eq!(v["Id"], id.as_str());

    let logs = curl(&s.sock, &[], "/containers/apitest/logs?stdout=1&stderr=1");
    assert_eq!(logs.status, 200);
    let frames = demux(&logs.body);
    assert!(frames.contains(&(1, "out\n".into())), "{frames:?}");
    assert!(frames.contains(&(2, "err\n".into())), "{frames:?}");
    let only_err = demux(&curl(&s.sock, &[], "/containers/apitest/logs?stderr=1").body);
    assert_eq!(only_err, vec![(2, "err\n".to_string())]);

    assert_eq!(
        curl(&s.sock, &["-X", "DELETE"], "/containers/apitest?v=1").status,
        204
    );
    assert_eq!(curl(&s.sock, &[], "/containers/apitest/json").status, 404);
    assert!(k.run(&["inspect", "apitest"]).code != 0);
}

#[test]
fn attach_before_start_upgrades_the_connection_and_streams_that_run_framed() {
    let k = Kiste::new();
    k.busybox();
    let s = service(&k, "0");
    let a = post_json(
        &s.sock,
        "/containers/create",
        r#"{"Image":"busybox","Cmd":["sh","-c","echo out; echo err >&2; exit 3"]}"#,
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let id = a.json()["Id"].as_str().unwrap().to_string();
    let missing = curl(
        &s.sock,
        &[
            "-X",
            "POST",
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: tcp",
        ],
        "/containers/nosuch/attach?stream=1&stdout=1",
    );
    assert_eq!(missing.status, 404);

    // docker's CLI order: attach, then start; the attach gets the run that follows. The
    // client speaks the hijack itself: curl closes a connection upgraded to a protocol
    // it does not know.
    let mut conn = std::os::unix::net::UnixStream::connect(&s.sock).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        conn,
        "POST /v1.41/containers/{id}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "no head: {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101 upgraded"), "{head}");
    assert!(
        head.contains("content-type: application/vnd.docker.multiplexed-stream"),
        "{head}"
    );
    assert!(head.contains("upgrade: tcp"), "{head}");
    assert_eq!(
        curl(&s.sock, &["-X", "POST"], &format!("/containers/{id}/start")).status,
        204
    );
    conn.read_to_end(&mut raw)
        .expect("the attach ends with the run");
    let frames = demux(&raw[split + 4..]);
    let mut expected = vec![(1, "out\n".to_string()), (2, "err\n".to_string())];
    let mut got = frames.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "{frames:?}");
    let w = curl(&s.sock, &["-X", "POST"], &format!("/containers/{id}/wait"));
    assert_eq!(w.json()["StatusCode"], 3);

    // With a TTY the bytes come as they are.
    let a = post_json(
        &s.sock,
        "/containers/create",
        r#"{"Image":"busybox","Cmd":["echo","tty"],"Tty":true}"#,
    );
    let id = a.json()["Id"].as_str().unwrap().to_string();
    k.ok(&["start", &id]);
    k.ok(&["wait", &id]);
    let past = curl(
        &s.sock,
        &[
            "-X",
            "POST",
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: tcp",
        ],
        &format!("/containers/{id}/attach?logs=1&stdout=1"),
    );
    assert_eq!(past.status, 101);
    assert!(
        past.headers
            .contains("content-type: application/vnd.docker.raw-stream"),
        "{}",
        past.headers
    );
    assert_eq!(String::from_utf8_lossy(&past.body), "tty\r\n");

    // docker's CLI sends the terminal's size with /resize once the container runs.
    let a = post_json(
        &s.sock,
        "/containers/create",
        r#"{"Image":"busybox","Tty":true,"Cmd":["sh","-c","i=0; until [ \"$(stty size)\" = '33 101' ]; do i=$((i+1)); [ $i -lt 400 ] || exit 9; sleep 0.05; done"]}"#,
    );
    let id = a.json()["Id"].as_str().unwrap().to_string();
    let resize = format!("/containers/{id}/resize?h=33&w=101");
    assert_eq!(curl(&s.sock, &["-X", "POST"], &resize).status, 409);
    k.ok(&["start", &id]);
    assert_eq!(curl(&s.sock, &["-X", "POST"], &resize).status, 200);
    assert_eq!(k.ok(&["wait", &id]).trim(), "0", "the container saw 33x101");
}

#[test]
fn a_running_container_is_stopped_or_force_removed_as_docker_does() {
    let k = Kiste::new();
    k.busybox();
    let s = service(&k, "0");
    let a = post_json(
        &s.sock,
        "/containers/create?name=sleeper",
        r#"{"Image":"busybox","Cmd":["sleep","60"]}"#,
    );
    assert_eq!(a.status, 201);
    assert_eq!(
        curl(&s.sock, &["-X", "POST"], "/containers/sleeper/start").status,
        204
    );
    assert_eq!(
        curl(&s.sock, &["-X", "POST"], "/containers/sleeper/start").status,
        304
    );
    let list = curl(&s.sock, &[], "/containers/json").json();
    assert_eq!(list[0]["State"], "running");
    assert!(
        list[0]["Status"].as_str().unwrap().starts_with("Up"),
        "{list}"
    );
    let a = curl(&s.sock, &["-X", "DELETE"], "/containers/sleeper");
    assert_eq!(a.status, 409, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(
        curl(
            &s.sock,
            &["-X", "POST"],
            "/containers/sleeper/kill?signal=KILL"
        )
        .status,
        204
    );
    let w = curl(&s.sock, &["-X", "POST"], "/containers/sleeper/wait");
    assert_eq!(w.json()["StatusCode"], 137);
    assert_eq!(
        curl(&s.sock, &["-X", "POST"], "/containers/sleeper/stop").status,
        304
    );
    assert_eq!(
        curl(&s.sock, &["-X", "POST"], "/containers/sleeper/restart?t=1").status,
        204
    );
    assert_eq!(
        curl(&s.sock, &["-X", "DELETE"], "/containers/sleeper?force=1").status,
        204
    );
    assert_eq!(k.ok(&["ps", "-aq"]).trim(), "");
}

#[test]
fn a_second_service_on_a_live_socket_is_refused_and_a_stale_socket_is_replaced() {
    let k = Kiste::new();
    let s = service(&k, "0");
    let uri = format!("unix://{}", s.sock.display());
    let r = k.run(&["system", "service", "--socket", &uri, "--time", "1"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("cannot listen on"), "{}", r.stderr);
    assert_eq!(
        curl(&s.sock, &[], "/_ping").status,
        200,
        "the first one still serves"
    );
    drop(s);
    // Killed: its socket file stays behind, with nobody listening.
    let stale = k.dir.path().join("api.sock");
    assert!(stale.exists());
    let s = service(&k, "0");
    assert_eq!(curl(&s.sock, &[], "/_ping").status, 200);
}

#[test]
fn an_idle_service_ends_by_itself_and_removes_its_socket() {
    let k = Kiste::new();
    let mut s = service(&k, "1");
    assert_eq!(curl(&s.sock, &[], "/_ping").status, 200);
    wait_until("the idle service to end", Duration::from_secs(10), || {
        matches!(s.child.try_wait(), Ok(Some(_)))
    });
    assert!(s.child.try_wait().unwrap().unwrap().success());
    assert!(!s.sock.exists(), "the socket file is removed");
}

/// The key sets of `v`'s objects, `prefix`ed, down to `depth` levels.
fn keys(v: &serde_json::Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if let Some(o) = v.as_object() {
        for (k, v) in o {
            let name = format!("{prefix}{k}");
            if depth > 1 {
                keys(v, &format!("{name}."), depth - 1, out);
            }
            out.insert(name);
        }
    }
}

#[test]
fn list_and_inspect_fields_are_named_as_dockerds() {
    // Starts dockerd when none runs (scripts/test.sh stops it at the end).
    docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    k.ok(&["tag", "busybox", "kiste-apisock-bb:1"]);
    let tar = k.dir.path().join("bb.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), "kiste-apisock-bb:1"]);
    checked_output(Command::new("docker").args(["load", "-q", "-i", tar.to_str().unwrap()]));
    let dname = format!("kiste-apisock-{}", std::process::id());
    checked_output(Command::new("docker").args([
        "create",
        "--name",
        &dname,
        "-l",
        "a=1",
        "kiste-apisock-bb:1",
        "true",
    ]));
    let docker_sock = Path::new("/var/run/docker.sock");
    let theirs_list = curl(docker_sock, &[], "/v1.41/containers/json?all=1").json();
    let theirs_one = curl(docker_sock, &[], &format!("/v1.41/containers/{dname}/json")).json();
    let _ = Command::new("docker").args(["rm", "-f", &dname]).output();

    let s = service(&k, "0");
    k.ok(&["create", "--name", "mine", "-l", "a=1", "busybox", "true"]);
    let ours_list = curl(&s.sock, &[], "/v1.41/containers/json?all=1").json();
    let ours_one = curl(&s.sock, &[], "/v1.41/containers/mine/json").json();

    let theirs_row = theirs_list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Names"][0] == format!("/{dname}"))
        .unwrap();
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    keys(&ours_list[0], "", 2, &mut a);
    keys(theirs_row, "", 2, &mut b);
    // Network entries are keyed by the network's name, which differs between engines.
    a.retain(|k| !k.starts_with("NetworkSettings.Networks."));
    b.retain(|k| !k.starts_with("NetworkSettings.Networks."));
    assert_eq!(a, b, "/containers/json fields: ours vs dockerd's");
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    keys(&ours_one, "", 1, &mut a);
    keys(&theirs_one, "", 1, &mut b);
    let extra: Vec<_> = a.difference(&b).collect();
    assert!(
        extra.is_empty(),
        "/containers/ID/json fields dockerd does not have: {extra:?}"
    );
    for field in [
        "Id",
        "Created",
        "Path",
        "Args",
        "State",
        "Image",
        "Name",
        "Config",
        "HostConfig",
        "Mounts",
        "NetworkSettings",
    ] {
        assert!(a.contains(field), "{field} served");
    }
}
