//! `kiste compose`'s flags as docker compose v2 has them (the global ones before the
//! verb: `-f`, `-p`, `--project-directory`, `--env-file`, `--profile`, and kiste's
//! `--strict`), and each compose verb's own.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ComposeArgs {
    /// Compose configuration files (repeatable; merged in order)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Project name
    #[arg(short = 'p', long = "project-name", value_name = "NAME")]
    pub project_name: Option<String>,
    /// Alternate working directory (default: the directory of the first compose file)
    #[arg(long, value_name = "DIR")]
    pub project_directory: Option<PathBuf>,
    /// An alternate environment file (default: .env in the project directory)
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Enable a profile (repeatable)
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Refuse keys kiste does not read instead of warning about them (kiste)
    #[arg(long)]
    pub strict: bool,
    #[command(subcommand)]
    pub command: ComposeCommand,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ComposeCommand {
    /// Create and start containers
    Up(ComposeUpArgs),
    /// Stop and remove containers, networks
    Down(ComposeDownArgs),
    /// List containers
    Ps(ComposePsArgs),
    /// View output from containers
    Logs(ComposeLogsArgs),
    /// Build or rebuild services
    Build(ComposeServices),
    /// Pull service images
    Pull(ComposeServices),
    /// Parse, resolve and render compose file in canonical format
    Config(ComposeConfigArgs),
    /// Execute a command in a running container
    Exec(ComposeExecArgs),
    /// Run a one-off command on a service
    Run(ComposeRunArgs),
    /// Start services
    Start(ComposeServices),
    /// Stop services
    Stop(ComposeServices),
    /// Restart service containers
    Restart(ComposeServices),
    /// Removes stopped service containers
    Rm(ComposeRmArgs),
}

#[derive(Debug, Args)]
pub struct ComposeUpArgs {
    /// Detached mode: run containers in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Don't start the services after creating them
    #[arg(long, conflicts_with = "detach")]
    pub no_start: bool,
    /// Stops all containers if any container was stopped (exit code: that container's)
    #[arg(long, conflicts_with = "detach")]
    pub abort_on_container_exit: bool,
    /// Return the exit code of the selected service container (implies --abort-on-container-exit)
    #[arg(long, value_name = "SERVICE", conflicts_with = "detach")]
    pub exit_code_from: Option<String>,
    /// Services to start (with what they depend on; default: all)
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ComposeDownArgs {
    /// Remove named volumes declared in the "volumes" section of the Compose file
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove images used by services: "local" (built ones without a custom tag) or "all"
    #[arg(long, value_name = "TYPE", value_parser = ["local", "all"])]
    pub rmi: Option<String>,
    /// Remove containers for services not defined in the Compose file
    #[arg(long)]
    pub remove_orphans: bool,
}

#[derive(Debug, Args)]
pub struct ComposePsArgs {
    /// Only display IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Show all stopped containers
    #[arg(short = 'a', long)]
    pub all: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ComposeLogsArgs {
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ComposeServices {
    pub services: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ComposeConfigArgs {
    /// Only validate the configuration, don't print anything
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print the service names, one per line
    #[arg(long)]
    pub services: bool,
}

#[derive(Debug, Args)]
pub struct ComposeExecArgs {
    /// Disable pseudo-TTY allocation (default: a TTY when stdin is a terminal)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Run the command as this user
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Path to workdir directory for this command
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    pub service: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ComposeRunArgs {
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Don't start linked services
    #[arg(long)]
    pub no_deps: bool,
    pub service: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ComposeRmArgs {
    /// Don't ask to confirm removal
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short = 's', long)]
    pub stop: bool,
    pub services: Vec<String>,
}
