//! Helpers for the registry tests (`tests/registry_*.rs`): Debian's
//! `docker-registry` (the CNCF distribution registry) started on a random loopback port
//! with a config the test writes, stopped by pid when dropped; a small in-process fake
//! registry whose answers a test can spoil (wrong bytes, a connection closed mid-blob, a
//! stall); and images built in memory for it.
use super::{free_port, have, Kiste};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `docker-registry serve`.
pub struct Registry {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

impl Registry {
    /// Starts a registry storing under `dir/data` with `extra` YAML appended under
    /// `http:` (`tls:` …) or at top level (`auth:` …, given with its own indentation).
    /// `None` when docker-registry is not installed.
    pub fn start(dir: &Path, http_extra: &str, top_extra: &str) -> Option<Registry> {
        if !have("docker-registry") {
            return None;
        }
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}/data\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{http_extra}{top_extra}",
            dir.display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let reg = Registry {
            port,
            dir: dir.to_path_buf(),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not listen: {}",
                std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(reg)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The file the registry keeps blob `digest` in.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// GET a path of the registry's API over plain http (no auth), JSON-decoded.
    pub fn get_json(&self, path: &str, accept: &str) -> (serde_json::Value, String) {
        let mut resp = ureq::get(&format!("http://{}{path}", self.host()))
            .header("Accept", accept)
            .call()
            .unwrap();
        let bytes = resp.body_mut().read_to_vec().unwrap();
        (serde_json::from_slice(&bytes).unwrap(), sha256(&bytes))
    }

    /// Writes `repo:tag` as an OCI image index of the pushed manifests `repo:ENTRY`, each
    /// for linux on its architecture (`entries`: (ENTRY, ARCH)), and returns its bytes.
    pub fn put_index(&self, repo: &str, tag: &str, entries: &[(&str, &str)]) -> Vec<u8> {
        let host = self.host();
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|(entry, arch)| {
                let mut resp = ureq::get(&format!("http://{host}/v2/{repo}/manifests/{entry}"))
                    .header("Accept", "application/vnd.oci.image.manifest.v1+json")
                    .call()
                    .unwrap();
                let bytes = resp.body_mut().read_to_vec().unwrap();
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": sha256(&bytes), "size": bytes.len(),
                    "platform": {"os": "linux", "architecture": arch}
                })
            })
            .collect();
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests
        }))
        .unwrap();
        let resp = ureq::put(&format!("http://{host}/v2/{repo}/manifests/{tag}"))
            .header("Content-Type", "application/vnd.oci.image.index.v1+json")
            .send(&index[..])
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201, "PUT {repo}:{tag}");
        index
    }
}

/// A registry under `dir` that asks for `user`/`password` (htpasswd Basic auth). None,
/// after saying why, when htpasswd or docker-registry is not installed.
pub fn start_with_password(dir: &Path, user: &str, password: &str) -> Option<Registry> {
    if !have("htpasswd") {
        super::skip("htpasswd is not installed (apt-get install apache2-utils)");
        return None;
    }
    std::fs::create_dir_all(dir).unwrap();
    let hash = super::checked_output(Command::new("htpasswd").args(["-Bbn", user, password]));
    std::fs::write(dir.join("htpasswd"), hash).unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: kiste-test\n    path: {}/htpasswd\n",
        dir.display()
    );
    let reg = Registry::start(dir, "", &auth);
    if reg.is_none() {
        super::skip("docker-registry is not installed (apt-get install docker-registry)");
    }
    reg
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A busybox image tagged `tag` in `k`'s store, built the README's way.
pub fn busybox_as(k: &Kiste, tag: &str) {
    k.busybox();
    k.ok(&["tag", "busybox", tag]);
}

/// Runs `openssl` with `args` in `dir`; panics on failure.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed certificate for `/CN=cn`, valid two days, in `dir/STEM.crt` with its
/// key in `dir/STEM.key`; `extra` goes to `openssl req` as well.
pub fn self_signed_cert(dir: &Path, cn: &str, stem: &str, extra: &[&str]) {
    let (subj, key, crt) = (
        format!("/CN={cn}"),
        format!("{stem}.key"),
        format!("{stem}.crt"),
    );
    let mut args = vec![
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subj, "-keyout",
        &key, "-out", &crt,
    ];
    args.extend_from_slice(extra);
    openssl(dir, &args);
}

/// A CA (`ca.crt`, `ca.key`) and a server certificate for 127.0.0.1 signed by it
/// (`server.crt`, `server.key`) in `dir`.
pub fn make_ca_and_server_cert(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    self_signed_cert(
        dir,
        "kiste test CA",
        "ca",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.crt",
        ],
    );
}

/// One request as the fake registry saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

/// How the fake registry behaves beyond serving its content.
#[derive(Debug, Clone, Default)]
pub struct FakeOptions {
    /// Answer 401 (`WWW-Authenticate: Basic`) unless this exact Authorization header comes.
    pub require_authorization: Option<String>,
    /// Answer blob requests with a 307 to this base URL (`http://host:port`).
    pub redirect_blobs_to: Option<String>,
}

