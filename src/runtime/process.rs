//! The parent's side of a start: prepare everything that can be computed before the
//! fork, create the cgroup, clone once (clone3 into the cgroup where the kernel can),
//! write uid maps, join the cgroup, send "go", and wait for the exec or the child's error.
//! On cgroup v1 as root the cgroup is made after the clone instead, while the child
//! creates its namespaces (`spawn_with`): the two ~0.5 ms pieces of kernel work overlap.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::child;
use super::error::{errno_text, FailKind, RuntimeError};
use super::namespaces;
use super::plan::Plan;
use super::spec::{ContainerSpec, NsMode};
use super::sync::{channel_pair, Channel, Message};
use crate::cgroups;
use crate::process::process_start_time;

/// The container's first process, once its command is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub pid: i32,
    /// Field 22 of /proc/PID/stat: with the pid, identifies the process across pid reuse.
    pub start_time: u64,
}

/// Creates the cgroup (if `spec.cgroup`), clones the process into its namespaces, sets
/// it up and execs `spec.args`. Returns once execve has succeeded, or with the error;
/// on error the child has been reaped and the cgroup removed.
pub fn spawn(spec: &ContainerSpec) -> Result<Started, RuntimeError> {
    spawn_then(spec, &mut |_| Ok(()))
}

/// `spawn`, calling `on_clone` with the process's host pid once it is cloned and in its
/// cgroup, while it sets itself up (`kiste oci run` writes its state there, before the
/// program runs). An error from `on_clone` kills the process and is the spawn's error.
pub fn spawn_then(
    spec: &ContainerSpec,
    on_clone: &mut dyn FnMut(i32) -> Result<(), RuntimeError>,
) -> Result<Started, RuntimeError> {
    spawn_with(spec, on_clone, false)
}

/// `spawn_then`, where the process execs only once `on_clone` has returned: the caller
/// does work the program needs (the container's network, in the namespace the process
/// was cloned with) while the process sets itself up, instead of before the clone.
pub fn spawn_held(
    spec: &ContainerSpec,
    on_clone: &mut dyn FnMut(i32) -> Result<(), RuntimeError>,
) -> Result<Started, RuntimeError> {
    spawn_with(spec, on_clone, true)
}

fn spawn_with(
    spec: &ContainerSpec,
    on_clone: &mut dyn FnMut(i32) -> Result<(), RuntimeError>,
    hold_exec: bool,
) -> Result<Started, RuntimeError> {
    if spec.args.is_empty() {
        return Err(RuntimeError::NoCommand {
            id: spec.id.clone(),
        });
    }
    let mut plan = Plan::prepare(spec)?;
    plan.hold_exec = hold_exec;
    let late = spec.oci.as_ref().and_then(|x| x.late_ns.as_ref());
    // cgroup v1 as root without a user namespace: the cgroup is made after the clone,
    // while the child creates its namespaces and starts its mounts (`Plan::unshare`).
    // Those namespaces are made before the child joins the cgroup, so their kernel memory
    // is charged to the caller's cgroup (as with a clone before a cgroup join).
    let after_clone = spec.cgroup.is_some()
        && late.is_none()
        && spec.namespaces.user.is_none()
        && cgroups::made_after_clone();
    let result = if after_clone {
        plan.unshare = namespaces::clone_flags(&spec.namespaces) & child_unshares(hold_exec);
        plan.affinity = own_cpus();
        start(spec, &plan, Cgroup::After, on_clone)
    } else {
        let cgroup = match &spec.cgroup {
            Some(c) => Some(cgroups::create(c)?),
            None => None,
        };
        let made = match &cgroup {
            Some(cg) => Cgroup::Made(cg),
            None => Cgroup::None,
        };
        start(spec, &plan, made, on_clone)
    };
    if result.is_err() {
        if let Some(c) = &spec.cgroup {
            let _ = cgroups::remove(c);
        }
    }
    result
}

/// The namespaces a child whose cgroup is made after the clone creates itself, while the
/// parent makes the cgroup. Pid stays with the clone (an unshare would only move the
/// child's children); net too when the parent works in it during the setup (`hold_exec`:
/// it opens /proc/PID/ns/net, which must be the new namespace by then).
fn child_unshares(hold_exec: bool) -> u64 {
    let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
    if !hold_exec {
        flags |= libc::CLONE_NEWNET;
    }
    flags as u64
}

