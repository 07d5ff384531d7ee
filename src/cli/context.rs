//! Flags of docker's commands that kiste answers in its own terms: `context` (named kiste
//! stores: a root and a runroot, see `crate::context`), `builder` (kiste's builder and its
//! cache), and the commands kiste refuses with a reason (`checkpoint`, `plugin`, `trust`):
//! these take any arguments so that every use gets the reason rather than a usage error.

use super::BuildArgs;
use crate::context::{EndpointError, EndpointFlag, SshHost, StoreEndpoint};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContextCommand {
    /// List contexts
    #[command(visible_alias = "list")]
    Ls(ContextLsArgs),
    /// Display detailed information on one or more contexts
    Inspect(ContextInspectArgs),
    /// Print the name of the current context
    Show,
    /// Set the current context
    Use(ContextUseArgs),
    /// Create a context: a name for a kiste store (its root and runroot)
    Create(ContextCreateArgs),
    /// Remove one or more contexts
    #[command(visible_alias = "remove")]
    Rm(ContextRmArgs),
    /// Update a context
    Update(ContextUpdateArgs),
    /// Export a context to a tar archive FILE or a tar stream on STDOUT
    Export(ContextExportArgs),
    /// Import a context from a tar archive FILE or a tar stream on STDIN
    Import(ContextImportArgs),
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

/// docker's `--docker` help, in kiste's keys.
const DOCKER_HELP: &str = "The kiste store the context names: root=DIR,runroot=DIR, on \
    another machine with host=ssh://[USER@]HOST[:PORT] (kiste runs there through ssh); \
    unix:// and tcp:// hosts and TLS keys name a daemon, which kiste does not have";

#[derive(Debug, Args)]
pub struct ContextCreateArgs {
    /// Description of the context
    #[arg(long, value_name = "DESCRIPTION")]
    pub description: Option<String>,
    #[arg(long, value_name = "KEY=VALUE,...", help = DOCKER_HELP, value_parser = docker_endpoint)]
    pub docker: Vec<EndpointFlag>,
    /// Create context from a named context (default: from the current one)
    #[arg(long, value_name = "CONTEXT")]
    pub from: Option<String>,
    #[arg(value_name = "CONTEXT")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ContextUpdateArgs {
    /// Description of the context
    #[arg(long, value_name = "DESCRIPTION")]
    pub description: Option<String>,
    #[arg(long, value_name = "KEY=VALUE,...", help = DOCKER_HELP, value_parser = docker_endpoint)]
    pub docker: Vec<EndpointFlag>,
    #[arg(value_name = "CONTEXT")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ContextRmArgs {
    /// Force the removal of a context in use
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(value_name = "CONTEXT", required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContextExportArgs {
    #[arg(value_name = "CONTEXT")]
    pub name: String,
    /// The archive to write ("-" for STDOUT; default CONTEXT.dockercontext)
    #[arg(value_name = "FILE")]
    pub file: Option<String>,
}

#[derive(Debug, Args)]
pub struct ContextImportArgs {
    #[arg(value_name = "CONTEXT")]
    pub name: String,
    /// The archive to read ("-" for STDIN)
    #[arg(value_name = "FILE")]
    pub file: String,
}

/// One `--docker` value: `KEY=VALUE` pairs separated by commas. A pair without `=` is a
/// flag error (docker's message, exit 125); a key kiste cannot use is kept as the refusal
/// the command gives (exit 1, as docker refuses a bad endpoint).
fn docker_endpoint(value: &str) -> Result<EndpointFlag, String> {
    let mut store = StoreEndpoint::default();
    let mut refused = None;
    for pair in value.split(',').filter(|p| !p.is_empty()) {
        let Some((key, val)) = pair.split_once('=') else {
            return Err(format!("{pair} must be formatted as key=value"));
        };
        let path = |v: &str| (!v.is_empty()).then(|| PathBuf::from(v));
        let refusal = match key {
            "root" => {
                store.root = path(val);
                None
            }
            "runroot" => {
                store.runroot = path(val);
                None
            }
            // docker's empty host is its default endpoint: here, the default store.
            "host" if val.is_empty() => None,
            "host" if val.starts_with("ssh://") => match SshHost::parse(val) {
                Ok(h) => {
                    store.host = Some(h);
                    None
                }
                Err(e) => Some(EndpointError::BadSsh(e)),
            },
            "host" => Some(EndpointError::DaemonHost(val.into())),
            "ca" | "cert" | "key" | "skip-tls-verify" => Some(EndpointError::Tls(key.into())),
            other => Some(EndpointError::UnknownKey(other.into())),
        };
        if refused.is_none() {
            refused = refusal;
        }
    }
    // A remote store's paths are the remote machine's: as given, not made absolute here.
    if store.host.is_none() {
        store.root = store.root.map(absolute);
        store.runroot = store.runroot.map(absolute);
    }
    Ok(match refused {
        Some(e) => Err(e),
        None => Ok(store),
    })
}

/// A store path as given, made absolute against the directory the context was made in:
/// the context is used from anywhere.
fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
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

// Whatever follows a refused command: it is refused with its reason either way.
#[derive(Debug, Args)]
pub struct RefusedArgs {
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}
