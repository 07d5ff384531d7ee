//! `run`/`create --volume-driver`: the driver of the volumes made for the container (its
//! `-v` volumes and its image's VOLUMEs; `--mount` names its own). kiste's one driver is
//! docker's built-in `local`; any other name is refused as dockerd refuses a plugin it
//! does not have, and only when a volume would be made with it (docker too accepts the
//! flag on a container without such volumes).

use crate::config::{MountOrigin, MountSource};
use crate::state::HostConfig;
use clap::Args;

#[derive(Debug, Default, Args)]
pub struct VolumeDriverArgs {
    /// Optional volume driver for the container (kiste's one driver: local)
    #[arg(long = "volume-driver", value_name = "STRING")]
    pub volume_driver: Option<String>,
}

/// dockerd's error for the first volume that would be made with a driver kiste lacks.
pub fn check_volume_driver(host: &HostConfig) -> Result<(), String> {
    let driver = host.volume_driver.as_str();
    if driver.is_empty() || driver == "local" {
        return Ok(());
    }
    let made = host
        .mounts
        .iter()
        .find_map(|m| match (&m.source, m.origin) {
            (MountSource::Volume { name, .. }, MountOrigin::Volume | MountOrigin::Image) => {
                Some(name)
            }
            _ => None,
        });
    match made {
        Some(name) => Err(format!(
            "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
        )),
        None => Ok(()),
    }
}
