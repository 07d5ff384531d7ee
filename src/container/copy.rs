//! `cp`'s file work, on confined trees: the container's root (or the host's `/`) opened
//! as a `crate::fs::Root`, so a path in the container resolves inside it whatever its
//! symlinks say, and what is copied never follows a symlink it creates. Docker's path
//! rules decide where a copy lands (`plan`); the copy itself is a walk of directory fds
//! (`copy`), or a tar stream out of (`write_tar`) or into (`extract_tar`) a tree.

use crate::fs::{confined::name_cstring, Dir, Root};
use crate::volume::{copy_children, copy_entry, Ownership};
use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("Could not find the file {path} in container {container}")]
    NotInContainer { path: String, container: String },
    #[error("lstat {0}: no such file or directory")]
    NotOnHost(String),
    #[error("invalid output path: directory \"{0}\" does not exist")]
    NoDestDir(String),
    #[error("cannot copy directory")]
    DirToFile,
    #[error("destination \"{0}\" must be a directory")]
    NotADirectory(String),
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
}

fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> CopyError {
    let action = action.into();
    move |source| CopyError::Io { action, source }
}

/// A copy's source: a path in a tree, and how docker reads its spelling.
pub struct Source<'a> {
    pub root: &'a Root,
    /// Absolute in the tree, as given.
    pub path: String,
    /// `-L`: a symlink as the last component is followed (inside the tree).
    pub follow: bool,
}

/// Where the source lands: into directory `dir`, as `name` (None: its contents).
#[derive(Debug, PartialEq, Eq)]
pub struct Placement {
    pub dir: String,
    pub name: Option<OsString>,
}

impl Source<'_> {
    /// The source resolved: `(parent dir, name)` of the entry to copy, with `-L`'s
    /// symlinks followed inside the tree. Err(None) when it does not exist.
    fn resolve(&self) -> Result<(String, OsString), Option<io::Error>> {
        let mut path = clean(&self.path);
        for _ in 0..40 {
            let st = self
                .root
                .lstat(&path)
                .map_err(|e| (e.raw_os_error() != Some(libc::ENOENT)).then_some(e))?;
            if !(self.follow && st.is_symlink()) {
                let (dir, name) = split(&path);
                return Ok((dir, name));
            }
            let target = self.root.readlink(&path).map_err(Some)?;
            let t = target.to_string_lossy();
            path = if t.starts_with('/') {
                clean(&t)
            } else {
                clean(&format!("{}/{t}", split(&path).0))
            };
        }
        Err(Some(io::Error::from_raw_os_error(libc::ELOOP)))
    }

    /// Whether the source names a directory whose contents (not itself) are copied:
    /// docker's `SRC/.`.
    fn contents_only(&self) -> bool {
        self.path.ends_with("/.") || self.path == "."
    }
}

