//! The container's user: "", "name", "uid", "name:group", "uid:gid" resolved against
//! the container's /etc/passwd and /etc/group (read after pivot_root), and the switch to
//! it that keeps the capabilities for the caps step to trim.

use super::error::{ChildError, Ctx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) groups: Vec<u32>,
    pub(crate) home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 6 || l.starts_with('#') {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 || l.starts_with('#') {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves against the files of the current root.
pub(crate) fn resolve(spec: &str) -> Result<User, ChildError> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    resolve_in(spec, &parse_passwd(&passwd), &parse_group(&group))
}

/// Resolves against the given /etc/passwd and /etc/group contents (read by the caller,
/// e.g. through a confined root).
pub(crate) fn resolve_with(spec: &str, passwd: &str, group: &str) -> Result<User, ChildError> {
    resolve_in(spec, &parse_passwd(passwd), &parse_group(group))
}

fn resolve_in(
    spec: &str,
    passwd: &[PasswdEntry],
    groups: &[GroupEntry],
) -> Result<User, ChildError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd.iter().find(|p| p.uid == uid),
        Err(_) => Some(passwd.iter().find(|p| p.name == user_part).ok_or_else(|| {
            ChildError::message(format!(
                "unable to find user {user_part}: no matching entries in passwd file"
            ))
        })?),
    };
    let uid = match entry {
        Some(e) => e.uid,
        None => user_part.parse().unwrap_or(0),
    };
    let mut gid = entry.map_or(0, |e| e.gid);
    let mut extra = Vec::new();
    match group_part.filter(|g| !g.is_empty()) {
        Some(g) => {
            gid = match g.parse::<u32>() {
                Ok(n) => n,
                Err(_) => groups
                    .iter()
                    .find(|e| e.name == g)
                    .map(|e| e.gid)
                    .ok_or_else(|| {
                        ChildError::message(format!(
                            "unable to find group {g}: no matching entries in group file"
                        ))
                    })?,
            }
        }
        None => {
            if let Some(e) = entry {
                extra = groups
                    .iter()
                    .filter(|g| g.members.contains(&e.name) && g.gid != gid)
                    .map(|g| g.gid)
                    .collect();
            }
        }
    }
    let mut all = vec![gid];
    all.extend(extra);
    all.dedup();
    Ok(User {
        uid,
        gid,
        groups: all,
        home: entry.map_or_else(|| "/".to_string(), |e| e.home.clone()),
    })
}

/// The ids of `names` (numbers, or names in `group_file`, an /etc/group's text), as
/// docker's `--group-add` takes them.
pub(crate) fn group_ids(names: &[String], group_file: &str) -> Result<Vec<u32>, ChildError> {
    let groups = parse_group(group_file);
    names
        .iter()
        .map(|n| match groups.iter().find(|g| &g.name == n) {
            Some(g) => Ok(g.gid),
            None => n.parse::<u32>().map_err(|_| {
                ChildError::message(format!(
                    "unable to find group {n}: no matching entries in group file"
                ))
            }),
        })
        .collect()
}

/// setgroups, setresgid, then setresuid with PR_SET_KEEPCAPS so the permitted set
/// survives a switch away from uid 0.
pub(crate) fn switch_to(u: &User) -> Result<(), ChildError> {
    let gids: Vec<libc::gid_t> = u.groups.clone();
    // SAFETY: the slice is valid for its length. EPERM happens in a user namespace
    // whose setgroups is denied; there is nothing to drop then.
    let rc = unsafe { libc::setgroups(gids.len(), gids.as_ptr()) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EPERM) {
            return Err(err).ctx(|| "cannot set supplementary groups".into());
        }
    }
    nix::unistd::setresgid(u.gid.into(), u.gid.into(), u.gid.into())
        .ctx(|| format!("cannot set gid {}", u.gid))?;
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    nix::unistd::setresuid(u.uid.into(), u.uid.into(), u.uid.into())
        .ctx(|| format!("cannot set uid {}", u.uid))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:alice,root\nalice:x:1000:\nstaff:x:50:alice\n";

    fn r(spec: &str) -> Result<User, ChildError> {
        resolve_in(spec, &parse_passwd(PASSWD), &parse_group(GROUP))
    }

    #[test]
    fn empty_is_root_with_its_groups() {
        let u = r("").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert_eq!(u.groups, vec![0, 10]);
    }

    #[test]
    fn name_and_uid_resolve_alike() {
        let a = r("alice").unwrap();
        let b = r("1000").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.groups, vec![1000, 10, 50]);
    }

    #[test]
    fn explicit_group_drops_supplementary() {
        let u = r("alice:staff").unwrap();
        assert_eq!((u.uid, u.gid, u.groups.clone()), (1000, 50, vec![50]));
        let n = r("4242:4343").unwrap();
        assert_eq!((n.uid, n.gid, n.home.as_str()), (4242, 4343, "/"));
    }

    #[test]
    fn added_groups_are_names_or_numbers() {
        let ids = group_ids(&["staff".into(), "4711".into()], GROUP).unwrap();
        assert_eq!(ids, vec![50, 4711]);
        let e = group_ids(&["nosuch".into()], GROUP).unwrap_err();
        assert!(e.text.contains("unable to find group nosuch"), "{}", e.text);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(r("bob")
            .unwrap_err()
            .text
            .contains("unable to find user bob"));
        assert!(r("alice:nogroup").is_err());
    }
}
