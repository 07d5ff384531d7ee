//! `play kube`'s first phase: a multi-document YAML file read into typed plans, one per
//! pod to run (a Pod, or each replica of a Deployment), before anything is created. Every
//! value is checked here (quantities, ports, capabilities, volumes, users), so that a
//! bad file is refused whole with one line naming the file, the object and the key.
//! Kinds kiste does not run and keys it does not know come back as warnings.

use super::model::*;
use super::quantity::{memory_bytes, nano_cpus, text_of};
use super::KubeError;
use crate::config::{
    Capability, MountConfig, MountOrigin, MountSource, PortMapping, Propagation, Protocol,
    Resources, RestartPolicy, StopTimeout,
};
use crate::registry::PullPolicy;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// docker's (and kiste's `--memory`) smallest memory limit.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// Label on every container `play kube` makes: the pod it belongs to.
pub const POD_LABEL: &str = "io.kiste.kube.pod";

/// One pod to run: its containers in order (the first one's network namespace is the
/// pod's, see `commands::kube_play`).
#[derive(Debug, Clone, PartialEq)]
pub struct PodPlan {
    pub name: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub restart: RestartPolicy,
    /// terminationGracePeriodSeconds: how long `--down` waits before SIGKILL.
    pub stop_timeout: Option<StopTimeout>,
    /// hostNetwork: the host's network namespace for the pod.
    pub host_network: bool,
    pub containers: Vec<ContainerPlan>,
    /// Volumes kiste makes for this pod (emptyDir on disk) and removes with it.
    pub owned_volumes: Vec<String>,
}

/// One container of a pod, typed; the image's own settings fill in the rest at create.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerPlan {
    /// `POD-CONTAINER`, as podman names them.
    pub name: String,
    pub image: String,
    /// Kubernetes' command (replaces the ENTRYPOINT) and args (replace the CMD).
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub env: Vec<String>,
    pub ports: Vec<PortMapping>,
    pub working_dir: Option<String>,
    pub resources: Resources,
    pub mounts: Vec<MountConfig>,
    pub cap_add: Vec<Capability>,
    pub cap_drop: Vec<Capability>,
    pub privileged: bool,
    pub read_only: bool,
    pub run_as_user: Option<u32>,
    pub run_as_group: Option<u32>,
    pub no_new_privileges: bool,
    /// imagePullPolicy: Always, IfNotPresent (kiste's "missing", the default), Never.
    pub pull: PullPolicy,
}

/// What a file asks for, and what kiste says about the rest of it.
#[derive(Debug, Default)]
pub struct FilePlan {
    pub pods: Vec<PodPlan>,
    pub warnings: Vec<String>,
}

/// Reads `file` (`-`: stdin, as podman takes it) into pod plans (see the module's
/// description).
pub fn read(file: &Path) -> Result<FilePlan, KubeError> {
    let read = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    };
    let text = read.map_err(|source| KubeError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    parse(file, &text)
}

fn yaml_err(file: &Path, e: serde_yaml::Error) -> KubeError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    KubeError::Yaml {
        file: file.to_path_buf(),
        line,
        column,
        // serde_yaml names the position in its message too: said once, up front.
        message: e
            .to_string()
            .replacen(&format!(" at line {line} column {column}"), "", 1),
    }
}

