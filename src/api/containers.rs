//! The container endpoints: list, inspect, start/stop/kill/restart, wait, logs (docker's
//! multiplexed framing when the container has no TTY) and remove. Each runs the kiste
//! verb of the same name on the store and turns its output into docker's JSON.

use super::backend::Backend;
use super::http::{self, Request};
use super::routes::Reply;
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Stdio;

/// `GET /containers/json?all=&limit=&filters=`: `kiste ps` picks and orders them (with
/// docker's filters), `kiste inspect` gives what each row shows.
pub fn list(req: &Request, backend: &Backend) -> Reply {
    let mut args: Vec<String> = vec![
        "ps".into(),
        "--no-trunc".into(),
        "--format".into(),
        "json".into(),
    ];
    if req.flag("all") {
        args.push("-a".into());
    }
    if let Some(n) = req
        .param("limit")
        .filter(|n| !n.is_empty() && *n != "-1" && *n != "0")
    {
        let Ok(n) = n.parse::<u32>() else {
            return Reply::error(400, format!("invalid limit: {n}"));
        };
        args.extend(["-a".into(), "-n".into(), n.to_string()]);
    }
    match filters(req) {
        Ok(f) => args.extend(f.into_iter().flat_map(|f| ["--filter".to_string(), f])),
        Err(e) => return Reply::error(400, e),
    }
    let out = backend.run(&args);
    if !out.ok() {
        return Reply::failed(&out);
    }
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if rows.is_empty() {
        return Reply::Json(200, json!([]));
    }
    let mut inspect = vec![
        "inspect".to_string(),
        "--type".into(),
        "container".into(),
        "--".into(),
    ];
    inspect.extend(
        rows.iter()
            .filter_map(|r| r["ID"].as_str().map(String::from)),
    );
    let out = backend.run(&inspect);
    // A container removed between the two calls is left out, as a later `ps` would.
    let details: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let list: Vec<Value> = rows
        .iter()
        .filter_map(|row| {
            let id = row["ID"].as_str()?;
            let d = details.iter().find(|d| d["Id"] == id)?;
            Some(summary(d, row))
        })
        .collect();
    Reply::Json(200, Value::Array(list))
}

/// docker's `filters` query (`{"status":["running"]}`, or the old `{"status":{"running":true}}`)
/// as `ps --filter KEY=VALUE` arguments.
fn filters(req: &Request) -> Result<Vec<String>, String> {
    let Some(raw) = req.param("filters").filter(|f| !f.is_empty()) else {
        return Ok(Vec::new());
    };
    let v: Value = serde_json::from_str(raw).map_err(|e| format!("invalid filter: {e}"))?;
    let map = v.as_object().ok_or("invalid filter: not an object")?;
    let mut out = Vec::new();
    for (key, values) in map {
        let values: Vec<String> = match values {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Value::Object(o) => o
                .iter()
                .filter(|(_, on)| on.as_bool() == Some(true))
                .map(|(k, _)| k.clone())
                .collect(),
            _ => return Err(format!("invalid filter '{key}'")),
        };
        out.extend(values.into_iter().map(|v| format!("{key}={v}")));
    }
    Ok(out)
}

/// One row of `/containers/json` from the container's inspect object and its `ps` row.
fn summary(d: &Value, row: &Value) -> Value {
    let mut command = d["Path"].as_str().unwrap_or_default().to_string();
    for a in d["Args"].as_array().into_iter().flatten() {
        command.push(' ');
        command.push_str(a.as_str().unwrap_or_default());
    }
    let created = d["Created"]
        .as_str()
        .and_then(crate::time::parse_rfc3339)
        .map(|n| (n / 1_000_000_000) as i64)
        .unwrap_or(0);
    let mut ports = Vec::new();
    for (key, bindings) in d["NetworkSettings"]["Ports"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        let private: u16 = port.parse().unwrap_or(0);
        match bindings.as_array() {
            Some(list) if !list.is_empty() => {
                for b in list {
                    ports.push(json!({
                        "IP": b["HostIp"],
                        "PrivatePort": private,
                        "PublicPort": b["HostPort"].as_str().and_then(|p| p.parse::<u16>().ok()).unwrap_or(0),
                        "Type": proto,
                    }));
                }
            }
            _ => ports.push(json!({ "PrivatePort": private, "Type": proto })),
        }
    }
    let mut networks = Map::new();
    for (name, n) in d["NetworkSettings"]["Networks"]
        .as_object()
        .into_iter()
        .flatten()
    {
        networks.insert(name.clone(), n.clone());
    }
    json!({
        "Id": d["Id"],
        "Names": [format!("/{}", d["Name"].as_str().unwrap_or_default().trim_start_matches('/'))],
        "Image": d["Config"]["Image"],
        "ImageID": d["Image"],
        "Command": command,
        "Created": created,
        "Ports": ports,
        "Labels": if d["Config"]["Labels"].is_object() { d["Config"]["Labels"].clone() } else { json!({}) },
        "State": d["State"]["Status"],
        "Status": row["Status"],
        "HostConfig": { "NetworkMode": d["HostConfig"]["NetworkMode"] },
        "NetworkSettings": { "Networks": networks },
        "Mounts": if d["Mounts"].is_array() { d["Mounts"].clone() } else { json!([]) },
    })
}

