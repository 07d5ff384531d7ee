//! One service of the merged file typed: each key's short and long forms read into the
//! model, with the key path of anything malformed (the caller adds the file and line).

use super::merge::scalar_string;
use super::model::*;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A malformed value: its key path below the service and what is wrong.
pub type Bad = (Vec<String>, String);

fn bad(path: &[&str], msg: impl Into<String>) -> Bad {
    (path.iter().map(|s| s.to_string()).collect(), msg.into())
}

fn string(v: &Value, key: &str) -> Result<String, Bad> {
    scalar_string(v).ok_or_else(|| bad(&[key], "must be a string"))
}

fn opt_string(m: &Value, key: &str) -> Result<Option<String>, Bad> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string(v, key).map(Some),
    }
}

fn strings(v: Option<&Value>, key: &str) -> Result<Vec<String>, Bad> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items.iter().map(|i| string(i, key)).collect(),
        Some(v) => Ok(vec![string(v, key)?]),
    }
}

fn boolean(v: Option<&Value>, key: &str) -> Result<Option<bool>, Bad> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(bad(&[key], "must be a boolean")),
    }
}

fn string_map(v: Option<&Value>, key: &str) -> Result<BTreeMap<String, Option<String>>, Bad> {
    let mut out = BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                let k = string(k, key)?;
                let v =
                    match v {
                        Value::Null => None,
                        v => Some(scalar_string(v).ok_or_else(|| {
                            bad(&[key, &k], "must be a string, number or boolean")
                        })?),
                    };
                out.insert(k, v);
            }
        }
        Some(_) => return Err(bad(&[key], "must be a mapping or a list of KEY=VALUE")),
    }
    Ok(out)
}

