//! A container's side of networking for `inspect` (docker's `NetworkSettings`) and for
//! `run`/`create` (networks named by the container resolved before anything is made, a
//! network's default binding address given to `-p`, `-P` turned into mappings).

use crate::config::{Endpoint, NetworkMode};
use crate::network as net;
use crate::paths::Paths;
use crate::state::ContainerRecord;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// docker's NetworkSettings: each network of the container with its address while it runs
/// (empty when stopped), the primary network's address at the top level.
pub fn network_settings(paths: &Paths, rec: &ContainerRecord, ports: Value) -> Value {
    let live: BTreeMap<String, net::Member> = if rec.is_running() {
        net::memberships(paths, &rec.id).into_iter().collect()
    } else {
        BTreeMap::new()
    };
    let mut networks = serde_json::Map::new();
    let mut top = json!({"IPAddress": "", "Gateway": "", "IPPrefixLen": 0, "MacAddress": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPv6Gateway": ""});
    let gw = net::gateway_endpoint(&net::endpoints_of(&rec.config.host.endpoints));
    let configured: Vec<Endpoint> = match rec.config.host.network {
        NetworkMode::Bridge => net::endpoints_of(&rec.config.host.endpoints),
        _ => Vec::new(),
    };
    for (i, ep) in configured.iter().enumerate() {
        let def = net::find(paths, &ep.network).ok();
        let m = live.get(&ep.network);
        let ipam = (ep.ip.is_some() || ep.ip6.is_some() || !ep.link_local.is_empty()).then(|| {
            let mut c = serde_json::Map::new();
            if let Some(ip) = ep.ip {
                c.insert("IPv4Address".into(), ip.to_string().into());
            }
            if let Some(ip) = ep.ip6 {
                c.insert("IPv6Address".into(), ip.to_string().into());
            }
            if !ep.link_local.is_empty() {
                let ll: Vec<String> = ep.link_local.iter().map(|i| i.to_string()).collect();
                c.insert("LinkLocalIPs".into(), ll.into());
            }
            Value::Object(c)
        });
        let v6 = m
            .and_then(|m| m.ip6)
            .zip(def.as_ref().and_then(|d| d.ipv6.clone()));
        let v = json!({
            "IPAMConfig": ipam,
            "Aliases": ep.aliases,
            "NetworkID": def.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
            "EndpointID": match (&def, m) {
                (Some(d), Some(_)) => endpoint_id(&d.id, &rec.id),
                _ => String::new(),
            },
            "Gateway": m.and(def.as_ref()).map(|d| d.gateway.to_string()).unwrap_or_default(),
            "IPAddress": m.and_then(|m| m.ipv4()).map(|ip| ip.to_string()).unwrap_or_default(),
            "IPPrefixLen": m.and_then(|m| m.ipv4()).and(def.as_ref()).map_or(0, |d| d.prefix),
            "IPv6Gateway": v6.as_ref().map(|(_, s)| s.gateway.to_string()).unwrap_or_default(),
            "GlobalIPv6Address": v6.as_ref().map(|(ip, _)| ip.to_string()).unwrap_or_default(),
            "GlobalIPv6PrefixLen": v6.as_ref().map_or(0, |(_, s)| s.prefix),
            "MacAddress": m.map(|m| m.mac.clone()).unwrap_or_default(),
            "DriverOpts": (!ep.driver_opts.is_empty()).then(|| ep.driver_opts.clone()),
            "GwPriority": ep.gw_priority,
        });
        // The top-level fields are the gateway network's, as docker's.
        if i == gw {
            for k in [
                "IPAddress",
                "Gateway",
                "IPPrefixLen",
                "MacAddress",
                "GlobalIPv6Address",
                "GlobalIPv6PrefixLen",
                "IPv6Gateway",
            ] {
                top[k] = v[k].clone();
            }
        }
        networks.insert(ep.network.clone(), v);
    }
    if matches!(
        rec.config.host.network,
        NetworkMode::Host | NetworkMode::None
    ) {
        networks.insert(
            rec.config.host.network.as_str().to_string(),
            json!({"NetworkID": net::builtin_id(rec.config.host.network.as_str()), "IPAddress": "", "Gateway": "", "MacAddress": "", "Aliases": null}),
        );
    }
    json!({
        "Ports": ports,
        "IPAddress": top["IPAddress"],
        "Gateway": top["Gateway"],
        "IPPrefixLen": top["IPPrefixLen"],
        "MacAddress": top["MacAddress"],
        "GlobalIPv6Address": top["GlobalIPv6Address"],
        "GlobalIPv6PrefixLen": top["GlobalIPv6PrefixLen"],
        "IPv6Gateway": top["IPv6Gateway"],
        "Networks": networks,
    })
}

/// `run`/`create`: every network a container names exists (docker's "network X not
/// found", before anything is made); names by id prefix become names.
pub fn check_endpoints(
    paths: &Paths,
    host: &mut crate::state::HostConfig,
) -> Result<(), net::NetworkError> {
    for ep in &mut host.endpoints {
        ep.network = net::find(paths, &ep.network)?.name;
    }
    default_binding(paths, host);
    Ok(())
}

/// `com.docker.network.bridge.host_binding_ipv4` of the container's first network: where
/// a published port without an address binds, as docker's (`-p` and `-P`).
pub fn default_binding(paths: &Paths, host: &mut crate::state::HostConfig) {
    let Some(def) = host
        .endpoints
        .first()
        .and_then(|e| net::find(paths, &e.network).ok())
    else {
        return;
    };
    if let Some(ip) = def.bridge_opts.host_binding_ipv4 {
        for p in host.ports.iter_mut().filter(|p| p.host_ip.is_none()) {
            p.host_ip = Some(ip.into());
        }
    }
}

/// `-P`: every port the image EXPOSEs ("80/tcp") that is not published yet, to a free
/// host port.
pub fn publish_exposed<'a>(
    host: &mut crate::state::HostConfig,
    exposed: impl Iterator<Item = &'a String>,
) {
    for key in exposed {
        let Ok(mut all) = crate::config::PortMapping::parse_many("-P", key) else {
            continue;
        };
        all.retain(|m| {
            !host
                .ports
                .iter()
                .any(|p| p.container_port == m.container_port && p.protocol == m.protocol)
        });
        host.ports.extend(all);
    }
}

/// A stable endpoint id for container `id` on network `net_id`.
pub(super) fn endpoint_id(net_id: &str, id: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{net_id}/{id}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}
