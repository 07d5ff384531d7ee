//! The local driver's `--opt type=… device=… o=…` volumes, as docker's: the options are
//! checked when the volume is made (docker's messages), and the file system is mounted
//! on the volume's `_data` when a container starts with it and unmounted when the last
//! running container using it ends, so a tmpfs volume is shared while its containers run
//! and empty again afterwards. Without a daemon to count users, "in use" is read from
//! the container records. Mounting and unmounting happen under the volume store's lock.

use super::{Volume, VolumeError, VolumeLock, VolumeStore};
use crate::config::MountConfig;
use crate::paths::Paths;
use crate::state::Status;
use nix::mount::MsFlags;
use std::collections::BTreeMap;
use std::path::Path;

/// What `mount(2)` gets for a volume with options: docker's `mount.Mount(device, path,
/// type, o)`, with `o` split into flags and data as docker's `parseOptions` splits it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceMount {
    pub fstype: String,
    pub device: String,
    pub flags: MsFlags,
    /// `o`'s entries that are not flags, comma-joined (tmpfs `size=…`, `uid=…`).
    pub data: String,
}

/// Checks `--opt`s as docker's local driver does: known keys only, each with the keys it
/// needs, and `size` only where quotas exist (kiste has no quota support, as docker
/// without an XFS project quota). None: a plain directory volume.
pub fn check_options(
    name: &str,
    opts: &BTreeMap<String, String>,
) -> Result<Option<DeviceMount>, VolumeError> {
    let invalid = |reason: String| VolumeError::Options {
        name: name.to_string(),
        reason,
    };
    for key in opts.keys() {
        if !["type", "device", "o", "size"].contains(&key.as_str()) {
            return Err(invalid(format!("invalid option: {key:?}")));
        }
    }
    if let Some(size) = opts.get("size") {
        let bytes = crate::config::parse_size("size", size).map_err(|e| invalid(e.to_string()))?;
        if bytes != 0 {
            return Err(invalid("quota size requested but no quota support".into()));
        }
    }
    for (key, needs) in [
        ("device", &["type"][..]),
        ("type", &["device"]),
        ("o", &["device", "type"]),
    ] {
        if opts.contains_key(key) {
            if let Some(missing) = needs.iter().find(|n| !opts.contains_key(**n)) {
                return Err(invalid(format!("missing required option: {missing:?}")));
            }
        }
    }
    let (Some(fstype), Some(device)) = (opts.get("type"), opts.get("device")) else {
        return Ok(None);
    };
    let (flags, data) = split_options(opts.get("o").map_or("", String::as_str));
    Ok(Some(DeviceMount {
        fstype: fstype.clone(),
        device: device.clone(),
        flags,
        data,
    }))
}

/// docker's `mount.parseOptions`: flag names set or clear `MS_*` bits, anything else is
/// file-system data.
fn split_options(o: &str) -> (MsFlags, String) {
    let mut flags = MsFlags::empty();
    let mut data = Vec::new();
    for opt in o.split(',').filter(|s| !s.is_empty()) {
        let (clear, bits) = match opt {
            "defaults" => (false, MsFlags::empty()),
            "ro" => (false, MsFlags::MS_RDONLY),
            "rw" => (true, MsFlags::MS_RDONLY),
            "suid" => (true, MsFlags::MS_NOSUID),
            "nosuid" => (false, MsFlags::MS_NOSUID),
            "dev" => (true, MsFlags::MS_NODEV),
            "nodev" => (false, MsFlags::MS_NODEV),
            "exec" => (true, MsFlags::MS_NOEXEC),
            "noexec" => (false, MsFlags::MS_NOEXEC),
            "sync" => (false, MsFlags::MS_SYNCHRONOUS),
            "async" => (true, MsFlags::MS_SYNCHRONOUS),
            "dirsync" => (false, MsFlags::MS_DIRSYNC),
            "remount" => (false, MsFlags::MS_REMOUNT),
            "mand" => (false, MsFlags::MS_MANDLOCK),
            "nomand" => (true, MsFlags::MS_MANDLOCK),
            "atime" => (true, MsFlags::MS_NOATIME),
            "noatime" => (false, MsFlags::MS_NOATIME),
            "diratime" => (true, MsFlags::MS_NODIRATIME),
            "nodiratime" => (false, MsFlags::MS_NODIRATIME),
            "bind" => (false, MsFlags::MS_BIND),
            "rbind" => (false, MsFlags::MS_BIND | MsFlags::MS_REC),
            "relatime" => (false, MsFlags::MS_RELATIME),
            "norelatime" => (true, MsFlags::MS_RELATIME),
            "strictatime" => (false, MsFlags::MS_STRICTATIME),
            "nostrictatime" => (true, MsFlags::MS_STRICTATIME),
            other => {
                data.push(other);
                continue;
            }
        };
        if clear {
            flags.remove(bits);
        } else {
            flags.insert(bits);
        }
    }
    (flags, data.join(","))
}

