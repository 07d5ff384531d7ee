//! Registry authentication against docker-registry: htpasswd Basic auth (login with
//! right and wrong credentials, logout, podman's auth.json), and Bearer tokens from a
//! small token issuer in this test (the registry's `auth: token` with a certificate the
//! test makes), anonymous for pull and with credentials for push, one token per scope
//! reused across every blob of a pull.

mod support;

use kiste::registry::creds::base64_encode;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::registry::*;
use support::*;

/// kiste with `args`, its credentials in `config_dir`; password on stdin if given.
fn kiste_as(k: &Kiste, config_dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut c = k.cmd(args);
    c.env("DOCKER_CONFIG", config_dir)
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR");
    match stdin {
        Some(text) => {
            c.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = c.spawn().unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap().into()
        }
        None => c.output().unwrap().into(),
    }
}

#[test]
fn htpasswd_basic_auth_login_push_pull_logout() {
    let k = Kiste::new();
    let Some(reg) = start_with_password(&k.dir.path().join("registry"), "kiste", "s3cret") else {
        return;
    };
    let config = k.dir.path().join("docker-config");
    let name = format!("{}/basic/bb:1", reg.host());
    busybox_as(&k, &name);

    let r = kiste_as(&k, &config, &["push", &name], None);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains("unauthorized") && r.stderr.contains(&name),
        "{}",
        r.stderr
    );

    let r = kiste_as(
        &k,
        &config,
        &["login", "-u", "kiste", "--password-stdin", &reg.host()],
        Some("wrong\n"),
    );
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    assert!(!config.join("config.json").exists());

    let r = kiste_as(
        &k,
        &config,
        &["login", "-u", "kiste", "--password-stdin", &reg.host()],
        Some("s3cret\n"),
    );
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "Login Succeeded"),
        "{}",
        r.stderr
    );
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(config.join("config.json")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config.join("config.json")).unwrap()).unwrap();
    assert_eq!(
        saved["auths"][reg.host()]["auth"],
        base64_encode(b"kiste:s3cret")
    );

    let r = kiste_as(&k, &config, &["push", &name], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let k2 = Kiste::new();
    let r = kiste_as(&k2, &config, &["pull", &name], None);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // podman's auth.json is read too.
    let podman_auth = k.dir.path().join("auth.json");
    std::fs::write(
        &podman_auth,
        std::fs::read(config.join("config.json")).unwrap(),
    )
    .unwrap();
    let r = kiste_as(&k, &config, &["logout", &reg.host()], None);
    assert_eq!(
        r.stdout.trim(),
        format!("Removing login credentials for {}", reg.host())
    );
    let k3 = Kiste::new();
    let r = kiste_as(&k3, &config, &["pull", &name], None);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r: Run = k3
        .cmd(&["pull", &name])
        .env("DOCKER_CONFIG", &config)
        .env("REGISTRY_AUTH_FILE", &podman_auth)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A token issuer: signs RS256 JWTs with `key` (certificate `der` in x5c) for scopes it
/// is asked for; pull for anyone, push only for kiste:t0ken; wrong credentials get 401.
struct TokenServer {
    port: u16,
    requests: Arc<AtomicUsize>,
}

fn b64url(bytes: &[u8]) -> String {
    base64_encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

fn start_token_server(dir: &Path) -> TokenServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    let dir = dir.to_path_buf();
    let der = std::fs::read(dir.join("token.der")).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut authorization = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("authorization") {
                        authorization = Some(v.trim().to_string());
                    }
                }
            }
            count.fetch_add(1, Ordering::SeqCst);
            let target = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
            let scopes: Vec<String> = query
                .split('&')
                .filter_map(|kv| kv.strip_prefix("scope="))
                .map(|s| {
                    s.replace("%3A", ":")
                        .replace("%2C", ",")
                        .replace("%2F", "/")
                })
                .collect();
            let user = match authorization.as_deref() {
                None => Some(false),
                Some(a) if a == format!("Basic {}", base64_encode(b"kiste:t0ken")) => Some(true),
                Some(_) => None,
            };
            let Some(privileged) = user else {
                let _ = stream.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
                continue;
            };
            let access: Vec<serde_json::Value> = scopes
                .iter()
                .filter_map(|s| {
                    let mut p = s.splitn(3, ':');
                    let (kind, name, actions) = (p.next()?, p.next()?, p.next()?);
                    let actions: Vec<&str> = actions
                        .split(',')
                        .filter(|a| privileged || *a == "pull")
                        .collect();
                    Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
                })
                .collect();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header =
                serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [base64_encode(&der)]});
            let claims = serde_json::json!({
                "iss": "kiste-test-issuer", "sub": if privileged {"kiste"} else {""},
                "aud": "kiste-test", "exp": now + 600, "nbf": now - 10, "iat": now - 10,
                "jti": format!("{now}-{}", count.load(Ordering::SeqCst)), "access": access
            });
            let signing_input = format!(
                "{}.{}",
                b64url(&serde_json::to_vec(&header).unwrap()),
                b64url(&serde_json::to_vec(&claims).unwrap())
            );
            let mut sign = Command::new("openssl")
                .args(["dgst", "-sha256", "-sign"])
                .arg(dir.join("token.key"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            sign.stdin
                .take()
                .unwrap()
                .write_all(signing_input.as_bytes())
                .unwrap();
            let sig = sign.wait_with_output().unwrap().stdout;
            let token = format!("{signing_input}.{}", b64url(&sig));
            let body = serde_json::to_vec(&serde_json::json!({"token": token})).unwrap();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|_| stream.write_all(&body));
        }
    });
    TokenServer { port, requests }
}

