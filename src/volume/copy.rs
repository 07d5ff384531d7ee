//! Docker's copy-up: the first time an empty volume is mounted, it is filled with what
//! the image holds at the mount point, with ownership, modes and times. Both trees are
//! user-controlled, so the walk goes through `crate::fs` directory fds: a symlink is
//! copied as a symlink and never followed, and nothing is written outside the volume.

use crate::fs::{confined::name_cstring, Dir, Root};
use std::io;
use std::path::Path;

/// Fills the volume at `data` from `rootfs` at `target` (a container path), when the
/// volume is empty and the image has a directory there. Whether it copied anything.
pub fn fill_from_image(rootfs: &Path, target: &str, data: &Path) -> io::Result<bool> {
    let dst = Root::open(data)?;
    if !dst.read_dir("")?.is_empty() {
        return Ok(false);
    }
    let src = Root::open(rootfs)?;
    let Ok(st) = src.lstat(target) else {
        return Ok(false);
    };
    if !st.is_dir() {
        return Ok(false);
    }
    let from = src.dir(target)?;
    let to = dst.dir("")?;
    copy_children(&from, &to, Ownership::Keep)?;
    // The volume's root takes the image directory's owner and mode, as in docker.
    to.fchown(st.uid(), st.gid())?;
    to.fchmod(st.perm())?;
    Ok(true)
}

/// Who owns what a copy creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// As in the source.
    Keep,
    /// This uid and gid for everything.
    Set(u32, u32),
}

impl Ownership {
    fn of(self, uid: u32, gid: u32) -> (u32, u32) {
        match self {
            Ownership::Keep => (uid, gid),
            Ownership::Set(u, g) => (u, g),
        }
    }
}

/// Copies every entry of `from` into `to` (which must not hold those names yet, unless
/// they are directories, which are merged).
pub fn copy_children(from: &Dir, to: &Dir, own: Ownership) -> io::Result<()> {
    for name in from.names()? {
        copy_entry(from, &name, to, &name, own)?;
    }
    Ok(())
}

/// Copies the entry `name` of `from` to `to` as `new`: a directory with everything
/// below it, a file's content, a symlink as a link, a device or FIFO as a node.
pub fn copy_entry(
    from: &Dir,
    name: &std::ffi::OsStr,
    to: &Dir,
    new: &std::ffi::OsStr,
    own: Ownership,
) -> io::Result<()> {
    let c = name_cstring(name)?;
    let n = name_cstring(new)?;
    let st = from.lstat(&c)?;
    let (uid, gid) = own.of(st.uid(), st.gid());
    let fmt = st.mode() & libc::S_IFMT;
    // What is there already: a directory is merged into, anything else replaced (as
    // docker's copy does); a directory and a non-directory never replace each other.
    if let Ok(have) = to.lstat(&n) {
        match (have.is_dir(), st.is_dir()) {
            (true, true) => {}
            (false, false) => to.remove(&n)?,
            (true, false) => return Err(io::Error::from_raw_os_error(libc::EISDIR)),
            (false, true) => return Err(io::Error::from_raw_os_error(libc::ENOTDIR)),
        }
    }
    if st.is_dir() {
        match to.mkdir(&n, 0o700) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let sub_from = from.subdir(&c)?;
        let sub_to = to.subdir(&n)?;
        copy_children(&sub_from, &sub_to, own)?;
        sub_to.fchown(uid, gid)?;
        sub_to.fchmod(st.perm())?;
        sub_to.set_own_times(st.atime(), st.mtime())?;
        return Ok(());
    }
    if st.is_symlink() {
        let target = from.readlink(&c)?;
        to.symlink(&target, &n)?;
        to.lchown(&n, uid, gid)?;
        return Ok(());
    }
    if fmt == libc::S_IFREG {
        let mut src = from.open_file(&c)?;
        let mut dst = to.create_file(&n, 0o600)?;
        io::copy(&mut src, &mut dst)?;
        drop(dst);
    } else {
        to.mknod(&n, fmt | (st.perm() & 0o7777), st.rdev())?;
    }
    to.lchown(&n, uid, gid)?;
    to.chmod(&n, st.perm())?;
    to.set_times(&n, st.atime(), st.mtime())?;
    Ok(())
}
