//! The typed project: what the merged, interpolated files ask for, with every short form
//! already expanded (ports, volumes, networks, depends_on, environment, labels), relative
//! paths made absolute against the project directory, and names still as the file wrote
//! them (the project prefix is added where objects are made).

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct Project {
    pub name: String,
    pub working_dir: PathBuf,
    pub config_files: Vec<PathBuf>,
    /// The active services (profiles applied), by name.
    pub services: BTreeMap<String, Service>,
    /// Services left out because none of their profiles is enabled.
    pub disabled: BTreeMap<String, Service>,
    pub networks: BTreeMap<String, NetworkSpec>,
    pub volumes: BTreeMap<String, VolumeSpec>,
}

impl Project {
    /// The name a top-level network has on the host: its `name:`, an external one's key,
    /// else PROJECT_KEY.
    pub fn network_name(&self, key: &str) -> String {
        match self.networks.get(key) {
            Some(NetworkSpec { name: Some(n), .. }) => n.clone(),
            Some(NetworkSpec { external: true, .. }) => key.to_string(),
            _ => format!("{}_{key}", self.name),
        }
    }

    /// The name a top-level volume has on the host: its `name:`, an external one's key,
    /// else PROJECT_KEY.
    pub fn volume_name(&self, key: &str) -> String {
        match self.volumes.get(key) {
            Some(VolumeSpec { name: Some(n), .. }) => n.clone(),
            Some(VolumeSpec { external: true, .. }) => key.to_string(),
            _ => format!("{}_{key}", self.name),
        }
    }

    /// The name of the container `number` of a service (docker compose v2's PROJECT-SERVICE-N).
    pub fn container_name(&self, service: &Service, number: u32) -> String {
        match &service.container_name {
            Some(n) => n.clone(),
            None => format!("{}-{}-{number}", self.name, service.name),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    pub name: String,
    pub image: Option<String>,
    pub build: Option<BuildSpec>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    /// None: a bare `KEY` that takes kiste's own environment (or stays unset).
    pub environment: BTreeMap<String, Option<String>>,
    pub ports: Vec<PortSpec>,
    pub expose: Vec<String>,
    pub volumes: Vec<ServiceMount>,
    /// The networks it joins (default: `default`), with their aliases.
    pub networks: BTreeMap<String, ServiceNetwork>,
    pub depends_on: BTreeMap<String, Condition>,
    pub healthcheck: Option<HealthSpec>,
    pub restart: Option<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    pub init: Option<bool>,
    pub read_only: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub mem_limit: Option<String>,
    pub cpus: Option<String>,
    pub pids_limit: Option<i64>,
    pub profiles: Vec<String>,
    pub container_name: Option<String>,
}

impl Service {
    /// The image a container of this service runs: `image:`, else the one `build`
    /// makes (PROJECT-SERVICE, as docker compose v2 names it).
    pub fn image_name(&self, project: &str) -> String {
        match &self.image {
            Some(i) => i.clone(),
            None => format!("{project}-{}", self.name),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildSpec {
    pub context: PathBuf,
    pub dockerfile: Option<String>,
    pub args: BTreeMap<String, String>,
    pub target: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortSpec {
    pub host_ip: Option<String>,
    /// The host port or range ("8080", "8080-8081"); None: any free port.
    pub published: Option<String>,
    /// The container port or range ("80", "80-81").
    pub target: String,
    pub protocol: String,
}

impl PortSpec {
    /// As `run -p` writes it: `[ip:][host:]container/proto`.
    pub fn publish_flag(&self) -> String {
        let mut s = String::new();
        if let Some(ip) = &self.host_ip {
            s.push_str(ip);
            s.push(':');
        }
        match &self.published {
            Some(p) => {
                s.push_str(p);
                s.push(':');
            }
            None if self.host_ip.is_some() => s.push(':'),
            None => {}
        }
        format!("{s}{}/{}", self.target, self.protocol)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Volume,
    Tmpfs,
}

impl MountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Volume => "volume",
            MountKind::Tmpfs => "tmpfs",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMount {
    pub kind: MountKind,
    /// A host path (bind, made absolute), a top-level volume's key (volume), or None
    /// (an anonymous volume, a tmpfs).
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceNetwork {
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Started,
    Healthy,
    CompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthSpec {
    /// `["CMD", …]`, `["CMD-SHELL", "…"]`; empty with `disable`.
    pub test: Vec<String>,
    pub disable: bool,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<i64>,
    pub start_period: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkSpec {
    pub driver: Option<String>,
    pub external: bool,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeSpec {
    pub external: bool,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
}
