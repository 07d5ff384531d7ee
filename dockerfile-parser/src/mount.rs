//! `RUN --mount=…` option parsing: CSV-style fields (`type=cache,target=/x`),
//! option aliases (`dst`, `src`, `ro`, `rw`…), per-type checks and numeric
//! values. Parsing runs once without variables (numbers that still contain
//! `$` are deferred) and again from `RunMount::raw` after expansion.

use crate::instructions::{MountKind, RunMount};
use crate::quote::go_quote;
use crate::shell::ExpandError;
use crate::suggest::did_you_mean;

/// Expands one option value.
pub(crate) type Expander<'a> = &'a dyn Fn(&str) -> Result<String, ExpandError>;

const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "required",
    "size",
    "id",
    "sharing",
    "mode",
    "uid",
    "gid",
    "env",
];

/// Split on commas, honouring double quotes like Go's `encoding/csv`.
fn csv_fields(s: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if c == '"' && at_start {
            // Quoted field.
            loop {
                match chars.next() {
                    None => return Err(format!("extraneous or missing \" in quoted-field: {s}")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cur.push('"');
                    }
                    Some('"') => break,
                    Some(c) => cur.push(c),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                return Err(format!("extraneous or missing \" in quoted-field: {s}"));
            }
            at_start = false;
            continue;
        }
        if c == '"' {
            return Err(format!("bare \" in non-quoted-field: {s}"));
        }
        if c == ',' {
            fields.push(std::mem::take(&mut cur));
            at_start = true;
            continue;
        }
        at_start = false;
        cur.push(c);
    }
    fields.push(cur);
    Ok(fields)
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid value for {key}: {v}")),
    }
}

fn parse_size(v: &str) -> Option<u64> {
    let t = v.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t).to_string();
    let t = t.strip_suffix('i').unwrap_or(&t).to_string();
    let (num, mult) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 1u64 << 10),
        'm' => (&t[..t.len() - 1], 1 << 20),
        'g' => (&t[..t.len() - 1], 1 << 30),
        't' => (&t[..t.len() - 1], 1 << 40),
        'p' => (&t[..t.len() - 1], 1 << 50),
        _ => (t.as_str(), 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n >= 0.0).then_some((n * mult as f64) as u64)
}

