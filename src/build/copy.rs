//! COPY/ADD into a fresh layer directory: docker's destination rules (a trailing slash or
//! several sources make the destination a directory; a directory source copies its
//! contents), ownership (0:0 from the context unless --chown), --chmod, mtimes kept, and
//! parent directories taking their attributes from the image below.

use super::context::{Ignore, Visit};
use super::layers::LowerView;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One resolved source: where it is on the host and its path relative to the context root
/// (for .dockerignore; None when it comes from a stage or image).
pub struct Source {
    pub path: PathBuf,
    pub rel: Option<String>,
}

pub struct CopyOptions<'a> {
    /// Absolute destination inside the image (already joined with WORKDIR), without a trailing slash.
    pub dest: String,
    pub dest_is_dir: bool,
    pub owner: Option<(u32, u32)>,
    pub chmod: Option<u32>,
    pub ignore: Option<&'a Ignore>,
    /// `--exclude` patterns, matched against paths relative to each source.
    pub exclude: Option<Ignore>,
    /// `--parents`: keep each source's path (relative to the context) under the destination.
    pub parents: bool,
}

/// Copy `sources` into `layer` (the new layer's root directory).
pub fn copy_sources(
    layer: &Path,
    lower: &LowerView,
    sources: &[Source],
    opts: &CopyOptions,
) -> std::io::Result<()> {
    let dest_rel = opts.dest.trim_start_matches('/').to_string();
    for src in sources {
        let meta = fs::symlink_metadata(&src.path)?;
        let base = src.path.file_name().unwrap_or_default().to_string_lossy();
        if opts.exclude.as_ref().is_some_and(|x| x.excluded(&base)) {
            continue;
        }
        let target_rel = if let (true, Some(rel)) = (opts.parents, src.rel.as_deref()) {
            if dest_rel.is_empty() {
                rel.to_string()
            } else {
                format!("{dest_rel}/{rel}")
            }
        } else if meta.is_dir() || !opts.dest_is_dir {
            dest_rel.clone()
        } else {
            let base = src.path.file_name().unwrap_or_default().to_string_lossy();
            if dest_rel.is_empty() {
                base.to_string()
            } else {
                format!("{dest_rel}/{base}")
            }
        };
        let target = layer.join(&target_rel);
        make_parents(layer, lower, &target_rel, opts.owner)?;
        if meta.is_dir() {
            if !target.exists() {
                // As the image has it (owner, mode), or new: 0755 with --chown's owner.
                make_parents(layer, lower, &format!("{target_rel}/x"), opts.owner)?;
            }
            copy_tree(&src.path, &target, src.rel.as_deref(), "", opts)?;
        } else {
            copy_entry(&src.path, &target, &meta, opts)?;
        }
    }
    Ok(())
}

/// Create the parents of `rel` in the layer, each with the attributes it has in the image
/// below (0755 root when new, or owned by --chown as BuildKit does).
pub fn make_parents(
    layer: &Path,
    lower: &LowerView,
    rel: &str,
    owner: Option<(u32, u32)>,
) -> std::io::Result<()> {
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    let mut cur = String::new();
    for p in parts.iter().take(parts.len().saturating_sub(1)) {
        if !cur.is_empty() {
            cur.push('/');
        }
        cur.push_str(p);
        let dir = layer.join(&cur);
        if dir.exists() {
            continue;
        }
        fs::create_dir(&dir)?;
        match lower.metadata(&cur) {
            Some(m) if m.is_dir() => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(m.mode() & 0o7777))?;
                std::os::unix::fs::lchown(&dir, Some(m.uid()), Some(m.gid()))?;
                set_mtime(&dir, m.mtime(), m.mtime_nsec())?;
            }
            _ => {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
                let (u, g) = owner.unwrap_or((0, 0));
                std::os::unix::fs::lchown(&dir, Some(u), Some(g))?;
            }
        }
    }
    Ok(())
}

/// Copy the contents of `src` into `dst`; `rel` is the context-relative path of `src`
/// (for .dockerignore) and `xrel` its path below the copied source (for --exclude).
fn copy_tree(
    src: &Path,
    dst: &Path,
    rel: Option<&str>,
    xrel: &str,
    opts: &CopyOptions,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(src)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let child_rel = rel.map(|r| {
            let n = name.to_string_lossy();
            if r.is_empty() {
                n.to_string()
            } else {
                format!("{r}/{n}")
            }
        });
        // An excluded directory an exception reaches into is kept only for what it holds.
        let mut only_for_kept = false;
        if let (Some(ig), Some(cr)) = (opts.ignore, child_rel.as_deref()) {
            match ig.visit(cr, e.file_type()?.is_dir()) {
                Visit::Skip => continue,
                Visit::Descend => only_for_kept = true,
                Visit::Keep => {}
            }
        }
        let child_x = if xrel.is_empty() {
            name.to_string_lossy().into_owned()
        } else {
            format!("{xrel}/{}", name.to_string_lossy())
        };
        if opts.exclude.as_ref().is_some_and(|x| x.excluded(&child_x)) {
            continue;
        }
        let meta = e.metadata()?;
        let target = dst.join(&name);
        if meta.is_dir() {
            let existed = target.is_dir();
            if !existed {
                fs::create_dir(&target)?;
            }
            copy_tree(&e.path(), &target, child_rel.as_deref(), &child_x, opts)?;
            if only_for_kept && !existed && fs::read_dir(&target)?.next().is_none() {
                fs::remove_dir(&target)?;
                continue;
            }
            apply_attrs(&target, &meta, opts)?;
        } else {
            copy_entry(&e.path(), &target, &meta, opts)?;
        }
    }
    Ok(())
}

fn copy_entry(
    src: &Path,
    dst: &Path,
    meta: &fs::Metadata,
    opts: &CopyOptions,
) -> std::io::Result<()> {
    if let Ok(m) = fs::symlink_metadata(dst) {
        if m.is_dir() {
            fs::remove_dir_all(dst)?;
        } else {
            fs::remove_file(dst)?;
        }
    }
    let ft = meta.file_type();
    if ft.is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dst)?;
    } else if ft.is_file() {
        fs::copy(src, dst)?;
    } else {
        // Devices, fifos and sockets in a context are not copied (docker skips sockets and
        // would need privileges for the rest).
        return Ok(());
    }
    apply_attrs(dst, meta, opts)
}

fn apply_attrs(dst: &Path, meta: &fs::Metadata, opts: &CopyOptions) -> std::io::Result<()> {
    let (u, g) = opts.owner.unwrap_or((0, 0));
    std::os::unix::fs::lchown(dst, Some(u), Some(g))?;
    if !meta.file_type().is_symlink() {
        let mode = opts.chmod.unwrap_or(meta.mode() & 0o7777);
        fs::set_permissions(dst, fs::Permissions::from_mode(mode))?;
    }
    set_mtime(dst, meta.mtime(), meta.mtime_nsec())
}

fn set_mtime(path: &Path, secs: i64, nsec: i64) -> std::io::Result<()> {
    let ts = [
        libc::timespec {
            tv_sec: secs,
            tv_nsec: nsec,
        },
        libc::timespec {
            tv_sec: secs,
            tv_nsec: nsec,
        },
    ];
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::other("path with NUL"))?;
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