/// The CPUs this process may run on, when there are at least two of them.
fn own_cpus() -> Option<libc::cpu_set_t> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid buffer of its own size.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    // SAFETY: CPU_COUNT reads the set.
    (rc == 0 && unsafe { libc::CPU_COUNT(&set) } > 1).then_some(set)
}

/// The kernel starts a forked child on its parent's CPU, where it waits for the parent to
/// block: the parent's cgroup work and the child's namespace work would not overlap. The
/// child is moved to the parent's other CPUs before "go"; once told "go" it takes the
/// whole set back (`child::setup_and_exec`), so no race leaves it pinned.
fn move_to_other_cpu(pid: i32, cpus: &libc::cpu_set_t) {
    // SAFETY: sched_getcpu has no preconditions.
    let Ok(here) = usize::try_from(unsafe { libc::sched_getcpu() }) else {
        return;
    };
    let mut others = *cpus;
    // SAFETY: CPU_CLR on a set we own, with a CPU number the kernel gave.
    unsafe { libc::CPU_CLR(here, &mut others) };
    // SAFETY: as in own_cpus.
    if unsafe { libc::CPU_COUNT(&others) } > 0 {
        // SAFETY: setting our own child's affinity from a valid set.
        unsafe { libc::sched_setaffinity(pid, std::mem::size_of_val(&others), &others) };
    }
}

/// The container's cgroup as `start` gets it.
enum Cgroup<'a> {
    None,
    /// Made before the clone (v2, where clone3 places the child into it; a user namespace).
    Made(&'a cgroups::Cgroup),
    /// To be made after the clone, before `Joined`.
    After,
}

