//! Flags of `ps`: docker's (`-a`, `-q`, `--filter`, `--format`, `-l`, `-n`) and podman's
//! (`--sort`, `--noheading`).

use super::complete;
use clap::Args;
use clap_complete::engine::ArgValueCandidates;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Filter output based on conditions provided (id, name, label, status, ancestor, exited, before, since)
    #[arg(add = ArgValueCandidates::new(complete::ps_filters), short = 'f', long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template ('{{.Names}}')
    #[arg(add = ArgValueCandidates::new(complete::ps_format), long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Sort by command, created (newest first, the default), id, image, names, runningfor or status (podman)
    #[arg(long, value_enum, default_value = "created")]
    pub sort: PsSort,
    /// Do not print the header line (podman)
    #[arg(long = "noheading", visible_alias = "no-heading")]
    pub noheading: bool,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, value_name = "INT", default_value_t = -1, allow_negative_numbers = true, hide_default_value = true)]
    pub last: i64,
    /// Display total file sizes (the container's writable layer, and with the image below it)
    #[arg(short = 's', long)]
    pub size: bool,
}

/// podman's `ps --sort` keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PsSort {
    Command,
    Created,
    Id,
    Image,
    Names,
    Runningfor,
    Status,
}
