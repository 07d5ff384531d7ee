//! `port`: a running container's published ports as bound, in docker's form
//! (`80/tcp -> 0.0.0.0:8080`), or the host addresses of one port.

use super::Exit;
use crate::cli::PortArgs;
use crate::config::{PortMapping, Protocol};
use crate::paths::Paths;
use crate::state::ContainerStore;

pub fn port(paths: &Paths, a: PortArgs) -> anyhow::Result<()> {
    let store = ContainerStore::open(&paths.containers())?;
    let rec = store.resolve(&a.container).map_err(|_| Exit {
        code: 1,
        message: format!("Error: No such container: {}", a.container),
    })?;
    let bound: &[PortMapping] = if rec.is_running() {
        &rec.state.ports
    } else {
        &[]
    };
    let Some(want) = &a.port else {
        for p in bound {
            println!("{} -> {}", p.key(), host_addr(p));
        }
        return Ok(());
    };
    let (num, proto) = want.split_once('/').unwrap_or((want, "tcp"));
    let proto = match proto {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => {
            return Err(Exit {
                code: 1,
                message: format!(
                    "Error: invalid protocol {proto:?} in {want}: expected tcp or udp"
                ),
            }
            .into())
        }
    };
    let num: u16 = num.parse().map_err(|_| Exit {
        code: 1,
        message: format!("Error: invalid port {want}: expected PORT[/PROTO]"),
    })?;
    let hits: Vec<&PortMapping> = bound
        .iter()
        .filter(|p| p.container_port == num && p.protocol == proto)
        .collect();
    if hits.is_empty() {
        return Err(Exit {
            code: 1,
            message: format!(
                "Error: No public port '{num}/{proto}' published for {}",
                rec.name
            ),
        }
        .into());
    }
    for p in hits {
        println!("{}", host_addr(p));
    }
    Ok(())
}

fn host_addr(p: &PortMapping) -> String {
    match p.bind_ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{}", p.host_port),
        ip => format!("{ip}:{}", p.host_port),
    }
}
