//! Flags of the verbs that watch running containers: `top` and `stats`.

use super::complete;
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Args)]
pub struct TopArgs {
    #[arg(add = ArgValueCandidates::new(complete::running_containers), value_name = "CONTAINER")]
    pub container: String,
    /// Options for the host's ps (default -ef)
    #[arg(
        value_name = "ps OPTIONS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub ps_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template ('{{.CPUPerc}}')
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(add = ArgValueCandidates::new(complete::running_containers), value_name = "CONTAINER")]
    pub containers: Vec<String>,
}
