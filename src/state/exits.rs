//! The exit codes of `--rm` containers after their records are gone: the monitor writes
//! one small file per container (in the runroot, so a reboot forgets them) just before it
//! removes the record, so that a `wait` started before the removal can still answer with
//! the code, as docker's does. Files older than `KEEP` are removed by the next command's
//! repair.

use std::path::Path;
use std::time::Duration;

/// How long an exit code outlives its container.
pub const KEEP: Duration = Duration::from_secs(300);

/// Keep `code` for container `id` (best effort: `wait` falls back to the last code it saw).
pub fn write_exit(dir: &Path, id: &str, code: i32) {
    let tmp = dir.join(format!(".{id}.tmp"));
    let code = format!("{code}\n");
    // The directory is made when the first write finds it missing.
    let written = match std::fs::write(&tmp, &code) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::paths::make_dir(dir, 0o700).and_then(|()| std::fs::write(&tmp, &code))
        }
        other => other,
    };
    if written.is_ok() {
        let _ = std::fs::rename(&tmp, dir.join(id));
    }
}

/// The code `write_exit` kept for container `id`.
pub fn read_exit(dir: &Path, id: &str) -> Option<i32> {
    std::fs::read_to_string(dir.join(id))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Remove the codes kept longer than `KEEP`.
pub fn prune_exits(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
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
        super::prune_exits(&dir);
        assert_eq!(super::read_exit(&dir, "abc"), Some(7), "young files stay");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
