//! `--init`: the container's first process stays kiste and becomes a tiny init, as
//! docker-init (tini) is: just before the exec it forks, the new process execs the
//! container's command, and this one (PID 1 of the container's pid namespace) reaps every
//! process that ends up with it, forwards the signals it gets (SIGTERM from `stop`,
//! SIGINT, SIGHUP, …) to the command, and exits with the command's status (128 + the
//! signal when a signal ended it) once the command has exited. No re-exec: the init is
//! the already-forked child, confined like the command (user, capabilities, seccomp).
//! Without `--init` nothing here runs.

use super::error::{ChildError, Ctx};
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::os::fd::RawFd;

/// Fork the command's process. Returns in the new process, which goes on to exec the
/// command; the calling process becomes the init and never returns. `channel` is the
/// start channel's descriptor, which only the command's process keeps (its exec closes
/// it, which tells the runtime the command runs, or it reports its exec error there).
pub(crate) fn fork_command(channel: RawFd) -> Result<(), ChildError> {
    let mut before = SigSet::empty();
    // Blocked before the fork so that no signal for the command is lost in between; the
    // init takes them with sigwaitinfo.
    sigprocmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut before),
    )
    .ctx(|| "cannot block signals for the init".into())?;
    // SAFETY: the container's process is single-threaded; both sides only run kiste code.
    match unsafe { fork() }.ctx(|| "cannot fork the command from the init".into())? {
        ForkResult::Child => {
            // As tini: the command leads its own process group, which gets the terminal
            // (with SIGTTOU still blocked, so the call is allowed), so a Ctrl-C reaches
            // the command once and the init only forwards what is sent to it.
            // SAFETY: setpgid/tcsetpgrp on ourselves; without a terminal the latter fails
            // harmlessly with ENOTTY.
            unsafe {
                libc::setpgid(0, 0);
                if libc::isatty(0) == 1 {
                    libc::tcsetpgrp(0, libc::getpgrp());
                }
            }
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&before), None)
                .ctx(|| "cannot unblock signals for the command".into())?;
            // The command dies with its init (a fork clears the parent-death signal).
            // SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
            Ok(())
        }
        ForkResult::Parent { child } => {
            // SAFETY: the init keeps no end of the start channel.
            unsafe { libc::close(channel) };
            supervise(child)
        }
    }
}

/// The init's loop: reap, forward, and exit with the command's status.
fn supervise(command: Pid) -> ! {
    // Sharing the host's pid namespace, the init is not PID 1: orphans come to it only as
    // a subreaper.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let all = SigSet::all();
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigwaitinfo with a valid set and siginfo buffer.
        let sig = unsafe { libc::sigwaitinfo(all.as_ref(), &mut info) };
        if sig < 0 {
            continue;
        }
        if sig == libc::SIGCHLD {
            if let Some(code) = reap(command) {
                // SAFETY: leaving without the parent's atexit handlers; the kernel ends the
                // rest of the pid namespace with its PID 1.
                unsafe { libc::_exit(code) };
            }
            continue;
        }
        if Signal::try_from(sig).is_ok() {
            // SAFETY: kill(2) on the command, our own child, not reaped yet.
            unsafe { libc::kill(command.as_raw(), sig) };
        }
    }
}

/// Reap every process that has ended; the command's exit status if it was among them.
fn reap(command: Pid) -> Option<i32> {
    let mut found = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == command => found = Some(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == command => {
                found = Some(128 + sig as i32)
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return found,
            Ok(_) => {}
        }
    }
}
