//! The child's side of a start, from clone to execve: wait for "go", create the
//! namespaces the clone left to it (`Plan::unshare`) and join those given by path, set up
//! stdio and the root filesystem, switch user, limit capabilities and syscalls,
//! exec. Any failure is sent to the parent as a typed message and the child exits.

use std::convert::Infallible;
use std::ffi::CString;

use super::error::{ChildError, Ctx, FailKind};
use super::mounter::Kernel;
use super::plan::Plan;
use super::spec::{ContainerSpec, NsMode, Stdio};
use super::sync::{Channel, Message};
use super::{caps, exec, namespaces, oci_steps, rootfs, rootfs_oci, seccomp, tuning, user};

/// The child process after clone. Never returns.
pub(crate) fn run(spec: &ContainerSpec, plan: &Plan, chan: &Channel) -> ! {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        setup_and_exec(spec, plan, chan)
    }));
    let err = match outcome {
        Ok(Ok(never)) => match never {},
        Ok(Err(e)) => e,
        Err(payload) => {
            let why = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            ChildError::message(format!("container {}: setup panicked: {why}", spec.id))
        }
    };
    if err.errno >= 0 {
        let _ = chan.send(&Message::Failed {
            kind: err.kind,
            errno: err.errno,
            text: err.text,
        });
    }
    // SAFETY: leaving the forked child without running the parent's atexit handlers.
    unsafe { libc::_exit(1) }
}

