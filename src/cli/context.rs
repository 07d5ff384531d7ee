//! Flags of docker's commands that kiste answers in its own terms: `context` (one
//! "default" context: the local store), `builder` (kiste's builder and its cache), and the
//! commands kiste refuses with a reason (`checkpoint`, `plugin`, `trust`): these
//! take any arguments so that every use gets the reason rather than a usage error.

use super::BuildArgs;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContextCommand {
    /// List contexts (kiste has one: "default", the local store)
    #[command(visible_alias = "list")]
    Ls(ContextLsArgs),
    /// Display detailed information on one or more contexts
    Inspect(ContextInspectArgs),
    /// Print the name of the current context
    Show,
    /// Set the current context (only "default" exists)
    Use(ContextUseArgs),
    /// Create a context (refused: kiste has no daemon to point a context at)
    Create(RefusedArgs),
    /// Remove one or more contexts (refused: "default" cannot be removed)
    Rm(RefusedArgs),
    /// Update a context (refused: "default" cannot be changed)
    Update(RefusedArgs),
    /// Export a context (refused: kiste has no daemon to point a context at)
    Export(RefusedArgs),
    /// Import a context (refused: kiste has no daemon to point a context at)
    Import(RefusedArgs),
}

#[derive(Debug, Args)]
pub struct ContextLsArgs {
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template ('{{.Name}}')
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Only show context names
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ContextInspectArgs {
    /// Format output using a custom template: 'json', or a Go template ('{{.Name}}')
    #[arg(short = 'f', long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// The contexts (default: the current one)
    #[arg(value_name = "CONTEXT")]
    pub contexts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContextUseArgs {
    #[arg(value_name = "CONTEXT")]
    pub context: String,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum BuilderCommand {
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Remove build cache
    Prune(BuilderPruneArgs),
}

#[derive(Debug, Args)]
pub struct BuilderPruneArgs {
    /// Remove all unused build cache, not just dangling ones (kiste's cache has no dangling part: both remove it all)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (until=24h, id=, type=regular|exec.cachemount, description=, label=KEY[=VALUE], inuse=, shared=, private=)
    #[arg(long = "filter", value_name = "FILTER", value_parser = super::build_flags::cache_filter)]
    pub filters: Vec<crate::build::CacheFilter>,
    /// Amount of disk space to keep for cache (the most recently used records that fit stay)
    #[arg(long, value_name = "BYTES", value_parser = super::build_flags::keep_storage)]
    pub keep_storage: Option<u64>,
}

/// Whatever follows a refused command: it is refused with its reason either way.
#[derive(Debug, Args)]
pub struct RefusedArgs {
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}
