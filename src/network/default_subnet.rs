//! The default network's subnet: configured (`$KISTE_DEFAULT_SUBNET`, or podman's
//! `default_subnet` in the `[network]` table of containers.conf), or chosen so that it
//! overlaps none of the host's routes: the first of 10.88.0.0/16, 10.87.0.0/16, …,
//! 10.80.0.0/16 that is free. Once kiste0 exists, its own route is the answer, so every
//! store and every later command use the subnet the bridge was made with.

use super::error::NetworkError;
use std::net::Ipv4Addr;
use std::path::Path;

/// `a.b.c.d/n` (IPv4, n ≤ 32), the address masked to the prefix.
pub fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (ip, p) = s.trim().split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let p: u8 = p.parse().ok().filter(|p| *p <= 32)?;
    let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
    Some((Ipv4Addr::from(u32::from(ip) & mask), p))
}

/// The default network's subnet (see the module's text).
pub fn default_subnet() -> Result<(Ipv4Addr, u8), NetworkError> {
    static SUBNET: std::sync::OnceLock<Result<(Ipv4Addr, u8), String>> = std::sync::OnceLock::new();
    SUBNET
        .get_or_init(|| resolve().map_err(|e| e.to_string()))
        .clone()
        .map_err(NetworkError::DefaultSubnet)
}

fn resolve() -> Result<(Ipv4Addr, u8), NetworkError> {
    if let Ok(v) = std::env::var("KISTE_DEFAULT_SUBNET") {
        return checked(&v, "KISTE_DEFAULT_SUBNET");
    }
    let conf = std::env::var("CONTAINERS_CONF")
        .unwrap_or_else(|_| "/etc/containers/containers.conf".to_string());
    if let Some(v) = from_containers_conf(Path::new(&conf))? {
        return checked(&v, &format!("default_subnet in {conf}"));
    }
    let routes = routes();
    if let Some((_, net)) = routes.iter().find(|(dev, _)| dev == "kiste0") {
        return Ok(*net);
    }
    (80..=88u8)
        .rev()
        .map(|b| (Ipv4Addr::new(10, b, 0, 0), 16))
        .find(|c| !routes.iter().any(|(_, r)| super::ipam::overlaps(*c, *r)))
        .ok_or_else(|| {
            NetworkError::DefaultSubnet(
                "every candidate 10.80.0.0/16..10.88.0.0/16 overlaps a host route: \
                 set KISTE_DEFAULT_SUBNET or default_subnet in containers.conf"
                    .into(),
            )
        })
}

fn checked(value: &str, what: &str) -> Result<(Ipv4Addr, u8), NetworkError> {
    match parse_cidr(value) {
        Some(c) if c.1 <= 30 => Ok(c),
        _ => Err(NetworkError::DefaultSubnet(format!(
            "{what}: invalid subnet {value:?} (expected an IPv4 CIDR with a prefix of 30 or less)"
        ))),
    }
}

/// podman's `[network] default_subnet`; none when the file or the key is absent.
fn from_containers_conf(path: &Path) -> Result<Option<String>, NetworkError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        NetworkError::DefaultSubnet(format!("{}: {}", path.display(), e.message()))
    })?;
    Ok(doc
        .get("network")
        .and_then(|n| n.get("default_subnet"))
        .and_then(|v| v.as_str())
        .map(str::to_string))
}

/// The IPv4 routes of this network namespace: (device, (destination, prefix)), the
/// default route left out.
pub(super) fn routes() -> Vec<(String, (Ipv4Addr, u8))> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let prefix = u32::from_be(mask).leading_ones() as u8;
            (prefix > 0).then(|| {
                (
                    f[0].to_string(),
                    (Ipv4Addr::from(u32::from_be(dest)), prefix),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cidr_is_masked_to_its_prefix_and_bad_ones_are_refused() {
        assert_eq!(
            parse_cidr("10.90.3.4/16"),
            Some((Ipv4Addr::new(10, 90, 0, 0), 16))
        );
        assert_eq!(parse_cidr("10.90.0.0/33"), None);
        assert_eq!(parse_cidr("10.90.0.0"), None);
        assert!(checked("10.0.0.0/31", "x").is_err());
        assert!(checked("nope", "KISTE_DEFAULT_SUBNET")
            .unwrap_err()
            .to_string()
            .contains("KISTE_DEFAULT_SUBNET: invalid subnet \"nope\""));
    }

    #[test]
    fn podmans_default_subnet_is_read_from_containers_conf() {
        let dir = std::env::temp_dir().join(format!("kiste-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("containers.conf");
        std::fs::write(
            &conf,
            "[engine]\nruntime = \"runc\"\n[network]\ndefault_subnet = \"10.77.0.0/16\"\n",
        )
        .unwrap();
        assert_eq!(
            from_containers_conf(&conf).unwrap().as_deref(),
            Some("10.77.0.0/16")
        );
        std::fs::write(&conf, "[engine]\nruntime = \"runc\"\n").unwrap();
        assert_eq!(from_containers_conf(&conf).unwrap(), None);
        std::fs::write(&conf, "[network\n").unwrap();
        assert!(from_containers_conf(&conf).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
