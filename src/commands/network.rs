//! The `network` verbs (create, ls, inspect, rm, prune, connect, disconnect) as docker
//! shows them, and a container's `NetworkSettings` for `inspect`. The built-in networks are
//! `bridge` (kiste0), `host` and `none`; user-defined ones live in `network::store`.

use super::failures::Failures;
use super::filter::Filters;
use super::format::table;
use super::network_settings::endpoint_id;
pub use super::network_settings::{
    check_endpoints, default_binding, network_settings, publish_exposed,
};
use super::ordered;
use super::template::{print_rows, Formatter};
use super::Exit;
use crate::cli::{
    NetworkCommand, NetworkConnectArgs, NetworkCreateArgs, NetworkDisconnectArgs,
    NetworkInspectArgs, NetworkLsArgs, NetworkPruneArgs, NetworkRmArgs,
};
use crate::config::NetworkMode;
use crate::network::{self as net, NetworkDef};
use crate::paths::Paths;
use crate::state::{ContainerRecord, ContainerStore};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A network as a listing shows it: the bridge ones, then host and none (no state).
enum Listed {
    Bridge(Box<NetworkDef>),
    Builtin(&'static str, &'static str),
}

impl Listed {
    fn name(&self) -> &str {
        match self {
            Listed::Bridge(d) => &d.name,
            Listed::Builtin(n, _) => n,
        }
    }
    fn id(&self) -> String {
        match self {
            Listed::Bridge(d) => d.id.clone(),
            Listed::Builtin(n, _) => net::builtin_id(n),
        }
    }
    fn driver(&self) -> &str {
        match self {
            Listed::Bridge(_) => "bridge",
            Listed::Builtin(_, d) => d,
        }
    }
    fn labels(&self) -> BTreeMap<String, String> {
        match self {
            Listed::Bridge(d) => d.labels.clone(),
            Listed::Builtin(..) => BTreeMap::new(),
        }
    }
}

fn all_networks(paths: &Paths) -> Result<Vec<Listed>, net::NetworkError> {
    let mut out: Vec<Listed> = net::list(paths)?
        .into_iter()
        .map(|d| Listed::Bridge(Box::new(d)))
        .collect();
    out.insert(1, Listed::Builtin("host", "host"));
    out.insert(2, Listed::Builtin("none", "null"));
    Ok(out)
}

fn find_listed(paths: &Paths, what: &str) -> Option<Listed> {
    match what {
        "host" => Some(Listed::Builtin("host", "host")),
        "none" => Some(Listed::Builtin("none", "null")),
        _ => net::find(paths, what)
            .ok()
            .map(|d| Listed::Bridge(Box::new(d)))
            .or_else(|| {
                ["host", "none"]
                    .into_iter()
                    .find(|n| net::builtin_id(n).starts_with(what))
                    .and_then(|n| find_listed(paths, n))
            }),
    }
}

pub fn network_command(paths: &Paths, cmd: NetworkCommand) -> anyhow::Result<()> {
    match cmd {
        NetworkCommand::Create(a) => create(paths, a),
        NetworkCommand::Ls(a) => ls(paths, a),
        NetworkCommand::Inspect(a) => inspect(paths, a),
        NetworkCommand::Rm(a) => rm(paths, a),
        NetworkCommand::Prune(a) => prune(paths, a),
        NetworkCommand::Connect(a) => connect(paths, a),
        NetworkCommand::Disconnect(a) => disconnect(paths, a),
    }
}

fn fail(code: i32, message: impl Into<String>) -> anyhow::Error {
    Exit {
        code,
        message: message.into(),
    }
    .into()
}

/// docker's CLI prints a failed `network create` as the daemon (or its own check) said it,
/// with no "Error: " before it, and exits 1.
fn create_failed(message: impl std::fmt::Display) -> anyhow::Error {
    eprintln!("{message}");
    Exit::silent(1).into()
}

fn create(paths: &Paths, a: NetworkCreateArgs) -> anyhow::Result<()> {
    if a.driver != "bridge" {
        return Err(create_failed(format!(
            "Error response from daemon: plugin \"{}\" not found: kiste has the bridge driver only",
            a.driver
        )));
    }
    if !crate::config::valid_name(&a.name) {
        return Err(create_failed(format!(
            "Error response from daemon: invalid network name \"{}\": a name may hold letters, digits, '_', '.' and '-'",
            a.name
        )));
    }
    let mut req = super::network_create::request(&a).map_err(create_failed)?;
    for l in &a.labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        req.labels.insert(k.to_string(), v.to_string());
    }
    let def =
        net::create(paths, req).map_err(|e| fail(1, format!("Error response from daemon: {e}")))?;
    crate::events::network(paths, "create", &def.id, &def.name, None);
    println!("{}", def.id);
    Ok(())
}

