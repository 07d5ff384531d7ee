//! What a listing (`ps`) reads of each record: the id, name and creation time, the few
//! config fields a row or a filter shows (image, command, labels, networks, mounts) and
//! the whole status. The rest of the config (environment, limits, security settings,
//! the command line that created it, …) is skipped by the parser, not built and freed:
//! with a thousand records that is most of the work of a listing. The result is a
//! `ContainerRecord` whose other config fields hold their defaults, so it must only be
//! used to show and filter, never saved or started. A record saved by this kiste opens
//! with a summary of exactly these fields (see `summary`), and only that is parsed.

use super::record::{ContainerConfig, ContainerRecord, ContainerStatus, HostConfig};
use serde::Deserialize;

/// A record as a listing reads it (see the module's note).
#[derive(Deserialize)]
pub(super) struct ListedRecord {
    id: String,
    name: String,
    created: String,
    config: ListedConfig,
    state: ContainerStatus,
}

#[derive(Deserialize)]
struct ListedConfig {
    image: String,
    image_id: String,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    host: ListedHost,
}

#[derive(Deserialize, Default)]
struct ListedHost {
    network: crate::config::NetworkMode,
    #[serde(default)]
    endpoints: Vec<crate::config::Endpoint>,
    #[serde(default)]
    mounts: Vec<crate::config::MountConfig>,
}

impl From<ListedRecord> for ContainerRecord {
    fn from(r: ListedRecord) -> ContainerRecord {
        let c = r.config;
        ContainerRecord {
            id: r.id,
            name: r.name,
            created: r.created,
            config: ContainerConfig {
                image: c.image,
                image_id: c.image_id,
                entrypoint: c.entrypoint,
                cmd: c.cmd,
                labels: c.labels,
                host: HostConfig {
                    network: c.host.network,
                    endpoints: c.host.endpoints,
                    mounts: c.host.mounts,
                    ..HostConfig::default()
                },
                ..ContainerConfig::default()
            },
            state: r.state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MountConfig, NetworkMode};

    #[test]
    fn a_listed_record_keeps_what_a_listing_shows() {
        let mut full = ContainerRecord {
            id: "a".repeat(64),
            name: "web".into(),
            created: "2026-12-02T08:00:00Z".into(),
            config: ContainerConfig {
                image: "busybox".into(),
                image_id: "sha256:0123".into(),
                entrypoint: vec!["/bin/sh".into()],
                cmd: vec!["-c".into(), "true".into()],
                env: vec!["PATH=/bin".into()],
                labels: [("a".to_string(), "b".to_string())].into(),
                ..ContainerConfig::default()
            },
            state: ContainerStatus {
                exit_code: 3,
                finished_at: Some("2026-12-02T08:00:01Z".into()),
                ..ContainerStatus::default()
            },
        };
        full.config.host.network = NetworkMode::Host;
        full.config.host.read_only = true;
        full.config.host.mounts = vec![serde_json::from_str::<MountConfig>(
            r#"{"type": "volume", "name": "data", "target": "/data", "readonly": false}"#,
        )
        .unwrap()];
        let data = serde_json::to_vec(&full).unwrap();
        let listed: ContainerRecord = serde_json::from_slice::<ListedRecord>(&data)
            .unwrap()
            .into();
        assert_eq!(listed.id, full.id);
        assert_eq!(
            (listed.name.as_str(), listed.created.as_str()),
            ("web", full.created.as_str())
        );
        assert_eq!(listed.state, full.state);
        assert_eq!(listed.args(), full.args());
        assert_eq!(listed.config.labels, full.config.labels);
        assert_eq!(listed.config.image_id, full.config.image_id);
        assert_eq!(listed.config.host.network, NetworkMode::Host);
        assert_eq!(listed.config.host.mounts, full.config.host.mounts);
        // What a listing does not show is not read.
        assert!(listed.config.env.is_empty() && !listed.config.host.read_only);
    }
}
