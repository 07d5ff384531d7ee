//! `manifest create|add|annotate|inspect|push|rm`: docker's flags (and podman's `add`),
//! with the platform flags of `add` and `annotate` checked into a `PlatformChange`.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ManifestCommand {
    /// Create a local manifest list for annotating and pushing to a registry
    Create(ManifestCreateArgs),
    /// Add an image to a local manifest list (podman)
    Add(ManifestAddArgs),
    /// Add additional information to a local image manifest
    Annotate(ManifestAnnotateArgs),
    /// Display an image manifest, or manifest list
    Inspect(ManifestInspectArgs),
    /// Push a manifest list to a repository
    Push(ManifestPushArgs),
    /// Delete one or more manifest lists from local storage
    Rm(ManifestRmArgs),
}

#[derive(Debug, Args)]
pub struct ManifestCreateArgs {
    /// Amend an existing manifest list
    #[arg(short = 'a', long)]
    pub amend: bool,
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: String,
    #[arg(value_name = "MANIFEST", required = true)]
    pub images: Vec<String>,
}

// The platform flags of `annotate` and `add`.
#[derive(Debug, Args, Default)]
pub struct PlatformFlags {
    /// Set operating system
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Set architecture
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Set architecture variant
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Set operating system version
    #[arg(long = "os-version", value_name = "VERSION")]
    pub os_version: Option<String>,
    /// Set operating system feature
    #[arg(long = "os-features", value_name = "FEATURE", value_delimiter = ',')]
    pub os_features: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ManifestAddArgs {
    #[command(flatten)]
    pub platform: PlatformFlags,
    /// Set the platform features (podman)
    #[arg(long, value_name = "FEATURE", value_delimiter = ',')]
    pub features: Vec<String>,
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: String,
    #[arg(value_name = "MANIFEST")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct ManifestAnnotateArgs {
    #[command(flatten)]
    pub platform: PlatformFlags,
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: String,
    #[arg(value_name = "MANIFEST")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct ManifestInspectArgs {
    /// Output additional info including layers and platform
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Allow communication with an insecure registry
    #[arg(long)]
    pub insecure: bool,
    /// [MANIFEST_LIST] MANIFEST
    #[arg(value_name = "MANIFEST", required = true, num_args = 1..=2)]
    pub refs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ManifestPushArgs {
    /// Remove the local manifest list after push
    #[arg(short = 'p', long)]
    pub purge: bool,
    /// Allow push to an insecure registry
    #[arg(long)]
    pub insecure: bool,
    #[arg(value_name = "MANIFEST_LIST")]
    pub list: String,
    /// Push to this reference instead of the list's name (podman)
    #[arg(value_name = "DESTINATION")]
    pub dest: Option<String>,
}

#[derive(Debug, Args)]
pub struct ManifestRmArgs {
    #[arg(value_name = "MANIFEST_LIST", required = true)]
    pub lists: Vec<String>,
}

/// What `annotate`/`add` change in an entry's platform; None keeps a field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformChange {
    pub os: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    pub os_features: Option<Vec<String>>,
    pub features: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlatformError {
    #[error("manifest entry for image has unsupported os/arch combination: {0}/{1}")]
    Unsupported(String, String),
}

/// Go's valid GOOS/GOARCH pairs for the operating systems and architectures images use
/// (docker checks annotations against Go's list).
const VALID: &[(&str, &[&str])] = &[
    (
        "linux",
        &[
            "386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le",
            "ppc64", "ppc64le", "riscv64", "s390x",
        ],
    ),
    ("windows", &["386", "amd64", "arm", "arm64"]),
    ("darwin", &["amd64", "arm64"]),
    ("freebsd", &["386", "amd64", "arm", "arm64", "riscv64"]),
    ("netbsd", &["386", "amd64", "arm", "arm64"]),
    ("openbsd", &["386", "amd64", "arm", "arm64"]),
    ("solaris", &["amd64"]),
    ("illumos", &["amd64"]),
    ("aix", &["ppc64"]),
    ("plan9", &["386", "amd64", "arm"]),
];

impl PlatformFlags {
    pub fn to_change(&self, features: &[String]) -> PlatformChange {
        let list = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
        PlatformChange {
            os: self.os.clone(),
            arch: self.arch.clone(),
            variant: self.variant.clone(),
            os_version: self.os_version.clone(),
            os_features: list(&self.os_features),
            features: list(features),
        }
    }
}

/// Whether `os/arch` is a pair Go (and so docker) knows.
pub fn check_platform(os: &str, arch: &str) -> Result<(), PlatformError> {
    let ok = VALID
        .iter()
        .any(|(o, archs)| *o == os && archs.contains(&arch));
    if ok {
        Ok(())
    } else {
        Err(PlatformError::Unsupported(os.into(), arch.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_checked_against_gos_list() {
        assert!(check_platform("linux", "arm64").is_ok());
        assert_eq!(
            check_platform("linux", "z80").unwrap_err().to_string(),
            "manifest entry for image has unsupported os/arch combination: linux/z80"
        );
        let flags = PlatformFlags {
            arch: Some("arm64".into()),
            os_features: vec!["a".into()],
            ..PlatformFlags::default()
        };
        let c = flags.to_change(&[]);
        assert_eq!(c.arch.as_deref(), Some("arm64"));
        assert_eq!((c.os, c.features), (None, None));
        assert_eq!(c.os_features, Some(vec!["a".to_string()]));
    }
}
