//! The data flags of `run`/`create` (`-v`, `--mount`, `--tmpfs`, `--volumes-from`) and
//! their one check: `MountArgs::to_mounts` turns them into typed `MountConfig`s through
//! `config::mounts`, refusing bad input with docker's messages before anything exists.

use crate::config::{
    check_duplicates, parse_mount, parse_tmpfs, parse_volume, MountConfig, MountError, VolumesFrom,
};
use clap::Args;

#[derive(Debug, Args, Default, Clone)]
pub struct MountArgs {
    /// Bind mount a volume (HOST:CTR[:ro|rw|z|Z], NAME:CTR[:OPTS], or CTR for an anonymous volume)
    #[arg(add = clap_complete::engine::ArgValueCompleter::new(super::complete::volume_specs), short = 'v', long = "volume", value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount (type=bind|volume|tmpfs,source=…,target=…,readonly,…)
    #[arg(long = "mount", value_name = "MOUNT")]
    pub mount: Vec<String>,
    /// Mount a tmpfs directory (CTR[:OPTIONS], e.g. /run:size=64m,mode=1777)
    #[arg(long = "tmpfs", value_name = "PATH[:OPTS]")]
    pub tmpfs: Vec<String>,
    /// Mount volumes from the specified container(s) (CONTAINER[:ro|rw])
    #[arg(long = "volumes-from", value_name = "CONTAINER[:MODE]")]
    pub volumes_from: Vec<String>,
}

impl MountArgs {
    /// Every mount flag typed, in docker's order (-v, --mount, --tmpfs), with the
    /// `--volumes-from` sources still to be resolved against the store.
    pub fn to_mounts(&self) -> Result<(Vec<MountConfig>, Vec<VolumesFrom>), MountError> {
        let mut mounts = Vec::new();
        for v in &self.volume {
            mounts.push(parse_volume(v)?);
        }
        for m in &self.mount {
            mounts.push(parse_mount(m)?);
        }
        for t in &self.tmpfs {
            mounts.push(parse_tmpfs(t)?);
        }
        check_duplicates(&mounts)?;
        let from = self
            .volumes_from
            .iter()
            .map(|v| VolumesFrom::parse(v))
            .collect::<Result<_, _>>()?;
        Ok((mounts, from))
    }
}