fn start(
    spec: &ContainerSpec,
    plan: &Plan,
    cgroup: Cgroup<'_>,
    on_clone: &mut dyn FnMut(i32) -> Result<(), RuntimeError>,
) -> Result<Started, RuntimeError> {
    let (parent_end, child_end) = channel_pair()?;
    // A user namespace by path or a time namespace: entered after the clone (late_ns).
    let late = spec.oci.as_ref().and_then(|x| x.late_ns.as_ref());
    let flags = match late {
        Some(_) => super::late_ns::clone_flags(&spec.namespaces),
        None => namespaces::clone_flags(&spec.namespaces) & !plan.unshare,
    };
    let made = match cgroup {
        Cgroup::Made(c) => Some(c),
        _ => None,
    };
    let cgroup_fd = made.and_then(|c| c.dir_fd());

    let pid_ns_guard = match (&spec.namespaces.pid, late) {
        (NsMode::Path(p), None) => Some(PidNsGuard::enter(p)?),
        _ => None,
    };
    let cloned = clone_process(flags, cgroup_fd.as_ref().map(|f| f.as_raw_fd()));
    let (mut pid, in_cgroup) = match cloned {
        Ok(Some(r)) => {
            drop(pid_ns_guard);
            r
        }
        Ok(None) => {
            // The child: never returns. Its children must stay in the joined pid ns.
            std::mem::forget(pid_ns_guard);
            // SAFETY: closing the parent's end, which this process does not use.
            unsafe { libc::close(parent_end.raw()) };
            child::run(spec, plan, &child_end);
        }
        Err(e) => {
            drop(pid_ns_guard);
            return Err(RuntimeError::io(
                format!("container {}: cannot clone the process", spec.id),
                e,
            ));
        }
    };
    drop(child_end);

    if let Some(cpus) = &plan.affinity {
        move_to_other_cpu(pid, cpus);
    }
    let maps = match &spec.namespaces.user {
        Some(m) => namespaces::write_id_maps(pid, &m.uid, &m.gid),
        None => Ok(()),
    };
    // A send that finds the child's end closed means the child died in setup.
    let child_gone = std::cell::Cell::new(false);
    let send_fds = |msg: Message, fds: &[RawFd]| {
        parent_end.send_fds(&msg, fds).map_err(|e| {
            child_gone.set(e.kind() == std::io::ErrorKind::BrokenPipe);
            RuntimeError::Send {
                id: spec.id.clone(),
                message: format!("{msg:?}"),
                source: e,
            }
        })
    };
    let send = |msg: Message| send_fds(msg, &[]);
    let go = maps.and_then(|()| send(Message::Go));
    if let (Ok(()), Some(_)) = (&go, late) {
        // The container's process is the first child's fork; the first child is reaped.
        pid = match super::late_ns::second_pid(&parent_end, pid) {
            Ok(second) => second,
            Err(Some(msg)) => return Err(failure(&spec.id, &spec.args[0], msg)),
            Err(None) => return Err(died_in_setup(&spec.id, &spec.args[0], pid)),
        };
    }
    // On v1 the child joins itself: `Joined` carries the cgroup's `tasks` files, opened
    // here, for it to write "0" to. A write of the child's pid to cgroup.procs from here
    // waits for an RCU grace period; v2 without clone3's placement still takes it.
    let tasks = go.and_then(|()| -> Result<Vec<OwnedFd>, RuntimeError> {
        match (cgroup, &spec.cgroup) {
            (Cgroup::Made(cg), _) => {
                let tasks = cg.self_join_files()?;
                if tasks.is_empty() && !in_cgroup {
                    cg.join(pid)?;
                }
                Ok(tasks)
            }
            // The caller (`spawn_with`) removes it again on any error.
            (Cgroup::After, Some(c)) => Ok(cgroups::create(c)?.self_join_files()?),
            _ => Ok(Vec::new()),
        }
    });
    let prepared = tasks.and_then(|tasks| {
        let fds: Vec<RawFd> = tasks.iter().map(|f| f.as_raw_fd()).collect();
        send_fds(Message::Joined, &fds)
    });
    if let Err(e) = prepared {
        if child_gone.get() {
            return Err(match parent_end.recv() {
                Ok(Some(failed @ Message::Failed { .. })) => {
                    reap(pid);
                    failure(&spec.id, &spec.args[0], failed)
                }
                _ => died_in_setup(&spec.id, &spec.args[0], pid),
            });
        }
        return Err(kill_for_reason(spec, pid, &parent_end, e));
    }

    if let Err(e) = on_clone(pid) {
        kill_and_reap(pid);
        return Err(e);
    }
    if plan.hold_exec {
        if let Err(e) = send(Message::Release) {
            return Err(kill_for_reason(spec, pid, &parent_end, e));
        }
    }
    let mut msg = parent_end.recv();
    if let (Ok(Some(Message::Hooks)), Some(x)) = (&msg, &spec.oci) {
        // An OCI container's prestart and createRuntime hooks, before its pivot_root.
        if let Err(e) = super::hooks::before_pivot(x, &spec.id, pid, &parent_end) {
            kill_and_reap(pid);
            return Err(e);
        }
        msg = parent_end.recv();
    }
    match msg {
        Ok(Some(Message::Exec)) => {}
        Ok(None) => return Err(died_in_setup(&spec.id, &spec.args[0], pid)),
        Ok(Some(failed @ Message::Failed { .. })) => {
            reap(pid);
            return Err(failure(&spec.id, &spec.args[0], failed));
        }
        Ok(Some(_)) | Err(_) => {
            kill_and_reap(pid);
            return Err(RuntimeError::Protocol {
                id: spec.id.clone(),
                phase: "during setup",
            });
        }
    }
    // Only seccomp and execve are left: end-of-file now is the close-on-exec of execve.
    match parent_end.recv() {
        Ok(None) => Ok(Started {
            pid,
            start_time: process_start_time(pid).unwrap_or(0),
        }),
        Ok(Some(failed @ Message::Failed { .. })) => {
            reap(pid);
            Err(failure(&spec.id, &spec.args[0], failed))
        }
        Ok(Some(_)) | Err(_) => {
            kill_and_reap(pid);
            Err(RuntimeError::Protocol {
                id: spec.id.clone(),
                phase: "before exec",
            })
        }
    }
}

/// Kills child `pid`, whose parent's step failed with `e`, and gives the child's own
/// reason when it failed first (it is queued on the channel; once the child is dead, recv
/// cannot block), else `e`.
fn kill_for_reason(
    spec: &ContainerSpec,
    pid: i32,
    parent_end: &Channel,
    e: RuntimeError,
) -> RuntimeError {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let queued = parent_end.recv();
    reap(pid);
    match queued {
        Ok(Some(failed @ Message::Failed { .. })) => failure(&spec.id, &spec.args[0], failed),
        _ => e,
    }
}

/// The error for a child whose channel closed before it said it would exec: it died
/// during setup (panic with abort, a signal, an exit). Reaps it and says how it ended.
pub(crate) fn died_in_setup(id: &str, cmd: &str, pid: i32) -> RuntimeError {
    let mut status = 0;
    // SAFETY: waiting for our own child, which has closed its end and is exiting.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    let how = if rc != pid {
        "ended".to_string()
    } else if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let name = nix::sys::signal::Signal::try_from(sig)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {sig}"));
        format!("was killed by {name}")
    } else {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    };
    RuntimeError::DiedInSetup {
        id: id.to_string(),
        how,
        cmd: cmd.to_string(),
    }
}

