//! `update`: a container's limits and restart policy changed, running or not. Under the
//! store's lock the new limits are checked against the recorded ones, written to the
//! cgroup of a running container (the kernel may refuse, e.g. a memory limit below what
//! it uses: then nothing changes), and saved in the record, which the next start and
//! the container's monitor (its restart policy, at the next exit) read.

use super::containers::each;
use super::Exit;
use crate::cli::{UpdateArgs, UpdateConfig};
use crate::container::Containers;
use crate::paths::Paths;
use anyhow::Context;

pub fn update(paths: &Paths, args: UpdateArgs) -> anyhow::Result<()> {
    let config = args.to_config().map_err(|e| Exit {
        code: match e {
            crate::cli::UpdateError::NoFlags => 1,
            _ => 125,
        },
        message: e.to_string(),
    })?;
    if paths.rootless {
        if let Some(why) = super::rootless::refusal(&config.resources()) {
            return Err(Exit {
                code: 125,
                message: why,
            }
            .into());
        }
    }
    let containers = Containers::open(paths)?;
    each(&args.containers, |a| {
        let id = containers.get(a)?.rec.id;
        update_one(&containers, &id, &config)
            .with_context(|| format!("cannot update container {a}"))
    })
}

fn update_one(containers: &Containers, id: &str, config: &UpdateConfig) -> anyhow::Result<()> {
    let store = containers.store();
    let lock = store.lock()?;
    let mut rec = store.load(id)?;
    if config.restart.is_some() && rec.config.host.auto_remove {
        anyhow::bail!(
            "Restart policy cannot be updated because AutoRemove is enabled for the container"
        );
    }
    let host = &mut rec.config.host;
    host.resources = config.apply(&host.resources)?;
    if let Some(policy) = config.restart {
        host.restart = policy;
    }
    if rec.process_alive() {
        let mut cgroup = crate::monitor::cgroup_of(&rec);
        cgroup.resources = crate::monitor::cgroup_resources(&rec.config.host.resources);
        // The kernel's error is part of the cgroup error's message: printed once.
        crate::cgroups::update(&cgroup).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    store.save(&lock, &rec)?;
    Ok(())
}
