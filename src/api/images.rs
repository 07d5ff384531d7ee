//! The image endpoints: list, inspect and pull (`POST /images/create`, streamed as
//! docker's JSON progress messages). A pull's `X-Registry-Auth` (the client's
//! credentials) is handed to `kiste pull` as a private docker config file.

use super::backend::Backend;
use super::http::{self, Request};
use super::routes::Reply;
use serde_json::{json, Value};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;

/// `GET /images/json`.
pub fn list(backend: &Backend) -> Reply {
    let out = backend.run(&["images", "-q", "--no-trunc"]);
    if !out.ok() {
        return Reply::failed(&out);
    }
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    ids.dedup();
    if ids.is_empty() {
        return Reply::Json(200, json!([]));
    }
    let mut args = vec!["image".to_string(), "inspect".into(), "--".into()];
    args.extend(ids);
    let out = backend.run(&args);
    let details: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let list: Vec<Value> = details
        .iter()
        .map(|d| {
            let created = d["Created"]
                .as_str()
                .and_then(crate::time::parse_rfc3339)
                .map(|n| (n / 1_000_000_000) as i64)
                .unwrap_or(0);
            json!({
                "Containers": -1,
                "Created": created,
                "Id": d["Id"],
                "Labels": d["Config"]["Labels"],
                "ParentId": d["Parent"].as_str().unwrap_or_default(),
                "RepoDigests": d["RepoDigests"].as_array().cloned().unwrap_or_default(),
                "RepoTags": d["RepoTags"].as_array().cloned().unwrap_or_default(),
                "SharedSize": -1,
                "Size": d["Size"],
                "VirtualSize": d["Size"],
            })
        })
        .collect();
    Reply::Json(200, Value::Array(list))
}

/// `GET /images/{name}/json`.
pub fn inspect(name: &str, backend: &Backend) -> Reply {
    match backend.inspect("image", name) {
        Ok(v) => Reply::Json(200, v),
        Err(_) => Reply::error(404, format!("No such image: {name}")),
    }
}

/// The `X-Registry-Auth` header (base64url JSON: username, password, serveraddress) as
/// a docker config.json holding that one login; None without usable credentials.
fn auth_config(header: &str) -> Option<Value> {
    let std_b64: String = header
        .trim()
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let padded = format!("{std_b64}{}", "=".repeat((4 - std_b64.len() % 4) % 4));
    let raw = crate::registry::creds::base64_decode(&padded)?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    let (user, pass) = (v["username"].as_str()?, v["password"].as_str()?);
    let server = v["serveraddress"].as_str().filter(|s| !s.is_empty())?;
    let auth = crate::registry::creds::base64_encode(format!("{user}:{pass}").as_bytes());
    Some(json!({ "auths": { server: { "auth": auth } } }))
}

/// `POST /images/create?fromImage=&tag=`: `kiste pull`, its lines as status messages.
pub fn pull(req: &Request, stream: &mut UnixStream, backend: &Backend) -> Reply {
    let Some(image) = req.param("fromImage").filter(|i| !i.is_empty()) else {
        return Reply::error(
            400,
            "importing images (fromSrc) is not supported; give fromImage",
        );
    };
    let tag = req.param("tag").unwrap_or_default();
    let reference = if tag.is_empty() {
        image.to_string()
    } else if tag.starts_with("sha256:") {
        format!("{image}@{tag}")
    } else {
        format!("{image}:{tag}")
    };
    let mut cmd = backend.command(&["pull", "--", reference.as_str()]);
    let auth_dir = req
        .header("x-registry-auth")
        .and_then(auth_config)
        .and_then(|config| {
            // Private to this connection's process, removed when the pull ends.
            let dir = backend
                .runroot
                .join(format!("api-auth-{}", std::process::id()));
            std::fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dir.join("config.json"))
                .and_then(|mut f| f.write_all(config.to_string().as_bytes()));
            Some(AuthDir(dir)).filter(|_| written.is_ok())
        });
    if let Some(dir) = &auth_dir {
        cmd.env("DOCKER_CONFIG", &dir.0);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return Reply::error(500, format!("cannot pull {reference}: {e}")),
    };
    drop(auth_dir);
    let _ = http::respond_stream(stream, 200, "application/json");
    let mut body = String::new();
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
    {
        body.push_str(&format!("{}\n", json!({ "status": line })));
    }
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let message = text.trim().trim_start_matches("Error: ").to_string();
        body.push_str(&format!(
            "{}\n",
            json!({ "errorDetail": { "message": message }, "error": message })
        ));
    }
    let _ = stream.write_all(body.as_bytes());
    Reply::Streamed
}

/// A pull's private credentials directory, removed on drop.
struct AuthDir(std::path::PathBuf);

impl Drop for AuthDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_header_becomes_a_config_with_one_login() {
        let raw = r#"{"username":"u","password":"p","serveraddress":"127.0.0.1:5000"}"#;
        let header = crate::registry::creds::base64_encode(raw.as_bytes())
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_");
        let config = auth_config(&header).unwrap();
        assert_eq!(config["auths"]["127.0.0.1:5000"]["auth"], "dTpw");
        assert!(auth_config("not base64!").is_none());
        assert!(auth_config(&crate::registry::creds::base64_encode(b"{}")).is_none());
    }
}