pub fn parse(file: &Path, text: &str) -> Result<FilePlan, KubeError> {
    // First the syntax of every document (line and column), then each known kind typed
    // straight from its document, so type errors keep their position too.
    let mut kinds = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = serde_yaml::Value::deserialize(doc).map_err(|e| yaml_err(file, e))?;
        kinds.push(match &v {
            serde_yaml::Value::Null => None,
            v => Some(
                v.get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or("")
                    .to_string(),
            ),
        });
    }
    let mut plan = FilePlan::default();
    for (doc, kind) in serde_yaml::Deserializer::from_str(text).zip(kinds) {
        let ctx = |what: String| Ctx {
            file: file.to_path_buf(),
            object: what,
        };
        match kind.as_deref() {
            None => {}
            Some("Pod") => {
                let pod = Pod::deserialize(doc).map_err(|e| yaml_err(file, e))?;
                let c = ctx(format!("Pod \"{}\"", pod.metadata.name));
                let name = c.pod_name(&pod.metadata.name)?;
                c.warn_unknown(&mut plan.warnings, "metadata", &pod.metadata.unknown);
                plan.pods.push(c.pod(&name, &pod.metadata, &pod.spec, &mut plan.warnings)?);
            }
            Some("Deployment") => {
                let d = Deployment::deserialize(doc).map_err(|e| yaml_err(file, e))?;
                let c = ctx(format!("Deployment \"{}\"", d.metadata.name));
                let base = c.pod_name(&d.metadata.name)?;
                c.warn_unknown(&mut plan.warnings, "metadata", &d.metadata.unknown);
                let t = &d.spec.template.metadata.unknown;
                c.warn_unknown(&mut plan.warnings, "spec.template.metadata", t);
                c.warn_unknown(&mut plan.warnings, "spec", &d.spec.unknown);
                let mut meta = d.spec.template.metadata.clone();
                meta.labels.extend(d.metadata.labels.clone());
                for n in 0..d.spec.replicas.unwrap_or(1) {
                    let name = format!("{base}-pod-{n}");
                    plan.pods
                        .push(c.pod(&name, &meta, &d.spec.template.spec, &mut plan.warnings)?);
                }
            }
            Some("Service") => plan.warnings.push(format!(
                "{}: kind \"Service\" skipped: kiste publishes each pod's hostPorts itself",
                file.display()
            )),
            Some(other) => plan.warnings.push(format!(
                "{}: kind \"{other}\" is not supported by play kube; skipped (kiste runs Pods and Deployments)",
                file.display()
            )),
        }
    }
    Ok(plan)
}

/// Where a value is: the file and the object (`Pod "web"`), for error lines.
struct Ctx {
    file: PathBuf,
    object: String,
}

impl Ctx {
    fn err(&self, key: &str, reason: impl Into<String>) -> KubeError {
        KubeError::Invalid {
            file: self.file.clone(),
            object: self.object.clone(),
            key: key.to_string(),
            reason: reason.into(),
        }
    }

    fn warn_unknown(&self, warnings: &mut Vec<String>, at: &str, unknown: &Unknown) {
        for k in unknown.keys() {
            warnings.push(format!(
                "{}: {}: {at}.{k} is not supported by play kube; ignored",
                self.file.display(),
                self.object
            ));
        }
    }

    fn pod_name(&self, name: &str) -> Result<String, KubeError> {
        if name.is_empty() || !crate::config::valid_name(name) {
            return Err(self.err(
                "metadata.name",
                format!("\"{name}\" is not a valid name (letters, digits, '_', '.', '-')"),
            ));
        }
        Ok(name.to_string())
    }