/// `a//b/./c/` → `/a/b/c` (`..` kept for the kernel to confine).
fn clean(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// `/a/b` → (`/a`, `b`); `/` → (`/`, ``).
fn split(p: &str) -> (String, OsString) {
    let p = clean(p);
    match p.rsplit_once('/') {
        Some(("", name)) => ("/".into(), name.into()),
        Some((dir, name)) => (dir.into(), name.into()),
        None => ("/".into(), p.into()),
    }
}

/// docker's rules for where `src` lands at `dest` (a path in `dest_root`):
/// into an existing directory under its own name (or its contents, for `SRC/.`), over
/// an existing file, or as `dest` itself when that does not exist yet (its parent must).
pub fn plan(
    src_is_dir: bool,
    contents_only: bool,
    src_name: &OsStr,
    dest_root: &Root,
    dest: &str,
    dest_shown: &str,
) -> Result<Placement, CopyError> {
    let wants_dir = dest.ends_with('/') || dest.ends_with("/.");
    let dest_c = clean(dest);
    match dest_root.stat(&dest_c) {
        Ok(st) if st.is_dir() => Ok(Placement {
            dir: dest_c,
            name: (!(src_is_dir && contents_only)).then(|| src_name.to_os_string()),
        }),
        Ok(_) if src_is_dir => Err(CopyError::DirToFile),
        Ok(_) if wants_dir => Err(CopyError::NotADirectory(dest_shown.into())),
        Ok(_) => {
            let (dir, name) = split(&dest_c);
            Ok(Placement {
                dir,
                name: Some(name),
            })
        }
        Err(_) => {
            let (dir, name) = split(&dest_c);
            let parent_ok = dest_root.stat(&dir).is_ok_and(|s| s.is_dir());
            if !parent_ok || (wants_dir && !src_is_dir) {
                let shown = if wants_dir {
                    dest_shown.trim_end_matches('/').to_string()
                } else {
                    split(dest_shown).0
                };
                return Err(CopyError::NoDestDir(shown));
            }
            Ok(Placement {
                dir,
                name: Some(name),
            })
        }
    }
}

/// The source's parent directory and entry name, or the "not found" error `missing`.
pub fn locate(
    src: &Source,
    missing: impl FnOnce() -> CopyError,
) -> Result<(Dir, OsString, bool), CopyError> {
    let (dir, name) = match src.resolve() {
        Ok(v) => v,
        Err(None) => return Err(missing()),
        Err(Some(e)) => return Err(io_err(format!("cannot read {}", src.path))(e)),
    };
    let d = src
        .root
        .dir(&dir)
        .map_err(io_err(format!("cannot open {dir}")))?;
    let is_dir = if name.is_empty() {
        true
    } else {
        d.lstat(&name_cstring(&name).map_err(io_err("bad name"))?)
            .map_err(io_err(format!("cannot read {}", src.path)))?
            .is_dir()
    };
    Ok((d, name, is_dir))
}

/// Copies `src` to `dest` in `dest_root` by docker's rules.
pub fn copy(
    src: &Source,
    missing: impl FnOnce() -> CopyError,
    dest_root: &Root,
    dest: &str,
    dest_shown: &str,
    own: Ownership,
) -> Result<(), CopyError> {
    let (dir, name, is_dir) = locate(src, missing)?;
    let shown_name = if name.is_empty() {
        OsString::from("/")
    } else {
        name.clone()
    };
    let place = plan(
        is_dir,
        src.contents_only() || name.is_empty(),
        &shown_name,
        dest_root,
        dest,
        dest_shown,
    )?;
    let to = dest_root
        .dir(&place.dir)
        .map_err(io_err(format!("cannot open {}", place.dir)))?;
    let action = || format!("cannot copy {} to {dest_shown}", src.path);
    match (&place.name, name.is_empty()) {
        (None, true) => copy_children(&src.root.dir("/").map_err(io_err(action()))?, &to, own),
        (None, false) => {
            let from = dir
                .subdir(&name_cstring(&name).map_err(io_err(action()))?)
                .map_err(io_err(action()))?;
            copy_children(&from, &to, own)
        }
        (Some(new), true) => {
            let c = name_cstring(new).map_err(io_err(action()))?;
            match to.mkdir(&c, 0o755) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
                _ => to
                    .subdir(&c)
                    .and_then(|sub| copy_children(&src.root.dir("/")?, &sub, own)),
            }
        }
        (Some(new), false) => copy_entry(&dir, &name, &to, new, own),
    }
    .map_err(io_err(action()))
}

/// Writes `src` as a tar stream: entries under the source's name (`./` entries for
/// `SRC/.`), as `docker cp CONTAINER:SRC -` does.
pub fn write_tar<W: Write>(
    src: &Source,
    missing: impl FnOnce() -> CopyError,
    out: W,
) -> Result<W, CopyError> {
    let (dir, name, is_dir) = locate(src, missing)?;
    let mut b = tar::Builder::new(out);
    let fail = io_err(format!("cannot archive {}", src.path));
    let result = (|| {
        if is_dir && (src.contents_only() || name.is_empty()) {
            let d = if name.is_empty() {
                src.root.dir("/")?
            } else {
                dir.subdir(&name_cstring(&name)?)?
            };
            append(&mut b, &d.fstat()?, b"./", None)?;
            tar_children(&mut b, &d, b"./")?;
        } else {
            tar_entry(&mut b, &dir, &name, b"")?;
        }
        b.into_inner()
    })();
    result.map_err(fail)
}

