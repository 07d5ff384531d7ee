//! `exec`: run a command in a running container, as docker does: the container's own
//! user, environment, working directory, capabilities and seccomp unless overridden;
//! the command's exit code becomes kiste's.

use super::Exit;
use crate::cli::ExecArgs;
use crate::container::Containers;
use crate::monitor::{self, ExecRequest};
use crate::paths::Paths;
use crate::state::StateError;

pub fn exec(paths: &Paths, args: ExecArgs) -> anyhow::Result<()> {
    let opts = args.options().map_err(|e| Exit {
        code: 125,
        message: e.to_string(),
    })?;
    let mut env = Vec::new();
    for f in &opts.env_files {
        env.extend(super::run::read_env_file(f)?);
    }
    env.extend(opts.env.iter().filter_map(|e| super::run::env_entry(e)));
    let containers = Containers::open(paths)?;
    let c = match containers.get(&opts.container) {
        Ok(c) => c,
        Err(crate::container::ContainerError::State(StateError::NotFound(_))) => {
            return Err(Exit {
                code: 1,
                message: format!("no such container: {}", opts.container),
            }
            .into())
        }
        Err(e) => return Err(e.into()),
    };
    if !c.rec.is_running() || !c.rec.process_alive() {
        return Err(Exit {
            code: 1,
            message: format!("container {} is not running", c.rec.id),
        }
        .into());
    }
    // A process that joins a frozen cgroup would hang until unpause: docker refuses.
    if c.rec.is_paused() {
        return Err(Exit {
            code: 1,
            message: format!(
                "container {} is paused, unpause the container before exec",
                c.rec.id
            ),
        }
        .into());
    }
    let req = ExecRequest {
        command: opts.command,
        env,
        workdir: opts.workdir,
        user: opts.user,
        privileged: opts.privileged,
        interactive: opts.interactive,
        tty: opts.tty,
        detach: opts.detach,
        detach_keys: opts.detach_keys.0,
    };
    let exec_id = crate::events::exec_began(paths, &c.rec, &req.command);
    let result = monitor::exec(&c.rec, &req);
    let ended = result.as_ref().map_or_else(|e| e.exit_code(), |code| *code);
    crate::events::exec_ended(paths, &c.rec, &exec_id, (!req.detach).then_some(ended));
    let code = result.map_err(|e| Exit {
        code: e.exit_code(),
        message: e.to_string(),
    })?;
    if code != 0 {
        return Err(Exit::silent(code).into());
    }
    Ok(())
}