fn ls(paths: &Paths, a: NetworkLsArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(
        &a.filter,
        &["name", "id", "driver", "label", "scope", "type"],
    )?;
    let list: Vec<Listed> = all_networks(paths)?
        .into_iter()
        .filter(|n| {
            filters.any("name", |v| n.name().contains(v))
                && filters.any("id", |v| n.id().starts_with(v))
                && filters.any("driver", |v| n.driver() == v)
                && filters.any("scope", |v| v == "local")
                && filters.any("type", |v| {
                    let builtin = matches!(n, Listed::Builtin(..))
                        || matches!(n, Listed::Bridge(d) if d.is_default());
                    (v == "builtin") == builtin
                })
                && filters.labels_match(&n.labels())
        })
        .collect();
    let short = |id: String| if a.no_trunc { id } else { id[..12].to_string() };
    if a.quiet {
        for n in &list {
            println!("{}", short(n.id()));
        }
        return Ok(());
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|n| {
            let (internal, created, v4, v6) = match n {
                Listed::Bridge(d) => (d.internal, d.created.clone(), d.ipv4(), d.ipv6.is_some()),
                Listed::Builtin(..) => (false, String::new(), false, false),
            };
            json!({
                "ID": short(n.id()),
                "Name": n.name(),
                "Driver": n.driver(),
                "Scope": "local",
                "IPv4": v4.to_string(),
                "IPv6": v6.to_string(),
                "Internal": internal.to_string(),
                "CreatedAt": go_time(&created),
                "Labels": n.labels().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
            })
        })
        .collect();
    let headers = [
        ("ID", "NETWORK ID"),
        ("Name", "NAME"),
        ("Driver", "DRIVER"),
        ("Scope", "SCOPE"),
        ("IPv4", "IPV4"),
        ("IPv6", "IPV6"),
        ("Internal", "INTERNAL"),
        ("CreatedAt", "CREATED AT"),
        ("Labels", "LABELS"),
    ];
    print_rows(a.format.as_deref(), &headers, &rows, || {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                ["ID", "Name", "Driver", "Scope"]
                    .iter()
                    .map(|k| r[k].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .collect();
        table(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &cells)
    })
}

fn inspect(paths: &Paths, args: NetworkInspectArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let mut failed = Failures::default();
    for name in &args.networks {
        match find_listed(paths, name) {
            Some(n) => out.push(network_json(paths, &n)),
            None => failed.report(format_args!("Error: No such network: {name}")),
        }
    }
    match args.format.as_deref() {
        Some(f) => {
            let f = Formatter::new(f, false, true)?;
            for v in &out {
                println!("{}", f.render(v)?);
            }
        }
        None => println!("{}", ordered::pretty(&Value::Array(out), NETWORK_FIELDS)),
    }
    failed.finish()
}

/// docker's order of a network's fields (and of its IPAM, Config and Containers entries).
const NETWORK_FIELDS: &[&str] = &[
    "Name",
    "Id",
    "Created",
    "Scope",
    "Driver",
    "EnableIPv6",
    "IPAM",
    "Internal",
    "Attachable",
    "Ingress",
    "ConfigFrom",
    "ConfigOnly",
    "Containers",
    "Options",
    "Config",
    "Labels",
    "EndpointID",
    "MacAddress",
    "IPv4Address",
    "IPv6Address",
    "Subnet",
    "IPRange",
    "Gateway",
    "AuxiliaryAddresses",
];

/// An RFC 3339 UTC time as Go prints a `time.Time` (docker's `CreatedAt` columns).
fn go_time(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z') {
        Some(t) => format!("{} +0000 UTC", t.replacen('T', " ", 1)),
        None => rfc3339.to_string(),
    }
}

