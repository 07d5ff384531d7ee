//! One connection: requests read in turn (keep-alive), each routed by method and path
//! (with or without docker's `/v1.NN` prefix) to its handler, and answered with docker's
//! status codes and `{"message": …}` errors. `/_ping`, `/version` and `/info` live here;
//! containers and images have their own files.

use super::backend::{Backend, Outcome};
use super::http::{self, Conn, Request};
use super::{containers, images, API_VERSION, MIN_API_VERSION};
use serde_json::{json, Value};
use std::os::unix::net::UnixStream;

/// What a handler answers.
pub enum Reply {
    Json(u16, Value),
    Empty(u16),
    /// A body of another type, with headers of its own.
    Raw {
        status: u16,
        headers: Vec<(&'static str, String)>,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// The handler wrote the whole response itself (a stream); the connection ends.
    Streamed,
}

impl Reply {
    /// docker's error body.
    pub fn error(status: u16, message: impl Into<String>) -> Reply {
        Reply::Json(status, json!({ "message": message.into() }))
    }

    /// A failed kiste subprocess as docker's status: no such object 404, a name in use
    /// or a state that forbids it 409, a refused value 400, anything else 500.
    pub fn failed(out: &Outcome) -> Reply {
        let message = out.message();
        let lower = message.to_ascii_lowercase();
        let status = if lower.contains("no such") || lower.contains("not found") {
            404
        } else if lower.contains("already in use")
            || lower.contains("is running")
            || lower.contains("is not running")
            || lower.contains("conflict")
        {
            409
        } else if out.code == 125 && !lower.contains("cannot") {
            400
        } else {
            500
        };
        Reply::error(status, message)
    }
}

/// Serves requests on `stream` until the client closes it or a response ends it.
pub fn handle_connection(stream: UnixStream, backend: &Backend) {
    // A client that sends nothing for this long (between or inside requests) is dropped,
    // so an idle or stalled connection does not hold its process for ever.
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(120)));
    let mut conn = Conn::new(stream);
    loop {
        let req = match conn.read_request() {
            Ok(r) => r,
            Err(e) => {
                if let Some(status) = e.status() {
                    let body = json!({ "message": e.to_string() }).to_string();
                    let _ = http::respond(
                        &mut conn.stream,
                        status,
                        &[("Connection", "close".into())],
                        "application/json",
                        body.as_bytes(),
                        false,
                    );
                }
                return;
            }
        };
        crate::log_debug!(
            "api: {} {} {}",
            req.method,
            req.path,
            String::from_utf8_lossy(&req.body[..req.body.len().min(4096)])
        );
        let head = req.method == "HEAD";
        let reply = match route(&req, &mut conn.stream, backend) {
            Ok(r) => r,
            Err(e) => Reply::error(400, e),
        };
        let common = vec![
            ("Api-Version", API_VERSION.to_string()),
            ("Docker-Experimental", "false".to_string()),
            ("Ostype", "linux".to_string()),
            ("Server", format!("kiste/{}", env!("CARGO_PKG_VERSION"))),
        ];
        let written = match reply {
            Reply::Json(status, v) => http::respond(
                &mut conn.stream,
                status,
                &common,
                "application/json",
                format!("{v}\n").as_bytes(),
                head,
            ),
            Reply::Empty(status) => http::respond(&mut conn.stream, status, &common, "", b"", head),
            Reply::Raw {
                status,
                mut headers,
                content_type,
                body,
            } => {
                headers.extend(common);
                http::respond(
                    &mut conn.stream,
                    status,
                    &headers,
                    content_type,
                    &body,
                    head,
                )
            }
            Reply::Streamed => return,
        };
        if written.is_err() || req.close {
            return;
        }
    }
}

/// The path without docker's version prefix; a version newer than kiste's is refused
/// as docker refuses it.
fn strip_version(path: &str) -> Result<&str, String> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok(path);
    };
    let (version, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some((major, minor)) = version.split_once('.') else {
        return Ok(path);
    };
    let (Ok(major), Ok(minor)) = (major.parse::<u32>(), minor.parse::<u32>()) else {
        return Ok(path);
    };
    let ours: Vec<u32> = API_VERSION
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    if (major, minor) > (ours[0], ours[1]) {
        return Err(format!(
            "client version {version} is too new. Maximum supported API version is {API_VERSION}"
        ));
    }
    Ok(&path[path.len() - tail.len() - 1..])
}

