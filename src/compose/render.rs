//! `compose config`: the resolved project as YAML in docker compose v2's normal form
//! (long-syntax ports and volumes, mappings for environment, labels, depends_on and
//! networks, absolute paths, top-level networks and volumes with their real names).

use super::model::*;
use serde_yaml::{Mapping, Value};

fn put(m: &mut Mapping, k: &str, v: impl Into<Value>) {
    m.insert(k.into(), v.into());
}

fn strings(v: &[String]) -> Value {
    Value::Sequence(v.iter().map(|s| Value::from(s.as_str())).collect())
}

fn number_or_string(s: &str) -> Value {
    match s.parse::<u64>() {
        Ok(n) => n.into(),
        Err(_) => s.into(),
    }
}

fn service(s: &Service) -> Value {
    let mut m = Mapping::new();
    if let Some(b) = &s.build {
        let mut bm = Mapping::new();
        put(&mut bm, "context", b.context.to_string_lossy().as_ref());
        put(
            &mut bm,
            "dockerfile",
            b.dockerfile.as_deref().unwrap_or("Dockerfile"),
        );
        if !b.args.is_empty() {
            let args: Mapping = b
                .args
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect();
            put(&mut bm, "args", args);
        }
        if let Some(t) = &b.target {
            put(&mut bm, "target", t.as_str());
        }
        put(&mut m, "build", bm);
    }
    if !s.cap_add.is_empty() {
        put(&mut m, "cap_add", strings(&s.cap_add));
    }
    if !s.cap_drop.is_empty() {
        put(&mut m, "cap_drop", strings(&s.cap_drop));
    }
    if let Some(c) = &s.command {
        put(&mut m, "command", strings(c));
    }
    if let Some(n) = &s.container_name {
        put(&mut m, "container_name", n.as_str());
    }
    if let Some(c) = &s.cpus {
        put(
            &mut m,
            "cpus",
            c.parse::<f64>()
                .map(Value::from)
                .unwrap_or_else(|_| c.as_str().into()),
        );
    }
    if !s.depends_on.is_empty() {
        let deps: Mapping = s
            .depends_on
            .iter()
            .map(|(k, c)| {
                let mut d = Mapping::new();
                put(&mut d, "condition", c.as_str());
                (k.as_str().into(), Value::Mapping(d))
            })
            .collect();
        put(&mut m, "depends_on", deps);
    }
    if let Some(e) = &s.entrypoint {
        put(&mut m, "entrypoint", strings(e));
    }
    if !s.environment.is_empty() {
        let env: Mapping = s
            .environment
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().into(),
                    v.as_deref().map_or(Value::Null, Value::from),
                )
            })
            .collect();
        put(&mut m, "environment", env);
    }
    if !s.expose.is_empty() {
        put(&mut m, "expose", strings(&s.expose));
    }
    if let Some(h) = &s.healthcheck {
        let mut hm = Mapping::new();
        if h.disable {
            put(&mut hm, "disable", true);
        } else {
            put(&mut hm, "test", strings(&h.test));
        }
        for (k, v) in [
            ("interval", &h.interval),
            ("timeout", &h.timeout),
            ("start_period", &h.start_period),
        ] {
            if let Some(v) = v {
                put(&mut hm, k, v.as_str());
            }
        }
        if let Some(r) = h.retries {
            put(&mut hm, "retries", r);
        }
        put(&mut m, "healthcheck", hm);
    }
    if let Some(h) = &s.hostname {
        put(&mut m, "hostname", h.as_str());
    }
    if let Some(i) = &s.image {
        put(&mut m, "image", i.as_str());
    }
    if let Some(i) = s.init {
        put(&mut m, "init", i);
    }
    if !s.labels.is_empty() {
        let l: Mapping = s
            .labels
            .iter()
            .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
            .collect();
        put(&mut m, "labels", l);
    }
    if let Some(l) = &s.mem_limit {
        put(&mut m, "mem_limit", number_or_string(l));
    }
    let nets: Mapping = s
        .networks
        .iter()
        .map(|(k, n)| {
            let v = if n.aliases.is_empty() {
                Value::Null
            } else {
                let mut a = Mapping::new();
                put(&mut a, "aliases", strings(&n.aliases));
                Value::Mapping(a)
            };
            (k.as_str().into(), v)
        })
        .collect();
    put(&mut m, "networks", nets);
    if let Some(p) = s.pids_limit {
        put(&mut m, "pids_limit", p);
    }
    if !s.ports.is_empty() {
        let ports: Vec<Value> = s
            .ports
            .iter()
            .map(|p| {
                let mut pm = Mapping::new();
                put(&mut pm, "mode", "ingress");
                if let Some(ip) = &p.host_ip {
                    put(&mut pm, "host_ip", ip.as_str());
                }
                put(&mut pm, "target", number_or_string(&p.target));
                if let Some(pp) = &p.published {
                    put(&mut pm, "published", pp.as_str());
                }
                put(&mut pm, "protocol", p.protocol.as_str());
                Value::Mapping(pm)
            })
            .collect();
        put(&mut m, "ports", ports);
    }
    if !s.profiles.is_empty() {
        put(&mut m, "profiles", strings(&s.profiles));
    }
    if s.read_only {
        put(&mut m, "read_only", true);
    }
    if let Some(r) = &s.restart {
        put(&mut m, "restart", r.as_str());
    }
    if let Some(u) = &s.user {
        put(&mut m, "user", u.as_str());
    }
    if !s.volumes.is_empty() {
        let vols: Vec<Value> = s
            .volumes
            .iter()
            .map(|v| {
                let mut vm = Mapping::new();
                put(&mut vm, "type", v.kind.as_str());
                if let Some(src) = &v.source {
                    put(&mut vm, "source", src.as_str());
                }
                put(&mut vm, "target", v.target.as_str());
                if v.read_only {
                    put(&mut vm, "read_only", true);
                }
                Value::Mapping(vm)
            })
            .collect();
        put(&mut m, "volumes", vols);
    }
    if let Some(w) = &s.working_dir {
        put(&mut m, "working_dir", w.as_str());
    }
    Value::Mapping(m)
}

/// The whole project as `compose config` prints it.
pub fn render(p: &Project) -> String {
    let mut top = Mapping::new();
    put(&mut top, "name", p.name.as_str());
    let services: Mapping = p
        .services
        .iter()
        .map(|(k, s)| (k.as_str().into(), service(s)))
        .collect();
    put(&mut top, "services", services);
    let used: std::collections::BTreeSet<&String> = p
        .services
        .values()
        .flat_map(|s| s.networks.keys())
        .collect();
    let nets: Mapping = p
        .networks
        .iter()
        .filter(|(k, _)| *k != "default" || used.contains(k))
        .map(|(k, n)| {
            let mut nm = Mapping::new();
            put(&mut nm, "name", p.network_name(k));
            if n.external {
                put(&mut nm, "external", true);
            }
            (k.as_str().into(), Value::Mapping(nm))
        })
        .collect();
    if !nets.is_empty() {
        put(&mut top, "networks", nets);
    }
    let vols: Mapping = p
        .volumes
        .iter()
        .map(|(k, v)| {
            let mut vm = Mapping::new();
            put(&mut vm, "name", p.volume_name(k));
            if v.external {
                put(&mut vm, "external", true);
            }
            (k.as_str().into(), Value::Mapping(vm))
        })
        .collect();
    if !vols.is_empty() {
        put(&mut top, "volumes", vols);
    }
    serde_yaml::to_string(&Value::Mapping(top)).unwrap_or_default()
}
