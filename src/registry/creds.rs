//! Registry credentials in the files users already have: docker's
//! `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), which `kiste login`
//! writes (mode 0600, atomically), and podman's `auth.json` (`REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json`), which is only read. Entries are
//! `{"auths": {"HOST": {"auth": base64("user:password")}}}`; Docker Hub is keyed
//! `https://index.docker.io/v1/` as docker does. docker's credential helpers
//! (`credHelpers`, `credsStore`) are asked when the file names one; `login` itself
//! always writes the `auths` entry.

use super::RegistryError;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A user name and password (or identity token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, <password>)", self.username)
    }
}

impl Credentials {
    /// `Basic base64(user:password)` for an Authorization header.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            base64_encode(format!("{}:{}", self.username, self.password).as_bytes())
        )
    }
}

/// The key a registry host is stored under in config.json.
pub fn server_key(server: &str) -> String {
    let host = server
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    match host {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "index.docker.io/v1" => {
            DOCKER_HUB_KEY.to_string()
        }
        other => other.split('/').next().unwrap_or(other).to_string(),
    }
}

/// Looks `host` up in each of `files` in order (docker's config, then podman's).
pub fn lookup(files: &[PathBuf], host: &str) -> Result<Option<Credentials>, RegistryError> {
    let key = server_key(host);
    for file in files {
        let Some(doc) = read_json(file)? else {
            continue;
        };
        let helper = |field: &str| -> Option<String> {
            let v = doc.get(field)?;
            let name = match v.as_object() {
                Some(map) => map.iter().find(|(k, _)| server_key(k) == key)?.1.as_str()?,
                None => v.as_str()?,
            };
            (!name.is_empty()).then(|| name.to_string())
        };
        if let Some(name) = helper("credHelpers") {
            return run_helper(&name, &key);
        }
        let auths = doc.get("auths").and_then(Value::as_object);
        let entry = auths.and_then(|a| a.iter().find(|(k, _)| server_key(k) == key));
        let Some(auth) = entry
            .and_then(|(_, v)| v.get("auth"))
            .and_then(Value::as_str)
        else {
            if let Some(name) = helper("credsStore") {
                return run_helper(&name, &key);
            }
            continue;
        };
        let bad = |reason: &str| RegistryError::File {
            path: file.display().to_string(),
            reason: format!("credentials for {key}: {reason}"),
        };
        let decoded = base64_decode(auth).ok_or_else(|| bad("invalid base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| bad("not UTF-8"))?;
        let (user, pass) = text.split_once(':').ok_or_else(|| bad("no ':' in auth"))?;
        return Ok(Some(Credentials {
            username: user.to_string(),
            password: pass.to_string(),
        }));
    }
    Ok(None)
}

/// Asks docker's credential helper `docker-credential-NAME` for `server` (`get`, the
/// server on stdin, `{"Username","Secret"}` on stdout). A helper that knows nothing
/// about the server exits non-zero: that is no credentials, not an error.
fn run_helper(name: &str, server: &str) -> Result<Option<Credentials>, RegistryError> {
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{name}");
    let fail = |reason: String| RegistryError::File {
        path: program.clone(),
        reason,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("cannot run the credential helper: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("credential helper failed: {e}")))?;
    if !out.status.success() {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct HelperAnswer {
        #[serde(rename = "Username")]
        username: String,
        #[serde(rename = "Secret")]
        secret: String,
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail(format!("invalid answer for {server}: {e}")))?;
    Ok(Some(Credentials {
        username: answer.username,
        password: answer.secret,
    }))
}

/// Stores `creds` for `server` in docker's config file, keeping everything else in it.
pub fn store(file: &Path, server: &str, creds: &Credentials) -> Result<(), RegistryError> {
    let mut doc = read_json(file)?.unwrap_or_else(|| Value::Object(Map::new()));
    let auths = doc
        .as_object_mut()
        .ok_or_else(|| not_object(file))?
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let auths = auths.as_object_mut().ok_or_else(|| not_object(file))?;
    let userpass = format!("{}:{}", creds.username, creds.password);
    auths.insert(
        server_key(server),
        serde_json::json!({ "auth": base64_encode(userpass.as_bytes()) }),
    );
    write_json(file, &doc)
}

/// Removes `server`'s entry; returns whether there was one.
pub fn remove(file: &Path, server: &str) -> Result<bool, RegistryError> {
    let Some(mut doc) = read_json(file)? else {
        return Ok(false);
    };
    let key = server_key(server);
    let removed = doc
        .get_mut("auths")
        .and_then(Value::as_object_mut)
        .is_some_and(|auths| {
            let before = auths.len();
            auths.retain(|k, _| server_key(k) != key);
            auths.len() != before
        });
    if removed {
        write_json(file, &doc)?;
    }
    Ok(removed)
}

fn not_object(file: &Path) -> RegistryError {
    RegistryError::File {
        path: file.display().to_string(),
        reason: "not a JSON object with an \"auths\" object".to_string(),
    }
}

fn read_json(file: &Path) -> Result<Option<Value>, RegistryError> {
    let fail = |reason: String| RegistryError::File {
        path: file.display().to_string(),
        reason,
    };
    match std::fs::read(file) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| fail(e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Writes a temp file (0600) next to `file` and renames it over.
fn write_json(file: &Path, doc: &Value) -> Result<(), RegistryError> {
    let fail = |e: std::io::Error| RegistryError::File {
        path: file.display().to_string(),
        reason: e.to_string(),
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut bytes = serde_json::to_vec_pretty(doc).expect("JSON value serializes");
    bytes.push(b'\n');
    let how = crate::paths::Atomic {
        mode: 0o600,
        ..Default::default()
    };
    crate::paths::write_atomic(file, &bytes, &how).map_err(fail)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padding optional; `None` on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.trim().trim_end_matches('=').bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for s in ["", "a", "ab", "abc", "user:pa:ss", "kiste:secret!"] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_encode(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn login_then_lookup_then_logout() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("docker/config.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, r#"{"auths":{},"detachKeys":"ctrl-x"}"#).unwrap();
        let c = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        store(&file, "127.0.0.1:5000", &c).unwrap();
        store(&file, "docker.io", &c).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("detachKeys") && text.contains(DOCKER_HUB_KEY));
        let files = [dir.path().join("missing.json"), file.clone()];
        assert_eq!(lookup(&files, "127.0.0.1:5000").unwrap(), Some(c.clone()));
        assert_eq!(lookup(&files, "registry-1.docker.io").unwrap(), Some(c));
        assert!(remove(&file, "127.0.0.1:5000").unwrap());
        assert!(!remove(&file, "127.0.0.1:5000").unwrap());
        assert_eq!(lookup(&files, "127.0.0.1:5000").unwrap(), None);
    }

    #[test]
    fn credential_helpers_are_asked() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let helper = bin.join("docker-credential-kistetest");
        std::fs::write(
            &helper,
            "#!/bin/sh\nread server\n[ \"$server\" = reg.example:5000 ] || exit 1\necho '{\"ServerURL\":\"x\",\"Username\":\"hu\",\"Secret\":\"hs\"}'\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, r#"{"credHelpers":{"reg.example:5000":"kistetest"}}"#).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        // SAFETY: no other unit test reads or writes PATH.
        unsafe { std::env::set_var("PATH", &path) };
        let got = lookup(std::slice::from_ref(&file), "reg.example:5000").unwrap();
        assert_eq!(
            got.map(|c| (c.username, c.password)),
            Some(("hu".into(), "hs".into()))
        );
        std::fs::write(&file, r#"{"credsStore":"kistetest"}"#).unwrap();
        assert!(lookup(std::slice::from_ref(&file), "reg.example:5000")
            .unwrap()
            .is_some());
        assert_eq!(
            lookup(std::slice::from_ref(&file), "other:5000").unwrap(),
            None
        );
    }
}
