//! `attach`: the terminal (or stdin and output) of a running detached container, through
//! its monitor's attach socket; a container started without -t or -i has no input to
//! take, so its output is followed from the log. Exits with the container's code when it
//! ends, or 1 after the detach keys (as docker's CLI).

use super::Exit;
use crate::cli::{AttachArgs, LogsArgs};
use crate::container::{ContainerError, Containers};
use crate::monitor::{self, Ended};
use crate::paths::Paths;
use crate::state::StateError;
use std::time::Duration;

pub fn attach(paths: &Paths, args: AttachArgs) -> anyhow::Result<()> {
    let opts = args.options().map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    let containers = Containers::open(paths)?;
    let c = match containers.get(&opts.container) {
        Ok(c) => c,
        Err(ContainerError::State(StateError::NotFound(_))) => {
            return Err(Exit {
                code: 1,
                message: format!("no such container: {}", opts.container),
            }
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    if !c.rec.is_running() {
        return Err(Exit {
            code: 1,
            message: "You cannot attach to a stopped container, start it first".into(),
        }
        .into());
    }
    crate::events::container(paths, &c.rec, "attach");
    let term = &c.rec.config.host.terminal;
    if opts.sig_proxy && !term.tty {
        proxy_signals(c.rec.state.pid, c.rec.state.pid_start_time);
    }
    let run_dir = paths.container_run_dir(&c.rec.id);
    if !run_dir.join(monitor::ATTACH_SOCKET).exists() {
        super::logs::logs(
            paths,
            LogsArgs {
                follow: true,
                timestamps: false,
                tail: "0".into(),
                since: None,
                until: None,
                details: false,
                latest: false,
                container: c.rec.id.clone(),
            },
        )?;
    } else {
        let keys = opts.detach_keys.unwrap_or_else(|| term.detach_keys.clone());
        let ended = monitor::attach_client(&run_dir, term.tty, keys.0, opts.stdin)
            .map_err(|e| anyhow::anyhow!("cannot attach to container {}: {e}", c.rec.id))?;
        if ended == Ended::Detached {
            // docker's CLI prints this and exits 1; the container goes on.
            eprintln!("read escape sequence");
            return Err(Exit::silent(1).into());
        }
    }
    c.wait(Duration::from_secs(30))?;
    let code = match containers.get(&c.rec.id) {
        Ok(r) => r.rec.state.exit_code,
        // Removed by its monitor (--rm): the code it kept.
        Err(_) => crate::state::read_exit(&paths.exits(), &c.rec.id).unwrap_or(0),
    };
    if code != 0 {
        return Err(Exit::silent(code).into());
    }
    Ok(())
}

/// `--sig-proxy` (without a terminal, where keys cannot carry them): the signals a user
/// sends kiste go to the container's process while it is still the same process. A thread
/// waits for them; attach forks nothing, so it may have one.
fn proxy_signals(pid: i32, start_time: u64) {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        set.add(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    std::thread::spawn(move || loop {
        if let Ok(sig) = set.wait() {
            if crate::process::process_start_time(pid) == Some(start_time) {
                // SAFETY: kill(2) on the container's process, checked by its start time.
                unsafe { libc::kill(pid, sig as i32) };
            }
        }
    });
}
