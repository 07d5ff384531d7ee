//! Several `-f` files merged in order, by compose's rules: mappings merge key by key,
//! scalars and `command`/`entrypoint`/`healthcheck.test` are replaced, `volumes` merge by
//! their target, other sequences (`ports`, `expose`, `cap_add`, …) are appended without
//! duplicates. The list forms of `environment`, `labels`, `depends_on`, `networks` and a
//! string `build` become mappings first, so a later file can override one entry.

use serde_yaml::{Mapping, Value};

/// One file's top level with its services in the canonical (mapping) forms.
pub fn canonical(mut doc: Value) -> Value {
    if let Some(services) = doc.get_mut("services").and_then(Value::as_mapping_mut) {
        for (_, svc) in services.iter_mut() {
            let Some(svc) = svc.as_mapping_mut() else {
                continue;
            };
            for key in ["environment", "labels"] {
                if let Some(v) = svc.get_mut(key) {
                    *v = list_to_map(v, '=');
                }
            }
            if let Some(v) = svc.get_mut("depends_on") {
                if let Value::Sequence(items) = v {
                    let mut m = Mapping::new();
                    for i in items.iter() {
                        let mut cond = Mapping::new();
                        cond.insert("condition".into(), "service_started".into());
                        m.insert(i.clone(), Value::Mapping(cond));
                    }
                    *v = Value::Mapping(m);
                }
            }
            if let Some(v) = svc.get_mut("networks") {
                if let Value::Sequence(items) = v {
                    *v = Value::Mapping(items.iter().map(|i| (i.clone(), Value::Null)).collect());
                }
            }
            if let Some(v) = svc.get_mut("build") {
                if let Value::String(_) = v {
                    let mut m = Mapping::new();
                    m.insert("context".into(), v.clone());
                    *v = Value::Mapping(m);
                }
            }
        }
    }
    doc
}

/// `["A=1", "B"]` → `{A: "1", B: null}` (other values as they are).
fn list_to_map(v: &Value, sep: char) -> Value {
    let Value::Sequence(items) = v else {
        return v.clone();
    };
    let mut m = Mapping::new();
    for i in items {
        let s = scalar_string(i).unwrap_or_default();
        match s.split_once(sep) {
            Some((k, val)) => m.insert(k.into(), val.into()),
            None => m.insert(s.into(), Value::Null),
        };
    }
    Value::Mapping(m)
}

/// A scalar as compose reads it in a string position (numbers and booleans as written).
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `build.args` as a map (mapping or `KEY=VALUE` list; a bare KEY is left out, as
/// compose does when the environment has no value for it).
pub fn canonical_pairs(
    v: Option<&Value>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut out = std::collections::BTreeMap::new();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(out);
    };
    let Value::Mapping(m) = list_to_map(v, '=') else {
        return Err("must be a mapping or a list of KEY=VALUE".into());
    };
    for (k, v) in m {
        let k = scalar_string(&k).ok_or("keys must be strings")?;
        let v = match v {
            Value::Null => std::env::var(&k).ok(),
            v => Some(scalar_string(&v).ok_or_else(|| format!("{k} must be a string"))?),
        };
        if let Some(v) = v {
            out.insert(k, v);
        }
    }
    Ok(out)
}

/// `over` merged onto `base`; `key` is the key both sit under (for the sequence rules).
pub fn merge(base: Value, over: Value, key: &str) -> Value {
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            for (k, v) in o {
                let name = k.as_str().unwrap_or_default().to_string();
                let merged = match b.remove(&k) {
                    Some(old) => merge(old, v, &name),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Mapping(b)
        }
        (Value::Sequence(b), Value::Sequence(o)) => match key {
            "command" | "entrypoint" | "test" => Value::Sequence(o),
            "volumes" => {
                let mut out = b;
                for v in o {
                    let t = mount_target(&v);
                    match out.iter_mut().find(|x| t.is_some() && mount_target(x) == t) {
                        Some(slot) => *slot = v,
                        None => out.push(v),
                    }
                }
                Value::Sequence(out)
            }
            _ => {
                let mut out = b;
                for v in o {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Value::Sequence(out)
            }
        },
        (_, over) => over,
    }
}

/// The container path of a service volume, short (`src:dst[:mode]`) or long form.
fn mount_target(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            Some(match parts.len() {
                1 => parts[0].to_string(),
                _ => parts[1].to_string(),
            })
        }
        Value::Mapping(m) => m.get("target").and_then(scalar_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(s: &str) -> Value {
        canonical(serde_yaml::from_str(s).unwrap())
    }

    #[test]
    fn later_file_overrides_scalars_and_merges_maps_and_lists() {
        let a = yaml("services:\n  web:\n    image: a\n    command: [x, y]\n    environment: [A=1, B=2]\n    ports: ['80:80']\n    volumes: ['d:/data', '/c:/conf']\n");
        let b = yaml("services:\n  web:\n    image: b\n    command: [z]\n    environment:\n      B: '3'\n    ports: ['81:81']\n    volumes: ['e:/data']\n");
        let m = merge(a, b, "");
        let web = &m["services"]["web"];
        assert_eq!(web["image"], Value::from("b"));
        assert_eq!(
            web["command"],
            serde_yaml::from_str::<Value>("[z]").unwrap()
        );
        assert_eq!(web["environment"]["A"], Value::from("1"));
        assert_eq!(web["environment"]["B"], Value::from("3"));
        assert_eq!(web["ports"].as_sequence().unwrap().len(), 2);
        assert_eq!(
            web["volumes"],
            serde_yaml::from_str::<Value>("['e:/data', '/c:/conf']").unwrap()
        );
    }

    #[test]
    fn list_depends_on_becomes_started_conditions() {
        let a = yaml("services:\n  web:\n    depends_on: [db]\n");
        assert_eq!(
            a["services"]["web"]["depends_on"]["db"]["condition"],
            Value::from("service_started")
        );
    }
}