/// A command as compose splits a string one: by shell words (quotes and backslashes).
pub fn shell_words(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated quote in {s:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err(format!("unterminated quote in {s:?}")),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(format!("unterminated quote in {s:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

fn command(v: Option<&Value>, key: &str) -> Result<Option<Vec<String>>, Bad> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => shell_words(s).map(Some).map_err(|e| bad(&[key], e)),
        Some(v @ Value::Sequence(_)) => strings(Some(v), key).map(Some),
        Some(_) => Err(bad(&[key], "must be a string or a list of strings")),
    }
}

/// `[ip:][host:]container[/proto]` (ranges allowed on either side).
pub fn short_port(s: &str) -> Result<PortSpec, String> {
    let (rest, protocol) = match s.rsplit_once('/') {
        Some((r, p)) => (r, p.to_string()),
        None => (s, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!(
            "invalid port {s:?}: protocol {protocol:?} is not tcp, udp or sctp"
        ));
    }
    let parts: Vec<&str> = rest.rsplitn(3, ':').collect();
    let (host_ip, published, target) = match parts.as_slice() {
        [t] => (None, None, *t),
        [t, p] => (None, Some(*p), *t),
        [t, p, ip] => (Some(*ip), Some(*p).filter(|p| !p.is_empty()), *t),
        _ => unreachable!("rsplitn gives one to three parts"),
    };
    let range_ok = |r: &str| {
        let mut it = r.splitn(2, '-');
        it.all(|n| n.parse::<u16>().is_ok_and(|n| n > 0))
    };
    if !range_ok(target) || published.is_some_and(|p| !range_ok(p)) {
        return Err(format!(
            "invalid port {s:?}: expected [IP:][HOST:]CONTAINER[/PROTOCOL]"
        ));
    }
    Ok(PortSpec {
        host_ip: host_ip.map(str::to_string),
        published: published.map(str::to_string),
        target: target.to_string(),
        protocol,
    })
}

fn port(v: &Value) -> Result<PortSpec, String> {
    match v {
        Value::Mapping(_) => {
            let target = v
                .get("target")
                .and_then(scalar_string)
                .ok_or("a long-syntax port needs a target")?;
            Ok(PortSpec {
                host_ip: v.get("host_ip").and_then(scalar_string),
                published: v.get("published").and_then(scalar_string),
                target,
                protocol: v
                    .get("protocol")
                    .and_then(scalar_string)
                    .unwrap_or_else(|| "tcp".into()),
            })
        }
        v => short_port(&scalar_string(v).ok_or("a port must be a string, a number or a mapping")?),
    }
}

fn host_path(s: &str, dir: &Path) -> String {
    if let Some(rest) = s.strip_prefix("~/") {
        let home = std::env::var("HOME").unwrap_or_default();
        return format!("{home}/{rest}");
    }
    let p = Path::new(s);
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    };
    // `./data` and `data/.` name the same directory: drop `.` segments, as compose does.
    abs.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect::<std::path::PathBuf>()
        .to_string_lossy()
        .into_owned()
}

fn is_path(s: &str) -> bool {
    s.starts_with('.') || s.starts_with('/') || s.starts_with('~')
}

fn mount(v: &Value, dir: &Path) -> Result<ServiceMount, String> {
    if let Value::Mapping(_) = v {
        let kind = match v.get("type").and_then(scalar_string).as_deref() {
            Some("bind") => MountKind::Bind,
            Some("volume") | None => MountKind::Volume,
            Some("tmpfs") => MountKind::Tmpfs,
            Some(t) => return Err(format!("mount type {t:?} is not bind, volume or tmpfs")),
        };
        let target = v
            .get("target")
            .and_then(scalar_string)
            .ok_or("a long-syntax volume needs a target")?;
        let source = v.get("source").and_then(scalar_string).map(|s| match kind {
            MountKind::Bind => host_path(&s, dir),
            _ => s,
        });
        if kind == MountKind::Bind && source.is_none() {
            return Err("a bind mount needs a source".into());
        }
        let read_only = matches!(v.get("read_only"), Some(Value::Bool(true)));
        return Ok(ServiceMount {
            kind,
            source,
            target,
            read_only,
        });
    }
    let s = scalar_string(v).ok_or("a volume must be a string or a mapping")?;
    let parts: Vec<&str> = s.split(':').collect();
    let (src, target, mode) = match parts.as_slice() {
        [t] => (None, *t, ""),
        [s, t] => (Some(*s), *t, ""),
        [s, t, m] => (Some(*s), *t, *m),
        _ => {
            return Err(format!(
                "invalid volume {s:?}: expected [SOURCE:]TARGET[:MODE]"
            ))
        }
    };
    if !target.starts_with('/') {
        return Err(format!(
            "invalid volume {s:?}: the target {target:?} is not an absolute path"
        ));
    }
    let read_only = mode.split(',').any(|m| m == "ro");
    Ok(match src {
        None => ServiceMount {
            kind: MountKind::Volume,
            source: None,
            target: target.into(),
            read_only,
        },
        Some(p) if is_path(p) => ServiceMount {
            kind: MountKind::Bind,
            source: Some(host_path(p, dir)),
            target: target.into(),
            read_only,
        },
        Some(n) => ServiceMount {
            kind: MountKind::Volume,
            source: Some(n.into()),
            target: target.into(),
            read_only,
        },
    })
}

fn health(v: &Value) -> Result<HealthSpec, Bad> {
    let at = |k: &str| ["healthcheck".to_string(), k.to_string()].to_vec();
    let mut h = HealthSpec {
        disable: boolean(v.get("disable"), "disable")
            .map_err(|(_, m)| (at("disable"), m))?
            .unwrap_or(false),
        interval: opt_string(v, "interval").map_err(|(_, m)| (at("interval"), m))?,
        timeout: opt_string(v, "timeout").map_err(|(_, m)| (at("timeout"), m))?,
        start_period: opt_string(v, "start_period").map_err(|(_, m)| (at("start_period"), m))?,
        retries: match v.get("retries") {
            None | Some(Value::Null) => None,
            Some(r) => Some(
                r.as_i64()
                    .ok_or((at("retries"), "must be an integer".to_string()))?,
            ),
        },
        test: Vec::new(),
    };
    h.test = match v.get("test") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec!["CMD-SHELL".into(), s.clone()],
        Some(t) => strings(Some(t), "test").map_err(|(_, m)| (at("test"), m))?,
    };
    if h.test.first().map(String::as_str) == Some("NONE") {
        h.disable = true;
        h.test.clear();
    }
    if !h.disable && !h.test.is_empty() && !matches!(h.test[0].as_str(), "CMD" | "CMD-SHELL") {
        return Err((
            at("test"),
            "must start with \"CMD\", \"CMD-SHELL\" or \"NONE\"".into(),
        ));
    }
    Ok(h)
}

