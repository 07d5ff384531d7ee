//! `POST /containers/create`: docker's JSON body (Config, HostConfig, NetworkingConfig)
//! turned into `kiste create` flags, so that the command line's one validator checks
//! every value and gives docker's messages. A field kiste does not map is refused when
//! it holds anything but docker's default (400), never dropped.

use super::backend::Backend;
use super::http::Request;
use super::routes::Reply;
use serde_json::{json, Map, Value};

/// The fields of each object that are turned into flags (or are docker's bookkeeping).
const CONFIG_FIELDS: &[&str] = &[
    "Image",
    "Cmd",
    "Entrypoint",
    "Env",
    "Labels",
    "WorkingDir",
    "User",
    "Hostname",
    "Domainname",
    "Tty",
    "OpenStdin",
    "StdinOnce",
    "AttachStdin",
    "AttachStdout",
    "AttachStderr",
    "ExposedPorts",
    "StopSignal",
    "StopTimeout",
    "Volumes",
    "HostConfig",
    "NetworkingConfig",
    "ArgsEscaped",
];
const HOST_FIELDS: &[&str] = &[
    "Binds",
    "PortBindings",
    "PublishAllPorts",
    "Memory",
    "MemorySwap",
    "MemoryReservation",
    "NanoCpus",
    "CpuShares",
    "PidsLimit",
    "AutoRemove",
    "NetworkMode",
    "Privileged",
    "CapAdd",
    "CapDrop",
    "Init",
    "ReadonlyRootfs",
    "RestartPolicy",
    "Dns",
    "DnsSearch",
    "DnsOptions",
    "ExtraHosts",
    "Tmpfs",
    "LogConfig",
    "SecurityOpt",
    "ShmSize",
    "Sysctls",
    "GroupAdd",
    "IpcMode",
    "PidMode",
    "UTSMode",
    "UsernsMode",
    "CgroupnsMode",
    "Mounts",
    "VolumesFrom",
    "OomScoreAdj",
    "ConsoleSize",
    "Isolation",
    "MemorySwappiness",
];

/// Whether `v` is what docker's client sends when nothing was asked for.
fn is_default(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.iter().all(is_default),
        Value::Object(o) => o.values().all(is_default),
        _ => false,
    }
}

/// Refuses every field of `obj` outside `known` that is not a default.
fn refuse_unmapped(obj: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), String> {
    for (k, v) in obj {
        if !known.contains(&k.as_str()) && !is_default(v) {
            return Err(format!(
                "kiste's API does not support {what}{k} (value {v})"
            ));
        }
    }
    Ok(())
}

fn strings(v: &Value, field: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .ok_or_else(|| format!("{field}: not a string: {x}"))
            })
            .collect(),
        other => Err(format!("{field}: expected a list of strings, got {other}")),
    }
}

fn str_of<'a>(o: &'a Map<String, Value>, k: &str) -> &'a str {
    o.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn int_of(o: &Map<String, Value>, k: &str) -> Result<i64, String> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| format!("{k}: not an integer: {v}")),
    }
}

