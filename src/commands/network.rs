//! `network ls` and `network inspect`: kiste's built-in networks as docker shows them —
//! `bridge` (kiste0, with the containers on it now), `host` and `none`. User-defined
//! networks (create/rm/prune) are not there yet.

use super::format::table;
use super::Exit;
use crate::cli::{NetworkCommand, NetworkInspectArgs};
use crate::paths::Paths;
use crate::state::ContainerStore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const BUILTIN: [(&str, &str); 3] = [("bridge", "bridge"), ("host", "host"), ("none", "null")];

/// A stable id per built-in network (docker's are random; these need no state).
fn network_id(name: &str) -> String {
    let d = Sha256::digest(format!("kiste network {name}").as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn network_command(paths: &Paths, cmd: NetworkCommand) -> anyhow::Result<()> {
    match cmd {
        NetworkCommand::Ls => {
            let rows: Vec<Vec<String>> = BUILTIN
                .iter()
                .map(|(name, driver)| {
                    vec![
                        network_id(name)[..12].to_string(),
                        name.to_string(),
                        driver.to_string(),
                        "local".to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["NETWORK ID", "NAME", "DRIVER", "SCOPE"], &rows)
            );
            Ok(())
        }
        NetworkCommand::Inspect(a) => inspect(paths, a),
    }
}

fn inspect(paths: &Paths, args: NetworkInspectArgs) -> anyhow::Result<()> {
    let mut out = Vec::new();
    let mut failed = false;
    for name in &args.networks {
        let found = BUILTIN
            .iter()
            .find(|(n, _)| n == name || network_id(n).starts_with(name.as_str()));
        match found {
            Some((n, driver)) => out.push(network_json(paths, n, driver)),
            None => {
                eprintln!("Error: network {name} not found");
                failed = true;
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&Value::Array(out))?);
    if failed {
        return Err(Exit::silent(1).into());
    }
    Ok(())
}

fn network_json(paths: &Paths, name: &str, driver: &str) -> Value {
    let mut containers = serde_json::Map::new();
    let mut config = Vec::new();
    let mut options = serde_json::Map::new();
    if name == "bridge" {
        config.push(json!({
            "Subnet": format!("{}/{}", crate::network::SUBNET, crate::network::PREFIX),
            "Gateway": crate::network::GATEWAY.to_string(),
        }));
        options.insert(
            "com.docker.network.bridge.name".into(),
            crate::network::BRIDGE.into(),
        );
        let store = ContainerStore::open(&paths.containers()).ok();
        for (id, m) in crate::network::members(paths) {
            let cname = store
                .as_ref()
                .and_then(|s| s.load(&id).ok())
                .map(|r| r.name)
                .unwrap_or_default();
            containers.insert(
                id,
                json!({
                    "Name": cname,
                    "MacAddress": crate::network::mac_of(m.ip),
                    "IPv4Address": format!("{}/{}", m.ip, crate::network::PREFIX),
                    "IPv6Address": "",
                }),
            );
        }
    }
    json!({
        "Name": name,
        "Id": network_id(name),
        "Scope": "local",
        "Driver": driver,
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": {}, "Config": config },
        "Internal": false,
        "Attachable": false,
        "Containers": containers,
        "Options": options,
        "Labels": {},
    })
}
