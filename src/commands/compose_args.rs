//! A compose service as the typed flags of `run`/`create` (`RunArgs`): what `compose up`
//! and `compose run` hand to kiste's own container creation, never a re-parsed argv.

use crate::cli::{IsolationArgs, LifeArgs, MountArgs, NetFlags, RunArgs};
use crate::compose::{MountKind, Project, Service};
use std::collections::BTreeMap;

/// A command-line word list quoted for `sh -c` (a healthcheck's CMD form).
fn shell_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The typed `run` flags of a service's container (`command`: a one-off's own command).
pub(super) fn run_args(
    p: &Project,
    svc: &Service,
    name: Option<String>,
    labels: BTreeMap<String, String>,
    command: Option<Vec<String>>,
    rm: bool,
) -> RunArgs {
    let (entrypoint, mut cmd) = match &svc.entrypoint {
        Some(ep) => (
            Some(ep.first().cloned().unwrap_or_default()),
            ep.iter().skip(1).cloned().collect(),
        ),
        None => (None, Vec::new()),
    };
    cmd.extend(command.or_else(|| svc.command.clone()).unwrap_or_default());
    let (first_net, first) = svc
        .networks
        .iter()
        .next()
        .map(|(k, n)| (Some(p.network_name(k)), n.aliases.clone()))
        .unwrap_or((None, Vec::new()));
    let mut aliases = vec![svc.name.clone()];
    aliases.extend(first);
    let mut volume = Vec::new();
    let mut tmpfs = Vec::new();
    for m in &svc.volumes {
        let ro = if m.read_only { ":ro" } else { "" };
        match (m.kind, &m.source) {
            (MountKind::Tmpfs, _) => tmpfs.push(m.target.clone()),
            (MountKind::Volume, Some(key)) => {
                volume.push(format!("{}:{}{ro}", p.volume_name(key), m.target))
            }
            (MountKind::Bind, Some(src)) => volume.push(format!("{src}:{}{ro}", m.target)),
            (_, None) => volume.push(m.target.clone()),
        }
    }
    let h = svc.healthcheck.clone().unwrap_or_default();
    let health_cmd = match h.test.first().map(String::as_str) {
        Some("CMD-SHELL") => h.test.get(1).cloned(),
        Some("CMD") => Some(shell_join(&h.test[1..])),
        _ => None,
    };
    RunArgs {
        help: None,
        label_file: Vec::new(),
        cidfile: None,
        expose: svc.expose.clone(),
        refused: Default::default(),
        extra: Default::default(),
        volume_driver: Default::default(),
        api_socket: Default::default(),
        detach: true,
        name,
        publish: svc.ports.iter().map(|p| p.publish_flag()).collect(),
        env: svc
            .environment
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect(),
        env_file: Vec::new(),
        workdir: svc.working_dir.clone(),
        user: svc.user.clone(),
        hostname: svc.hostname.clone(),
        add_host: Vec::new(),
        dns: Vec::new(),
        entrypoint,
        rm,
        quiet: false,
        replace: false,
        interactive: false,
        tty: false,
        attach: Vec::new(),
        detach_keys: None,
        log_driver: None,
        log_opt: Vec::new(),
        labels: labels
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        stop_signal: None,
        stop_timeout: None,
        net: NetFlags {
            network_alias: aliases,
            ..NetFlags::default()
        },
        isolation: IsolationArgs {
            network: first_net,
            read_only: svc.read_only,
            cap_add: svc.cap_add.clone(),
            cap_drop: svc.cap_drop.clone(),
            limits: crate::cli::LimitFlags {
                common: crate::cli::CommonLimitFlags {
                    memory: svc.mem_limit.clone(),
                    ..Default::default()
                },
                cpus: svc.cpus.clone(),
                pids_limit: svc.pids_limit.map(|n| n.to_string()),
                ..Default::default()
            },
            ..IsolationArgs::default()
        },
        mounts: MountArgs {
            volume,
            tmpfs,
            ..MountArgs::default()
        },
        life: LifeArgs {
            restart: if rm { None } else { svc.restart.clone() },
            init: svc.init.unwrap_or(false),
            health_cmd,
            health_interval: h.interval.clone(),
            health_retries: h.retries,
            health_start_period: h.start_period.clone(),
            health_timeout: h.timeout.clone(),
            no_healthcheck: h.disable,
            ..LifeArgs::default()
        },
        pull: crate::registry::PullPolicy::Missing,
        platform: None,
        image: svc.image_name(&p.name),
        command: cmd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{HealthSpec, ServiceMount, ServiceNetwork, VolumeSpec};

    #[test]
    fn a_service_becomes_typed_run_flags() {
        let mut p = Project {
            name: "proj".into(),
            ..Project::default()
        };
        p.volumes.insert("data".into(), VolumeSpec::default());
        let mut svc = Service {
            name: "web".into(),
            image: Some("busybox".into()),
            entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
            command: Some(vec!["echo hi".into()]),
            volumes: vec![
                ServiceMount {
                    kind: MountKind::Volume,
                    source: Some("data".into()),
                    target: "/data".into(),
                    read_only: true,
                },
                ServiceMount {
                    kind: MountKind::Tmpfs,
                    source: None,
                    target: "/tmp".into(),
                    read_only: false,
                },
            ],
            healthcheck: Some(HealthSpec {
                test: vec!["CMD".into(), "cat".into(), "/a b".into()],
                retries: Some(3),
                ..HealthSpec::default()
            }),
            mem_limit: Some("64m".into()),
            ..Service::default()
        };
        svc.networks.insert(
            "default".into(),
            ServiceNetwork {
                aliases: vec!["www".into()],
            },
        );
        let a = run_args(
            &p,
            &svc,
            Some("proj-web-1".into()),
            BTreeMap::new(),
            None,
            false,
        );
        assert_eq!(a.entrypoint.as_deref(), Some("/bin/sh"));
        assert_eq!(a.command, ["-c", "echo hi"]);
        assert_eq!(a.mounts.volume, ["proj_data:/data:ro"]);
        assert_eq!(a.mounts.tmpfs, ["/tmp"]);
        assert_eq!(a.isolation.network.as_deref(), Some("proj_default"));
        assert_eq!(a.net.network_alias, ["web", "www"]);
        assert_eq!(a.life.health_cmd.as_deref(), Some("cat '/a b'"));
        assert_eq!(a.life.health_retries, Some(3));
        assert_eq!(a.isolation.limits.common.memory.as_deref(), Some("64m"));
        // A one-off's own command replaces the service's, after the entrypoint's words.
        let one = run_args(
            &p,
            &svc,
            None,
            BTreeMap::new(),
            Some(vec!["date".into()]),
            true,
        );
        assert_eq!(one.command, ["-c", "date"]);
        assert!(one.rm && one.life.restart.is_none());
    }
}
