//! Compose files read as docker compose v2 reads them: the files found or given, each
//! parsed (serde_yaml), interpolated (`${VAR:-default}` with `.env`), merged in order,
//! checked (unknown keys, services without image or build, unknown or cyclic
//! `depends_on`) and typed into a `Project` whose services come in dependency order.
//! This module knows nothing of containers or the store: `commands/compose*.rs` turn a
//! `Project` into kiste's own typed run, network and volume requests.

mod interpolate;
mod keys;
mod load;
mod locate;
mod merge;
mod model;
mod order;
mod render;
mod service;

pub use interpolate::{interpolate_str, Lookup};
pub use load::{find_files, load, project_name_from_dir, LoadOptions};
pub use model::{
    BuildSpec, Condition, HealthSpec, MountKind, NetworkSpec, PortSpec, Project, Service,
    ServiceMount, ServiceNetwork, VolumeSpec,
};
pub use order::start_order;
pub use render::render;

use std::path::PathBuf;

/// The labels docker compose v2 puts on what it makes; `down` finds a project by them.
pub mod labels {
    pub const PROJECT: &str = "com.docker.compose.project";
    pub const SERVICE: &str = "com.docker.compose.service";
    pub const NUMBER: &str = "com.docker.compose.container-number";
    pub const ONEOFF: &str = "com.docker.compose.oneoff";
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
    pub const VERSION: &str = "com.docker.compose.version";
    pub const NETWORK: &str = "com.docker.compose.network";
    pub const VOLUME: &str = "com.docker.compose.volume";
    /// The compose version kiste's labels claim (docker compose v2's format).
    pub const COMPOSE_VERSION: &str = "2.24.0";
}

/// A problem at a place in a compose file: the file, the line when it is known, the key
/// path (`services.web.depends_on`) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub file: String,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}: {}", self.file, l, self.key, self.message),
            None => write!(f, "{}: {}: {}", self.file, self.key, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("no configuration file provided: not found (looked for compose.yaml, compose.yml, docker-compose.yml and docker-compose.yaml in {})", .0.display())]
    NotFound(PathBuf),
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: invalid yaml: {message}")]
    Yaml {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{0}")]
    Invalid(Located),
    #[error("project name {0:?} must contain only lowercase letters, digits, dashes and underscores, and begin with a letter or digit")]
    ProjectName(String),
    #[error("no such service: {0}")]
    NoSuchService(String),
}

impl ComposeError {
    pub(crate) fn invalid(file: &str, line: Option<usize>, key: &str, message: String) -> Self {
        ComposeError::Invalid(Located {
            file: file.to_string(),
            line,
            key: key.to_string(),
            message,
        })
    }
}