/// Parse one `--mount` value. With `expand`, every value except `from` is
/// expanded first; without it, numbers containing `$` are left unset.
pub(crate) fn parse_mount(raw: &str, expand: Option<Expander<'_>>) -> Result<RunMount, String> {
    let fields = csv_fields(raw)?;
    let mut m = RunMount {
        kind: MountKind::Bind,
        target: None,
        source: None,
        from: None,
        readonly: true,
        id: None,
        sharing: None,
        mode: None,
        uid: None,
        gid: None,
        required: false,
        size: None,
        env: None,
        raw: raw.to_string(),
    };
    let mut ro_auto = true;
    for field in &fields {
        let secret_like = matches!(m.kind, MountKind::Secret | MountKind::Ssh);
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), v.to_string()),
            None => {
                let k = field.to_ascii_lowercase();
                match k.as_str() {
                    "readonly" | "ro" => {
                        m.readonly = true;
                        ro_auto = false;
                    }
                    "readwrite" | "rw" => {
                        m.readonly = false;
                        ro_auto = false;
                    }
                    "required" if secret_like => m.required = true,
                    "required" => {
                        return Err(format!(
                            "unexpected key 'required' for mount type '{}'",
                            m.kind.as_str()
                        ))
                    }
                    _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
                }
                continue;
            }
        };
        let mut value = value;
        let mut deferred = false;
        if let Some(exp) = expand {
            if key != "type" {
                let v = exp(&value).map_err(|e| e.message)?;
                if key == "from" && v != value {
                    return Err(format!(
                        "'{key}' doesn't support variable expansion, define alias stage instead"
                    ));
                }
                value = v;
            }
        } else {
            deferred = value.contains('$');
        }
        let num = |radix: u32, what: &str| -> Result<Option<u32>, String> {
            if deferred {
                return Ok(None);
            }
            u32::from_str_radix(&value, radix)
                .map(Some)
                .map_err(|_| format!("invalid value {value} for {what}"))
        };
        match key.as_str() {
            "type" => {
                m.kind = match value.to_ascii_lowercase().as_str() {
                    "bind" => MountKind::Bind,
                    "cache" => MountKind::Cache,
                    "tmpfs" => MountKind::Tmpfs,
                    "secret" => MountKind::Secret,
                    "ssh" => MountKind::Ssh,
                    _ if deferred => m.kind,
                    _ => {
                        let mut msg = format!("unsupported mount type {}", go_quote(&value));
                        let kinds = ["bind", "cache", "tmpfs", "secret", "ssh"];
                        if let Some(s) = did_you_mean(&value, &kinds) {
                            msg.push_str(&format!(" (did you mean {s}?)"));
                        }
                        return Err(msg);
                    }
                };
            }
            "from" => m.from = Some(value.clone()),
            "source" | "src" => m.source = Some(value.clone()),
            "target" | "dst" | "destination" => m.target = Some(value.clone()),
            "readonly" | "ro" => {
                m.readonly = deferred || parse_bool(&key, &value)?;
                ro_auto = false;
            }
            "readwrite" | "rw" => {
                m.readonly = !deferred && !parse_bool(&key, &value)?;
                ro_auto = false;
            }
            "required" => {
                if !secret_like {
                    return Err(format!(
                        "unexpected key 'required' for mount type '{}'",
                        m.kind.as_str()
                    ));
                }
                m.required = deferred || parse_bool(&key, &value)?;
            }
            "size" => {
                if m.kind != MountKind::Tmpfs {
                    return Err(format!(
                        "unexpected key 'size' for mount type '{}'",
                        m.kind.as_str()
                    ));
                }
                if !deferred {
                    m.size = Some(
                        parse_size(&value)
                            .ok_or_else(|| format!("invalid value for size: {value}"))?,
                    );
                }
            }
            "id" => m.id = Some(value.clone()),
            "sharing" => {
                let v = value.to_ascii_lowercase();
                if !deferred && !matches!(v.as_str(), "shared" | "private" | "locked") {
                    return Err(format!(
                        "unsupported sharing value {} (expected shared, private or locked)",
                        go_quote(&value)
                    ));
                }
                m.sharing = Some(if deferred { value.clone() } else { v });
            }
            "mode" => m.mode = num(8, "mode")?,
            "uid" => m.uid = num(10, "uid")?,
            "gid" => m.gid = num(10, "gid")?,
            "env" => m.env = Some(value.clone()),
            other => {
                let mut msg = format!("unexpected key '{other}' in '{field}'");
                if let Some(s) = did_you_mean(other, KEYS) {
                    msg.push_str(&format!(" (did you mean {s}?)"));
                }
                return Err(msg);
            }
        }
    }
    let kind = m.kind.as_str();
    if !matches!(
        m.kind,
        MountKind::Secret | MountKind::Ssh | MountKind::Cache
    ) {
        if m.mode.is_some() {
            return Err(format!(
                "mode not allowed for {} type mounts",
                go_quote(kind)
            ));
        }
        if m.uid.is_some() {
            return Err(format!(
                "uid not allowed for {} type mounts",
                go_quote(kind)
            ));
        }
        if m.gid.is_some() {
            return Err(format!(
                "gid not allowed for {} type mounts",
                go_quote(kind)
            ));
        }
    }
    if ro_auto {
        m.readonly = !matches!(m.kind, MountKind::Cache | MountKind::Tmpfs);
    }
    if m.kind == MountKind::Secret {
        if m.from.is_some() {
            return Err("secret mount should not have a from".into());
        }
        if m.sharing.is_some() {
            return Err("secret mount should not define sharing".into());
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() {
            return Err("invalid secret mount. one of source, target required".into());
        }
        if m.source.is_some() && m.id.is_some() {
            return Err("both source and id can't be set".into());
        }
    }
    if m.sharing.is_some() && m.kind != MountKind::Cache {
        return Err(format!("invalid cache sharing set for {kind} mount"));
    }
    if m.target.is_none() && !matches!(m.kind, MountKind::Secret | MountKind::Ssh) {
        return Err(format!(
            "mount type {kind} requires a target (target=/path)"
        ));
    }
    Ok(m)
}