fn network_json(paths: &Paths, n: &Listed) -> Value {
    let mut containers = serde_json::Map::new();
    let mut config: Vec<Value> = Vec::new();
    let mut options = serde_json::Map::new();
    let mut ipam_options = serde_json::Map::new();
    let (internal, created, v6) = match n {
        Listed::Bridge(d) => {
            config = ipam_config(d);
            // As docker: only the default network names its bridge; created ones carry
            // the options they were created with.
            if d.is_default() {
                options.insert(
                    "com.docker.network.bridge.name".into(),
                    d.bridge.clone().into(),
                );
            }
            for (k, v) in &d.options {
                options.insert(k.clone(), v.clone().into());
            }
            for (k, v) in &d.ipam_options {
                ipam_options.insert(k.clone(), v.clone().into());
            }
            let store = ContainerStore::open(&paths.containers()).ok();
            for (id, m) in net::members(paths, &d.name) {
                let cname = store
                    .as_ref()
                    .and_then(|s| s.load(&id).ok())
                    .map(|r| r.name)
                    .unwrap_or(m.name.clone());
                containers.insert(
                    id.clone(),
                    json!({
                        "Name": cname,
                        "EndpointID": endpoint_id(&d.id, &id),
                        "MacAddress": m.mac,
                        "IPv4Address": m.ipv4().map(|ip| format!("{ip}/{}", d.prefix)).unwrap_or_default(),
                        "IPv6Address": match (m.ip6, &d.ipv6) {
                            (Some(ip), Some(s)) => format!("{ip}/{}", s.prefix),
                            _ => String::new(),
                        },
                    }),
                );
            }
            (d.internal, d.created.clone(), d.ipv6.is_some())
        }
        Listed::Builtin(..) => (false, String::new(), false),
    };
    json!({
        "Name": n.name(),
        "Id": n.id(),
        "Created": created,
        "Scope": "local",
        "Driver": n.driver(),
        "EnableIPv6": v6,
        "IPAM": { "Driver": "default", "Options": ipam_options, "Config": config },
        "Internal": internal,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": containers,
        "Options": options,
        "Labels": n.labels(),
    })
}

/// docker's IPAM.Config entries: the IPv4 subnet (unless disabled), then the IPv6 one.
fn ipam_config(d: &NetworkDef) -> Vec<Value> {
    let aux = |v6: bool| -> serde_json::Map<String, Value> {
        d.aux
            .iter()
            .filter(|(_, ip)| ip.is_ipv6() == v6)
            .map(|(k, ip)| (k.clone(), ip.to_string().into()))
            .collect()
    };
    let entry = |subnet: String, range: Option<String>, gateway: String, v6: bool| {
        let mut e = serde_json::Map::new();
        e.insert("Subnet".into(), subnet.into());
        if let Some(r) = range {
            e.insert("IPRange".into(), r.into());
        }
        e.insert("Gateway".into(), gateway.into());
        let aux = aux(v6);
        if !aux.is_empty() {
            e.insert("AuxiliaryAddresses".into(), aux.into());
        }
        Value::Object(e)
    };
    let mut out = Vec::new();
    if d.ipv4() {
        let range = d.ip_range.map(|(ip, p)| format!("{ip}/{p}"));
        out.push(entry(d.cidr(), range, d.gateway.to_string(), false));
    }
    if let Some(s) = &d.ipv6 {
        let range = s.ip_range.map(|(ip, p)| format!("{ip}/{p}"));
        out.push(entry(s.cidr(), range, s.gateway.to_string(), true));
    }
    out
}

/// The containers (running or not) whose configuration names network `def`.
fn users(paths: &Paths, def: &NetworkDef) -> Vec<ContainerRecord> {
    let store = ContainerStore::open(&paths.containers()).ok();
    let live = net::members(paths, &def.name);
    store
        .and_then(|s| s.list().ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            live.contains_key(&r.id)
                || (r.config.host.network == NetworkMode::Bridge
                    && net::endpoints_of(&r.config.host.endpoints)
                        .iter()
                        .any(|e| e.network == def.name))
        })
        .collect()
}

fn remove_one(paths: &Paths, what: &str) -> Result<String, String> {
    let def = match find_listed(paths, what) {
        Some(Listed::Bridge(d)) if !d.is_default() => *d,
        Some(n) => {
            return Err(format!(
                "Error response from daemon: {} is a pre-defined network and cannot be removed",
                n.name()
            ))
        }
        None => return Err(format!("Error: No such network: {what}")),
    };
    if !users(paths, &def).is_empty() {
        return Err(format!(
            "Error response from daemon: error while removing network: network {} id {} has active endpoints",
            def.name, def.id
        ));
    }
    net::teardown(paths, &def)
        .and_then(|()| net::forget(paths, &def))
        .map_err(|e| format!("Error response from daemon: {e}"))?;
    crate::events::network(paths, "destroy", &def.id, &def.name, None);
    Ok(def.name)
}

fn rm(paths: &Paths, a: NetworkRmArgs) -> anyhow::Result<()> {
    let mut failed = Failures::default();
    for what in &a.networks {
        match remove_one(paths, what) {
            Ok(_) => println!("{what}"),
            Err(e) if a.force && e.starts_with("Error: No such network") => {}
            Err(e) => failed.report(e),
        }
    }
    failed.finish()
}

