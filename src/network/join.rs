//! A container joining and leaving networks as a whole: at start, a new network namespace
//! with one veth per endpoint (eth0 on the primary network carries the default route);
//! `network connect`/`disconnect` on a running container add or remove one in its
//! namespace. The default routes go through the endpoint with the highest `--gw-priority`
//! (docker 28's rule; on a tie the earlier endpoint keeps them), also when a running
//! container is connected to a network that outranks its current gateway. Names are resolved to network definitions here, so an unknown network is
//! an error before anything is made.

use super::bridge::{attach, leave, release};
use super::error::{io, NetworkError};
use super::hosts;
use super::members::memberships;
use super::store::find;
use crate::config::{Endpoint, DEFAULT_NETWORK};
use crate::paths::Paths;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};

/// What a starting container got: the namespace to join (kept open by this handle) and
/// its primary address.
pub struct Joined {
    pub netns: File,
    pub ip: Ipv4Addr,
}

/// The endpoints of a bridged container (older records have none: the default network).
pub fn endpoints_of(endpoints: &[Endpoint]) -> Vec<Endpoint> {
    if endpoints.is_empty() {
        vec![Endpoint {
            network: DEFAULT_NETWORK.to_string(),
            ..Endpoint::default()
        }]
    } else {
        endpoints.to_vec()
    }
}

/// Put starting container `id` on its networks (its addresses held by this process, the
/// container's monitor): a veth per endpoint into `netns`, the new network namespace its
/// process was cloned with (whose `lo` the process brings up itself), configured while
/// that process sets itself up. Its /etc/hosts (already written in `run_dir` and
/// bind-mounted: it is rewritten in place) gets its address and its networks' members.
/// Nothing is left when it fails.
pub fn join(
    paths: &Paths,
    id: &str,
    name: &str,
    hostname: &str,
    endpoints: &[Endpoint],
    netns: File,
) -> Result<Joined, NetworkError> {
    if paths.rootless {
        return Err(NetworkError::Rootless);
    }
    let endpoints = endpoints_of(endpoints);
    let defs = endpoints
        .iter()
        .map(|e| find(paths, &e.network))
        .collect::<Result<Vec<_>, _>>()?;
    let gw = gateway_endpoint(&endpoints);
    let mut primary = None;
    for (n, (ep, def)) in endpoints.iter().zip(&defs).enumerate() {
        match attach(
            paths,
            def,
            id,
            name,
            ep,
            &netns,
            n,
            std::process::id() as i32,
            n == gw,
        ) {
            Ok(a) => {
                let mut own: Vec<IpAddr> = Vec::new();
                if !a.ip.is_unspecified() {
                    own.push(a.ip.into());
                }
                own.extend(a.ip6.map(IpAddr::V6));
                primary.get_or_insert((a.ip, own));
            }
            Err(e) => {
                let _ = release(paths, id);
                return Err(e);
            }
        }
    }
    let (ip, own) = primary.expect("at least one endpoint");
    let run_dir = paths.container_run_dir(id);
    let named = defs.iter().any(|d| !d.is_default());
    let hosts_ready = hosts::set_own_address(&run_dir, hostname, &own)
        .and_then(|()| {
            if named {
                hosts::refresh(paths, id)
            } else {
                Ok(())
            }
        })
        .map_err(io(format!("write /etc/hosts of {id}")));
    if let Err(e) = hosts_ready {
        let _ = release(paths, id);
        return Err(e);
    }
    Ok(Joined { netns, ip })
}

/// `network connect` of running container `id` (pid `pid`, on the networks of `current`):
/// one more eth in its namespace.
pub fn connect_running(
    paths: &Paths,
    id: &str,
    name: &str,
    pid: i32,
    ep: &Endpoint,
    current: &[Endpoint],
) -> Result<(), NetworkError> {
    let def = find(paths, &ep.network)?;
    let ns_path = format!("/proc/{pid}/ns/net");
    let netns = File::open(&ns_path).map_err(io(format!("open {ns_path} of {id}")))?;
    let n = memberships(paths, id).len();
    // The new network takes the default routes when it outranks every current endpoint.
    let outranks = current.iter().all(|e| ep.gw_priority > e.gw_priority);
    // The address follows the container's life (it dies with its monitor).
    let a = attach(paths, &def, id, name, ep, &netns, n, pid, false)?;
    if outranks {
        let routed = super::bridge::in_netns(&netns, |nl| {
            super::v6::default_routes(nl, &def, !a.ip.is_unspecified(), a.ip6.is_some(), true)
        });
        if let Err(e) = routed {
            let _ = leave(paths, &def.name, id, true);
            return Err(io(format!(
                "route {id}'s default traffic through {}",
                def.name
            ))(e));
        }
    }
    hosts::refresh(paths, id).map_err(io(format!("write /etc/hosts of {id}")))
}

/// The index of the endpoint whose network gives the default routes: the highest
/// `--gw-priority`, the first one on a tie.
pub fn gateway_endpoint(endpoints: &[Endpoint]) -> usize {
    let mut best = 0;
    for (i, e) in endpoints.iter().enumerate() {
        if e.gw_priority > endpoints[best].gw_priority {
            best = i;
        }
    }
    best
}

/// `network disconnect`: container `id` leaves network `network` (its eth goes with the
/// host end of the veth). When it held the default routes, the best of the `remaining`
/// endpoints (by `--gw-priority`) takes them over in the namespace of `pid`.
pub fn disconnect(
    paths: &Paths,
    id: &str,
    name: &str,
    network: &str,
    pid: i32,
    remaining: &[Endpoint],
) -> Result<(), NetworkError> {
    let def = find(paths, network)?;
    if !leave(paths, &def.name, id, true)? {
        return Err(NetworkError::NotConnected {
            container: name.to_string(),
            network: def.name,
        });
    }
    if let (false, Some(best)) = (
        remaining.is_empty(),
        remaining.get(gateway_endpoint(remaining)),
    ) {
        let member = memberships(paths, id)
            .into_iter()
            .find(|(n, _)| *n == best.network);
        if let (Some((_, m)), Ok(best_def)) = (member, find(paths, &best.network)) {
            let ns_path = format!("/proc/{pid}/ns/net");
            let routed = File::open(&ns_path).and_then(|netns| {
                super::bridge::in_netns(&netns, |nl| {
                    super::v6::default_routes(
                        nl,
                        &best_def,
                        m.ipv4().is_some(),
                        m.ip6.is_some(),
                        true,
                    )
                })
            });
            routed.map_err(io(format!(
                "route {id}'s default traffic through {}",
                best_def.name
            )))?;
        }
    }
    hosts::refresh(paths, id).map_err(io(format!("write /etc/hosts of {id}")))
}