/// `GET /containers/{id}/json`.
pub fn inspect(id: &str, backend: &Backend) -> Reply {
    match backend.inspect("container", id) {
        Ok(v) => Reply::Json(200, v),
        Err(_) => Reply::error(404, format!("No such container: {id}")),
    }
}

/// The running state of `id`: Some(running) or None when there is no such container.
fn running(id: &str, backend: &Backend) -> Option<bool> {
    let v = backend.inspect("container", id).ok()?;
    Some(v["State"]["Running"].as_bool().unwrap_or(false))
}

/// `POST /containers/{id}/{start,stop,kill,restart,wait}`.
pub fn action(
    req: &Request,
    stream: &mut UnixStream,
    id: &str,
    action: &str,
    backend: &Backend,
) -> Reply {
    let Some(is_running) = running(id, backend) else {
        return Reply::error(404, format!("No such container: {id}"));
    };
    let timeout = |args: &mut Vec<String>| -> Result<(), Reply> {
        if let Some(t) = req.param("t").filter(|t| !t.is_empty()) {
            let secs: i64 = t
                .parse()
                .map_err(|_| Reply::error(400, format!("invalid value for t: {t}")))?;
            args.extend(["-t".to_string(), secs.to_string()]);
        }
        Ok(())
    };
    let mut args = vec![action.to_string()];
    match action {
        "start" if is_running => return Reply::Empty(304),
        "start" => {}
        "stop" if !is_running => return Reply::Empty(304),
        "stop" | "restart" => {
            if let Err(r) = timeout(&mut args) {
                return r;
            }
        }
        "kill" if !is_running => {
            return Reply::error(
                409,
                format!("Cannot kill container: {id}: Container {id} is not running"),
            )
        }
        "kill" => {
            if let Some(s) = req.param("signal").filter(|s| !s.is_empty()) {
                args.extend(["-s".to_string(), s.to_string()]);
            }
        }
        "wait" => return wait(req, stream, id, backend),
        "attach" => return super::attach::attach(req, stream, id, backend),
        "resize" => return super::attach::resize(req, id, backend),
        _ => {
            return Reply::error(
                404,
                format!("page not found: POST /containers/{id}/{action}"),
            )
        }
    }
    args.extend(["--".to_string(), id.to_string()]);
    let out = backend.run(&args);
    if out.ok() {
        Reply::Empty(204)
    } else {
        Reply::failed(&out)
    }
}

/// `POST /containers/{id}/wait?condition=`: the head at once (docker's CLI waits for it
/// before it starts the container), the exit code when the container ends. `next-exit`
/// and `removed` asked of a container that is not running wait for its next start
/// first; `removed` then waits for the record to go (`--rm`), and the exit code of a
/// container removed already comes from the exit kiste keeps for it.
fn wait(req: &Request, stream: &mut UnixStream, id: &str, backend: &Backend) -> Reply {
    let condition = req.param("condition").unwrap_or("not-running");
    if !matches!(condition, "" | "not-running" | "next-exit" | "removed") {
        return Reply::error(400, format!("invalid condition: \"{condition}\""));
    }
    let paths =
        crate::paths::Paths::resolve(Some(backend.root.clone()), Some(backend.runroot.clone()));
    let store = match crate::state::ContainerStore::open(&paths.containers()) {
        Ok(s) => s,
        Err(e) => return Reply::error(500, format!("cannot open the container store: {e}")),
    };
    let Ok(rec) = store.resolve(id) else {
        return Reply::error(404, format!("No such container: {id}"));
    };
    if http::respond_stream(stream, 200, "application/json").is_err() {
        return Reply::Streamed;
    }
    if matches!(condition, "next-exit" | "removed") && !rec.is_running() {
        wait_started(&store, &rec.id, &rec.state.started_at);
    }
    let out = backend.run(&["wait", "--", &rec.id]);
    let code = if out.ok() {
        Ok(String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<i64>()
            .unwrap_or(0))
    } else {
        crate::state::read_exit(&paths.exits(), &rec.id)
            .map(i64::from)
            .ok_or_else(|| out.message())
    };
    if condition == "removed" {
        let mut delay = std::time::Duration::from_millis(5);
        while store.resolve(&rec.id).is_ok() {
            std::thread::sleep(delay);
            delay = (delay * 2).min(std::time::Duration::from_millis(200));
        }
    }
    let body = match code {
        Ok(code) => json!({ "StatusCode": code, "Error": null }),
        Err(message) => json!({ "StatusCode": -1, "Error": { "Message": message } }),
    };
    let _ = stream.write_all(format!("{body}\n").as_bytes());
    Reply::Streamed
}