    fn pod(
        &self,
        name: &str,
        meta: &ObjectMeta,
        spec: &PodSpec,
        warnings: &mut Vec<String>,
    ) -> Result<PodPlan, KubeError> {
        self.warn_unknown(warnings, "spec", &spec.unknown);
        if spec.containers.is_empty() {
            return Err(self.err("spec.containers", "a pod needs at least one container"));
        }
        let restart = match spec.restart_policy.as_deref() {
            None | Some("Always") => RestartPolicy::Always,
            Some("OnFailure") => RestartPolicy::OnFailure { max_retries: 0 },
            Some("Never") => RestartPolicy::No,
            Some(p) => {
                return Err(self.err(
                    "spec.restartPolicy",
                    format!("\"{p}\" is not one of Always, OnFailure, Never"),
                ))
            }
        };
        let mut owned_volumes = Vec::new();
        let mut volumes = BTreeMap::new();
        for (i, v) in spec.volumes.iter().enumerate() {
            let key = format!("spec.volumes[{i}] ({})", v.name);
            self.warn_unknown(warnings, &format!("spec.volumes[{i}]"), &v.unknown);
            let source = if let Some(h) = &v.host_path {
                if !h.path.starts_with('/') {
                    return Err(self.err(&key, format!("hostPath \"{}\" is not absolute", h.path)));
                }
                let create = matches!(
                    h.kind.as_deref(),
                    Some("DirectoryOrCreate") | None | Some("")
                );
                MountSource::Bind {
                    source: PathBuf::from(&h.path),
                    propagation: Propagation::default(),
                    create,
                }
            } else if let Some(e) = &v.empty_dir {
                match e.medium.as_deref() {
                    Some("Memory") => {
                        let mut options = Vec::new();
                        if let Some(limit) = &e.size_limit {
                            let text = text_of(limit).unwrap_or_default();
                            let bytes = memory_bytes(&text).map_err(|q| {
                                self.err(&format!("{key}.emptyDir.sizeLimit"), q.to_string())
                            })?;
                            options.push(format!("size={bytes}"));
                        }
                        MountSource::Tmpfs { options }
                    }
                    None | Some("") => {
                        let vol = format!("{name}-{}", v.name);
                        owned_volumes.push(vol.clone());
                        MountSource::Volume {
                            name: vol,
                            anonymous: false,
                            nocopy: false,
                            create: Default::default(),
                        }
                    }
                    Some(m) => {
                        return Err(
                            self.err(&key, format!("emptyDir medium \"{m}\" is not supported"))
                        )
                    }
                }
            } else if let Some(c) = &v.persistent_volume_claim {
                if !crate::config::valid_volume_name(&c.claim_name) {
                    return Err(self.err(
                        &key,
                        format!("claimName \"{}\" is not a valid volume name", c.claim_name),
                    ));
                }
                MountSource::Volume {
                    name: c.claim_name.clone(),
                    anonymous: false,
                    nocopy: false,
                    create: Default::default(),
                }
            } else {
                return Err(self.err(
                    &key,
                    "only hostPath, emptyDir and persistentVolumeClaim volumes are supported",
                ));
            };
            volumes.insert(v.name.clone(), source);
        }
        let pod_sc = spec.security_context.clone().unwrap_or_default();
        self.warn_unknown(warnings, "spec.securityContext", &pod_sc.unknown);
        let mut containers = spec
            .containers
            .iter()
            .enumerate()
            .map(|(i, c)| self.container(name, i, c, &volumes, warnings))
            .collect::<Result<Vec<_>, _>>()?;
        for c in &mut containers {
            c.run_as_user = c.run_as_user.or(pod_sc.run_as_user);
            c.run_as_group = c.run_as_group.or(pod_sc.run_as_group);
        }
        let mut labels = meta.labels.clone();
        labels.insert(POD_LABEL.into(), name.to_string());
        Ok(PodPlan {
            name: name.to_string(),
            hostname: spec.hostname.clone().unwrap_or_else(|| name.to_string()),
            labels,
            restart,
            stop_timeout: spec
                .termination_grace_period_seconds
                .map(|s| StopTimeout::Seconds(s.max(0) as u64)),
            host_network: spec.host_network.unwrap_or(false),
            containers,
            owned_volumes,
        })
    }

