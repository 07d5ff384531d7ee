//! `run -d`: the monitor forks, detaches from the terminal and session, and reports back
//! once the container runs (or why it could not start).

use super::*;

/// Fork the detached monitor; return once it reports the container running, or its error.
pub(super) fn detach(
    paths: &Paths,
    store: &ContainerStore,
    running: &Running,
    spec: &mut runtime::ContainerSpec,
    ports: Vec<BoundPort>,
    pipes: Pipes,
) -> Result<i32, MonitorError> {
    let (ready_r, ready_w) = runtime::channel_pair()?;
    // SAFETY: kiste is single-threaded here; the child only runs kiste's own code.
    match unsafe { nix::unistd::fork() }.map_err(|e| {
        other(&format!(
            "cannot fork the monitor of container {}",
            running.id
        ))(e.into())
    })? {
        nix::unistd::ForkResult::Child => {
            drop(ready_r);
            let _ = nix::unistd::setsid();
            unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
            detach_stdio();
            let mut keep = vec![
                ready_w.raw(),
                pipes.out.as_raw_fd(),
                pipes.err.as_raw_fd(),
                pipes.out_w.as_raw_fd(),
                pipes.err_w.as_raw_fd(),
                spec.stdio.stdin,
            ];
            keep.extend(pipes.stdin_w.as_ref().map(|f| f.as_raw_fd()));
            keep.extend(ports.iter().map(|p| p.raw_fd()));
            keep.extend(spec.mounts.iter().filter_map(|m| match &m.kind {
                runtime::MountKind::UserBind { tree, .. } => tree.as_ref().map(|t| t.raw()),
                _ => None,
            }));
            keep.extend(spec.rootfs_tree.as_ref().map(|t| t.raw()));
            close_inherited_fds(&keep);
            let mut ready = Some(ready_w);
            let result = run_monitored(paths, store, running, spec, ports, pipes, false, |_| {
                // Closing the pipe tells `kiste run -d` the container runs.
                if let Some(r) = ready.take() {
                    let _ = r.send(&runtime::Message::Started);
                }
            })
            .map(|code| restart::keep_running(paths, store, &running.id, code, Mode::Detached));
            if let Err(e) = result {
                finish_failed_start(paths, store, running, &e);
                if let Some(r) = ready.take() {
                    let _ = r.send(&start_failed(&e));
                }
            }
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { .. } => {
            drop(ready_w);
            drop(pipes);
            drop(ports);
            start_outcome(&ready_r, &running.id)
        }
    }
}

/// The detached monitor's report of a failed start, in the runtime's sync protocol.
pub(super) fn start_failed(e: &MonitorError) -> runtime::Message {
    runtime::Message::Failed {
        kind: runtime::FailKind::from_exit_code(e.exit_code()),
        errno: 0,
        text: e.to_string(),
    }
}

/// What `kiste run -d` learns from the detached monitor: started, or the error.
pub(super) fn start_outcome(ready: &runtime::Channel, id: &str) -> Result<i32, MonitorError> {
    match ready.recv() {
        Ok(Some(runtime::Message::Started)) => Ok(0),
        Ok(Some(runtime::Message::Failed { kind, text, .. })) => Err(MonitorError::Reported {
            code: kind.exit_code(),
            message: text,
        }),
        _ => Err(MonitorError::MonitorEnded(id.to_string())),
    }
}

/// The monitor keeps no terminal: its stdio goes to /dev/null so that a caller reading
/// `kiste run -d`'s output sees it end.
pub(super) fn detach_stdio() {
    if let Ok(null) = std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let fd = null.into_raw_fd();
        for target in 0..3 {
            unsafe { libc::dup2(fd, target) };
        }
        if fd > 2 {
            unsafe { libc::close(fd) };
        }
    }
}