/// How the fake registry spoils a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    /// Send half the bytes (with the full Content-Length) and close.
    CloseMidway,
    /// Send half the bytes and then hang until the test ends.
    Stall,
    /// Flip a byte in the middle.
    Corrupt,
}

/// An in-process registry serving fixed content over plain http.
pub struct FakeRegistry {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

/// Content for the fake registry: path under /v2/ → (content type, bytes).
pub type Content = HashMap<String, (String, Vec<u8>)>;

impl FakeRegistry {
    /// Serves `content`; `spoil` applies to the blob with that digest.
    pub fn start(content: Content, spoil: Option<(String, Spoil)>) -> FakeRegistry {
        FakeRegistry::start_with(content, spoil, FakeOptions::default())
    }

    /// As `start`, with authentication and redirects as `options` say.
    pub fn start_with(
        content: Content,
        spoil: Option<(String, Spoil)>,
        options: FakeOptions,
    ) -> FakeRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let content = Arc::new(content);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (content, seen, spoil, stop, options) = (
                            content.clone(),
                            seen2.clone(),
                            spoil.clone(),
                            stop2.clone(),
                            options.clone(),
                        );
                        std::thread::spawn(move || {
                            serve(stream, &content, &seen, spoil, &stop, &options)
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FakeRegistry { port, seen, stop }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for FakeRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(
    stream: TcpStream,
    content: &Content,
    seen: &Mutex<Vec<Seen>>,
    spoil: Option<(String, Spoil)>,
    stop: &AtomicBool,
    options: &FakeOptions,
) {
    stream.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut authorization = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("authorization") {
                    authorization = Some(v.trim().to_string());
                }
            }
        }
        let mut parts = request.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        seen.lock().unwrap().push(Seen {
            method: method.clone(),
            path: path.clone(),
            authorization: authorization.clone(),
        });
        if let Some(wanted) = &options.require_authorization {
            if authorization.as_ref() != Some(wanted) {
                let _ = out.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"fake\"\r\nContent-Length: 0\r\n\r\n",
                );
                continue;
            }
        }
        if let (Some(base), true) = (&options.redirect_blobs_to, path.contains("/blobs/")) {
            let head = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {base}{path}\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = out.write_all(head.as_bytes());
            continue;
        }
        let key = path.strip_prefix("/v2/").unwrap_or("").to_string();
        let found = if key.is_empty() {
            Some(("application/json".to_string(), b"{}".to_vec()))
        } else {
            content.get(&key).cloned()
        };
        let Some((ctype, body)) = found else {
            let msg = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
            let head = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                msg.len()
            );
            let _ = out
                .write_all(head.as_bytes())
                .and_then(|_| out.write_all(msg));
            continue;
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = out.write_all(head.as_bytes());
        if method == "HEAD" {
            continue;
        }
        match &spoil {
            Some((digest, how)) if key.ends_with(digest.as_str()) => {
                let half = body.len() / 2;
                match how {
                    Spoil::CloseMidway => {
                        let _ = out.write_all(&body[..half]);
                        return;
                    }
                    Spoil::Stall => {
                        let _ = out.write_all(&body[..half]);
                        let _ = out.flush();
                        while !stop.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        return;
                    }
                    Spoil::Corrupt => {
                        let mut bad = body.clone();
                        bad[half] ^= 0xff;
                        let _ = out.write_all(&bad);
                    }
                }
            }
            _ => {
                let _ = out.write_all(&body);
            }
        }
    }
}

/// An image made in memory: one gzip layer holding `files`, its config and manifest,
/// as fake-registry content under repository `repo` and tag `tag`.
pub struct MemImage {
    pub content: Content,
    pub layer_digest: String,
    pub manifest_digest: String,
    pub config_digest: String,
}

pub fn mem_image(
    repo: &str,
    tag: &str,
    files: &[(&str, Vec<u8>)],
    config_media_type: &str,
) -> MemImage {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/hello"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]}
    });
    let config = serde_json::to_vec(&config).unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_media_type, "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(&gz), "size": gz.len()}]
    });
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let oci = "application/vnd.oci.image.manifest.v1+json".to_string();
    let blob = "application/octet-stream".to_string();
    let mut content = Content::new();
    content.insert(
        format!("{repo}/manifests/{tag}"),
        (oci.clone(), manifest.clone()),
    );
    content.insert(
        format!("{repo}/manifests/{}", sha256(&manifest)),
        (oci, manifest.clone()),
    );
    content.insert(
        format!("{repo}/blobs/{}", sha256(&config)),
        (blob.clone(), config.clone()),
    );
    content.insert(format!("{repo}/blobs/{}", sha256(&gz)), (blob, gz.clone()));
    MemImage {
        content,
        layer_digest: sha256(&gz),
        manifest_digest: sha256(&manifest),
        config_digest: sha256(&config),
    }
}

/// Incompressible bytes (so a layer has a real size on the wire).
pub fn noise(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Reads all of a reader (for small helper outputs).
pub fn read_all(mut r: impl Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}