#[test]
fn bearer_tokens_anonymous_pull_credentialed_push_and_reuse() {
    if !have("openssl") {
        return skip("openssl is not installed");
    }
    let k = Kiste::new();
    let dir = k.dir.path().join("registry");
    std::fs::create_dir_all(&dir).unwrap();
    self_signed_cert(&dir, "token signer", "token", &[]);
    openssl(
        &dir,
        &[
            "x509",
            "-in",
            "token.crt",
            "-outform",
            "DER",
            "-out",
            "token.der",
        ],
    );
    let tokens = start_token_server(&dir);
    let auth = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: kiste-test\n    issuer: kiste-test-issuer\n    rootcertbundle: {}/token.crt\n",
        tokens.port,
        dir.display()
    );
    let Some(reg) = Registry::start(&dir, "", &auth) else {
        return skip("docker-registry is not installed");
    };
    let config = k.dir.path().join("docker-config");
    let name = format!("{}/tok/bb:1", reg.host());
    busybox_as(&k, &name);

    // Anonymous tokens carry pull only: the registry refuses the upload.
    let r = kiste_as(&k, &config, &["push", &name], None);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);

    let r = kiste_as(
        &k,
        &config,
        &["login", "-u", "kiste", "--password-stdin", &reg.host()],
        Some("nope"),
    );
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = kiste_as(
        &k,
        &config,
        &["login", "-u", "kiste", "--password-stdin", &reg.host()],
        Some("t0ken"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let before = tokens.requests.load(Ordering::SeqCst);
    let r = kiste_as(&k, &config, &["push", &name], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        tokens.requests.load(Ordering::SeqCst) - before,
        1,
        "one token for the whole push"
    );

    // A fresh store without credentials pulls anonymously: one token for the manifest,
    // the config and both layers.
    let k2 = Kiste::new();
    let empty = k2.dir.path().join("no-creds");
    let before = tokens.requests.load(Ordering::SeqCst);
    let r = kiste_as(&k2, &empty, &["pull", &name], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.matches("Pull complete").count(), 2, "{}", r.stdout);
    assert_eq!(
        tokens.requests.load(Ordering::SeqCst) - before,
        1,
        "token reused across blobs"
    );
    assert_eq!(k2.sh(&name, "echo token-ok").trim(), "token-ok");
}
