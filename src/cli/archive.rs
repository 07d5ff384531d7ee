//! Flags of the archive verbs: `save`, `load`, `export` (and `import`'s, which live
//! with the other image flags in `cli/mod.rs`).

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `save --format`: podman's names for the two layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ArchiveFormat {
    /// docker save's layout (manifest.json, uncompressed layer tars)
    DockerArchive,
    /// An OCI image layout (index.json, blobs/sha256)
    OciArchive,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive format
    #[arg(long, value_enum, default_value = "docker-archive")]
    pub format: ArchiveFormat,
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::images), required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from tar archive file, instead of STDIN
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(super::complete::all_containers), value_name = "CONTAINER")]
    pub container: String,
}
