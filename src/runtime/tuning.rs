//! The child's steps for what a container asks beyond kiste's defaults
//! (`ContainerSpec::tuning`), for kiste's containers and OCI bundles alike: kernel
//! parameters of its own namespaces, the NIS domain name, the OOM score adjustment and
//! the extra groups (looked up in the container's own /etc/group). A container that asks
//! for none of them never comes here.

use super::error::{ChildError, Ctx};
use super::spec::Tuning;
use super::user::User;

/// Writes each sysctl under /proc/sys. The kernel resolves a namespaced parameter by
/// the writer's namespaces, so this may run before or after pivot_root, as long as the
/// process is already in the container's network and IPC namespaces.
pub(crate) fn write_sysctls(list: &[(String, String)]) -> Result<(), ChildError> {
    for (key, value) in list {
        let rel = key.replace('.', "/");
        if rel.split('/').any(|c| c.is_empty() || c == "..") {
            return Err(ChildError::message(format!("invalid sysctl name {key:?}")));
        }
        std::fs::write(format!("/proc/sys/{rel}"), value)
            .ctx(|| format!("cannot set sysctl {key}={value}"))?;
    }
    Ok(())
}

/// After the rootfs: the NIS domain name (in the container's own UTS namespace) and
/// the OOM score adjustment.
pub(crate) fn after_rootfs(t: &Tuning, private_uts: bool) -> Result<(), ChildError> {
    if private_uts && !t.domainname.is_empty() {
        let name = t.domainname.as_bytes();
        // SAFETY: a valid buffer and its length.
        if unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) } != 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| format!("cannot set domainname {:?}", t.domainname));
        }
    }
    if let Some(adj) = t.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .ctx(|| format!("cannot set oom_score_adj {adj}"))?;
    }
    Ok(())
}

/// `--group-add`: each group (a number, or a name of the container's /etc/group, read
/// after pivot_root so never the host's) joins the user's supplementary groups.
pub(crate) fn add_groups(who: &mut User, groups: &[String]) -> Result<(), ChildError> {
    if groups.is_empty() {
        return Ok(());
    }
    let file = std::fs::read_to_string("/etc/group").unwrap_or_default();
    for gid in super::user::group_ids(groups, &file)? {
        if !who.groups.contains(&gid) {
            who.groups.push(gid);
        }
    }
    Ok(())
}
