//! Removing a directory tree with the fewest system calls: per directory one `openat`
//! (`O_NOFOLLOW`, so a symlink planted in a container's tree is removed, never followed),
//! `getdents64` (once for a small directory, whose `rmdir` then says whether that was
//! all), `close` and the parent's `unlinkat`. The entry type
//! `getdents64` reports saves a `stat` per entry; std's `remove_dir_all` adds an
//! `fstat` and two `fcntl`s per directory. Used at the end of `run --rm`, where a
//! container's directories go.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Removes `path` and everything under it (a file or a symlink: just that). As
/// `std::fs::remove_dir_all`: an error of kind `NotFound` when `path` does not exist.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    let name = CString::new(path.as_os_str().as_bytes())?;
    // Most often a directory: opened first, with no unlink tried before.
    match remove_dir(libc::AT_FDCWD, &name) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
            // SAFETY: a NUL-terminated path.
            cvt(unsafe { libc::unlinkat(libc::AT_FDCWD, name.as_ptr(), 0) }).map(drop)
        }
        other => other,
    }
}

/// An entry of a directory whose layout kiste made and so knows: removed by its name,
/// with no directory read to find it.
pub enum Known {
    /// A file (or anything that is not a directory).
    File(&'static CStr),
    /// A directory and the entries expected in it.
    Dir(&'static CStr, &'static [Known]),
    /// A directory most often empty by the time it goes (a `--rm` container's upper dir
    /// when its mount points come from an init layer): its `rmdir` is tried first, and
    /// only when that fails are the entries expected in it removed.
    MostlyEmpty(&'static CStr, &'static [Known]),
    /// A chain of directories that only the kernel writes (overlayfs's work dir), named
    /// from the parent, the deepest first, and the file in the deepest one: the deepest is
    /// opened with `openat2(RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)` (no symlink anywhere on
    /// the way), the file unlinked there and the directories removed by their paths, with
    /// no descriptor per level. Anything else found there (a planted symlink, more
    /// entries) makes the first directory go as `remove_tree` removes it.
    Chain(&'static [&'static CStr], &'static CStr),
}

/// Removes the directory `path`, whose expected entries are `layout`: one `unlinkat` per
/// expected entry (a missing one costs a failed call), and an `openat` per directory that
/// holds expected entries, instead of reading every directory to its end as `remove_tree`
/// does. What is there beyond the layout (a container wrote it, a newer kiste made it) is
/// found by the `rmdir` that fails, and removed as `remove_tree` removes it; a directory
/// is opened with `O_NOFOLLOW`, so a symlink where one is expected is removed, never
/// followed. `NotFound` when `path` does not exist.
pub fn remove_known(path: &Path, layout: &[Known]) -> io::Result<()> {
    let name = CString::new(path.as_os_str().as_bytes())?;
    remove_known_dir(libc::AT_FDCWD, &name, layout)
}

/// Removes the directory `path` that only kiste writes to (no user, no container can
/// put an entry there), whose entries are `names`: one `unlinkat` each by path and the
/// `rmdir`, with no descriptor of it opened (`remove_known` opens each directory so as
/// never to follow a planted symlink). An entry that cannot go (a mount point still
/// mounted: EBUSY) is an error, never looked into; anything else found in `path` is
/// removed by `remove_tree`. `NotFound` when `path` does not exist.
pub fn remove_own(path: &Path, names: &[Known]) -> io::Result<()> {
    for entry in names {
        let removed = match entry {
            Known::File(n) => std::fs::remove_file(path.join(OsStr::from_bytes(n.to_bytes()))),
            Known::Dir(n, _) | Known::MostlyEmpty(n, _) => {
                std::fs::remove_dir(path.join(OsStr::from_bytes(n.to_bytes())))
            }
            Known::Chain(dirs, _) => match dirs.last() {
                Some(n) => remove_tree(&path.join(OsStr::from_bytes(n.to_bytes()))),
                None => Ok(()),
            },
        };
        match removed {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    match std::fs::remove_dir(path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => remove_tree(path),
        other => other,
    }
}

fn remove_known_dir(dir: RawFd, name: &CStr, layout: &[Known]) -> io::Result<()> {
    let rmdir = || {
        // SAFETY: a NUL-terminated name and a directory fd the caller holds.
        cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    };
    let unlink = || {
        // SAFETY: as above.
        cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }).map(drop)
    };
    if layout.is_empty() {
        return match rmdir() {
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => remove_dir(dir, name),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => unlink(),
            other => other,
        };
    }
    // SAFETY: as above; the new fd is owned below.
    let fd = match cvt(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    }) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
            return unlink();
        }
        // SAFETY: a fresh fd nobody else owns.
        fd => unsafe { OwnedFd::from_raw_fd(fd?) },
    };
    for entry in layout {
        let removed = match entry {
            Known::File(n) => remove_entry(fd.as_raw_fd(), n, libc::DT_UNKNOWN),
            Known::Dir(n, inner) => remove_known_dir(fd.as_raw_fd(), n, inner),
            Known::Chain(dirs, file) => remove_chain(fd.as_raw_fd(), dirs, file),
            Known::MostlyEmpty(n, inner) => {
                // SAFETY: a NUL-terminated name and the directory fd held here.
                match cvt(unsafe { libc::unlinkat(fd.as_raw_fd(), n.as_ptr(), libc::AT_REMOVEDIR) })
                {
                    Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {
                        remove_known_dir(fd.as_raw_fd(), n, inner)
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
                        remove_entry(fd.as_raw_fd(), n, libc::DT_UNKNOWN)
                    }
                    other => other.map(drop),
                }
            }
        };
        match removed {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    match rmdir() {
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {
            empty_dir(&fd, false)?;
            rmdir()
        }
        other => other,
    }
}

fn remove_chain(dir: RawFd, dirs: &[&CStr], file: &CStr) -> io::Result<()> {
    let (Some(deepest), Some(top)) = (dirs.first(), dirs.last()) else {
        return Ok(());
    };
    let resolve = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_BENEATH;
    let whole = || -> io::Result<()> {
        let fd = super::sys::openat2(dir, deepest, libc::O_RDONLY | libc::O_DIRECTORY, resolve)?;
        // SAFETY: a NUL-terminated name and the directory fd held here.
        match cvt(unsafe { libc::unlinkat(fd.as_raw_fd(), file.as_ptr(), 0) }) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        drop(fd);
        for d in dirs {
            // SAFETY: a NUL-terminated path relative to the directory fd the caller holds.
            cvt(unsafe { libc::unlinkat(dir, d.as_ptr(), libc::AT_REMOVEDIR) })?;
        }
        Ok(())
    };
    match whole() {
        Ok(()) => Ok(()),
        // Not as expected (a level missing, a symlink, more entries): whatever is left goes.
        Err(_) => match remove_dir(dir, top) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
                // SAFETY: as above.
                cvt(unsafe { libc::unlinkat(dir, top.as_ptr(), 0) }).map(drop)
            }
            other => other,
        },
    }
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Removes the entry `name` of directory `dir` whose type `getdents64` gave as `kind`.
fn remove_entry(dir: RawFd, name: &CStr, kind: u8) -> io::Result<()> {
    if kind != libc::DT_DIR {
        // SAFETY: a NUL-terminated name and a directory fd the caller holds.
        match cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }) {
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {}
            other => return other.map(drop),
        }
    }
    remove_dir(dir, name)
}

