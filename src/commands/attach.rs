//! `attach`: the terminal (or stdin and output) of a running detached container, through
//! its monitor's attach socket; a container started without -t or -i has no input to
//! take, so its output is followed from the log. Exits with the container's code when it
//! ends, or 0 after the detach keys.

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
    let term = &c.rec.config.host.terminal;
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
                container: c.rec.id.clone(),
            },
        )?;
    } else {
        let keys = opts.detach_keys.unwrap_or_else(|| term.detach_keys.clone());
        let ended = monitor::attach_client(&run_dir, term.tty, keys.0, opts.stdin)
            .map_err(|e| anyhow::anyhow!("cannot attach to container {}: {e}", c.rec.id))?;
        if ended == Ended::Detached {
            eprintln!("read escape sequence");
            return Ok(());
        }
    }
    c.wait(Duration::from_secs(30))?;
    let code = containers
        .get(&c.rec.id)
        .map(|r| r.rec.state.exit_code)
        .unwrap_or(0);
    if code != 0 {
        return Err(Exit::silent(code).into());
    }
    Ok(())
}
