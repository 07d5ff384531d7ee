//! `exec`'s flags as clap parses them, and their one check into [`ExecOptions`]: the
//! working directory checked absolute, the detach keys parsed. Below `commands/` nothing re-reads a flag.

use super::complete;
use crate::config::FlagError;
use clap::Args;
use clap_complete::engine::ArgValueCandidates;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Override the key sequence for detaching a container
    #[arg(long = "detach-keys", value_name = "KEYS")]
    pub detach_keys: Option<String>,
    #[arg(add = ArgValueCandidates::new(complete::running_containers), value_name = "CONTAINER")]
    pub container: String,
    /// The command and its arguments
    #[arg(
        value_name = "COMMAND",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// `exec`'s settings, checked.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub container: String,
    pub command: Vec<String>,
    pub detach: bool,
    pub interactive: bool,
    pub tty: bool,
    /// `-e` entries (KEY=VALUE, or KEY to take kiste's own value), after the env files.
    pub env: Vec<String>,
    pub env_files: Vec<PathBuf>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub privileged: bool,
    pub detach_keys: crate::config::DetachKeys,
}

impl ExecArgs {
    pub fn options(self) -> Result<ExecOptions, FlagError> {
        if let Some(w) = self.workdir.as_deref().filter(|w| !w.starts_with('/')) {
            return Err(FlagError::new(
                "-w, --workdir",
                w,
                "the working directory needs to be an absolute path",
            ));
        }
        let detach_keys = match &self.detach_keys {
            Some(k) => crate::config::DetachKeys::parse("--detach-keys", k)?,
            None => crate::config::DetachKeys::default(),
        };
        Ok(ExecOptions {
            container: self.container,
            command: self.command,
            detach: self.detach,
            interactive: self.interactive,
            tty: self.tty,
            env: self.env,
            env_files: self.env_file,
            workdir: self.workdir,
            user: self.user,
            privileged: self.privileged,
            detach_keys,
        })
    }
}
