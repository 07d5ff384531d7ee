//! The flags of the image verbs: build, images, import, rmi, tag, history, image prune.

use super::{complete, BuildRefusedFlags};
use clap::Args;
use clap_complete::engine::ArgValueCandidates;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print sizes and dates in human readable format (--human=false: bytes and RFC 3339 times)
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub human: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template ('{{.CreatedBy}}')
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(add = ArgValueCandidates::new(complete::images), value_name = "IMAGE")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values (until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE])
    #[arg(long = "filter", value_name = "FILTER")]
    pub filters: Vec<String>,
    /// Also forget the build cache (step results and RUN --mount=type=cache dirs)
    #[arg(long)]
    pub build_cache: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format (repeatable)
    #[arg(short = 't', long = "tag", value_name = "NAME[:TAG]")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: PATH/Dockerfile; "-" reads it from stdin)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// Set the target build stage to build
    #[arg(long)]
    pub target: Option<String>,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// Suppress the build output and print image ID on success
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Write the image ID to the file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Secret to expose to RUN --mount=type=secret (id=ID,src=FILE or id=ID,env=VAR)
    #[arg(long = "secret", value_name = "id=ID,src=PATH")]
    pub secrets: Vec<String>,
    /// Unix time for every timestamp in the image (like SOURCE_DATE_EPOCH)
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub timestamp: Option<i64>,
    /// Pull the FROM images: "always" (also plain --pull), "missing" or "never"
    #[arg(long, value_name = "POLICY", default_value = "missing", num_args = 0..=1, default_missing_value = "always", require_equals = true)]
    pub pull: crate::registry::PullPolicy,
    #[command(flatten)]
    pub host: Box<super::BuildHostFlags>,
    #[command(flatten)]
    pub refused: BuildRefusedFlags,
    /// Build context directory, or "-" to read a tar archive from stdin
    #[arg(value_name = "PATH")]
    pub context: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Filter output based on conditions provided (dangling, reference, label, before, since)
    #[arg(add = ArgValueCandidates::new(complete::images_filters), short = 'f', long = "filter", value_name = "KEY=VALUE")]
    pub filters: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', or a Go template ('{{.Repository}}:{{.Tag}}')
    #[arg(add = ArgValueCandidates::new(complete::images_format), long, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Show only images matching this reference
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply Dockerfile instruction to the created image
    #[arg(short = 'c', long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Set commit message for imported image
    #[arg(short = 'm', long = "message")]
    pub message: Option<String>,
    /// Set the platform of the imported image (os/arch; the os must be linux)
    #[arg(long, value_name = "PLATFORM", value_parser = import_platform)]
    pub platform: Option<crate::registry::Platform>,
    /// A rootfs tarball (plain or gzip-compressed), or "-" for STDIN
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// `import --platform`: docker's daemon refuses what it cannot parse and any os but
/// linux; the architecture must be one of Go's for linux. The config has no variant field,
/// so a variant is refused rather than dropped.
fn import_platform(s: &str) -> Result<crate::registry::Platform, String> {
    let p = crate::registry::Platform::parse(s)
        .map_err(|_| format!("\"{s}\": cannot parse platform specifier: invalid argument"))?;
    if p.os != "linux" {
        return Err("operating system is not supported".into());
    }
    super::check_platform(&p.os, &p.architecture).map_err(|e| e.to_string())?;
    if let Some(v) = &p.variant {
        return Err(format!(
            "variant {v}: kiste's image config records os and architecture only"
        ));
    }
    Ok(p)
}

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Do not delete untagged parents
    #[arg(long)]
    pub no_prune: bool,
    #[arg(add = ArgValueCandidates::new(complete::images), required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    #[arg(add = ArgValueCandidates::new(complete::images))]
    pub source: String,
    pub target: String,
}
