//! Host devices a container is given (`--device`) and the block devices its I/O rates
//! name (`--device-read-bps` …), resolved to their node numbers when the flag is read.

use super::FlagError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceKind {
    #[serde(rename = "c")]
    Char,
    #[serde(rename = "b")]
    Block,
}

impl DeviceKind {
    pub fn as_char(self) -> char {
        match self {
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        }
    }
}

/// What the device cgroup allows: some of read, write, mknod (docker's "rwm").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DevicePermissions {
    pub read: bool,
    pub write: bool,
    pub mknod: bool,
}

impl DevicePermissions {
    pub const ALL: DevicePermissions = DevicePermissions {
        read: true,
        write: true,
        mknod: true,
    };

    fn parse(s: &str) -> Option<DevicePermissions> {
        if s.is_empty() || !s.chars().all(|c| "rwm".contains(c)) {
            return None;
        }
        Some(DevicePermissions {
            read: s.contains('r'),
            write: s.contains('w'),
            mknod: s.contains('m'),
        })
    }
}

impl fmt::Display for DevicePermissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, c) in [(self.read, "r"), (self.write, "w"), (self.mknod, "m")] {
            if on {
                f.write_str(c)?;
            }
        }
        Ok(())
    }
}

impl From<DevicePermissions> for String {
    fn from(p: DevicePermissions) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for DevicePermissions {
    type Error = String;
    fn try_from(s: String) -> Result<DevicePermissions, String> {
        DevicePermissions::parse(&s).ok_or_else(|| format!("bad device permissions {s:?}"))
    }
}

/// A host device node as it was when the container was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMapping {
    pub host_path: PathBuf,
    pub container_path: String,
    pub kind: DeviceKind,
    pub major: u32,
    pub minor: u32,
    pub permissions: DevicePermissions,
    /// The node's mode, owner and group, given to the container's node too.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The node at `path`: its kind and numbers, or why it is no device.
fn device_node(path: &str) -> Result<(DeviceKind, std::fs::Metadata), String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string().to_lowercase())?;
    let ft = meta.file_type();
    let kind = if ft.is_char_device() {
        DeviceKind::Char
    } else if ft.is_block_device() {
        DeviceKind::Block
    } else {
        return Err(format!("{path} is not a device node"));
    };
    Ok((kind, meta))
}

impl DeviceMapping {
    /// `HOST[:CONTAINER][:PERMS]`, the host node looked up now.
    pub fn parse(flag: &'static str, spec: &str) -> Result<DeviceMapping, FlagError> {
        let bad = |reason: String| FlagError::new(flag, spec, reason);
        let parts: Vec<&str> = spec.split(':').collect();
        let (host, ctr, perms) = match parts[..] {
            [h] => (h, h, "rwm"),
            [h, p] if DevicePermissions::parse(p).is_some() => (h, h, p),
            [h, c] => (h, c, "rwm"),
            [h, c, p] => (h, c, p),
            _ => return Err(bad("expected HOST[:CONTAINER[:PERMS]]".into())),
        };
        let permissions = DevicePermissions::parse(perms)
            .ok_or_else(|| bad("permissions must be a combination of r, w and m".into()))?;
        if !host.starts_with('/') || !ctr.starts_with('/') {
            return Err(bad("device paths must be absolute".into()));
        }
        let (kind, meta) = device_node(host).map_err(|e| {
            bad(format!(
                "error gathering device information while adding custom device \"{host}\": {e}"
            ))
        })?;
        Ok(DeviceMapping {
            host_path: PathBuf::from(host),
            container_path: ctr.to_string(),
            kind,
            major: libc::major(meta.rdev()),
            minor: libc::minor(meta.rdev()),
            permissions,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
        })
    }
}

/// One `--device-{read,write}-{bps,iops}` entry: a block device and its rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRate {
    pub path: PathBuf,
    pub major: u32,
    pub minor: u32,
    /// Bytes or I/O operations per second.
    pub rate: u64,
}

impl DeviceRate {
    /// `PATH:RATE`; the rate in bytes with docker's size units (`size_units`) or a
    /// plain count of operations.
    pub fn parse(
        flag: &'static str,
        spec: &str,
        size_units: bool,
    ) -> Result<DeviceRate, FlagError> {
        let bad = |reason: String| FlagError::new(flag, spec, reason);
        // docker's words for a malformed entry (opts.ValidateThrottle*Device).
        let (path, rate) = spec
            .split_once(':')
            .ok_or_else(|| bad(format!("bad format: {spec}")))?;
        if !path.starts_with("/dev/") {
            return Err(bad(format!("bad format for device path: {spec}")));
        }
        let rate = if size_units {
            super::resources::size_in_bytes(rate).map_err(|_| {
                bad(format!(
                    "invalid rate for device: {spec}. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
                ))
            })?
        } else {
            rate.parse::<u64>().map_err(|_| {
                bad(format!(
                    "invalid rate for device: {spec}. The correct format is <device-path>:<number>. Number must be a positive integer"
                ))
            })?
        };
        let (kind, meta) = device_node(path).map_err(|e| bad(format!("{path}: {e}")))?;
        if kind != DeviceKind::Block {
            return Err(bad(format!("{path} is not a block device")));
        }
        Ok(DeviceRate {
            path: PathBuf::from(path),
            major: libc::major(meta.rdev()),
            minor: libc::minor(meta.rdev()),
            rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_resolved_with_their_permissions() {
        let d = DeviceMapping::parse("--device", "/dev/null:/dev/xnull:r").unwrap();
        assert_eq!((d.kind, d.major, d.minor), (DeviceKind::Char, 1, 3));
        assert_eq!(d.permissions.to_string(), "r");
        assert_eq!(d.container_path, "/dev/xnull");
        let same = DeviceMapping::parse("--device", "/dev/null:rw").unwrap();
        assert_eq!(same.container_path, "/dev/null");
        for bad in [
            "/dev/nope",
            "/dev/null:/x:q",
            "/etc/passwd",
            "null",
            "/a:/b:r:x",
        ] {
            let e = DeviceMapping::parse("--device", bad).unwrap_err();
            assert_eq!(e.value, bad);
        }
    }

    #[test]
    fn a_rate_needs_a_block_device_and_a_number() {
        let e = DeviceRate::parse("--device-read-bps", "/dev/null:1mb", true).unwrap_err();
        assert!(e.reason.contains("not a block device"), "{e}");
        let e = DeviceRate::parse("--device-read-iops", "/dev/null:x", false).unwrap_err();
        assert!(e.reason.starts_with("invalid rate for device"), "{e}");
        assert!(DeviceRate::parse("--device-read-bps", "nocolon", true).is_err());
    }
}
