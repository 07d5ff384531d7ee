//! The id mapping of the rootless user namespace: container id 0 is the user, 1…N the
//! user's subordinate range from /etc/subuid and /etc/subgid, written with the setuid
//! helpers `newuidmap`/`newgidmap` (Debian's `uidmap`) whose exit status is checked.
//! Without a range, only the user's own id is mapped (written directly, as the kernel
//! allows an unprivileged process to map itself) and a warning says what is lost.

use super::RootlessError;
use std::path::{Path, PathBuf};

/// One line of a uid or gid map: `size` ids from `inside` map to `outside` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub inside: u32,
    pub outside: u32,
    pub size: u32,
}

/// The maps for uids and gids, and whether the subordinate helpers must write them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMaps {
    pub uid: Vec<Extent>,
    pub gid: Vec<Extent>,
    /// True when subordinate ranges exist (newuidmap/newgidmap write the maps).
    pub subordinate: bool,
}

/// The first range of `user` (by name or numeric id) in an /etc/subuid-style text.
pub fn subordinate_range(text: &str, name: &str, id: u32) -> Option<(u32, u32)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let who = f.next()?;
            let start: u32 = f.next()?.parse().ok()?;
            let count: u32 = f.next()?.parse().ok()?;
            (who == name || who.parse::<u32>().ok() == Some(id)).then_some((start, count))
        })
        .find(|&(_, count)| count > 0)
}

impl IdMaps {
    /// The maps for the calling user: 0 → uid, 1… → the subordinate ranges (both files
    /// must give one), else the single mapping.
    pub fn for_user(name: &str, uid: u32, gid: u32) -> IdMaps {
        let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
        let ranges = (
            subordinate_range(&read("/etc/subuid"), name, uid),
            subordinate_range(&read("/etc/subgid"), name, gid),
        );
        let own = |id| Extent {
            inside: 0,
            outside: id,
            size: 1,
        };
        match ranges {
            (Some((us, uc)), Some((gs, gc))) => IdMaps {
                uid: vec![own(uid), sub(us, uc)],
                gid: vec![own(gid), sub(gs, gc)],
                subordinate: true,
            },
            _ => IdMaps {
                uid: vec![own(uid)],
                gid: vec![own(gid)],
                subordinate: false,
            },
        }
    }
}

fn sub(start: u32, count: u32) -> Extent {
    Extent {
        inside: 1,
        outside: start,
        size: count,
    }
}

/// `name` found in $PATH, else in /usr/bin and /usr/sbin.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Write `maps` for the process `pid` (which has just unshared its user namespace).
pub fn write(pid: i32, maps: &IdMaps) -> Result<(), RootlessError> {
    if maps.subordinate {
        for (helper, extents) in [("newuidmap", &maps.uid), ("newgidmap", &maps.gid)] {
            let program = find_program(helper).ok_or(RootlessError::MissingHelper { helper })?;
            let mut cmd = std::process::Command::new(&program);
            cmd.arg(pid.to_string());
            for e in extents {
                cmd.args([e.inside, e.outside, e.size].map(|n| n.to_string()));
            }
            let out = cmd.output().map_err(|source| RootlessError::Helper {
                helper,
                detail: source.to_string(),
            })?;
            if !out.status.success() {
                return Err(RootlessError::Helper {
                    helper,
                    detail: format!(
                        "{} ({})",
                        String::from_utf8_lossy(&out.stderr).trim(),
                        out.status
                    ),
                });
            }
        }
        return Ok(());
    }
    let line = |e: &Extent| format!("{} {} {}\n", e.inside, e.outside, e.size);
    let write = |file: &str, text: String| {
        std::fs::write(format!("/proc/{pid}/{file}"), text).map_err(|source| {
            RootlessError::Helper {
                helper: "uid_map",
                detail: format!("cannot write /proc/{pid}/{file}: {source}"),
            }
        })
    };
    write("uid_map", line(&maps.uid[0]))?;
    write("setgroups", "deny".to_string())?;
    write("gid_map", line(&maps.gid[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_nonempty_range_of_the_user_by_name_or_id_is_used() {
        let text = "# comment\nalice:100000:65536\nbob:0:0\n1001:200000:65536\nbob:300000:1000\n";
        assert_eq!(
            subordinate_range(text, "alice", 1000),
            Some((100000, 65536))
        );
        assert_eq!(
            subordinate_range(text, "carol", 1001),
            Some((200000, 65536))
        );
        assert_eq!(subordinate_range(text, "bob", 1002), Some((300000, 1000)));
        assert_eq!(subordinate_range(text, "dave", 1003), None);
        assert_eq!(subordinate_range("garbage\nalice:x:1\n", "alice", 1), None);
    }
}
