//! The summary a record opens with (`{"summary":{…},"id":…}`): what a listing and
//! repair read of a container (id, name, creation time, image, command, labels,
//! networks, mounts and the whole status), so that `ps` and the repair before every verb
//! parse a few hundred bytes per container and stop, instead of tokenizing each whole
//! record to skip its config.
//!
//! The summary lives inside the record file rather than beside it: it is written by the
//! same atomic replace, so it can never be older than the record, and a listing opens
//! one file per container, not two (a separate `summary.json` with a generation check
//! cost three more system calls per container, as much as the parsing it saved). A
//! record without one (written by an older kiste, or an `--rm` container's) or with a
//! damaged one is parsed whole; readers of whole records ignore the key.

use super::record::{ContainerRecord, ContainerStatus};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The bytes a record file opens with when it carries a summary.
const SUMMARY_KEY: &[u8] = br#"{"summary":"#;

/// `record` as JSON opening with its summary, then the record's own fields.
pub(super) fn record_bytes(record: &ContainerRecord) -> Vec<u8> {
    opening_with(&summary_of(record), record)
}

/// `record`'s JSON with `summary` as its first key.
fn opening_with(summary: &Summary<'_>, record: &ContainerRecord) -> Vec<u8> {
    let whole = serde_json::to_vec(record).expect("records serialize");
    let mut out = Vec::with_capacity(whole.len() + 1024);
    out.extend_from_slice(SUMMARY_KEY);
    serde_json::to_writer(&mut out, summary).expect("summaries serialize");
    out.push(b',');
    out.extend_from_slice(&whole[1..]);
    out
}

/// `T` (a part of a record: `listing::ListedRecord`, `store::RecordSummary`, …) parsed
/// from the summary a record file's bytes open with: only the summary is parsed, the
/// rest of the file is not looked at. None: no summary, or one that does not parse.
pub(super) fn parse_summary<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    let rest = data.strip_prefix(SUMMARY_KEY)?;
    serde_json::Deserializer::from_slice(rest)
        .into_iter::<T>()
        .next()?
        .ok()
}

/// The summary the summary index (`index`) keeps for a record file's bytes: the summary
/// the file opens with when it parses as a listing's part of a record, else the summary
/// of the whole record (an older record, an `--rm` one, a damaged summary). None: the
/// record does not parse.
pub(super) fn summary_for_index(data: &[u8]) -> Option<Vec<u8>> {
    use super::listing::ListedRecord;
    if let Some(rest) = data.strip_prefix(SUMMARY_KEY) {
        let mut it = serde_json::Deserializer::from_slice(rest).into_iter::<ListedRecord>();
        if let Some(Ok(_)) = it.next() {
            return Some(rest[..it.byte_offset()].to_vec());
        }
    }
    let whole: ContainerRecord = serde_json::from_slice::<ListedRecord>(data).ok()?.into();
    Some(serde_json::to_vec(&summary_of(&whole)).expect("summaries serialize"))
}

/// What a summary holds, in the record's own field names, so that what parses a part of
/// a record (`listing::ListedRecord`, `store::RecordSummary`) parses its summary alike.
#[derive(Serialize)]
struct Summary<'a> {
    id: &'a str,
    name: &'a str,
    created: &'a str,
    config: SummaryConfig<'a>,
    state: &'a ContainerStatus,
}

#[derive(Serialize)]
struct SummaryConfig<'a> {
    image: &'a str,
    image_id: &'a str,
    entrypoint: &'a [String],
    cmd: &'a [String],
    labels: &'a std::collections::BTreeMap<String, String>,
    host: SummaryHost<'a>,
}

#[derive(Serialize)]
struct SummaryHost<'a> {
    network: &'a crate::config::NetworkMode,
    endpoints: &'a [crate::config::Endpoint],
    mounts: &'a [crate::config::MountConfig],
}