fn setup_and_exec(
    spec: &ContainerSpec,
    plan: &Plan,
    chan: &Channel,
) -> Result<Infallible, ChildError> {
    match chan.recv() {
        Ok(Some(Message::Go)) => {}
        // The parent gave up (its error is already on its way to the user).
        _ => {
            return Err(ChildError {
                kind: FailKind::Setup,
                errno: -1,
                text: String::new(),
            })
        }
    }
    plan.fault.hit("go");
    let ns = &spec.namespaces;
    if let Some(maps) = &ns.user {
        become_ns_root(maps)?;
    }
    if let Some(cpus) = &plan.affinity {
        // SAFETY: setting this process's own affinity from a valid set.
        if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(cpus), cpus) } != 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| "cannot take back the caller's CPUs".into());
        }
    }
    if plan.unshare != 0 {
        // The namespaces the clone left out (`Plan::unshare`), made while the parent makes
        // the cgroup.
        // SAFETY: unshare with namespace flags only, in this single-threaded process.
        if unsafe { libc::unshare(plan.unshare as libc::c_int) } != 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| "cannot create the container's namespaces".into());
        }
    }
    match spec.oci.as_ref().and_then(|x| x.late_ns.as_ref()) {
        // Returns in the second fork (the first child exits in it).
        Some(late) => super::late_ns::enter(ns, late, chan)?,
        None => namespaces::join_paths(ns)?,
    }
    plan.fault.hit("namespaces");
    nix::unistd::setsid().ctx(|| "cannot create a session".into())?;
    install_stdio(spec.stdio)?;
    plan.fault.hit("stdio");
    // A terminal on stdin becomes the container's controlling terminal (run -it).
    // SAFETY: isatty/ioctl on fd 0 with an integer argument.
    unsafe {
        if libc::isatty(0) == 1 {
            libc::ioctl(0, libc::TIOCSCTTY, 0);
        }
    }
    reset_signals();
    let oci = spec.oci.as_deref();
    // Everything but 0, 1, 2 (and an OCI config's preserved fds) is closed by the exec
    // (the channel already is CLOEXEC).
    let first = 3 + oci.map_or(0, |x| x.preserve_fds);
    // SAFETY: close_range with the CLOEXEC flag only changes descriptor flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    let fifo = match oci.and_then(|x| x.exec_fifo.as_deref()) {
        Some(path) => Some(oci_steps::Fifo::open(path)?),
        None => None,
    };

    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(0) };
    let tune = spec.tuning.as_deref();
    // An OCI bundle's sysctls are written after pivot_root (`rootfs_oci`, runc's order);
    // kiste's before the rootfs makes /proc/sys read-only.
    if let (Some(t), None) = (tune, oci) {
        tuning::write_sysctls(&t.sysctl)?;
    }
    let in_cgroup = || wait_joined(chan, ns.cgroup == NsMode::Private);
    // An OCI config's hooks before pivot_root; their state has this process's host pid.
    let mut hook_state = None;
    let mut before_pivot = || -> Result<(), ChildError> {
        if let Some(x) = oci.filter(|x| x.has_early_hooks()) {
            hook_state = Some(super::hooks::sync_before_pivot(x, chan)?);
        }
        Ok(())
    };
    match (&ns.mnt, oci) {
        (NsMode::Private, Some(x)) => {
            rootfs_oci::setup(&mut Kernel, spec, x, plan, in_cgroup, &mut before_pivot)?
        }
        (NsMode::Private, None) => rootfs::setup(&mut Kernel, spec, plan, in_cgroup)?,
        // Joining or sharing a mount namespace: only change root into the rootfs.
        _ => {
            in_cgroup()?;
            before_pivot()?;
            nix::unistd::chroot(&plan.root)
                .ctx(|| format!("cannot chroot into {}", plan.root.display()))?;
            nix::unistd::chdir("/").ctx(|| "cannot chdir to /".into())?;
        }
    }
    // SAFETY: as above.
    unsafe { libc::umask(oci.and_then(|x| x.umask).unwrap_or(0o022)) };
    plan.fault.hit("rootfs");
    if ns.uts == NsMode::Private && !spec.hostname.is_empty() {
        nix::unistd::sethostname(&spec.hostname)
            .ctx(|| format!("cannot set hostname {:?}", spec.hostname))?;
    }
    if let Some(t) = tune {
        tuning::after_rootfs(t, ns.uts == NsMode::Private)?;
    }
    if let Some(c) = oci.and_then(|x| x.console.as_ref()) {
        super::console::attach(c)?;
    }
    if ns.net == NsMode::Private {
        super::loopback::up().ctx(|| "cannot bring up lo in the network namespace".into())?;
    }

    plan.fault.hit("hostname");
    let mut who = user::resolve(&spec.user)?;
    if let Some(x) = oci {
        who.groups = x.additional_gids.clone();
    }
    if let Some(t) = tune {
        tuning::add_groups(&mut who, &t.group_add)?;
    }
    let cwd = if spec.cwd.is_empty() {
        "/"
    } else {
        spec.cwd.as_str()
    };
    std::fs::create_dir_all(cwd).ctx(|| format!("cannot create working directory {cwd}"))?;
    nix::unistd::chdir(cwd).ctx(|| format!("cannot change to working directory {cwd}"))?;
    exec::apply_rlimits(&spec.rlimits)?;

    plan.fault.hit("user");
    caps::drop_bounding(plan.caps, plan.last_cap)?;
    user::switch_to(&who)?;
    // Nothing runs unsupervised: the container dies with the process that started it (its
    // monitor, a foreground `run`, a build). Set after the last credential change, which
    // would clear it; a setuid exec clears it too, and the next kiste command then kills
    // the container's cgroup (container::repair).
    // An OCI container outlives `kiste oci create`: its caller's subreaper adopts it.
    if oci.is_none() {
        // SAFETY: prctl with integer arguments.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    }
    // A parent that died before the prctl sends nothing; it held the channel's other end
    // until now, so its death shows as a hangup.
    let mut peer = libc::pollfd {
        fd: chan.raw(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: poll on one valid pollfd, without waiting.
    if oci.is_none()
        && unsafe { libc::poll(&mut peer, 1, 0) } > 0
        && peer.revents & (libc::POLLRDHUP | libc::POLLHUP) != 0
    {
        return Err(ChildError {
            kind: FailKind::Setup,
            errno: -1,
            text: String::new(),
        });
    }
    let (seccomp, nnp) = (plan.seccomp.is_some(), spec.security.no_new_privileges);
    match &plan.oci_caps {
        Some(sets) => oci_steps::set_caps(sets, seccomp, nnp)?,
        None => set_caps_and_nnp(plan.caps, seccomp, nnp)?,
    }

    plan.fault.hit("caps");
    let env = exec::environment(&spec.env, &spec.hostname, &who);
    let program = exec::resolve(&spec.args[0], &env)?;
    let argv: Vec<CString> = spec
        .args
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ChildError::message(format!(
                "container {}: cannot exec {:?}: an argument contains a NUL byte",
                spec.id, spec.args[0]
            ))
        })?;
    plan.fault.hit("exec");
    if oci.is_some() {
        oci_steps::check_program(&spec.args[0], &program)?;
    }
    if plan.hold_exec {
        // The parent sets up the container's network while this process mounts its
        // root; the program starts only once it is there.
        match chan.recv() {
            Ok(Some(Message::Release)) => {}
            // The parent gave up (its error is already on its way to the user).
            _ => {
                return Err(ChildError {
                    kind: FailKind::Setup,
                    errno: -1,
                    text: String::new(),
                })
            }
        }
    }
    // From here the parent takes end-of-file on the channel as a successful execve.
    chan.send(&Message::Exec)
        .ctx(|| "cannot tell the parent the process is about to exec".into())?;
    // Held open (close-on-exec) until the execve: `start` waits for its end-of-file, so
    // the poststart hooks run after the program has started, as the spec orders them.
    let mut _released = None;
    if let Some(fifo) = fifo {
        // The parent's spawn returns at this end-of-file; `start` releases the fifo.
        // SAFETY: closing our end of the channel; nothing uses it after this.
        unsafe { libc::close(chan.raw()) };
        _released = Some(fifo.wait()?);
    }
    if let (Some(x), Some(pid)) = (oci, hook_state) {
        // The container is "created" until its program runs.
        oci_steps::start_container_hooks(x, &x.state_for(pid, "created"))?;
    }
    if let Some(prog) = &plan.seccomp {
        seccomp::load(prog)?;
    }
    if spec.init {
        super::init::fork_command(chan.raw())?;
    }
    Err(exec::execve(&spec.args[0], &program, &argv, &env))
}

