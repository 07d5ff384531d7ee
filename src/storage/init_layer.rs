//! The init layer of a layer chain: a small read-only lower dir, laid over the image's
//! layers, that holds the mount points a container's start needs and the image lacks
//! (/proc, /sys, /dev, /etc/hosts, /etc/hostname, /etc/resolv.conf and /etc for them),
//! as docker's `-init` layer does. Without it the start makes them in the container's
//! upper dir on every run, and the removal of an `--rm` container deletes them again.
//! It is used only where the upper dir is thrown away (see `monitor::mount_rootfs`); a
//! container whose upper dir is kept, exported or committed keeps making its own.
//!
//! One per chain, `images/init/<key>` (`chain_key`), shared by every container of the
//! chain; made once, in a temp dir renamed into place, so concurrent first starts each
//! find either nothing or a complete layer. A chain that needs nothing gets an empty
//! file instead, so that the next start does not look again. `remove_unused` deletes
//! the layers of chains no image has any more (`rmi`, `image prune`).
//!
//! The image is hostile: what it has is looked up with `lstat` one component at a time,
//! /etc/* only in layers whose `etc` is a real directory; anything unusual at a name
//! (a symlink, a whiteout, a file where a directory would be) leaves that name out, so
//! the start makes it in the upper dir as before and the container sees what it did.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The init layers' directory inside the image store.
pub const DIR: &str = "init";
/// Part of every key: a kiste that lays out the init layer differently uses new keys.
const VERSION: &[u8] = b"kiste-init-layer-1";
/// The directories a start mounts on.
const DIRS: [&str; 3] = ["proc", "sys", "dev"];
/// The files under /etc that a start binds from the run dir.
const ETC_FILES: [&str; 3] = ["hosts", "hostname", "resolv.conf"];

/// The key of a layer chain from its layer directories' names (the diff ids' hex),
/// bottom first, as `ImageStore::layer_dirs` gives them.
pub fn chain_key<'a>(layer_names: impl IntoIterator<Item = &'a OsStr>) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut h = Sha256::new();
    h.update(VERSION);
    for name in layer_names {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
    }
    format!("{:x}", h.finalize())
}

fn key_of(lowers: &[PathBuf]) -> Option<String> {
    let names: Option<Vec<&OsStr>> = lowers.iter().map(|l| l.file_name()).collect();
    Some(chain_key(names?))
}

/// The init layer of the chain `lowers` (bottom first) in the image store at `images`,
/// made first if this chain has none yet; None when the chain needs none (it has every
/// mount point) or has no layers.
pub fn lower_for(images: &Path, lowers: &[PathBuf]) -> io::Result<Option<PathBuf>> {
    let Some(key) = key_of(lowers).filter(|_| !lowers.is_empty()) else {
        return Ok(None);
    };
    let dir = images.join(DIR);
    let path = dir.join(&key);
    if let Some(found) = look(&path)? {
        return Ok(found);
    }
    let needed = needed(lowers)?;
    crate::paths::make_dir(&dir, crate::paths::PRIVATE)?;
    let tmp = dir.join(format!(".tmp-{key}-{}", std::process::id()));
    let made = make(&tmp, &needed).and_then(|()| fs::rename(&tmp, &path));
    if let Err(e) = made {
        let _ = crate::fs::remove_tree(&tmp);
        // Another start made it first (a non-empty directory is not replaced): theirs
        // holds the same, as `needed` depends on the chain alone.
        if !matches!(
            e.raw_os_error(),
            Some(libc::EEXIST | libc::ENOTEMPTY | libc::EISDIR | libc::ENOTDIR)
        ) {
            return Err(e);
        }
    }
    Ok(look(&path)?.flatten())
}

/// The init layer the chain `lowers` has, without making one: for `export`, which lays
/// it under the upper dir of a container that may have run with it.
pub fn existing(images: &Path, lowers: &[PathBuf]) -> Option<PathBuf> {
    let path = images.join(DIR).join(key_of(lowers)?);
    look(&path).ok().flatten().flatten()
}