/// The `kiste create` arguments for a request body and its `name`/`platform` query.
pub fn create_args(
    body: &Value,
    name: Option<&str>,
    platform: Option<&str>,
) -> Result<Vec<String>, String> {
    let config = body.as_object().ok_or("the body is not a JSON object")?;
    refuse_unmapped(config, CONFIG_FIELDS, "")?;
    let empty = Map::new();
    let host = match config.get("HostConfig") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err("HostConfig is not an object".into()),
    };
    refuse_unmapped(host, HOST_FIELDS, "HostConfig.")?;
    if let Some(n) = config.get("NetworkingConfig").filter(|n| !is_default(n)) {
        return Err(format!(
            "kiste's API does not support NetworkingConfig (value {n})"
        ));
    }
    let mut a: Vec<String> = vec!["create".into(), "--pull".into(), "never".into()];
    let mut flag = |f: &str, v: String| a.push(format!("--{f}={v}"));
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        flag("name", n.trim_start_matches('/').to_string());
    }
    if let Some(p) = platform.filter(|p| !p.is_empty()) {
        flag("platform", p.to_string());
    }
    for e in strings(config.get("Env").unwrap_or(&Value::Null), "Env")? {
        if !e.contains('=') {
            return Err(format!(
                "invalid environment variable: {e} (expected KEY=VALUE)"
            ));
        }
        flag("env", e);
    }
    for (k, v) in config
        .get("Labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        flag("label", format!("{k}={}", v.as_str().unwrap_or_default()));
    }
    for (f, field) in [
        ("workdir", "WorkingDir"),
        ("user", "User"),
        ("hostname", "Hostname"),
        ("domainname", "Domainname"),
        ("stop-signal", "StopSignal"),
    ] {
        let v = str_of(config, field);
        if !v.is_empty() {
            flag(f, v.to_string());
        }
    }
    if let Some(t) = config.get("StopTimeout").filter(|t| !t.is_null()) {
        flag(
            "stop-timeout",
            t.as_i64().ok_or("StopTimeout: not an integer")?.to_string(),
        );
    }
    for k in config
        .get("ExposedPorts")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        flag("expose", k.clone());
    }
    for k in config
        .get("Volumes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        flag("volume", k.clone());
    }
    let bool_of =
        |o: &Map<String, Value>, k: &str| o.get(k).and_then(Value::as_bool).unwrap_or(false);
    for (f, on) in [
        ("tty", bool_of(config, "Tty")),
        ("interactive", bool_of(config, "OpenStdin")),
        ("publish-all", bool_of(host, "PublishAllPorts")),
        ("rm", bool_of(host, "AutoRemove")),
        ("privileged", bool_of(host, "Privileged")),
        ("read-only", bool_of(host, "ReadonlyRootfs")),
        ("init", bool_of(host, "Init")),
    ] {
        if on {
            a.push(format!("--{f}"));
        }
    }
    let mut flag = |f: &str, v: String| a.push(format!("--{f}={v}"));
    for (f, field) in [
        ("volume", "Binds"),
        ("cap-add", "CapAdd"),
        ("cap-drop", "CapDrop"),
        ("dns", "Dns"),
        ("dns-search", "DnsSearch"),
        ("dns-option", "DnsOptions"),
        ("add-host", "ExtraHosts"),
        ("security-opt", "SecurityOpt"),
        ("group-add", "GroupAdd"),
        ("volumes-from", "VolumesFrom"),
    ] {
        for v in strings(host.get(field).unwrap_or(&Value::Null), field)? {
            flag(f, v);
        }
    }
    for (f, field) in [
        ("memory", "Memory"),
        ("memory-swap", "MemorySwap"),
        ("memory-reservation", "MemoryReservation"),
        ("cpu-shares", "CpuShares"),
        ("shm-size", "ShmSize"),
        ("oom-score-adj", "OomScoreAdj"),
    ] {
        let n = int_of(host, field)?;
        if n != 0 {
            flag(f, n.to_string());
        }
    }
    let pids = int_of(host, "PidsLimit")?;
    if pids != 0 {
        flag("pids-limit", pids.to_string());
    }
    let nano = int_of(host, "NanoCpus")?;
    if nano != 0 {
        flag("cpus", format!("{}", nano as f64 / 1e9));
    }
    for (f, field, default) in [
        ("network", "NetworkMode", "default"),
        ("ipc", "IpcMode", ""),
        ("pid", "PidMode", ""),
        ("uts", "UTSMode", ""),
        ("userns", "UsernsMode", ""),
        ("cgroupns", "CgroupnsMode", ""),
    ] {
        let v = str_of(host, field);
        if !v.is_empty() && v != default {
            flag(f, v.to_string());
        }
    }
    match host.get("MemorySwappiness") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_i64() == Some(-1) => {}
        Some(v) => flag(
            "memory-swappiness",
            v.as_i64()
                .ok_or("MemorySwappiness: not an integer")?
                .to_string(),
        ),
    }
    if !matches!(str_of(host, "Isolation"), "" | "default") {
        return Err(format!("invalid isolation: {}", str_of(host, "Isolation")));
    }
    if let Some(c) = host.get("ConsoleSize").filter(|c| !is_default(c)) {
        return Err(format!(
            "kiste's API does not support HostConfig.ConsoleSize (value {c})"
        ));
    }
    for (port, bindings) in host
        .get("PortBindings")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for b in bindings.as_array().into_iter().flatten() {
            let ip = b["HostIp"].as_str().unwrap_or_default();
            let hp = b["HostPort"].as_str().unwrap_or_default();
            flag(
                "publish",
                match (ip.is_empty(), ip.contains(':')) {
                    (true, _) => format!("{hp}:{port}"),
                    (false, true) => format!("[{ip}]:{hp}:{port}"),
                    (false, false) => format!("{ip}:{hp}:{port}"),
                },
            );
        }
    }
    if let Some(r) = host.get("RestartPolicy").and_then(Value::as_object) {
        let name = str_of(r, "Name");
        let max = int_of(r, "MaximumRetryCount")?;
        match (name, max) {
            ("" | "no", 0) => {}
            ("on-failure", n) if n > 0 => flag("restart", format!("on-failure:{n}")),
            (name, _) => flag("restart", name.to_string()),
        }
    }
    for (path, opts) in host
        .get("Tmpfs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let opts = opts.as_str().unwrap_or_default();
        flag(
            "tmpfs",
            if opts.is_empty() {
                path.clone()
            } else {
                format!("{path}:{opts}")
            },
        );
    }
    for (k, v) in host
        .get("Sysctls")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        flag("sysctl", format!("{k}={}", v.as_str().unwrap_or_default()));
    }
    if let Some(log) = host.get("LogConfig").and_then(Value::as_object) {
        let driver = str_of(log, "Type");
        if !driver.is_empty() {
            flag("log-driver", driver.to_string());
        }
        for (k, v) in log
            .get("Config")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            flag("log-opt", format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for m in host
        .get("Mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let m = m.as_object().ok_or("HostConfig.Mounts: not an object")?;
        let known = [
            "Type",
            "Source",
            "Target",
            "ReadOnly",
            "BindOptions",
            "VolumeOptions",
            "TmpfsOptions",
            "Consistency",
        ];
        refuse_unmapped(m, &known, "HostConfig.Mounts.")?;
        for opt in ["BindOptions", "VolumeOptions", "TmpfsOptions"] {
            if let Some(v) = m.get(opt).filter(|v| !is_default(v)) {
                return Err(format!(
                    "kiste's API does not support HostConfig.Mounts.{opt} (value {v})"
                ));
            }
        }
        let mut spec = format!("type={}", str_of(m, "Type"));
        if !str_of(m, "Source").is_empty() {
            spec.push_str(&format!(",source={}", str_of(m, "Source")));
        }
        spec.push_str(&format!(",target={}", str_of(m, "Target")));
        if bool_of(m, "ReadOnly") {
            spec.push_str(",readonly");
        }
        flag("mount", spec);
    }
    // The command: docker's Entrypoint (a list) replaces the image's; kiste's
    // --entrypoint takes its first word and the rest lead the command.
    let entrypoint = strings(
        config.get("Entrypoint").unwrap_or(&Value::Null),
        "Entrypoint",
    )?;
    let mut command = strings(config.get("Cmd").unwrap_or(&Value::Null), "Cmd")?;
    if config.get("Entrypoint").is_some_and(|e| !e.is_null()) {
        let mut ep = entrypoint.into_iter();
        a.push(format!("--entrypoint={}", ep.next().unwrap_or_default()));
        let mut rest: Vec<String> = ep.collect();
        rest.append(&mut command);
        command = rest;
    }
    let image = str_of(config, "Image");
    if image.is_empty() {
        return Err("config cannot be empty in order to create a container".into());
    }
    a.push("--".into());
    a.push(image.to_string());
    a.extend(command);
    Ok(a)
}

pub fn create(req: &Request, backend: &Backend) -> Reply {
    let body: Value = if req.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return Reply::error(400, format!("invalid JSON: {e}")),
        }
    };
    let args = match create_args(&body, req.param("name"), req.param("platform")) {
        Ok(a) => a,
        Err(e) => return Reply::error(400, e),
    };
    let out = backend.run(&args);
    if !out.ok() {
        let message = out.message();
        if message.to_ascii_lowercase().contains("no such image") {
            let image = body["Image"].as_str().unwrap_or_default();
            return Reply::error(404, format!("No such image: {image}"));
        }
        return Reply::failed(&out);
    }
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let warnings: Vec<String> = out
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("WARNING: ").map(String::from))
        .collect();
    Reply::Json(201, json!({ "Id": id, "Warnings": warnings }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_default_body_maps_to_a_plain_create() {
        let body = json!({
            "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false,
            "AttachStdout": true, "AttachStderr": true, "Tty": false, "OpenStdin": false,
            "StdinOnce": false, "Env": [], "Cmd": ["sleep", "30"], "Image": "busybox",
            "Volumes": {}, "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": {},
            "HostConfig": {
                "Binds": null, "NetworkMode": "default", "PortBindings": {},
                "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": false,
                "LogConfig": {"Type": "", "Config": {}}, "CapAdd": null, "Isolation": "",
                "CgroupnsMode": "", "ConsoleSize": [0, 0], "Mounts": null, "OomKillDisable": false,
                "MaskedPaths": null
            },
            "NetworkingConfig": {"EndpointsConfig": {}}
        });
        let args = create_args(&body, Some("x"), None).unwrap();
        assert_eq!(
            args,
            ["create", "--pull", "never", "--name=x", "--", "busybox", "sleep", "30"]
        );
    }

    #[test]
    fn mapped_fields_become_flags() {
        let body = json!({
            "Image": "busybox", "Entrypoint": ["sh", "-c"], "Cmd": ["echo $A"],
            "Env": ["A=1"], "Labels": {"k": "v"},
            "HostConfig": {"Memory": 8388608, "AutoRemove": true, "Binds": ["/h:/c:ro"],
                "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]},
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}
        });
        let args = create_args(&body, None, None).unwrap();
        for want in [
            "--env=A=1",
            "--label=k=v",
            "--memory=8388608",
            "--rm",
            "--volume=/h:/c:ro",
            "--publish=127.0.0.1:8080:80/tcp",
            "--restart=on-failure:2",
            "--entrypoint=sh",
        ] {
            assert!(args.contains(&want.to_string()), "{want} in {args:?}");
        }
        assert_eq!(&args[args.len() - 4..], ["--", "busybox", "-c", "echo $A"]);
    }

    #[test]
    fn unmapped_fields_are_refused_not_dropped() {
        let err = create_args(
            &json!({"Image": "b", "HostConfig": {"OomKillDisable": true}}),
            None,
            None,
        )
        .unwrap_err();
        assert!(err.contains("HostConfig.OomKillDisable"), "{err}");
        let err = create_args(
            &json!({"Image": "b", "MacAddress": "02:42:ac:11:00:02"}),
            None,
            None,
        )
        .unwrap_err();
        assert!(err.contains("MacAddress"), "{err}");
        assert!(create_args(&json!({"Cmd": ["x"]}), None, None).is_err());
        assert!(create_args(&json!({"Image": "b", "Env": ["NOEQUALS"]}), None, None).is_err());
        assert!(create_args(&json!([1]), None, None).is_err());
    }
}
