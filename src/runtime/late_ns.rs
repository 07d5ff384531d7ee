//! Namespaces entered after the clone, for an OCI config that asks for a user namespace
//! joined by path or a time namespace (runc's order). The first child is cloned with at
//! most a new user namespace; after "go" it joins the namespaces given by path (as the
//! host's root, before the user namespace takes its capabilities away), then the user
//! namespace, becomes uid/gid 0 there, unshares the new namespaces (so they are owned by
//! that user namespace), writes the time offsets, and forks the container's process with
//! CLONE_PARENT: a time or pid namespace only applies to children. The first child tells
//! the parent the new pid and exits; the parent reaps it and goes on with the second.
//! Nothing here runs unless the config asks for it.

use super::error::{ChildError, Ctx};
use super::namespaces;
use super::spec::{LateNs, Namespaces, NsMode};
use super::sync::{Channel, Message};

/// The first clone's flags: only the new user namespace (its maps are written by the
/// parent); the rest is unshared by the first child.
pub(crate) fn clone_flags(ns: &Namespaces) -> u64 {
    if ns.user.is_some() {
        libc::CLONE_NEWUSER as u64
    } else {
        0
    }
}

/// The namespaces the first child unshares: the new ones but user (cloned) and cgroup
/// (unshared by the container's process once it is in its cgroup).
fn unshare_flags(ns: &Namespaces, late: &LateNs) -> libc::c_int {
    let mut flags = 0;
    for (mode, flag) in [
        (&ns.pid, libc::CLONE_NEWPID),
        (&ns.mnt, libc::CLONE_NEWNS),
        (&ns.uts, libc::CLONE_NEWUTS),
        (&ns.ipc, libc::CLONE_NEWIPC),
        (&ns.net, libc::CLONE_NEWNET),
    ] {
        if *mode == NsMode::Private {
            flags |= flag;
        }
    }
    if late.time == Some(NsMode::Private) {
        flags |= libc::CLONE_NEWTIME;
    }
    flags
}

/// In the first child, after "go" (and after becoming root of a new user namespace):
/// returns in the second fork, which goes on to become the container; the first child
/// reports the second's pid and exits here.
pub(crate) fn enter(ns: &Namespaces, late: &LateNs, chan: &Channel) -> Result<(), ChildError> {
    // Paths first, with the host's capabilities; pid and time only apply to children.
    if let NsMode::Path(p) = &ns.pid {
        namespaces::setns_path(p, libc::CLONE_NEWPID)
            .ctx(|| format!("cannot join pid namespace {}", p.display()))?;
    }
    if let Some(NsMode::Path(p)) = &late.time {
        namespaces::setns_path(p, libc::CLONE_NEWTIME)
            .ctx(|| format!("cannot join time namespace {}", p.display()))?;
    }
    namespaces::join_paths(ns)?;
    if let Some(p) = &late.user_path {
        namespaces::setns_path(p, libc::CLONE_NEWUSER)
            .ctx(|| format!("cannot join user namespace {}", p.display()))?;
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .ctx(|| format!("cannot become gid 0 in user namespace {}", p.display()))?;
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .ctx(|| format!("cannot become uid 0 in user namespace {}", p.display()))?;
    }
    let flags = unshare_flags(ns, late);
    if flags != 0 {
        // SAFETY: unshare with namespace flags only.
        if unsafe { libc::unshare(flags) } != 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| "cannot create the container's namespaces".into());
        }
    }
    if !late.time_offsets.is_empty() {
        let text: String = late
            .time_offsets
            .iter()
            .map(|(clock, secs, nanos)| format!("{clock} {secs} {nanos}\n"))
            .collect();
        std::fs::write("/proc/self/timens_offsets", text)
            .ctx(|| "cannot write the time namespace offsets".into())?;
    }
    // SAFETY: raw clone without CLONE_VM behaves like fork; the new process's parent is
    // ours (kiste), which reaps both.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (libc::CLONE_PARENT | libc::SIGCHLD) as u64,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match rc {
        0 => Ok(()),
        pid if pid > 0 => {
            let sent = chan.send(&Message::Forked { pid: pid as i32 });
            // SAFETY: leaving the first child; the second owns the setup from here.
            unsafe { libc::_exit(if sent.is_ok() { 0 } else { 1 }) }
        }
        _ => Err(std::io::Error::last_os_error())
            .ctx(|| "cannot fork the container's process into its namespaces".into()),
    }
}

/// Parent side, after "go": the second fork's pid, once the first child has reported it
/// (and been reaped). Err(Some(message)): the first child's failure report (or another
/// message, a protocol error), it has been reaped; Err(None): it died without a word and
/// is left for the caller to reap and describe.
pub(crate) fn second_pid(chan: &Channel, first: i32) -> Result<i32, Option<Message>> {
    let reap = || {
        let mut status = 0;
        // SAFETY: waiting for our own child, which exits after its report.
        unsafe { libc::waitpid(first, &mut status, 0) };
    };
    match chan.recv() {
        Ok(Some(Message::Forked { pid })) => {
            reap();
            Ok(pid)
        }
        Ok(Some(failed @ Message::Failed { .. })) => {
            reap();
            Err(Some(failed))
        }
        Ok(None) => Err(None),
        Ok(Some(other)) => {
            // SAFETY: signalling our own child, which broke the protocol.
            unsafe { libc::kill(first, libc::SIGKILL) };
            reap();
            Err(Some(other))
        }
        Err(_) => {
            // SAFETY: as above.
            unsafe { libc::kill(first, libc::SIGKILL) };
            reap();
            Err(Some(Message::Exec))
        }
    }
}
