//! ADD of an https URL, against a TLS server on 127.0.0.1 (`openssl s_server -WWW`) whose
//! self-signed certificate is trusted through SSL_CERT_FILE; an untrusted certificate and
//! a checksum mismatch are errors with file:line.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn add_downloads_https_urls_and_checks_them() {
    let k = Kiste::new();
    k.busybox();
    let www = k.dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("payload.txt"), "over tls\n").unwrap();
    // A CA (trusted through SSL_CERT_FILE) and a server certificate it signed.
    let d = k.dir.path();
    let (ca, ca_key, cert, key, csr) = (
        d.join("ca.pem"),
        d.join("ca.key"),
        d.join("cert.pem"),
        d.join("key.pem"),
        d.join("srv.csr"),
    );
    let ext = d.join("ext.cnf");
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    let openssl = |args: &[&std::ffi::OsStr]| {
        let st = Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl {args:?}");
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    openssl(&[
        &os("req"),
        &os("-x509"),
        &os("-newkey"),
        &os("rsa:2048"),
        &os("-nodes"),
        &os("-days"),
        &os("1"),
        &os("-subj"),
        &os("/CN=kiste test CA"),
        &os("-keyout"),
        ca_key.as_os_str(),
        &os("-out"),
        ca.as_os_str(),
    ]);
    openssl(&[
        &os("req"),
        &os("-newkey"),
        &os("rsa:2048"),
        &os("-nodes"),
        &os("-subj"),
        &os("/CN=127.0.0.1"),
        &os("-keyout"),
        key.as_os_str(),
        &os("-out"),
        csr.as_os_str(),
    ]);
    openssl(&[
        &os("x509"),
        &os("-req"),
        &os("-in"),
        csr.as_os_str(),
        &os("-CA"),
        ca.as_os_str(),
        &os("-CAkey"),
        ca_key.as_os_str(),
        &os("-CAcreateserial"),
        &os("-days"),
        &os("1"),
        &os("-extfile"),
        ext.as_os_str(),
        &os("-out"),
        cert.as_os_str(),
    ]);
    let port = free_port();
    let _server = Server(
        Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept", &port.to_string()])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .current_dir(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sum = "sha256:bd0a4b6d7e6bf4bd4a1a8a5a3c3b1b6e1bd1b4f0e3e2f4c8ab0c6c4f4bd1e3b3";
    let real = {
        use sha2::Digest;
        format!("sha256:{:x}", sha2::Sha256::digest(b"over tls\n"))
    };
    let url = format!("https://127.0.0.1:{port}/payload.txt");
    let ctx = k.context(
        "tls",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nADD --checksum={real} {url} /got.txt\n"),
        )],
    );
    checked_output(k.command().env("SSL_CERT_FILE", &ca).args([
        "build",
        "-q",
        "-t",
        "tls",
        ctx.to_str().unwrap(),
    ]));
    assert_eq!(
        k.ok(&["run", "--rm", "tls", "cat", "/got.txt"]),
        "over tls\n"
    );

    let untrusted = k.run(&[
        "build",
        "--no-cache",
        "-q",
        "-t",
        "tls2",
        ctx.to_str().unwrap(),
    ]);
    assert_eq!(untrusted.code, 1, "a certificate nobody trusts is refused");
    assert!(
        untrusted.stderr.contains("Dockerfile:2: ADD failed"),
        "{}",
        untrusted.stderr
    );

    let bad = k.context(
        "badsum",
        &[(
            "Dockerfile",
            &format!("FROM busybox\nADD --checksum={sum} {url} /got.txt\n"),
        )],
    );
    let mismatch = k
        .command()
        .env("SSL_CERT_FILE", &ca)
        .args(["build", "-q", "-t", "tls3", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&mismatch.stderr);
    assert_eq!(mismatch.status.code(), Some(1));
    assert!(
        err.contains("Dockerfile:2:") && err.contains("checksum mismatch"),
        "{err}"
    );
    assert!(!k.ok(&["images"]).contains("tls3"));
}
