//! Flags of the verbs about kiste itself and the shell: `version` and `completion`.

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format output using a custom template: 'json', or a Go template ('{{.Client.Version}}')
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::version_format), short = 'f', long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to print the completion script for
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}
