//! Flags of the registry verbs: `pull`, `push`, `login` and `logout`.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long, value_name = "PLATFORM")]
    pub platform: Option<String>,
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: bool,
    /// Pull all tagged images in the repository (not supported)
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    #[command(flatten)]
    pub trust: super::TrustRefusedFlag,
    #[arg(value_name = "NAME[:TAG|@DIGEST]")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Push all tags of an image to the repository
    #[arg(short = 'a', long)]
    pub all_tags: bool,
    /// Suppress verbose output
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Write the digest of the pushed manifest to this file
    #[arg(long, value_name = "FILE")]
    pub digestfile: Option<PathBuf>,
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: bool,
    #[command(flatten)]
    pub trust: super::TrustRefusedFlag,
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::images), value_name = "IMAGE")]
    pub image: String,
    /// Where to push (default: the image's own name)
    #[arg(value_name = "DESTINATION")]
    pub destination: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Username
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// Require HTTPS and verify certificates when contacting registries
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: bool,
    /// Server (default: docker.io)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Server (default: docker.io)
    #[arg(value_name = "SERVER")]
    pub server: Option<String>,
}
