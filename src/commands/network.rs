//! The `network` verbs (create, ls, inspect, rm, prune, connect, disconnect) as docker
//! shows them, and a container's `NetworkSettings` for `inspect`. The built-in networks are
//! `bridge` (kiste0), `host` and `none`; user-defined ones live in `network::store`.

use super::filter::Filters;
use super::format::table;
use super::network_settings::endpoint_id;
pub use super::network_settings::{check_endpoints, network_settings, publish_exposed};
use super::ordered;
use super::template::{Formatter, OutputFormat};
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
    Bridge(NetworkDef),
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
    let mut out: Vec<Listed> = net::list(paths)?.into_iter().map(Listed::Bridge).collect();
    out.insert(1, Listed::Builtin("host", "host"));
    out.insert(2, Listed::Builtin("none", "null"));
    Ok(out)
}

fn find_listed(paths: &Paths, what: &str) -> Option<Listed> {
    match what {
        "host" => Some(Listed::Builtin("host", "host")),
        "none" => Some(Listed::Builtin("none", "null")),
        _ => net::find(paths, what).ok().map(Listed::Bridge).or_else(|| {
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

fn create(paths: &Paths, a: NetworkCreateArgs) -> anyhow::Result<()> {
    if a.driver != "bridge" {
        return Err(fail(
            1,
            format!(
                "plugin \"{}\" not found: kiste has the bridge driver only",
                a.driver
            ),
        ));
    }
    if !crate::config::valid_name(&a.name) {
        return Err(fail(
            1,
            format!(
                "invalid network name \"{}\": a name may hold letters, digits, '_', '.' and '-'",
                a.name
            ),
        ));
    }
    let subnet = a
        .subnet
        .as_deref()
        .map(|s| {
            net::parse_cidr(s)
                .ok_or_else(|| fail(1, format!("invalid subnet {s}: expected an IPv4 CIDR")))
        })
        .transpose()?;
    let gateway = a
        .gateway
        .as_deref()
        .map(|g| {
            g.parse()
                .map_err(|_| fail(1, format!("invalid gateway {g}: expected an IPv4 address")))
        })
        .transpose()?;
    if gateway.is_some() && subnet.is_none() {
        return Err(fail(1, "a gateway needs a --subnet to go with it"));
    }
    let mut labels = BTreeMap::new();
    for l in &a.labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let def = net::create(
        paths,
        net::CreateRequest {
            name: a.name,
            subnet,
            gateway,
            internal: a.internal,
            labels,
        },
    )
    .map_err(|e| fail(1, format!("Error response from daemon: {e}")))?;
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
            let (internal, created) = match n {
                Listed::Bridge(d) => (d.internal, d.created.clone()),
                Listed::Builtin(..) => (false, String::new()),
            };
            json!({
                "ID": short(n.id()),
                "Name": n.name(),
                "Driver": n.driver(),
                "Scope": "local",
                "IPv4": matches!(n, Listed::Bridge(_)).to_string(),
                "IPv6": "false",
                "Internal": internal.to_string(),
                "CreatedAt": go_time(&created),
                "Labels": n.labels().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
            })
        })
        .collect();
    match OutputFormat::parse(a.format.as_deref()) {
        OutputFormat::Json => {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        OutputFormat::Template { source, table } => {
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
            let f = Formatter::new(&source, table, true)?;
            print!("{}", f.render_all(&headers, &rows)?);
        }
        OutputFormat::Default => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    ["ID", "Name", "Driver", "Scope"]
                        .iter()
                        .map(|k| r[k].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect();
            print!(
                "{}",
                table(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &cells)
            );
        }
    }
    Ok(())
}

fn inspect(paths: &Paths, args: NetworkInspectArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let mut failed = false;
    for name in &args.networks {
        match find_listed(paths, name) {
            Some(n) => out.push(network_json(paths, &n)),
            None => {
                eprintln!("Error: No such network: {name}");
                failed = true;
            }
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
    if failed {
        return Err(Exit::silent(1).into());
    }
    Ok(())
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
    "Gateway",
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
    let mut config = Vec::new();
    let mut options = serde_json::Map::new();
    let (internal, created) = match n {
        Listed::Bridge(d) => {
            config.push(json!({"Subnet": d.cidr(), "Gateway": d.gateway.to_string()}));
            // As docker: only the default network names its bridge; created ones carry
            // the options they were created with (none).
            if d.is_default() {
                options.insert(
                    "com.docker.network.bridge.name".into(),
                    d.bridge.clone().into(),
                );
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
                        "IPv4Address": format!("{}/{}", m.ip, d.prefix),
                        "IPv6Address": "",
                    }),
                );
            }
            (d.internal, d.created.clone())
        }
        Listed::Builtin(..) => (false, String::new()),
    };
    json!({
        "Name": n.name(),
        "Id": n.id(),
        "Created": created,
        "Scope": "local",
        "Driver": n.driver(),
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": {}, "Config": config },
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
        Some(Listed::Bridge(d)) if !d.is_default() => d,
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
    let mut failed = false;
    for what in &a.networks {
        match remove_one(paths, what) {
            Ok(_) => println!("{what}"),
            Err(e) if a.force && e.starts_with("Error: No such network") => {}
            Err(e) => {
                eprintln!("{e}");
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit::silent(1).into());
    }
    Ok(())
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
    if !a.force {
        use std::io::BufRead;
        eprint!("WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    let deleted = prune_unused(paths, |_| true)?;
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
    if ep.ip.is_some() && def.is_default() {
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
        net::connect_running(paths, &rec.id, &rec.name, rec.state.pid, &ep)
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
        net::disconnect(paths, &rec.id, &rec.name, &def.name)
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
