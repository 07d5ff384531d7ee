//! Flags of `plugin create|disable|enable|inspect|install|ls|push|rm|set|upgrade`, as
//! docker's CLI 28 spells them, parsed into typed arguments.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin from a rootfs and configuration. Plugin data directory must contain config.json and rootfs directory.
    Create(PluginCreateArgs),
    /// Disable a plugin
    Disable(PluginDisableArgs),
    /// Enable a plugin
    Enable(PluginEnableArgs),
    /// Display detailed information on one or more plugins
    Inspect(PluginInspectArgs),
    /// Install a plugin
    Install(PluginInstallArgs),
    /// List plugins
    #[command(visible_alias = "list")]
    Ls(PluginLsArgs),
    /// Push a plugin to a registry
    Push(PluginPushArgs),
    /// Remove one or more plugins
    #[command(visible_alias = "remove")]
    Rm(PluginRmArgs),
    /// Change settings for a plugin
    Set(PluginSetArgs),
    /// Upgrade an existing plugin
    Upgrade(PluginUpgradeArgs),
}

#[derive(Debug, Args)]
pub struct PluginCreateArgs {
    /// Compress the context using gzip (kiste keeps the plugin's rootfs layer gzip-compressed)
    #[arg(long)]
    pub compress: bool,
    #[arg(value_name = "PLUGIN")]
    pub name: String,
    #[arg(value_name = "PLUGIN-DATA-DIR")]
    pub dir: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct PluginDisableArgs {
    /// Force the disable of an active plugin
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(value_name = "PLUGIN")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PluginEnableArgs {
    /// HTTP client timeout (in seconds)
    #[arg(long, default_value_t = 30, value_name = "INT")]
    pub timeout: u64,
    #[arg(value_name = "PLUGIN")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PluginInspectArgs {
    /// Format output using a custom template: 'json', or a Go template
    #[arg(short = 'f', long, value_name = "STRING")]
    pub format: Option<String>,
    #[arg(required = true, value_name = "PLUGIN")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PluginInstallArgs {
    /// Local name for plugin
    #[arg(long, value_name = "STRING")]
    pub alias: Option<String>,
    /// Do not enable the plugin on install
    #[arg(long)]
    pub disable: bool,
    #[command(flatten)]
    pub trust: super::TrustRefusedFlag,
    /// Grant all permissions necessary to run the plugin
    #[arg(long)]
    pub grant_all_permissions: bool,
    #[arg(value_name = "PLUGIN")]
    pub reference: String,
    /// KEY=VALUE settings
    #[arg(value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PluginLsArgs {
    /// Provide filter values (e.g. "enabled=true")
    #[arg(short = 'f', long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template
    #[arg(long, value_name = "STRING")]
    pub format: Option<String>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display plugin IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct PluginPushArgs {
    #[command(flatten)]
    pub trust: super::TrustRefusedFlag,
    #[arg(value_name = "PLUGIN[:TAG]")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PluginRmArgs {
    /// Force the removal of an active plugin
    #[arg(short = 'f', long)]
    pub force: bool,
    #[arg(required = true, value_name = "PLUGIN")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PluginSetArgs {
    #[arg(value_name = "PLUGIN")]
    pub name: String,
    #[arg(required = true, value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PluginUpgradeArgs {
    #[command(flatten)]
    pub trust: super::TrustRefusedFlag,
    /// Grant all permissions necessary to run the plugin
    #[arg(long)]
    pub grant_all_permissions: bool,
    /// Do not check if specified remote plugin matches existing plugin image
    #[arg(long)]
    pub skip_remote_check: bool,
    #[arg(value_name = "PLUGIN")]
    pub name: String,
    #[arg(value_name = "REMOTE")]
    pub remote: Option<String>,
}
