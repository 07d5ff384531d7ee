//! Reading a bundle: its config.json (kiste's own types, [`super::spec`]), checked for what
//! kiste needs before anything is created: a known major version, a root, a process
//! with args, namespace paths that are namespaces of the right type, and mount
//! destinations whose symlinks stay inside the rootfs.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::spec::{NamespaceType, Spec};

use super::OciError;

/// A bundle's absolute path, its config and its rootfs (absolute).
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> OciError {
    OciError::Invalid {
        what: what.into(),
        reason: reason.into(),
    }
}

/// Loads and checks `dir/config.json`.
pub fn load(dir: &Path) -> Result<Bundle, OciError> {
    let dir = std::path::absolute(dir)
        .map_err(|e| OciError::io(format!("bundle {}", dir.display()), e))?;
    let config = dir.join("config.json");
    let data = match std::fs::read(&config) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(invalid(
                format!("bundle {}", dir.display()),
                "config.json: no such file or directory",
            ))
        }
        Err(e) => return Err(OciError::io(format!("cannot read {}", config.display()), e)),
    };
    let spec: Spec = serde_json::from_slice(&data).map_err(|e| {
        invalid(
            format!("invalid config {}", config.display()),
            e.to_string(),
        )
    })?;
    let major = spec.oci_version.split('.').next().unwrap_or("");
    if major != "1" {
        return Err(invalid(
            format!("config {}", config.display()),
            format!(
                "unsupported ociVersion {:?} (kiste reads 1.x)",
                spec.oci_version
            ),
        ));
    }
    let root = spec
        .root
        .as_ref()
        .ok_or_else(|| invalid(format!("config {}", config.display()), "root is missing"))?;
    let rootfs = dir.join(&root.path);
    if !rootfs.is_dir() {
        return Err(invalid(
            format!("config {}", config.display()),
            format!("root.path {} is not a directory", rootfs.display()),
        ));
    }
    let args = spec.process.as_ref().and_then(|p| p.args.as_ref());
    if args.is_none_or(|a| a.is_empty()) {
        return Err(invalid(
            format!("config {}", config.display()),
            "process.args must not be empty",
        ));
    }
    for ns in spec.linux.namespaces.iter().flatten() {
        if let Some(path) = &ns.path {
            check_namespace(path, ns.typ)?;
        }
    }
    if let Some(mounts) = spec.mounts.as_ref().filter(|m| !m.is_empty()) {
        // One confined root for every destination.
        let root = crate::fs::Root::open(&rootfs)
            .map_err(|e| OciError::io(format!("rootfs {}", rootfs.display()), e))?;
        for m in mounts {
            check_destination(&root, &m.destination.to_string_lossy())?;
        }
    }
    Ok(Bundle { dir, spec, rootfs })
}

/// The clone flag of a namespace kind, and its name in /proc/PID/ns.
pub fn ns_flag(t: NamespaceType) -> (i32, &'static str) {
    match t {
        NamespaceType::Mount => (libc::CLONE_NEWNS, "mnt"),
        NamespaceType::Cgroup => (libc::CLONE_NEWCGROUP, "cgroup"),
        NamespaceType::Uts => (libc::CLONE_NEWUTS, "uts"),
        NamespaceType::Ipc => (libc::CLONE_NEWIPC, "ipc"),
        NamespaceType::User => (libc::CLONE_NEWUSER, "user"),
        NamespaceType::Pid => (libc::CLONE_NEWPID, "pid"),
        NamespaceType::Network => (libc::CLONE_NEWNET, "net"),
        NamespaceType::Time => (libc::CLONE_NEWTIME, "time"),
    }
}

/// `path` must be a namespace (NS_GET_NSTYPE answers) of kind `t`.
fn check_namespace(path: &Path, t: NamespaceType) -> Result<(), OciError> {
    const NS_GET_NSTYPE: libc::Ioctl = 0xb703;
    let (flag, name) = ns_flag(t);
    let what = || format!("namespace path {}", path.display());
    let f = std::fs::File::open(path).map_err(|e| OciError::io(what(), e))?;
    // SAFETY: an ioctl without argument on an fd we own.
    let kind = unsafe { libc::ioctl(f.as_raw_fd(), NS_GET_NSTYPE as _) };
    if kind < 0 {
        return Err(invalid(
            what(),
            format!("not a namespace (a {name} namespace is needed)"),
        ));
    }
    if kind != flag {
        return Err(invalid(what(), format!("not a {name} namespace")));
    }
    Ok(())
}

/// A mount destination must not pass a symlink whose relative target climbs out of the
/// rootfs (absolute targets are resolved inside the rootfs when mounting).
fn check_destination(root: &crate::fs::Root, dest: &str) -> Result<(), OciError> {
    let mut walked: Vec<String> = Vec::new();
    for part in dest.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            walked.pop();
            continue;
        }
        walked.push(part.to_string());
        let rel = walked.join("/");
        let Ok(st) = root.lstat(&rel) else {
            return Ok(()); // the rest is created by the mount
        };
        if !st.is_symlink() {
            continue;
        }
        let target = root
            .readlink(&rel)
            .map_err(|e| OciError::io(format!("mount destination {dest}"), e))?;
        let target = target.to_string_lossy().to_string();
        if target.starts_with('/') {
            return Ok(());
        }
        let mut depth = walked.len() as i64 - 1;
        for t in target.split('/').filter(|p| !p.is_empty() && *p != ".") {
            depth += if t == ".." { -1 } else { 1 };
            if depth < 0 {
                return Err(invalid(
                    format!("mount destination {dest}"),
                    format!("/{rel} is a symlink to {target}, which leaves the rootfs"),
                ));
            }
        }
        return Ok(());
    }
    Ok(())
}