/// The capability sets after the user switch, and no_new_privs. seccomp(2) needs
/// CAP_SYS_ADMIN unless no_new_privs is set: it stays in the effective set until the
/// filter is loaded; the execve drops it (not in bounding). Shared with `exec` (join.rs).
pub(crate) fn set_caps_and_nnp(caps: u64, seccomp: bool, nnp: bool) -> Result<(), ChildError> {
    let mut effective = caps;
    if seccomp && !nnp {
        effective |= 1 << caps::CAP_SYS_ADMIN;
    }
    caps::set_sets(effective, effective, 0)?;
    if nnp {
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error()).ctx(|| "cannot set no_new_privs".into());
        }
    }
    Ok(())
}

/// Waits until the parent has put this process into its cgroup, then creates the cgroup
/// namespace there so that the container sees its own cgroup as `/`.
fn wait_joined(chan: &Channel, new_ns: bool) -> Result<(), ChildError> {
    let tasks = match chan.recv_fds() {
        Ok((Some(Message::Joined), fds)) => fds,
        _ => {
            return Err(ChildError {
                kind: FailKind::Setup,
                errno: -1,
                text: String::new(),
            })
        }
    };
    // On v1 the message carries the cgroup's `tasks` files.
    crate::cgroups::join_self(&tasks).ctx(|| "cannot join the container's cgroup".into())?;
    if new_ns {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .ctx(|| "cannot create cgroup namespace".into())?;
    }
    Ok(())
}

fn become_ns_root(maps: &super::spec::UserNsMaps) -> Result<(), ChildError> {
    let uid0 = maps.uid.iter().any(|m| m.container_id == 0);
    let gid0 = maps.gid.iter().any(|m| m.container_id == 0);
    if gid0 {
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .ctx(|| "cannot become gid 0 in the user namespace".into())?;
    }
    if uid0 {
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .ctx(|| "cannot become uid 0 in the user namespace".into())?;
    }
    Ok(())
}

/// The container starts with default signal dispositions and nothing blocked, whatever
/// the caller had (Rust ignores SIGPIPE; a monitor may block signals).
pub(crate) fn reset_signals() {
    // The raw call: glibc's wrappers refuse the two realtime signals it reserves.
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let dfl = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // Only the ignored and caught ones differ from the default: one read of this
    // process's status instead of 62 calls (all of them when it cannot be read).
    let changed = non_default_signals().unwrap_or(u64::MAX);
    for sig in 1..=64 {
        if changed & (1u64 << (sig - 1)) != 0 && sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: rt_sigaction with a valid kernel sigaction and an 8-byte mask.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &dfl,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8,
                )
            };
        }
    }
    let empty = 0u64;
    // SAFETY: as above, for the mask.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty,
            std::ptr::null_mut::<u64>(),
            8,
        )
    };
}

/// The signals this process ignores or catches (SigIgn | SigCgt of /proc/self/status,
/// bit N-1 for signal N); None when the file cannot be read or parsed.
fn non_default_signals() -> Option<u64> {
    let status = crate::process::read_proc("/proc/self/status").ok()?;
    parse_non_default(&status)
}

fn parse_non_default(status: &str) -> Option<u64> {
    let mask = |key: &str| {
        let line = status.lines().find_map(|l| l.strip_prefix(key))?;
        u64::from_str_radix(line.trim(), 16).ok()
    };
    Some(mask("SigIgn:")? | mask("SigCgt:")?)
}

/// dup2s the caller's chosen fds onto 0, 1, 2. Each source is first copied above 2 so
/// that a swap (stdout as 2 and stderr as 1) cannot clobber another.
pub(crate) fn install_stdio(stdio: Stdio) -> Result<(), ChildError> {
    let sources = [stdio.stdin, stdio.stdout, stdio.stderr];
    let mut copies = [0; 3];
    for (i, fd) in sources.iter().enumerate() {
        // SAFETY: fcntl on an fd number; failure is reported.
        let c = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 3) };
        if c < 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| format!("cannot use fd {fd} as stdio"));
        }
        copies[i] = c;
    }
    for (target, c) in copies.iter().enumerate() {
        // SAFETY: dup2 onto 0..2; the copies stay CLOEXEC and vanish at exec.
        if unsafe { libc::dup2(*c, target as i32) } < 0 {
            return Err(std::io::Error::last_os_error())
                .ctx(|| format!("cannot set up fd {target}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_non_default;

    #[test]
    fn the_signals_to_reset_are_the_ignored_and_the_caught_ones() {
        let status = "Name:\tkiste\nSigQ:\t0/94\nSigPnd:\t0000000000000000\n\
                      SigBlk:\t0000000000010000\nSigIgn:\t0000000000001000\n\
                      SigCgt:\t0000000180004002\n";
        // SIGPIPE (13) ignored; SIGINT (2), SIGTERM (15) and two realtime ones caught.
        assert_eq!(parse_non_default(status), Some(0x1_8000_5002));
        assert_eq!(parse_non_default("SigIgn:\tzz\nSigCgt:\t0\n"), None);
        assert_eq!(parse_non_default("Name:\tx\n"), None);
    }
}