fn tar_children<W: Write>(b: &mut tar::Builder<W>, dir: &Dir, prefix: &[u8]) -> io::Result<()> {
    for name in dir.names()? {
        tar_entry(b, dir, &name, prefix)?;
    }
    Ok(())
}

fn tar_entry<W: Write>(
    b: &mut tar::Builder<W>,
    dir: &Dir,
    name: &OsStr,
    prefix: &[u8],
) -> io::Result<()> {
    let c = name_cstring(name)?;
    let st = dir.lstat(&c)?;
    let path = [prefix, name.as_bytes()].concat();
    if st.is_dir() {
        let sub = dir.subdir(&c)?;
        let p = [path.as_slice(), b"/"].concat();
        append(b, &st, &p, None)?;
        return tar_children(b, &sub, &p);
    }
    if st.is_symlink() {
        let target = dir.readlink(&c)?;
        return append(b, &st, &path, Some(Link::Symlink(target.as_bytes())));
    }
    if st.is_file() {
        let f = dir.open_file(&c)?;
        return append(b, &st, &path, Some(Link::Data(f)));
    }
    append(b, &st, &path, None)
}

enum Link<'a> {
    Symlink(&'a [u8]),
    Data(std::fs::File),
}

fn append<W: Write>(
    b: &mut tar::Builder<W>,
    st: &crate::fs::Stat,
    path: &[u8],
    link: Option<Link>,
) -> io::Result<()> {
    let mut h = tar::Header::new_gnu();
    let fmt = st.mode() & libc::S_IFMT;
    h.set_entry_type(match fmt {
        libc::S_IFDIR => tar::EntryType::Directory,
        libc::S_IFLNK => tar::EntryType::Symlink,
        libc::S_IFCHR => tar::EntryType::Char,
        libc::S_IFBLK => tar::EntryType::Block,
        libc::S_IFIFO => tar::EntryType::Fifo,
        _ => tar::EntryType::Regular,
    });
    h.set_mode(st.perm());
    h.set_uid(st.uid() as u64);
    h.set_gid(st.gid() as u64);
    h.set_mtime(st.mtime().0.max(0) as u64);
    if matches!(fmt, libc::S_IFCHR | libc::S_IFBLK) {
        h.set_device_major(libc::major(st.rdev()))?;
        h.set_device_minor(libc::minor(st.rdev()))?;
    }
    let path = OsStr::from_bytes(path);
    match link {
        Some(Link::Symlink(target)) => {
            h.set_size(0);
            b.append_link(&mut h, path, OsStr::from_bytes(target))
        }
        Some(Link::Data(f)) => {
            h.set_size(st.size());
            b.append_data(&mut h, path, f.take(st.size()))
        }
        None => {
            h.set_size(0);
            b.append_data(&mut h, path, io::empty())
        }
    }
}

/// Extracts a tar stream into directory `dest` of `root` (which must exist), as
/// `docker cp - CONTAINER:DEST` does. Every member resolves inside `root`; a member
/// with a `..` component is refused.
pub fn extract_tar<R: Read>(
    reader: R,
    root: &Root,
    dest: &str,
    own: Ownership,
) -> Result<(), CopyError> {
    let dest = clean(dest);
    if !root.stat(&dest).is_ok_and(|s| s.is_dir()) {
        return Err(CopyError::NotADirectory(dest));
    }
    let mut archive = tar::Archive::new(reader);
    let fail = |what: &str| io_err(format!("cannot extract {what} into {dest}"));
    let mut dir_times = Vec::new();
    for entry in archive.entries().map_err(fail("the archive"))? {
        let mut entry = entry.map_err(fail("the archive"))?;
        let member = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if member.split('/').any(|c| c == "..") {
            return Err(fail(&member)(io::Error::other(
                "the path leaves the destination",
            )));
        }
        let rel = clean(&format!("{dest}/{member}"));
        if rel == dest {
            continue;
        }
        if let Some(t) = extract_entry(root, &mut entry, &rel, &dest, own).map_err(fail(&member))? {
            dir_times.push((rel, t));
        }
    }
    for (rel, t) in dir_times.into_iter().rev() {
        let _ = root.set_times(&rel, t, t);
    }
    Ok(())
}