impl DeviceMount {
    /// Mounts onto `target` as docker's `mount.Mount` does (a read-only bind is bound,
    /// then remounted read-only); the error reads as docker's.
    fn mount(&self, target: &Path) -> Result<(), String> {
        let fail = |op: &str, source: &str, flags: MsFlags, data: &str, e: nix::Error| {
            let mut out = format!("{op} ");
            if !source.is_empty() {
                out += &format!("{source}:");
            }
            out += &target.display().to_string();
            if !flags.is_empty() {
                out += &format!(", flags: {:#x}", flags.bits());
            }
            if !data.is_empty() {
                out += &format!(", data: {data}");
            }
            format!("{out}: {}", e.desc().to_lowercase())
        };
        let data = (!self.data.is_empty()).then_some(self.data.as_str());
        nix::mount::mount(
            Some(self.device.as_str()),
            target,
            Some(self.fstype.as_str()),
            self.flags,
            data,
        )
        .map_err(|e| fail("mount", &self.device, self.flags, &self.data, e))?;
        let ro_bind = MsFlags::MS_BIND | MsFlags::MS_RDONLY;
        if self.flags.contains(ro_bind) {
            let flags = self.flags | MsFlags::MS_REMOUNT;
            nix::mount::mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
                .map_err(|e| fail("remount-ro", "", flags, "", e))?;
        }
        Ok(())
    }
}

impl VolumeStore {
    /// Mounts `v`'s file system on its `_data` unless it is mounted already (another
    /// running container uses it). Nothing for a volume without options.
    pub fn mount_device(&self, _lock: &VolumeLock, v: &Volume) -> Result<(), VolumeError> {
        let Some(dev) = check_options(&v.name, v.options.as_ref().unwrap_or(&BTreeMap::new()))?
        else {
            return Ok(());
        };
        let data = self.data_dir(&v.name);
        if crate::storage::is_mounted(&data) {
            return Ok(());
        }
        dev.mount(&data).map_err(|reason| VolumeError::Mount {
            path: data.clone(),
            reason,
        })
    }

    /// Unmounts `name`'s file system from its `_data` if it is mounted.
    pub(super) fn unmount_device(&self, name: &str) -> Result<(), VolumeError> {
        let data = self.data_dir(name);
        if !crate::storage::is_mounted(&data) {
            return Ok(());
        }
        nix::mount::umount(&data).map_err(|e| VolumeError::Io {
            path: data,
            source: e.into(),
        })
    }
}

/// The container `id` ended: the file systems of its option volumes that no other
/// running container uses are unmounted, as docker's local driver does when the last
/// user goes.
pub fn release_devices(paths: &Paths, id: &str, mounts: &[MountConfig]) {
    if !mounts.iter().any(|m| m.volume_name().is_some()) {
        return;
    }
    let Ok(store) = VolumeStore::open(paths) else {
        return;
    };
    let Ok(lock) = store.lock() else {
        return;
    };
    let Ok(records) = store.containers() else {
        return;
    };
    let names: Vec<&str> = mounts.iter().filter_map(MountConfig::volume_name).collect();
    super::plugin::unmount_all(paths, &store, id, &names);
    for name in mounts.iter().filter_map(MountConfig::volume_name) {
        let has_options = store
            .get(name)
            .is_ok_and(|v| v.options.as_ref().is_some_and(|o| o.contains_key("device")));
        let in_use = records
            .iter()
            .any(|r| r.id != id && r.state.status == Status::Running && super::uses(r, name));
        if has_options && !in_use {
            if let Err(e) = store.unmount_device(name) {
                eprintln!("WARNING: {e}");
            }
        }
    }
    drop(lock);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_are_checked_with_dockers_messages() {
        let err = |p: &[(&str, &str)]| check_options("v", &opts(p)).unwrap_err().to_string();
        assert_eq!(err(&[("foo", "")]), "create v: invalid option: \"foo\"");
        assert_eq!(
            err(&[("type", "tmpfs")]),
            "create v: missing required option: \"device\""
        );
        assert_eq!(
            err(&[("device", "/x"), ("o", "bind")]),
            "create v: missing required option: \"type\""
        );
        assert_eq!(
            err(&[("size", "1m")]),
            "create v: quota size requested but no quota support"
        );
        assert_eq!(check_options("v", &opts(&[("size", "0")])).unwrap(), None);
    }

    #[test]
    fn o_splits_into_flags_and_data_as_dockers_parse_options() {
        let d = check_options(
            "v",
            &opts(&[
                ("type", "tmpfs"),
                ("device", "tmpfs"),
                ("o", "size=1m,nosuid,ro,uid=1000"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.flags, MsFlags::MS_NOSUID | MsFlags::MS_RDONLY);
        assert_eq!(d.data, "size=1m,uid=1000");
        let (flags, data) = split_options("rbind,rw,ro,norelatime");
        assert_eq!(
            flags,
            MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY
        );
        assert_eq!(data, "");
    }
}