/// The service `name` from its merged mapping; `dir` is the project directory.
pub fn service(name: &str, v: &Value, dir: &Path) -> Result<Service, Bad> {
    if !v.is_mapping() {
        return Err(bad(&[], "must be a mapping"));
    }
    let mut s = Service {
        name: name.to_string(),
        image: opt_string(v, "image")?,
        command: command(v.get("command"), "command")?,
        entrypoint: command(v.get("entrypoint"), "entrypoint")?,
        environment: string_map(v.get("environment"), "environment")?,
        expose: strings(v.get("expose"), "expose")?,
        restart: opt_string(v, "restart")?,
        user: opt_string(v, "user")?,
        working_dir: opt_string(v, "working_dir")?,
        hostname: opt_string(v, "hostname")?,
        container_name: opt_string(v, "container_name")?,
        init: boolean(v.get("init"), "init")?,
        read_only: boolean(v.get("read_only"), "read_only")?.unwrap_or(false),
        cap_add: strings(v.get("cap_add"), "cap_add")?,
        cap_drop: strings(v.get("cap_drop"), "cap_drop")?,
        mem_limit: opt_string(v, "mem_limit")?,
        cpus: opt_string(v, "cpus")?,
        pids_limit: v.get("pids_limit").and_then(Value::as_i64),
        profiles: strings(v.get("profiles"), "profiles")?,
        labels: string_map(v.get("labels"), "labels")?
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect(),
        ..Service::default()
    };
    if let Some(r) = &s.restart {
        let policy = r.split(':').next().unwrap_or_default();
        if !matches!(policy, "no" | "always" | "on-failure" | "unless-stopped") {
            return Err(bad(&["restart"], format!("invalid restart policy {r:?}: expected no, always, on-failure[:N] or unless-stopped")));
        }
    }
    if let Some(b) = v.get("build").filter(|b| !b.is_null()) {
        let context = opt_string(b, "context").map_err(|(_, m)| bad(&["build", "context"], m))?;
        s.build = Some(BuildSpec {
            context: Path::new(&host_path(context.as_deref().unwrap_or("."), dir)).to_path_buf(),
            dockerfile: opt_string(b, "dockerfile")
                .map_err(|(_, m)| bad(&["build", "dockerfile"], m))?,
            target: opt_string(b, "target").map_err(|(_, m)| bad(&["build", "target"], m))?,
            args: super::merge::canonical_pairs(b.get("args"))
                .map_err(|m| bad(&["build", "args"], m))?,
        });
    }
    for (i, p) in v
        .get("ports")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .enumerate()
    {
        s.ports
            .push(port(p).map_err(|m| bad(&["ports", &i.to_string()], m))?);
    }
    for (i, m) in v
        .get("volumes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .enumerate()
    {
        s.volumes
            .push(mount(m, dir).map_err(|e| bad(&["volumes", &i.to_string()], e))?);
    }
    match v.get("networks") {
        None | Some(Value::Null) => {
            s.networks
                .insert("default".into(), ServiceNetwork::default());
        }
        Some(Value::Mapping(m)) => {
            for (k, def) in m {
                let k = string(k, "networks")?;
                let aliases = strings(def.get("aliases"), "aliases")
                    .map_err(|(_, m)| bad(&["networks", &k, "aliases"], m))?;
                s.networks.insert(k, ServiceNetwork { aliases });
            }
        }
        Some(_) => return Err(bad(&["networks"], "must be a list or a mapping")),
    }
    if let Some(Value::Mapping(m)) = v.get("depends_on") {
        for (k, def) in m {
            let k = string(k, "depends_on")?;
            let cond = match def.get("condition").and_then(scalar_string).as_deref() {
                None | Some("service_started") => Condition::Started,
                Some("service_healthy") => Condition::Healthy,
                Some("service_completed_successfully") => Condition::CompletedSuccessfully,
                Some(c) => return Err(bad(&["depends_on", &k, "condition"], format!("invalid condition {c:?}: expected service_started, service_healthy or service_completed_successfully"))),
            };
            s.depends_on.insert(k, cond);
        }
    } else if v.get("depends_on").is_some_and(|d| !d.is_null()) {
        return Err(bad(&["depends_on"], "must be a list or a mapping"));
    }
    if let Some(h) = v.get("healthcheck").filter(|h| !h.is_null()) {
        s.healthcheck = Some(health(h)?);
    }
    if let Some(l) = v
        .get("deploy")
        .and_then(|d| d.get("resources"))
        .and_then(|r| r.get("limits"))
    {
        let p = |k: &str| {
            bad(
                &["deploy", "resources", "limits", k],
                "must be a string or a number",
            )
        };
        if let Some(m) = l.get("memory") {
            s.mem_limit = Some(scalar_string(m).ok_or_else(|| p("memory"))?);
        }
        if let Some(c) = l.get("cpus") {
            s.cpus = Some(scalar_string(c).ok_or_else(|| p("cpus"))?);
        }
        if let Some(n) = l.get("pids") {
            s.pids_limit = Some(n.as_i64().ok_or_else(|| p("pids"))?);
        }
    }
    if s.image.is_none() && s.build.is_none() {
        return Err(bad(
            &[],
            "has neither an image nor a build context specified: at least one must be provided",
        ));
    }
    for (i, f) in strings_or_paths(v.get("env_file")).into_iter().enumerate() {
        let path = Path::new(&host_path(&f, dir)).to_path_buf();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            bad(
                &["env_file", &i.to_string()],
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (k, val) = match line.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), Some(v.to_string())),
                None => (line.to_string(), None),
            };
            s.environment.entry(k).or_insert(val);
        }
    }
    Ok(s)
}