fn route(req: &Request, stream: &mut UnixStream, backend: &Backend) -> Result<Reply, String> {
    let path = strip_version(&req.path)?;
    let method = req.method.as_str();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    Ok(match (method, parts.as_slice()) {
        ("GET" | "HEAD", ["_ping"]) => ping(),
        ("GET", ["version"]) => Reply::Json(200, version()),
        ("GET", ["info"]) => info(backend),
        ("GET", ["containers", "json"]) => containers::list(req, backend),
        ("POST", ["containers", "create"]) => super::create::create(req, backend),
        ("GET", ["containers", id, "json"]) => containers::inspect(id, backend),
        ("POST", ["containers", id, action]) => {
            containers::action(req, stream, id, action, backend)
        }
        ("GET", ["containers", id, "logs"]) => containers::logs(req, stream, id, backend),
        ("DELETE", ["containers", id]) => containers::remove(req, id, backend),
        ("GET", ["images", "json"]) => images::list(backend),
        ("POST", ["images", "create"]) => images::pull(req, stream, backend),
        ("GET", ["images", ..]) if parts.len() > 2 && parts.last() == Some(&"json") => {
            images::inspect(&parts[1..parts.len() - 1].join("/"), backend)
        }
        (_, ["_ping" | "version" | "info"]) => Reply::error(405, "method not allowed"),
        _ => Reply::error(404, format!("page not found: {method} {path}")),
    })
}

/// `/_ping`: "OK" as text; the common headers carry what docker's CLI negotiates with.
fn ping() -> Reply {
    Reply::Raw {
        status: 200,
        headers: vec![
            ("Builder-Version", "1".to_string()),
            (
                "Cache-Control",
                "no-cache, no-store, must-revalidate".to_string(),
            ),
            ("Pragma", "no-cache".to_string()),
        ],
        content_type: "text/plain; charset=utf-8",
        body: b"OK".to_vec(),
    }
}

fn version() -> Value {
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let v = env!("CARGO_PKG_VERSION");
    json!({
        "Platform": { "Name": "kiste" },
        "Components": [{
            "Name": "Engine",
            "Version": v,
            "Details": {
                "ApiVersion": API_VERSION,
                "Arch": arch,
                "KernelVersion": kernel,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
            }
        }],
        "Version": v,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": "",
    })
}

/// `/info`: `kiste info`'s JSON, which already has docker's field names.
fn info(backend: &Backend) -> Reply {
    let out = backend.run(&["info", "--format", "json"]);
    if !out.ok() {
        return Reply::failed(&out);
    }
    match serde_json::from_slice::<Value>(&out.stdout) {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.remove("ClientInfo");
            }
            Reply::Json(200, v)
        }
        Err(e) => Reply::error(500, format!("info: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefix_is_stripped_and_too_new_refused() {
        assert_eq!(
            strip_version("/v1.41/containers/json").unwrap(),
            "/containers/json"
        );
        assert_eq!(strip_version("/v1.24/_ping").unwrap(), "/_ping");
        assert_eq!(
            strip_version("/containers/json").unwrap(),
            "/containers/json"
        );
        assert_eq!(strip_version("/volumes").unwrap(), "/volumes");
        assert!(strip_version("/v1.99/info")
            .unwrap_err()
            .contains("too new"));
    }

    #[test]
    fn failed_subprocesses_get_dockers_status() {
        let out = |code, stderr: &str| Outcome {
            code,
            stdout: Vec::new(),
            stderr: stderr.into(),
        };
        let status = |o: &Outcome| match Reply::failed(o) {
            Reply::Json(s, _) => s,
            _ => 0,
        };
        assert_eq!(status(&out(125, "Error: No such container: x\n")), 404);
        assert_eq!(
            status(&out(125, "Error: the name \"x\" is already in use")),
            409
        );
        assert_eq!(
            status(&out(125, "invalid argument \"x\" for \"--memory\" flag")),
            400
        );
        assert_eq!(status(&out(125, "cannot mount overlay")), 500);
    }
}