fn summary_of(record: &ContainerRecord) -> Summary<'_> {
    let c = &record.config;
    Summary {
        id: &record.id,
        name: &record.name,
        created: &record.created,
        config: SummaryConfig {
            image: &c.image,
            image_id: &c.image_id,
            entrypoint: &c.entrypoint,
            cmd: &c.cmd,
            labels: &c.labels,
            host: SummaryHost {
                network: &c.host.network,
                endpoints: &c.host.endpoints,
                mounts: &c.host.mounts,
            },
        },
        state: &record.state,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ContainerConfig, ContainerStore, RecordSummary, Status};
    use super::*;
    use std::fs;

    fn record(id_byte: char, name: &str) -> ContainerRecord {
        ContainerRecord {
            id: id_byte.to_string().repeat(64),
            name: name.into(),
            created: "2026-12-02T08:00:00Z".into(),
            config: ContainerConfig {
                image: "busybox".into(),
                cmd: vec!["sleep".into(), "1".into()],
                env: vec!["PATH=/bin".into()],
                labels: [("k".to_string(), "v".to_string())].into(),
                ..ContainerConfig::default()
            },
            state: ContainerStatus::default(),
        }
    }

    /// The names and statuses a listing and repair's scan show.
    fn shown(store: &ContainerStore) -> (Vec<String>, Vec<Status>) {
        let _scanning = super::super::store::SCANNING_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (summaries, _) = store.scan_summaries().unwrap();
        let listed = store.list_shown().unwrap();
        (
            listed.into_iter().map(|r| r.name).collect(),
            summaries.into_iter().map(|s| s.state.status).collect(),
        )
    }

    #[test]
    fn a_record_opens_with_its_summary_and_loads_whole_alike() {
        let rec = record('a', "web");
        let data = record_bytes(&rec);
        assert!(data.starts_with(SUMMARY_KEY));
        let back: ContainerRecord = serde_json::from_slice(&data).unwrap();
        assert_eq!(back, rec);
        let part: RecordSummary = parse_summary(&data).unwrap();
        assert_eq!(
            (part.id.as_str(), part.state.status),
            (rec.id.as_str(), Status::Created)
        );
        let listed: ContainerRecord = parse_summary::<super::super::listing::ListedRecord>(&data)
            .unwrap()
            .into();
        assert_eq!((listed.name.as_str(), listed.args()), ("web", rec.args()));
        assert_eq!(listed.config.labels, rec.config.labels);
        // Only the summary is parsed: what follows it is not looked at.
        let mut cut = data.clone();
        cut.truncate(data.len() - 10);
        assert!(parse_summary::<RecordSummary>(&cut).is_some());
        assert!(serde_json::from_slice::<ContainerRecord>(&cut).is_err());
    }

    #[test]
    fn listings_and_repair_read_the_summary_a_saved_record_opens_with() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let lock = store.lock().unwrap();
        let rec = record('b', "web");
        store.save(&lock, &rec).unwrap();
        let path = tmp.path().join(&rec.id).join(crate::paths::RECORD);
        assert!(fs::read(&path).unwrap().starts_with(SUMMARY_KEY));
        assert_eq!(shown(&store), (vec!["web".into()], vec![Status::Created]));
        // A summary that says otherwise is what a listing shows (it parses nothing else).
        let mut other = rec.clone();
        other.name = "from-summary".into();
        other.state.status = Status::Exited;
        fs::write(&path, opening_with(&summary_of(&other), &rec)).unwrap();
        assert_eq!(
            shown(&store),
            (vec!["from-summary".into()], vec![Status::Exited])
        );
        assert_eq!(store.load(&rec.id).unwrap(), rec);
    }

    #[test]
    fn a_record_without_a_summary_or_with_a_damaged_one_is_read_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let lock = store.lock().unwrap();
        let rec = record('c', "kept");
        store.save(&lock, &rec).unwrap();
        let path = tmp.path().join(&rec.id).join(crate::paths::RECORD);
        // Written by an older kiste: compact or pretty, no summary.
        for old in [
            serde_json::to_vec(&rec).unwrap(),
            serde_json::to_vec_pretty(&rec).unwrap(),
        ] {
            fs::write(&path, old).unwrap();
            assert_eq!(shown(&store), (vec!["kept".into()], vec![Status::Created]));
        }
        // A summary of the wrong shape, or one missing a field, is ignored.
        let whole = serde_json::to_vec(&rec).unwrap();
        for bad in [&b"{\"summary\":7,"[..], b"{\"summary\":{\"id\":\"x\"},"] {
            let mut data = bad.to_vec();
            data.extend(&whole[1..]);
            fs::write(&path, &data).unwrap();
            assert_eq!(shown(&store), (vec!["kept".into()], vec![Status::Created]));
            assert_eq!(store.resolve("kept").unwrap(), rec);
        }
    }
}