/// The user-facing error for the child's failure message.
pub(crate) fn failure(id: &str, cmd: &str, msg: Message) -> RuntimeError {
    let Message::Failed { kind, errno, text } = msg else {
        return RuntimeError::Protocol {
            id: id.to_string(),
            phase: "instead of its failure report",
        };
    };
    let cmd = cmd.to_string();
    match kind {
        FailKind::NotFound => RuntimeError::NotFound { cmd },
        FailKind::CannotExecute => RuntimeError::CannotExecute {
            cmd,
            reason: if text.is_empty() {
                errno_text(errno)
            } else {
                text
            },
        },
        FailKind::Setup => RuntimeError::Child { text },
    }
}

pub(crate) fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

pub(crate) fn kill_and_reap(pid: i32) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Forks into new namespaces. Ok(None) in the child; Ok(Some((pid, born_in_cgroup)))
/// in the parent. Uses clone3 (with CLONE_INTO_CGROUP when given a v2 cgroup fd) and
/// falls back to clone(2) where clone3 is missing or filtered.
fn clone_process(flags: u64, cgroup_fd: Option<RawFd>) -> std::io::Result<Option<(i32, bool)>> {
    if let Some(fd) = cgroup_fd {
        let args = CloneArgs {
            flags: flags | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: fd as u64,
            ..Default::default()
        };
        // SAFETY: clone3 without CLONE_VM duplicates the process like fork; the child
        // continues on a copy of this stack.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match rc {
            0 => return Ok(None),
            pid if pid > 0 => return Ok(Some((pid as i32, true))),
            _ => {} // fall through: join by cgroup.procs instead
        }
    }
    // SAFETY: as above; raw clone with a null stack behaves like fork.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as u64,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match rc {
        0 => Ok(None),
        pid if pid > 0 => Ok(Some((pid as i32, false))),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Puts the caller's children into another pid namespace for the duration of the clone.
struct PidNsGuard {
    own: std::fs::File,
}

impl PidNsGuard {
    fn enter(path: &std::path::Path) -> Result<Self, RuntimeError> {
        let own = std::fs::File::open("/proc/self/ns/pid_for_children")
            .or_else(|_| std::fs::File::open("/proc/self/ns/pid"))
            .map_err(|e| RuntimeError::io("cannot open kiste's own pid namespace", e))?;
        namespaces::setns_path(path, libc::CLONE_NEWPID).map_err(|e| {
            RuntimeError::io(format!("cannot join pid namespace {}", path.display()), e)
        })?;
        Ok(PidNsGuard { own })
    }
}

impl Drop for PidNsGuard {
    fn drop(&mut self) {
        // SAFETY: setns back into the namespace we came from.
        unsafe { libc::setns(self.own.as_raw_fd(), libc::CLONE_NEWPID) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// CLONE_INTO_CGROUP needs a v2 hierarchy: the host's own, or the unified one of a
    /// hybrid host (which takes processes even without controllers).
    #[test]
    fn clone3_starts_the_child_inside_the_cgroup() {
        let unified = if crate::cgroups::detect() == crate::cgroups::CgroupLayout::V2 {
            Path::new("/sys/fs/cgroup")
        } else {
            Path::new("/sys/fs/cgroup/unified")
        };
        // SAFETY: geteuid has no preconditions.
        if !unified.join("cgroup.procs").exists() || unsafe { libc::geteuid() } != 0 {
            crate::test_skip::skip_log(
                "needs root and a cgroup v2 hierarchy for CLONE_INTO_CGROUP",
            );
            return;
        }
        let rel = format!("kiste/clone3-unit-{}", std::process::id());
        let dir = unified.join(&rel);
        std::fs::create_dir_all(&dir).unwrap();
        let fd = std::fs::File::open(&dir).unwrap();
        match clone_process(0, Some(fd.as_raw_fd())).unwrap() {
            None => {
                // SAFETY: the child only waits to be killed.
                unsafe {
                    libc::pause();
                    libc::_exit(0)
                }
            }
            Some((pid, in_cgroup)) => {
                let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
                kill_and_reap(pid);
                let _ = std::fs::remove_dir(&dir);
                assert!(in_cgroup, "clone3 with CLONE_INTO_CGROUP was not used");
                assert!(cg.lines().any(|l| l == format!("0::/{rel}")), "{cg}");
            }
        }
    }
}
