//! Kubernetes YAML in and out. `generate` turns container records into a Pod (and a
//! Service); `plan` reads a file of Pods and Deployments into typed pod plans for
//! `play kube`. This module owns the YAML (serde_yaml) and the object model; it reads no
//! store and starts nothing: `commands::kube` and `commands::kube_play` do that.

pub mod generate;
pub mod model;
pub mod plan;
pub mod quantity;

pub use plan::{ContainerPlan, FilePlan, PodPlan, POD_LABEL};

use std::path::PathBuf;

/// A Kubernetes file refused: one line naming the file and, past the syntax, the object
/// and the key.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot read {}: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: invalid yaml: {message}", file.display())]
    Yaml {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{}: {object}: {key}: {reason}", file.display())]
    Invalid {
        file: PathBuf,
        object: String,
        key: String,
        reason: String,
    },
}

/// Objects as one multi-document YAML stream, with podman's header comment.
pub fn to_yaml(docs: &[serde_yaml::Value]) -> Result<String, serde_yaml::Error> {
    let mut out = format!(
        "# Save the output of this file and use kubectl create -f to import\n\
         # it into Kubernetes.\n#\n# Created with kiste {}\n",
        env!("CARGO_PKG_VERSION")
    );
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_yaml::to_string(d)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