/// Removes the directory `name` of `dir` and everything in it.
fn remove_dir(dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: a NUL-terminated name and a directory fd the caller holds; the new fd is
    // owned below.
    let fd = cvt(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: a fresh fd nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let rmdir = || {
        // SAFETY: as above.
        cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
    };
    // A short first batch is most likely all there is: the rmdir says whether it was
    // (saving the getdents64 that would read the end), else the rest is read.
    if empty_dir(&fd, true)? {
        match rmdir() {
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => {}
            done => return done,
        }
    }
    empty_dir(&fd, false)?;
    drop(fd);
    rmdir()
}

/// Removes every entry of the open directory `dir`, reading it to its end; with
/// `short_ok`, stops after a batch that left more than a whole record's room in the
/// buffer (true then: the end was probably reached but not seen).
fn empty_dir(dir: &OwnedFd, short_ok: bool) -> io::Result<bool> {
    // u64s: getdents64 records are 8-byte aligned.
    let mut buf = vec![0u64; 512];
    loop {
        let len = buf.len() * 8;
        // SAFETY: the buffer is `len` bytes long and outlives the call.
        let n =
            unsafe { libc::syscall(libc::SYS_getdents64, dir.as_raw_fd(), buf.as_mut_ptr(), len) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(false);
        }
        let bytes = buf.as_ptr().cast::<u8>();
        let mut at = 0usize;
        while at < n as usize {
            // linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[].
            // SAFETY: the kernel wrote `n` bytes of whole records; offsets stay inside.
            let (reclen, kind, name) = unsafe {
                let rec = bytes.add(at);
                let reclen = rec.add(16).cast::<u16>().read_unaligned() as usize;
                let kind = *rec.add(18);
                (reclen, kind, CStr::from_ptr(rec.add(19).cast()))
            };
            at += reclen;
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            remove_entry(dir.as_raw_fd(), name, kind)?;
        }
        // A record is at most 19 bytes of header and a 256-byte name, rounded up.
        if short_ok && (n as usize) + 280 <= len {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYOUT: &[Known] = &[
        Known::File(c"lock"),
        Known::MostlyEmpty(
            c"upper",
            &[
                Known::Dir(c"etc", &[Known::File(c"hosts")]),
                Known::Dir(c"proc", &[]),
            ],
        ),
        Known::MostlyEmpty(c"empty", &[Known::File(c"x")]),
        Known::Dir(c"work", &[Known::Dir(c"work", &[])]),
    ];

    #[test]
    fn a_chain_goes_by_its_paths_and_never_through_a_symlink() {
        const CHAIN: &[Known] = &[Known::Chain(
            &[
                c"work/work/incompat/volatile",
                c"work/work/incompat",
                c"work/work",
                c"work",
            ],
            c"dirty",
        )];
        let tmp = tempfile::tempdir().unwrap();
        let tree = tmp.path().join("tree");
        // As overlayfs leaves it, then with the file missing, then with a level missing.
        for made in ["work/work/incompat/volatile", "work/work/incompat", "work"] {
            std::fs::create_dir_all(tree.join(made)).unwrap();
            if made.ends_with("volatile") {
                std::fs::write(tree.join(made).join("dirty"), "").unwrap();
            }
            remove_known(&tree, CHAIN).unwrap();
            assert!(!tree.exists(), "{made}");
        }
        // More than the chain holds.
        std::fs::create_dir_all(tree.join("work/work/incompat/volatile/more")).unwrap();
        std::fs::write(tree.join("work/extra"), "").unwrap();
        remove_known(&tree, CHAIN).unwrap();
        assert!(!tree.exists());
        // A symlink on the way to a tree outside that has the same names: never followed.
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(outside.join("incompat/volatile")).unwrap();
        std::fs::write(outside.join("incompat/volatile/dirty"), "keep").unwrap();
        std::fs::create_dir_all(tree.join("work")).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("work/work")).unwrap();
        remove_known(&tree, CHAIN).unwrap();
        assert!(!tree.exists());
        assert_eq!(
            std::fs::read_to_string(outside.join("incompat/volatile/dirty")).unwrap(),
            "keep"
        );
    }

    #[test]
    fn an_own_dir_goes_by_its_names_and_what_else_is_there_goes_too() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let names = &[
            Known::Dir(c"rootfs", &[]),
            Known::File(c"hosts"),
            Known::File(c"gone"),
        ];
        std::fs::create_dir_all(dir.join("rootfs")).unwrap();
        std::fs::write(dir.join("hosts"), "").unwrap();
        remove_own(&dir, names).unwrap();
        assert!(!dir.exists());
        std::fs::create_dir_all(dir.join("extra/more")).unwrap();
        std::fs::write(dir.join("hosts"), "").unwrap();
        remove_own(&dir, names).unwrap();
        assert!(!dir.exists());
        // A directory entry that is not empty is an error, not emptied.
        std::fs::create_dir_all(dir.join("rootfs/bin")).unwrap();
        assert!(remove_own(&dir, names).is_err());
        assert!(dir.join("rootfs/bin").exists());
        assert_eq!(
            remove_own(&tmp.path().join("none"), names)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_known_layout_goes_by_its_names_and_what_else_is_there_goes_too() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(outside.join("etc")).unwrap();
        std::fs::write(outside.join("etc/hosts"), "keep").unwrap();
        // Exactly the layout, with one part missing.
        let tree = tmp.path().join("tree");
        std::fs::create_dir_all(tree.join("upper/etc")).unwrap();
        std::fs::create_dir_all(tree.join("work/work")).unwrap();
        std::fs::write(tree.join("upper/etc/hosts"), "").unwrap();
        std::fs::write(tree.join("lock"), "").unwrap();
        std::fs::create_dir(tree.join("empty")).unwrap();
        remove_known(&tree, LAYOUT).unwrap();
        assert!(!tree.exists());
        // More than the layout, and symlinks where directories are expected.
        std::fs::create_dir_all(tree.join("upper/etc/deep/er")).unwrap();
        std::fs::write(tree.join("upper/etc/deep/er/f"), "").unwrap();
        std::fs::write(tree.join("upper/etc/hosts"), "").unwrap();
        std::fs::write(tree.join("upper/proc"), "a file").unwrap();
        std::fs::create_dir_all(tree.join("extra/more")).unwrap();
        std::fs::write(tree.join("empty"), "a file").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("work")).unwrap();
        remove_known(&tree, LAYOUT).unwrap();
        assert!(!tree.exists());
        std::fs::create_dir_all(&tree).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("upper")).unwrap();
        remove_known(&tree, LAYOUT).unwrap();
        assert!(!tree.exists());
        assert_eq!(
            std::fs::read_to_string(outside.join("etc/hosts")).unwrap(),
            "keep"
        );
        let e = remove_known(&tree, LAYOUT).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_tree_goes_with_its_files_and_links_but_not_what_links_point_to() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), "x").unwrap();
        let tree = tmp.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b/c")).unwrap();
        for i in 0..300 {
            std::fs::write(tree.join(format!("a/file-with-a-long-name-{i}")), "y").unwrap();
        }
        std::fs::write(tree.join("a/b/c/deep"), "z").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/link")).unwrap();
        std::os::unix::net::UnixListener::bind(tree.join("a/b/sock")).unwrap();
        remove_tree(&tree).unwrap();
        assert!(!tree.exists());
        assert!(outside.join("keep").exists());
        let e = remove_tree(&tree).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        // A symlink given as the tree: the link goes, its target stays.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        remove_tree(&link).unwrap();
        assert!(!link.exists() && outside.join("keep").exists());
    }
}