/// Blocks until container `id` has been started again (its `started_at` is no longer
/// `before`) or is gone: `next-exit` is the exit of a run that has not begun when the
/// client asks.
fn wait_started(store: &crate::state::ContainerStore, id: &str, before: &Option<String>) {
    let mut delay = std::time::Duration::from_millis(5);
    while let Ok(rec) = store.resolve(id) {
        if rec.state.started_at != *before {
            return;
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(std::time::Duration::from_millis(200));
    }
}

/// `DELETE /containers/{id}?force=&v=`.
pub fn remove(req: &Request, id: &str, backend: &Backend) -> Reply {
    let Some(is_running) = running(id, backend) else {
        return Reply::error(404, format!("No such container: {id}"));
    };
    if is_running && !req.flag("force") {
        return Reply::error(
            409,
            format!("You cannot remove a running container {id}. Stop the container before attempting removal or force remove"),
        );
    }
    let mut args = vec!["rm".to_string()];
    if req.flag("force") {
        args.push("-f".into());
    }
    if req.flag("v") {
        args.push("-v".into());
    }
    args.extend(["--".to_string(), id.to_string()]);
    let out = backend.run(&args);
    if out.ok() {
        Reply::Empty(204)
    } else {
        Reply::failed(&out)
    }
}

/// `GET /containers/{id}/logs`: `kiste logs`' two streams, framed as docker frames them
/// (8-byte header: stream 1 or 2, three zero bytes, big-endian length) unless the
/// container has a TTY, where the bytes go as they are.
pub fn logs(req: &Request, stream: &mut UnixStream, id: &str, backend: &Backend) -> Reply {
    let Ok(info) = backend.inspect("container", id) else {
        return Reply::error(404, format!("No such container: {id}"));
    };
    let (want_out, want_err) = (req.flag("stdout"), req.flag("stderr"));
    if !want_out && !want_err {
        return Reply::error(400, "Bad parameters: you must choose at least one stream");
    }
    let tty = info["Config"]["Tty"].as_bool().unwrap_or(false);
    let mut args = vec!["logs".to_string()];
    if req.flag("follow") {
        args.push("-f".into());
    }
    if req.flag("timestamps") {
        args.push("-t".into());
    }
    for (param, flag) in [
        ("tail", "--tail"),
        ("since", "--since"),
        ("until", "--until"),
    ] {
        let skip = if param == "tail" { "all" } else { "0" };
        if let Some(v) = req.param(param).filter(|v| !v.is_empty() && *v != skip) {
            args.extend([flag.to_string(), v.to_string()]);
        }
    }
    args.extend(["--".to_string(), id.to_string()]);
    let mut child = match backend
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return Reply::error(500, format!("cannot read the logs of {id}: {e}")),
    };
    let ctype = if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    };
    if http::respond_stream(stream, 200, ctype).is_ok() {
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Reply::Streamed;
        };
        relay(stream, out, err, tty, [want_out, want_err]);
    }
    let _ = child.kill();
    let _ = child.wait();
    Reply::Streamed
}

/// Copies both pipes to the client until both end (or the client goes).
fn relay(
    stream: &mut UnixStream,
    mut out: std::process::ChildStdout,
    mut err: std::process::ChildStderr,
    raw: bool,
    wanted: [bool; 2],
) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut open = [true, true];
    let mut buf = vec![0u8; 32 * 1024];
    while open[0] || open[1] {
        let mut fds = Vec::new();
        if open[0] {
            fds.push((0, PollFd::new(out.as_fd(), PollFlags::POLLIN)));
        }
        if open[1] {
            fds.push((1, PollFd::new(err.as_fd(), PollFlags::POLLIN)));
        }
        let mut pfds: Vec<PollFd> = fds.iter().map(|(_, p)| p.clone()).collect();
        if poll(&mut pfds, PollTimeout::NONE).is_err() {
            return;
        }
        let ready: Vec<usize> = fds
            .iter()
            .zip(&pfds)
            .filter(|(_, p)| p.any().unwrap_or(true))
            .map(|((i, _), _)| *i)
            .collect();
        drop(pfds);
        for i in ready {
            let n = match i {
                0 => out.read(&mut buf),
                _ => err.read(&mut buf),
            };
            let n = match n {
                Ok(0) | Err(_) => {
                    open[i] = false;
                    continue;
                }
                Ok(n) => n,
            };
            if !wanted[i] {
                continue;
            }
            let sent = if raw {
                stream.write_all(&buf[..n])
            } else {
                let mut frame = vec![i as u8 + 1, 0, 0, 0];
                frame.extend_from_slice(&(n as u32).to_be_bytes());
                frame.extend_from_slice(&buf[..n]);
                stream.write_all(&frame)
            };
            if sent.is_err() {
                return;
            }
        }
    }
}