/// What is at `path`: None when nothing, Some(None) for the marker of a chain that
/// needs nothing, Some(Some(path)) for an init layer.
fn look(path: &Path) -> io::Result<Option<Option<PathBuf>>> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(Some(Some(path.to_path_buf()))),
        Ok(_) => Ok(Some(None)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the init layer of `lowers` holds, as paths relative to it (a directory before
/// its entries); empty when the chain needs nothing.
fn needed(lowers: &[PathBuf]) -> io::Result<Vec<(String, bool)>> {
    let has = |lower: &Path, rel: &str| match fs::symlink_metadata(lower.join(rel)) {
        Ok(m) => Ok(Some(m)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT)) => Ok(None),
        Err(e) => Err(e),
    };
    let mut out = Vec::new();
    for d in DIRS {
        let mut present = false;
        for lower in lowers {
            present |= has(lower, d)?.is_some();
        }
        if !present {
            out.push((d.to_string(), true));
        }
    }
    // The layers that have `etc`; /etc/* is looked at only when each has a directory.
    let mut etcs = Vec::new();
    for lower in lowers {
        match has(lower, "etc")? {
            Some(m) if m.is_dir() => etcs.push(lower),
            Some(_) => return Ok(out),
            None => {}
        }
    }
    let mut files = Vec::new();
    for f in ETC_FILES {
        let rel = format!("etc/{f}");
        let mut present = false;
        for lower in &etcs {
            present |= has(lower, &rel)?.is_some();
        }
        if !present {
            files.push((rel, false));
        }
    }
    if !files.is_empty() {
        out.push(("etc".to_string(), true));
        out.extend(files);
    }
    Ok(out)
}

/// Makes the init layer (or, when nothing is needed, the marker file) at `tmp`, with
/// the modes the start gives a mount point it makes (directories 0755, files 0644).
fn make(tmp: &Path, needed: &[(String, bool)]) -> io::Result<()> {
    if needed.is_empty() {
        return fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(tmp)
            .map(drop);
    }
    for (path, dir) in std::iter::once(&(String::new(), true)).chain(needed) {
        let p = tmp.join(path);
        if *dir {
            fs::DirBuilder::new().mode(0o755).create(&p)?;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755))?;
        } else {
            let f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&p)?;
            f.set_permissions(fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}

/// Deletes the init layers (and markers, and temps a killed start left) of the store
/// at `images` whose key is not in `keep`. The caller holds the image store's lock.
pub fn remove_unused(images: &Path, keep: &HashSet<String>) -> io::Result<()> {
    let dir = images.join(DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries {
        let e = e?;
        if e.file_name().to_str().is_some_and(|n| keep.contains(n)) {
            continue;
        }
        match crate::fs::remove_tree(&e.path()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(root: &Path, name: &str, entries: &[&str]) -> PathBuf {
        let l = root.join(name);
        fs::create_dir_all(&l).unwrap();
        for e in entries {
            match e.strip_suffix('/') {
                Some(d) => fs::create_dir_all(l.join(d)).unwrap(),
                None => {
                    fs::create_dir_all(l.join(e).parent().unwrap()).unwrap();
                    fs::write(l.join(e), "").unwrap()
                }
            }
        }
        l
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut out: Vec<String> = walkdir::WalkDir::new(dir)
            .min_depth(1)
            .into_iter()
            .map(|e| {
                let e = e.unwrap();
                let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
                if e.file_type().is_dir() {
                    format!("{rel}/")
                } else {
                    rel
                }
            })
            .collect();
        crate::sort::sort(&mut out);
        out
    }

    #[test]
    fn a_chain_without_mount_points_gets_them_all_once() {
        let t = tempfile::tempdir().unwrap();
        let lowers = vec![
            layer(t.path(), "a", &["bin/"]),
            layer(t.path(), "b", &["bin/sh"]),
        ];
        let images = t.path().join("images");
        let init = lower_for(&images, &lowers).unwrap().unwrap();
        assert_eq!(
            listing(&init),
            [
                "dev/",
                "etc/",
                "etc/hostname",
                "etc/hosts",
                "etc/resolv.conf",
                "proc/",
                "sys/"
            ]
        );
        let mode = fs::metadata(init.join("etc/hosts"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o644);
        assert_eq!(lower_for(&images, &lowers).unwrap(), Some(init.clone()));
        assert_eq!(existing(&images, &lowers), Some(init));
        assert_eq!(listing(&images.join(DIR)).len(), 8, "no temp is left");
    }

    #[test]
    fn what_a_layer_has_or_shadows_is_left_out() {
        let t = tempfile::tempdir().unwrap();
        let host = t.path().join("host");
        fs::create_dir_all(&host).unwrap();
        let bottom = layer(t.path(), "a", &["proc/", "etc/hosts"]);
        let top = layer(t.path(), "b", &["etc/", "sys"]);
        let images = t.path().join("images");
        let init = lower_for(&images, &[bottom.clone(), top]).unwrap().unwrap();
        assert_eq!(
            listing(&init),
            ["dev/", "etc/", "etc/hostname", "etc/resolv.conf"]
        );
        // An etc that is a symlink (here to a host dir) in any layer: no /etc entries.
        let linked = t.path().join("c");
        fs::create_dir_all(&linked).unwrap();
        std::os::unix::fs::symlink(&host, linked.join("etc")).unwrap();
        let init = lower_for(&images, &[bottom.clone(), linked])
            .unwrap()
            .unwrap();
        assert_eq!(listing(&init), ["dev/", "sys/"]);
        assert!(listing(&host).is_empty());
        // Everything there: a marker, no layer.
        let full = layer(
            t.path(),
            "d",
            &["dev/", "sys/", "etc/hostname", "etc/resolv.conf"],
        );
        assert_eq!(
            lower_for(&images, &[bottom.clone(), full.clone()]).unwrap(),
            None
        );
        let key = chain_key([bottom.file_name().unwrap(), full.file_name().unwrap()]);
        assert!(images.join(DIR).join(key).is_file());
        assert_eq!(lower_for(&images, &[]).unwrap(), None);
    }

    #[test]
    fn unused_layers_markers_and_temps_go_and_kept_ones_stay() {
        let t = tempfile::tempdir().unwrap();
        let images = t.path().join("images");
        let a = vec![layer(t.path(), "a", &[])];
        let b = vec![
            layer(t.path(), "b", &["proc/", "sys/", "dev/", "etc/"]),
            layer(
                t.path(),
                "c",
                &["etc/hosts", "etc/hostname", "etc/resolv.conf"],
            ),
        ];
        let kept = lower_for(&images, &a).unwrap().unwrap();
        assert_eq!(lower_for(&images, &b).unwrap(), None);
        fs::create_dir_all(images.join(DIR).join(".tmp-x-1/etc")).unwrap();
        let keep = HashSet::from([kept.file_name().unwrap().to_str().unwrap().to_string()]);
        remove_unused(&images, &keep).unwrap();
        let left: Vec<_> = fs::read_dir(images.join(DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(left, [kept]);
    }
}
