//! The one way kiste replaces a file of its own (records, indexes, caches, the client's
//! credentials): write a temp file on the same file system, fsync it, rename it over the
//! destination, and fsync the directory so that the new name survives a crash too.
//! Readers never see half a file. Only for trees kiste owns: paths are followed as
//! given, so a tree a user controls goes through `crate::fs` instead.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// How `write_atomic` writes: where its temp file goes, the new file's mode, and whether
/// the directory is synced after the rename.
#[derive(Debug, Clone)]
pub struct Atomic {
    /// The temp file, on the destination's file system; None: `.NAME.tmp-PID` beside it.
    pub tmp: Option<PathBuf>,
    /// The mode the file is created with (the umask applies).
    pub mode: u32,
    /// fsync the directory after the rename. A hot path that can rebuild the file after
    /// a crash (a container record, a cache) leaves it off.
    pub sync_dir: bool,
}

impl Default for Atomic {
    fn default() -> Atomic {
        Atomic {
            tmp: None,
            mode: 0o666,
            sync_dir: true,
        }
    }
}

/// Replaces `dest` with `bytes` as `how` says; the temp file is removed on failure.
pub fn write_atomic(dest: &Path, bytes: &[u8], how: &Atomic) -> std::io::Result<()> {
    let tmp = match &how.tmp {
        Some(t) => t.clone(),
        None => {
            let name = dest.file_name().unwrap_or_default().to_string_lossy();
            dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
        }
    };
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(how.mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if how.sync_dir {
        sync_dir(dest.parent().unwrap_or(Path::new(".")))?;
    }
    Ok(())
}

/// fsyncs a directory, so that the names renamed into it last.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_the_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("data.json");
        std::fs::write(&dest, "old").unwrap();
        write_atomic(&dest, b"new", &Atomic::default()).unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_given_temp_and_mode_are_used_and_a_failed_rename_removes_the_temp() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("secret");
        let how = Atomic {
            tmp: Some(dir.path().join("t")),
            mode: 0o600,
            sync_dir: false,
        };
        write_atomic(&dest, b"x", &how).unwrap();
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A directory in the way: the rename fails and the temp goes.
        let blocked = dir.path().join("blocked");
        std::fs::create_dir_all(blocked.join("inside")).unwrap();
        assert!(write_atomic(&blocked, b"x", &how).is_err());
        assert!(!dir.path().join("t").exists());
    }
}
