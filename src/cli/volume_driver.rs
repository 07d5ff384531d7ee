//! `run`/`create --volume-driver`: the driver of the volumes made for the container (its
//! `-v` volumes and its image's VOLUMEs; `--mount` names its own): docker's built-in
//! `local` or an installed volume plugin (`plugin create|install`). Any other name is
//! refused as dockerd refuses a plugin it does not have, and only when a volume would be
//! made with it (docker too accepts the flag on a container without such volumes).

use crate::config::{MountConfig, MountOrigin, MountSource};
use crate::state::HostConfig;
use clap::Args;

#[derive(Debug, Default, Args)]
pub struct VolumeDriverArgs {
    /// Optional volume driver for the container (local or a volume plugin)
    #[arg(long = "volume-driver", value_name = "STRING")]
    pub volume_driver: Option<String>,
}

/// The driver a volume mount's volume is made with when it does not exist: `--mount`'s
/// volume-driver, else `--volume-driver` for `-v` volumes and the image's VOLUMEs, else
/// docker's built-in `local`.
pub fn volume_driver_of<'a>(host: &'a HostConfig, m: &'a MountConfig) -> &'a str {
    let MountSource::Volume { create, .. } = &m.source else {
        return "local";
    };
    let asked = match m.origin {
        MountOrigin::Volume | MountOrigin::Image => host.volume_driver.as_str(),
        _ => "",
    };
    match create.driver.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => d,
        None if !asked.is_empty() => asked,
        None => "local",
    }
}

/// dockerd's error for the first volume that would be made with a driver the store lacks;
/// `known` says whether a volume plugin of that name is installed.
pub fn check_volume_driver(host: &HostConfig, known: impl Fn(&str) -> bool) -> Result<(), String> {
    for m in &host.mounts {
        let Some(name) = m.volume_name() else {
            continue;
        };
        let driver = volume_driver_of(host, m);
        if driver != "local" && !known(driver) {
            return Err(format!(
                "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            ));
        }
    }
    Ok(())
}