    fn container(
        &self,
        pod: &str,
        i: usize,
        c: &Container,
        volumes: &BTreeMap<String, MountSource>,
        warnings: &mut Vec<String>,
    ) -> Result<ContainerPlan, KubeError> {
        let at = format!("spec.containers[{i}]");
        self.warn_unknown(warnings, &at, &c.unknown);
        if c.name.is_empty() || !crate::config::valid_name(&c.name) {
            return Err(self.err(
                &format!("{at}.name"),
                format!("\"{}\" is not a valid container name", c.name),
            ));
        }
        let image = match c.image.as_deref() {
            Some(img) if !img.trim().is_empty() => img.to_string(),
            _ => {
                return Err(self.err(
                    &format!("{at}.image"),
                    format!("container \"{}\" has no image", c.name),
                ))
            }
        };
        let pull = match c.image_pull_policy.as_deref() {
            None | Some("IfNotPresent") => PullPolicy::Missing,
            Some("Always") => PullPolicy::Always,
            Some("Never") => PullPolicy::Never,
            Some(p) => {
                return Err(self.err(
                    &format!("{at}.imagePullPolicy"),
                    format!("\"{p}\" is not one of Always, IfNotPresent, Never"),
                ))
            }
        };
        let mut env = Vec::new();
        for (j, e) in c.env.iter().enumerate() {
            let key = format!("{at}.env[{j}] ({})", e.name);
            if e.value_from.is_some() {
                return Err(self.err(&key, "valueFrom is not supported (kiste has no ConfigMaps, Secrets or field references); give a value"));
            }
            if e.name.is_empty() || e.name.contains('=') {
                return Err(self.err(&key, "not a valid variable name"));
            }
            env.push(format!(
                "{}={}",
                e.name,
                e.value.clone().unwrap_or_default()
            ));
        }
        let mut ports = Vec::new();
        for (j, p) in c.ports.iter().enumerate() {
            let key = format!("{at}.ports[{j}]");
            let protocol = match p.protocol.as_deref() {
                None | Some("TCP") => Protocol::Tcp,
                Some("UDP") => Protocol::Udp,
                Some(other) => {
                    return Err(self.err(
                        &key,
                        format!("protocol \"{other}\" is not supported (TCP, UDP)"),
                    ))
                }
            };
            if p.container_port == 0 {
                return Err(self.err(&key, "containerPort must be between 1 and 65535"));
            }
            let Some(host_port) = p.host_port else {
                // As in Kubernetes, a containerPort alone publishes nothing.
                continue;
            };
            let host_ip = match p.host_ip.as_deref() {
                None | Some("") => None,
                Some(ip) => Some(ip.parse().map_err(|_| {
                    self.err(
                        &format!("{key}.hostIP"),
                        format!("\"{ip}\" is not an IP address"),
                    )
                })?),
            };
            ports.push(PortMapping {
                host_ip,
                host_port,
                container_port: p.container_port,
                protocol,
            });
        }
        let mut resources = Resources::default();
        if let Some(r) = &c.resources {
            for (section, map) in [("limits", &r.limits), ("requests", &r.requests)] {
                for (k, v) in map {
                    let key = format!("{at}.resources.{section}.{k}");
                    let text = text_of(v).ok_or_else(|| self.err(&key, "expected a quantity"))?;
                    let q = |e: super::quantity::QuantityError| self.err(&key, e.to_string());
                    match (section, k.as_str()) {
                        ("limits", "memory") => {
                            resources.memory = memory_bytes(&text).map_err(q)?;
                            if resources.memory < MIN_MEMORY {
                                return Err(self.err(&key, "minimum memory limit allowed is 6MB"));
                            }
                        }
                        ("limits", "cpu") => resources.nano_cpus = nano_cpus(&text).map_err(q)?,
                        ("requests", "memory") => {
                            resources.memory_reservation = memory_bytes(&text).map_err(q)?
                        }
                        ("requests", "cpu") => {
                            let nano = nano_cpus(&text).map_err(q)?;
                            resources.cpu_shares =
                                ((nano as u128 * 1024).div_ceil(1_000_000_000) as u64).max(2);
                        }
                        _ => warnings.push(format!(
                            "{}: {}: {key} is not supported by play kube; ignored",
                            self.file.display(),
                            self.object
                        )),
                    }
                }
            }
        }
        let mut mounts = Vec::new();
        for (j, m) in c.volume_mounts.iter().enumerate() {
            let key = format!("{at}.volumeMounts[{j}] ({})", m.name);
            self.warn_unknown(warnings, &format!("{at}.volumeMounts[{j}]"), &m.unknown);
            let source = volumes.get(&m.name).ok_or_else(|| {
                self.err(
                    &key,
                    format!("no volume named \"{}\" in spec.volumes", m.name),
                )
            })?;
            if !m.mount_path.starts_with('/') {
                return Err(self.err(
                    &key,
                    format!("mountPath \"{}\" is not absolute", m.mount_path),
                ));
            }
            mounts.push(MountConfig {
                source: source.clone(),
                target: m.mount_path.clone(),
                readonly: m.read_only,
                origin: MountOrigin::Mount,
                mode: if m.read_only {
                    "ro".into()
                } else {
                    String::new()
                },
                spec: String::new(),
            });
        }
        crate::config::check_duplicates(&mounts)
            .map_err(|e| self.err(&format!("{at}.volumeMounts"), e.to_string()))?;
        let sc = c.security_context.clone().unwrap_or_default();
        self.warn_unknown(warnings, &format!("{at}.securityContext"), &sc.unknown);
        let caps = |list: &[String], which: &str| {
            list.iter()
                .map(|n| {
                    Capability::parse("capabilities", n).map_err(|e| {
                        self.err(
                            &format!("{at}.securityContext.capabilities.{which}"),
                            e.reason,
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let c_caps = sc.capabilities.clone().unwrap_or_default();
        if let Some(w) = c.working_dir.as_deref().filter(|w| !w.starts_with('/')) {
            return Err(self.err(
                &format!("{at}.workingDir"),
                format!("\"{w}\" is not an absolute path"),
            ));
        }
        Ok(ContainerPlan {
            name: format!("{pod}-{}", c.name),
            image,
            command: c.command.clone(),
            args: c.args.clone(),
            env,
            ports,
            working_dir: c.working_dir.clone(),
            resources,
            mounts,
            cap_add: caps(&c_caps.add, "add")?,
            cap_drop: caps(&c_caps.drop, "drop")?,
            privileged: sc.privileged.unwrap_or(false),
            read_only: sc.read_only_root_filesystem.unwrap_or(false),
            run_as_user: sc.run_as_user,
            run_as_group: sc.run_as_group,
            no_new_privileges: sc.allow_privilege_escalation == Some(false),
            pull,
        })
    }
}