/// `env_file`: a string, a list of strings, or a list of `{path: …}`.
fn strings_or_paths(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| scalar_string(i).or_else(|| i.get("path").and_then(scalar_string)))
            .collect(),
        Some(v) => scalar_string(v).into_iter().collect(),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ports_of_every_shape() {
        let p = short_port("127.0.0.1:8080:80/udp").unwrap();
        assert_eq!(
            (
                p.host_ip.as_deref(),
                p.published.as_deref(),
                p.target.as_str(),
                p.protocol.as_str()
            ),
            (Some("127.0.0.1"), Some("8080"), "80", "udp")
        );
        assert_eq!(
            short_port("8000-8001:80-81").unwrap().published.as_deref(),
            Some("8000-8001")
        );
        assert_eq!(short_port("80").unwrap().publish_flag(), "80/tcp");
        assert_eq!(
            short_port("127.0.0.1::80").unwrap().publish_flag(),
            "127.0.0.1::80/tcp"
        );
        assert!(short_port("80/icmp").is_err());
        assert!(short_port("x:80").is_err());
    }

    #[test]
    fn command_strings_split_like_a_shell() {
        assert_eq!(
            shell_words(r#"sh -c "echo 'a b' \"c\"" d\ e"#).unwrap(),
            ["sh", "-c", "echo 'a b' \"c\"", "d e"]
        );
        assert!(shell_words("'open").is_err());
    }

    #[test]
    fn volumes_short_and_long() {
        let dir = Path::new("/proj");
        let v: Value = serde_yaml::from_str(
            "['./data:/d:ro', 'db:/var/lib', '/anon', {type: tmpfs, target: /t}]",
        )
        .unwrap();
        let got: Vec<ServiceMount> = v
            .as_sequence()
            .unwrap()
            .iter()
            .map(|m| mount(m, dir).unwrap())
            .collect();
        assert_eq!(
            (got[0].kind, got[0].source.as_deref(), got[0].read_only),
            (MountKind::Bind, Some("/proj/data"), true)
        );
        assert_eq!(
            (got[1].kind, got[1].source.as_deref()),
            (MountKind::Volume, Some("db"))
        );
        assert_eq!(
            (got[2].kind, got[2].source.as_deref()),
            (MountKind::Volume, None)
        );
        assert_eq!(got[3].kind, MountKind::Tmpfs);
    }
}
