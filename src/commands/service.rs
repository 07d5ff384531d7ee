//! `system service`: the Docker Engine API on a unix socket (see `crate::api`), served
//! until it has been idle for `--time` seconds (0: until SIGTERM/SIGINT), as podman's
//! `system service`. The hidden `--listen-fd` serves a socket a container's monitor
//! bound (`run --use-api-socket`).

use crate::api::{Backend, Listener};
use crate::cli::ServiceArgs;
use crate::paths::Paths;
use anyhow::Context;
use std::time::Duration;

pub fn service(paths: &Paths, args: ServiceArgs) -> anyhow::Result<()> {
    let backend = Backend::new(paths.root.clone(), paths.runroot.clone())
        .context("cannot find kiste's own binary")?;
    let listener = match args.listen_fd {
        Some(fd) => Listener::inherit(fd)?,
        None => Listener::bind(
            args.socket
                .unwrap_or_else(|| paths.runroot.join("kiste.sock")),
        )?,
    };
    let idle = (args.time > 0).then(|| Duration::from_secs(args.time));
    crate::api::serve(listener, idle, &backend)?;
    Ok(())
}
