//! The exit codes of `--rm` containers after their records are gone: the monitor writes
//! one small file per container (in the runroot, so a reboot forgets them) just before it
//! removes the record, so that a `wait` started before the removal can still answer with
//! the code, as docker's does. Files older than `KEEP` are removed by the write that
//! starts a new slot (once per `KEEP` at most, not on every command; older slots are
//! never read, so one left a while longer answers nobody).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long an exit code outlives its container (at least; at most twice as long).
pub const KEEP: Duration = Duration::from_secs(300);

/// The codes are kept in one directory per `KEEP`-long slot of time (`exits/<slot>/<id>`),
/// so that pruning reads the few slot names instead of the age of every file: a loop of
/// `run --rm` left hundreds of files here, each stat'ed by every command.
fn slot_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / KEEP.as_secs())
}

fn slot_dir(dir: &Path, slot: u64) -> PathBuf {
    dir.join(slot.to_string())
}

/// Keep `code` for container `id` (best effort: `wait` falls back to the last code it saw).
///
/// The code is the target of a symlink named by the id: one call, atomic, and a target
/// this short lives in the inode, so no data block is allocated (or, on a file system
/// mounted with `discard`, discarded when the slot is pruned). A code written again for
/// the same id replaces the first through a temp link and a rename.
pub fn write_exit(dir: &Path, id: &str, code: i32) {
    let slot = slot_dir(dir, slot_now());
    let link = slot.join(id);
    let code = code.to_string();
    let symlink = |at: &Path| std::os::unix::fs::symlink(&code, at);
    // The directories are made when the first write finds them missing.
    let made = match symlink(&link) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            prune_exits(dir);
            crate::paths::make_dir(dir, 0o700)
                .and_then(|()| crate::paths::make_dir(&slot, 0o700))
                .and_then(|()| symlink(&link))
        }
        other => other,
    };
    if made
        .as_ref()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists)
    {
        let tmp = slot.join(format!(".{id}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        if symlink(&tmp).is_ok() && std::fs::rename(&tmp, &link).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// The code `write_exit` kept for container `id`.
pub fn read_exit(dir: &Path, id: &str) -> Option<i32> {
    let now = slot_now();
    // The newest slot first; a flat file is one an older kiste wrote.
    [
        slot_dir(dir, now),
        slot_dir(dir, now.saturating_sub(1)),
        dir.to_path_buf(),
    ]
    .iter()
    .find_map(|d| read_code(&d.join(id)))?
    .trim()
    .parse()
    .ok()
}

/// A kept code: a symlink's target, or the contents of the regular file an older kiste
/// wrote (readlink refuses one with EINVAL).
fn read_code(path: &Path) -> Option<String> {
    match std::fs::read_link(path) {
        Ok(target) => target.into_os_string().into_string().ok(),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => std::fs::read_to_string(path).ok(),
        Err(_) => None,
    }
}

/// Remove the codes kept longer than `KEEP`: the slots before the previous one (and the
/// flat files of an older kiste, by their age).
pub fn prune_exits(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = slot_now();
    for e in entries.flatten() {
        let name = e.file_name();
        if let Some(slot) = name.to_str().and_then(|n| n.parse::<u64>().ok()) {
            if slot + 1 < now {
                let _ = crate::fs::remove_tree(&e.path());
            }
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > KEEP);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kept_exit_code_reads_back() {
        let dir = std::env::temp_dir().join(format!("kiste-exits-{}", std::process::id()));
        super::write_exit(&dir, "abc", 7);
        assert_eq!(super::read_exit(&dir, "abc"), Some(7));
        assert_eq!(super::read_exit(&dir, "nope"), None);
        super::write_exit(&dir, "abc", 9);
        assert_eq!(
            super::read_exit(&dir, "abc"),
            Some(9),
            "a second code replaces it"
        );
        let slot = super::slot_dir(&dir, super::slot_now());
        let meta = std::fs::symlink_metadata(slot.join("abc")).unwrap();
        assert!(meta.file_type().is_symlink(), "kept as a symlink");
        let names: Vec<_> = std::fs::read_dir(&slot)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["abc"], "no temp link is left");
        super::prune_exits(&dir);
        assert_eq!(super::read_exit(&dir, "abc"), Some(9), "young files stay");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn old_slots_are_pruned_by_name_and_recent_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let now = super::slot_now();
        for slot in [now - 3, now - 2, now - 1] {
            let d = super::slot_dir(dir.path(), slot);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("id{slot}")), "3\n").unwrap();
        }
        super::prune_exits(dir.path());
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [(now - 1).to_string()]);
        assert_eq!(
            super::read_exit(dir.path(), &format!("id{}", now - 1)),
            Some(3)
        );
    }
}
