//! COPY/ADD into a fresh layer directory with BuildKit's rules: a trailing slash or
//! several sources make the destination a directory, a directory source copies its
//! contents, the destination path is resolved through symlinks in the merged image
//! (new layer over the image), an existing destination directory keeps its owner and
//! mode, parent directories keep the attributes they have in the image (new ones are
//! 0755 and owned by `--chown`), ownership is 0:0 unless `--chown`, modes (setuid
//! included) and mtimes are kept, and a directory never replaces a non-directory or
//! the other way round ("cannot copy to non-directory").
//!
//! Every read of a source tree and every write to the layer goes through
//! `crate::fs::Root`: a symlink that an earlier source planted, or that a RUN made in
//! a `--from` stage, resolves inside its own tree and can never reach the host.

use super::context::{Ignore, Visit};
use super::layers::{cname, LowerView};
use crate::fs::{Dir, Root, Stat};
use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::rc::Rc;

/// One resolved source: the tree it is in, its path there, and its path relative to
/// the context root (for .dockerignore; None when it comes from a stage, image,
/// heredoc or download).
pub struct Source {
    pub root: Rc<Root>,
    pub path: String,
    pub rel: Option<String>,
}

impl Source {
    fn base(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }
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

/// The new layer being written and the image below it, merged for path resolution.
pub struct Target<'a> {
    pub layer: &'a Root,
    /// The image below the new layer (for the attributes of directories it has).
    pub lower: &'a LowerView,
    /// `lower` with the new layer on top (for resolving paths).
    pub merged: &'a LowerView,
}

fn error(msg: String) -> io::Error {
    io::Error::other(msg)
}

/// Copy `sources` into the layer.
pub fn copy_sources(t: &Target, sources: &[Source], opts: &CopyOptions) -> io::Result<()> {
    let dest_rel = opts.dest.trim_start_matches('/').to_string();
    for src in sources {
        // A source named directly is followed inside its tree, as docker does.
        let st = src
            .root
            .stat(&src.path)
            .map_err(|e| io::Error::new(e.kind(), format!("stat {}: {e}", src.path)))?;
        if opts
            .exclude
            .as_ref()
            .is_some_and(|x| x.excluded(src.base()))
        {
            continue;
        }
        let target_rel = if let (true, Some(rel)) = (opts.parents, src.rel.as_deref()) {
            join(&dest_rel, rel)
        } else if st.is_dir() || !opts.dest_is_dir {
            dest_rel.clone()
        } else {
            join(&dest_rel, src.base())
        };
        if st.is_dir() {
            let canonical = ensure_dir(t, &target_rel, opts.owner)?;
            let dst = t.layer.dir(&canonical)?;
            let from = src.root.dir(&src.path)?;
            let mut w = Walk {
                t,
                opts,
                links: HashMap::new(),
            };
            w.copy_tree(&from, &dst, &canonical, src.rel.as_deref(), "")?;
        } else if st.is_file() {
            let (dir, name, canonical) = file_target(t, &target_rel, opts.owner)?;
            let mut from = src.root.open_file(&src.path)?;
            let mut to = dir.create_file(&name, 0o600)?;
            io::copy(&mut from, &mut to)?;
            apply_attrs(&dir, &name, &st, opts).map_err(|e| at(&canonical, e))?;
        }
        // Devices, FIFOs and sockets named as sources are not copied.
    }
    Ok(())
}

/// Whether `path`'s `..` components climb above its start (docker refuses such a
/// source rather than clamping it at the root).
pub fn climbs_out(path: &str) -> bool {
    let mut depth: i32 = 0;
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn at(rel: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("/{rel}: {e}"))
}

/// Makes `rel` (resolved through symlinks in the merged image) a directory in the
/// layer and returns its resolved path. Directories the image has are copied up with
/// their owner, mode and mtime; missing ones are made 0755 and owned by `owner`.
pub fn ensure_dir(t: &Target, rel: &str, owner: Option<(u32, u32)>) -> io::Result<String> {
    let (path, rest) = t.merged.resolve(rel).map_err(|e| at(rel, e))?;
    if rest.is_empty() && !path.is_empty() {
        if let Some(f) = t.merged.lookup(&path) {
            if !f.stat.is_dir() {
                return Err(error(format!("cannot copy to non-directory: /{path}")));
            }
        }
    }
    let mut cur = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur = join(&cur, part);
        match t.layer.lstat(&cur) {
            Ok(st) if st.is_dir() => continue,
            Ok(_) => return Err(error(format!("cannot copy to non-directory: /{cur}"))),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(at(&cur, e)),
        }
        let (dir, name) = t.layer.parent(&cur)?;
        dir.mkdir(&name, 0o700).map_err(|e| at(&cur, e))?;
        match t.lower.lookup(&cur) {
            Some(f) if f.stat.is_dir() => {
                let st = f.stat;
                dir.lchown(&name, st.uid(), st.gid())?;
                dir.chmod(&name, st.perm())?;
                dir.set_times(&name, st.mtime(), st.mtime())?;
            }
            _ => new_dir(&dir, &name, owner)?,
        }
    }
    for part in &rest {
        let (dir, name) = (t.layer.dir(&cur)?, cname(part)?);
        dir.mkdir(&name, 0o700)
            .map_err(|e| at(&join(&cur, part), e))?;
        new_dir(&dir, &name, owner)?;
        cur = join(&cur, part);
    }
    Ok(cur)
}

fn new_dir(dir: &Dir, name: &CStr, owner: Option<(u32, u32)>) -> io::Result<()> {
    let (u, g) = owner.unwrap_or((0, 0));
    dir.lchown(name, u, g)?;
    dir.chmod(name, 0o755)
}

