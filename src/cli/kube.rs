//! Flags of the Kubernetes verbs (podman's): `generate kube`, `play kube` and its podman 4
//! spellings `kube play` and `kube down`.

use super::complete;
use clap::{ArgAction, Args, Subcommand};
use clap_complete::engine::ArgValueCandidates;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct GenerateKubeArgs {
    /// Also generate a Service for the pod's published ports
    #[arg(short = 's', long)]
    pub service: bool,
    /// Write the YAML to FILE instead of printing it
    #[arg(short = 'f', long, value_name = "FILE")]
    pub filename: Option<PathBuf>,
    #[arg(add = ArgValueCandidates::new(complete::all_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlayKubeArgs {
    /// Stop and remove the pods the file describes instead of running them
    #[arg(long)]
    pub down: bool,
    /// Remove the file's pods first if they exist
    #[arg(long)]
    pub replace: bool,
    /// Start the containers after creating them (--start=false only creates them)
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", value_name = "BOOL")]
    pub start: bool,
    /// Connect each pod to this network ("bridge", a created network, "none", "host")
    #[arg(long, value_name = "NET")]
    pub network: Option<String>,
    /// The Kubernetes YAML file (Pods and Deployments); - reads stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct KubeDownArgs {
    /// The Kubernetes YAML file whose pods are to be removed
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `play kube` (podman 3).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum PlayCommand {
    /// Run the Pods and Deployments of a Kubernetes YAML file
    Kube(PlayKubeArgs),
}

/// `kube play` and `kube down` (podman 4).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum KubeCommand {
    /// Run the Pods and Deployments of a Kubernetes YAML file
    Play(PlayKubeArgs),
    /// Stop and remove the pods a Kubernetes YAML file describes
    Down(KubeDownArgs),
}
