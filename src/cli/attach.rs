//! `attach`'s flags, checked once into [`AttachOptions`].

use super::complete;
use crate::config::{DetachKeys, FlagError};
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long = "no-stdin")]
    pub no_stdin: bool,
    /// Proxy all received signals to the process (non-TTY mode only)
    #[arg(long = "sig-proxy", default_value = "true", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    #[arg(add = ArgValueCandidates::new(complete::running_containers), value_name = "CONTAINER")]
    pub container: String,
}

/// `attach`'s settings, checked.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    pub container: String,
    pub stdin: bool,
    /// None: the container's own (`run --detach-keys`), else docker's default.
    pub detach_keys: Option<DetachKeys>,
    /// Signals kiste receives go to the container (without a terminal).
    pub sig_proxy: bool,
}

impl AttachArgs {
    pub fn options(self) -> Result<AttachOptions, FlagError> {
        Ok(AttachOptions {
            detach_keys: self
                .detach_keys
                .as_deref()
                .map(|k| DetachKeys::parse("--detach-keys", k))
                .transpose()?,
            stdin: !self.no_stdin,
            sig_proxy: self.sig_proxy,
            container: self.container,
        })
    }
}