/// One member; a directory's mtime is returned to be set once its content is in.
fn extract_entry<R: Read>(
    root: &Root,
    entry: &mut tar::Entry<R>,
    rel: &str,
    dest: &str,
    own: Ownership,
) -> io::Result<Option<(i64, i64)>> {
    let h = entry.header();
    let mode = h.mode()? & 0o7777;
    let (uid, gid) = match own {
        Ownership::Keep => (h.uid()? as u32, h.gid()? as u32),
        Ownership::Set(u, g) => (u, g),
    };
    let mtime = (h.mtime().unwrap_or(0) as i64, 0);
    let kind = h.entry_type();
    let (parent, _) = split(rel);
    root.mkdir_all(&parent, 0o755, |_, _, _| Ok(()))?;
    if kind.is_dir() {
        root.mkdir_all(rel, 0o755, |_, _, _| Ok(()))?;
        root.lchown(rel, uid, gid)?;
        root.chmod(rel, mode)?;
        return Ok(Some(mtime));
    }
    if root.lstat(rel).is_ok_and(|s| s.is_dir()) {
        return Err(io::Error::other(
            "cannot overwrite a directory with a non-directory",
        ));
    }
    root.remove(rel)?;
    match kind {
        tar::EntryType::Symlink => {
            let target = entry.link_name_bytes().unwrap_or_default().into_owned();
            root.symlink(OsString::from_vec(target), rel)?;
            root.lchown(rel, uid, gid)?;
            return Ok(None);
        }
        tar::EntryType::Link => {
            let target = entry.link_name_bytes().unwrap_or_default().into_owned();
            let target = clean(&format!("{dest}/{}", String::from_utf8_lossy(&target)));
            return root.hardlink(target, rel).map(|()| None);
        }
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
            let fmt = match kind {
                tar::EntryType::Char => libc::S_IFCHR,
                tar::EntryType::Block => libc::S_IFBLK,
                _ => libc::S_IFIFO,
            };
            let dev = libc::makedev(
                h.device_major()?.unwrap_or(0),
                h.device_minor()?.unwrap_or(0),
            );
            root.mknod(rel, fmt | mode, dev)?;
        }
        _ => {
            let mut f = root.create_file(rel, 0o600)?;
            io::copy(entry, &mut f)?;
        }
    }
    root.lchown(rel, uid, gid)?;
    root.chmod(rel, mode)?;
    root.set_times(rel, mtime, mtime)?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_and_clean_as_docker_reads_them() {
        assert_eq!(clean("a//b/./c/"), "/a/b/c");
        assert_eq!(split("/etc"), ("/".to_string(), OsString::from("etc")));
        assert_eq!(split("/a/b/"), ("/a".to_string(), OsString::from("b")));
    }

    #[test]
    fn placement_follows_dockers_rules() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::fs::write(t.path().join("f"), "").unwrap();
        let r = Root::open(t.path()).unwrap();
        let p = |is_dir, contents, dest: &str| {
            plan(is_dir, contents, OsStr::new("src"), &r, dest, dest)
        };
        let at = |dir: &str, name: Option<&str>| Placement {
            dir: dir.into(),
            name: name.map(OsString::from),
        };
        assert_eq!(p(false, false, "/d").unwrap(), at("/d", Some("src")));
        assert_eq!(p(true, true, "/d").unwrap(), at("/d", None));
        assert_eq!(p(false, false, "/f").unwrap(), at("/", Some("f")));
        assert_eq!(p(true, false, "/new").unwrap(), at("/", Some("new")));
        assert!(matches!(p(true, false, "/f"), Err(CopyError::DirToFile)));
        assert!(matches!(p(false, false, "/no/x"), Err(CopyError::NoDestDir(d)) if d == "/no"));
        assert!(matches!(
            p(false, false, "/new/"),
            Err(CopyError::NoDestDir(_))
        ));
    }
}