/// The directory and name a file source is written to: the destination resolved in the
/// merged image (a final symlink followed, as BuildKit does), its parent made a
/// directory, and whatever the layer has at that name removed. A directory there is
/// refused.
fn file_target(
    t: &Target,
    rel: &str,
    owner: Option<(u32, u32)>,
) -> io::Result<(Dir, std::ffi::CString, String)> {
    let (path, rest) = t.merged.resolve(rel).map_err(|e| at(rel, e))?;
    let full = rest.iter().fold(path, |acc, p| join(&acc, p));
    let (parent, name) = match full.rsplit_once('/') {
        Some((p, n)) => (p.to_string(), n.to_string()),
        None => (String::new(), full.clone()),
    };
    if name.is_empty() {
        return Err(error(
            "cannot replace the root directory with a file".into(),
        ));
    }
    if t.merged.lookup(&full).is_some_and(|f| f.stat.is_dir()) {
        return Err(error(format!(
            "cannot replace to directory /{full} with file"
        )));
    }
    let parent = ensure_dir(t, &parent, owner)?;
    let dir = t.layer.dir(&parent)?;
    let name = cname(&name)?;
    dir.remove(&name)?;
    Ok((dir, name, full))
}

/// One directory source being copied: files hardlinked to each other in it stay
/// hardlinked in the layer, as in docker (both builders).
struct Walk<'a, 'b> {
    t: &'a Target<'a>,
    opts: &'a CopyOptions<'b>,
    /// Source inode (device, inode) → its first copy's path in the layer.
    links: HashMap<(u64, u64), String>,
}

impl Walk<'_, '_> {
    /// Copy the contents of `src` into `dst` (at `dst_rel` in the layer); `rel` is the
    /// context-relative path of `src` (for .dockerignore) and `xrel` its path below the
    /// copied source (for --exclude).
    fn copy_tree(
        &mut self,
        src: &Dir,
        dst: &Dir,
        dst_rel: &str,
        rel: Option<&str>,
        xrel: &str,
    ) -> io::Result<()> {
        let (t, opts) = (self.t, self.opts);
        for os_name in src.names()? {
            let name_str = os_name.to_string_lossy().into_owned();
            let child_rel = rel.map(|r| join(r, &name_str));
            let name = crate::fs::confined::name_cstring(&os_name)?;
            let st = src.lstat(&name)?;
            // An excluded directory an exception reaches into is kept only for what it holds.
            let mut only_for_kept = false;
            if let (Some(ig), Some(cr)) = (opts.ignore, child_rel.as_deref()) {
                match ig.visit(cr, st.is_dir()) {
                    Visit::Skip => continue,
                    Visit::Descend => only_for_kept = true,
                    Visit::Keep => {}
                }
            }
            let child_x = join(xrel, &name_str);
            if opts.exclude.as_ref().is_some_and(|x| x.excluded(&child_x)) {
                continue;
            }
            let target = join(dst_rel, &name_str);
            let existing = match dst.lstat(&name) {
                Ok(st) => Some(st),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
                Err(e) => return Err(at(&target, e)),
            };
            // What the image below has there counts as much as the layer (BuildKit copies
            // into the merged rootfs).
            let below = existing.or_else(|| t.merged.metadata(&target));
            if st.is_dir() {
                match below {
                    Some(b) if !b.is_dir() => {
                        return Err(error(format!("cannot copy to non-directory: /{target}")))
                    }
                    _ => {}
                }
                if existing.is_none() {
                    dst.mkdir(&name, 0o700).map_err(|e| at(&target, e))?;
                }
                let sub = dst.subdir(&name)?;
                self.copy_tree(
                    &src.subdir(&name)?,
                    &sub,
                    &target,
                    child_rel.as_deref(),
                    &child_x,
                )?;
                if only_for_kept && existing.is_none() && sub.names()?.is_empty() {
                    dst.remove_empty_dir(&name).map_err(|e| at(&target, e))?;
                    continue;
                }
                apply_attrs(dst, &name, &st, opts).map_err(|e| at(&target, e))?;
                continue;
            }
            if below.is_some_and(|b| b.is_dir()) {
                return Err(error(format!(
                    "cannot replace to directory /{target} with file"
                )));
            }
            if existing.is_some() {
                dst.remove(&name)?;
            }
            if st.is_symlink() {
                dst.symlink(&src.readlink(&name)?, &name)?;
            } else if st.is_file() {
                if st.nlink() > 1 {
                    if let Some(first) = self.links.get(&st.ino()) {
                        // Both ends are paths in the layer, resolved inside it.
                        t.layer.hardlink(first, &target)?;
                        continue;
                    }
                    self.links.insert(st.ino(), target.clone());
                }
                let mut from = src.open_file(&name)?;
                let mut to = dst.create_file(&name, 0o600)?;
                io::copy(&mut from, &mut to)?;
            } else {
                continue; // devices, FIFOs and sockets in a context are not copied
            }
            apply_attrs(dst, &name, &st, opts).map_err(|e| at(&target, e))?;
        }
        Ok(())
    }
}

/// Owner first (a chown clears setuid bits), then the mode with setuid/setgid kept (as
/// BuildKit keeps them), then the mtime.
fn apply_attrs(dst: &Dir, name: &CStr, st: &Stat, opts: &CopyOptions) -> io::Result<()> {
    let (u, g) = opts.owner.unwrap_or((0, 0));
    dst.lchown(name, u, g)?;
    if !st.is_symlink() {
        dst.chmod(name, opts.chmod.unwrap_or(st.perm()))?;
    }
    dst.set_times(name, st.mtime(), st.mtime())
}