/// Remove every user-defined network no container names and `chosen` accepts: their
/// names (`network prune`, `system prune`).
pub(super) fn prune_unused(
    paths: &Paths,
    chosen: impl Fn(&NetworkDef) -> bool,
) -> Result<Vec<String>, net::NetworkError> {
    let mut deleted = Vec::new();
    for def in net::list(paths)?.into_iter().filter(|d| !d.is_default()) {
        if chosen(&def) && users(paths, &def).is_empty() {
            if let Ok(name) = remove_one(paths, &def.name) {
                deleted.push(name);
            }
        }
    }
    Ok(deleted)
}

fn prune(paths: &Paths, a: NetworkPruneArgs) -> anyhow::Result<()> {
    // docker checks the filters before it asks.
    super::prune::parse_filters(&a.filter)?;
    if !a.force {
        use std::io::BufRead;
        eprint!("WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    let filters = super::prune::parse_filters(&a.filter)?;
    let options = super::prune::PruneOptions {
        filters,
        ..Default::default()
    };
    let deleted = super::prune::prune_networks(paths, &options)?.deleted;
    if !deleted.is_empty() {
        println!("Deleted Networks:");
        for d in deleted {
            println!("{d}");
        }
    }
    Ok(())
}

fn connect(paths: &Paths, a: NetworkConnectArgs) -> anyhow::Result<()> {
    let mut ep = a.endpoint().map_err(|e| fail(125, e.to_string()))?;
    let def = net::find(paths, &a.network)
        .map_err(|e| fail(1, format!("Error response from daemon: {e}")))?;
    ep.network = def.name.clone();
    if (ep.ip.is_some() || ep.ip6.is_some()) && def.is_default() {
        return Err(fail(1, "Error response from daemon: user specified IP address is supported on user defined networks only"));
    }
    let store = ContainerStore::open(&paths.containers())?;
    let rec = store.resolve(&a.container).map_err(|_| {
        fail(
            1,
            format!(
                "Error response from daemon: No such container: {}",
                a.container
            ),
        )
    })?;
    match rec.config.host.network {
        NetworkMode::Bridge => {}
        NetworkMode::Host => return Err(fail(1, "Error response from daemon: container cannot be disconnected from host network or connected to host network")),
        _ => return Err(fail(1, format!(
            "Error response from daemon: container {} has its network mode set to {}; only containers on bridge networks can be connected",
            rec.name,
            rec.config.host.network.as_str()
        ))),
    }
    let mut endpoints = net::endpoints_of(&rec.config.host.endpoints);
    if endpoints.iter().any(|e| e.network == def.name) {
        return Err(fail(
            1,
            format!(
                "Error response from daemon: endpoint with name {} already exists in network {}",
                rec.name, def.name
            ),
        ));
    }
    if rec.is_running() {
        net::connect_running(paths, &rec.id, &rec.name, rec.state.pid, &ep, &endpoints)
            .map_err(|e| fail(1, format!("Error response from daemon: {e}")))?;
    }
    endpoints.push(ep);
    store.update(&rec.id, |r| r.config.host.endpoints = endpoints)?;
    Ok(())
}

fn disconnect(paths: &Paths, a: NetworkDisconnectArgs) -> anyhow::Result<()> {
    let def = net::find(paths, &a.network)
        .map_err(|e| fail(1, format!("Error response from daemon: {e}")))?;
    let store = ContainerStore::open(&paths.containers())?;
    let rec = store.resolve(&a.container).map_err(|_| {
        fail(
            1,
            format!(
                "Error response from daemon: No such container: {}",
                a.container
            ),
        )
    })?;
    let mut endpoints = net::endpoints_of(&rec.config.host.endpoints);
    let before = endpoints.len();
    endpoints.retain(|e| e.network != def.name);
    let live = net::memberships(paths, &rec.id)
        .iter()
        .any(|(n, _)| *n == def.name);
    if endpoints.len() == before && !live && !a.force {
        return Err(fail(
            1,
            format!(
                "Error response from daemon: container {} is not connected to network {}",
                rec.name, def.name
            ),
        ));
    }
    if live {
        net::disconnect(
            paths,
            &rec.id,
            &rec.name,
            &def.name,
            rec.state.pid,
            &endpoints,
        )
        .map_err(|e| fail(1, format!("Error response from daemon: {e}")))?;
    }
    store.update(&rec.id, |r| {
        if endpoints.is_empty() {
            // docker leaves such a container with no network at all.
            r.config.host.network = NetworkMode::None;
        }
        r.config.host.endpoints = endpoints;
    })?;
    Ok(())
}
