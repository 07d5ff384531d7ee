//! The summary beside each record (`summary.json`): what a listing and repair read of a
//! container (id, name, creation time, image, command, labels, networks, mounts and the
//! whole status), so that `ps` and the repair before every verb parse a few hundred
//! bytes per container instead of skipping each record's config.
//!
//! The summary is derived data, written unsynced after the record; the record stays the
//! durable truth. Both open with the same generation (`{"gen":N,…`), a fresh one per
//! save. A reader takes the summary only when its generation is the record's: a record
//! without a summary (an older store), a summary left from an earlier save (a crash
//! between the two writes, or a record written by an older kiste), a torn or corrupt
//! summary: each falls back to the record.

use super::files::replace_unsynced;
use super::record::{ContainerRecord, ContainerStatus};
use serde::Serialize;
use std::path::Path;

/// The summary's file name in a container's directory, and its temporary name.
pub(super) const SUMMARY: &str = "summary.json";
const SUMMARY_TMP: &str = ".summary.json.tmp";

/// The bytes a record file opens with when it carries a generation.
const GEN_KEY: &[u8] = br#"{"gen":"#;

/// How many bytes of a record are read to learn its generation.
pub(super) const GEN_PREFIX: usize = 32;

/// A new generation: the save's wall-clock nanoseconds. Saves of one record happen one
/// after another under the store's lock, so two never share one; readers only compare
/// generations for equality, so a clock that steps back does no harm.
pub(super) fn new_generation() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
}

/// The generation a record's or a summary's bytes open with (None: an older record, an
/// empty or torn file).
pub(super) fn generation_of(data: &[u8]) -> Option<u64> {
    let rest = data.strip_prefix(GEN_KEY)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || rest.get(digits) != Some(&b',') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// `record` as JSON opening with its generation: `{"gen":N,` then the record's fields
/// (readers of records ignore the key).
pub(super) fn record_bytes(generation: u64, record: &ContainerRecord) -> Vec<u8> {
    with_generation(
        generation,
        serde_json::to_vec(record).expect("records serialize"),
    )
}

fn with_generation(generation: u64, object: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(GEN_KEY);
    out.extend_from_slice(generation.to_string().as_bytes());
    out.push(b',');
    out.extend_from_slice(&object[1..]);
    out
}

/// What a summary holds, in the record's own field names, so that what parses a part of
/// a record (`listing::ListedRecord`, `store::RecordSummary`) parses a summary alike.
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

/// The summary's bytes for `record` saved with `generation`.
pub(super) fn summary_bytes(generation: u64, record: &ContainerRecord) -> Vec<u8> {
    let c = &record.config;
    let summary = Summary {
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
    };
    with_generation(
        generation,
        serde_json::to_vec(&summary).expect("summaries serialize"),
    )
}

/// Writes the summary of `record` (saved with `generation`) into its directory `dir`,
/// unsynced. A failure leaves no summary or an older one: readers then use the record.
pub(super) fn write(dir: &Path, generation: u64, record: &ContainerRecord) {
    let data = summary_bytes(generation, record);
    let _ = replace_unsynced(&dir.join(SUMMARY_TMP), &dir.join(SUMMARY), &data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_is_read_only_from_a_well_formed_opening() {
        let rec = ContainerRecord {
            id: "a".repeat(64),
            name: "web".into(),
            created: "2026-12-02T08:00:00Z".into(),
            config: super::super::ContainerConfig {
                image: "busybox".into(),
                cmd: vec!["true".into()],
                ..Default::default()
            },
            state: ContainerStatus::default(),
        };
        let data = record_bytes(12345, &rec);
        assert_eq!(generation_of(&data), Some(12345));
        assert_eq!(generation_of(&data[..GEN_PREFIX]), Some(12345));
        let back: ContainerRecord = serde_json::from_slice(&data).unwrap();
        assert_eq!(back, rec);
        assert_eq!(generation_of(&summary_bytes(7, &rec)), Some(7));
        for bad in [
            &b""[..],
            b"{\"gen\":",
            b"{\"gen\":12",
            b"{\"gen\":x,",
            b"{\"id\":1}",
        ] {
            assert_eq!(
                generation_of(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

#[cfg(test)]
mod fallback_tests {
    use super::super::{ContainerConfig, ContainerStore, Status};
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
                labels: [("k".to_string(), "v".to_string())].into(),
                ..ContainerConfig::default()
            },
            state: ContainerStatus::default(),
        }
    }

    /// The names and statuses a listing and repair's scan show.
    fn shown(store: &ContainerStore) -> (Vec<String>, Vec<Status>) {
        let (summaries, _) = store.scan_summaries().unwrap();
        let listed = store.list_shown().unwrap();
        (
            listed.into_iter().map(|r| r.name).collect(),
            summaries.into_iter().map(|s| s.state.status).collect(),
        )
    }

    #[test]
    fn a_saved_record_gets_a_summary_that_listings_read() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let lock = store.lock().unwrap();
        let rec = record('a', "web");
        store.save(&lock, &rec).unwrap();
        let dir = tmp.path().join(&rec.id);
        let summary = fs::read(dir.join(SUMMARY)).unwrap();
        let record_file = fs::read(dir.join(crate::paths::RECORD)).unwrap();
        assert_eq!(generation_of(&summary), generation_of(&record_file));
        assert!(generation_of(&summary).is_some());
        // The listing parses the summary: one that says otherwise (same generation) wins.
        let mut other = rec.clone();
        other.name = "from-summary".into();
        let generation = generation_of(&summary).unwrap();
        fs::write(dir.join(SUMMARY), summary_bytes(generation, &other)).unwrap();
        assert_eq!(shown(&store).0, ["from-summary"]);
        assert_eq!(store.load(&rec.id).unwrap(), rec);
    }

    #[test]
    fn a_stale_summary_falls_back_to_the_record() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let lock = store.lock().unwrap();
        let rec = record('b', "old-name");
        store.save(&lock, &rec).unwrap();
        let dir = tmp.path().join(&rec.id);
        let stale = fs::read(dir.join(SUMMARY)).unwrap();
        let mut next = rec.clone();
        next.name = "new-name".into();
        next.state.status = Status::Exited;
        store.save(&lock, &next).unwrap();
        // A crash between the record's write and its summary's leaves the old summary.
        fs::write(dir.join(SUMMARY), &stale).unwrap();
        assert_eq!(
            shown(&store),
            (vec!["new-name".into()], vec![Status::Exited])
        );
        // So does a record written without a generation (an older kiste's save).
        fs::write(
            dir.join(crate::paths::RECORD),
            serde_json::to_vec(&rec).unwrap(),
        )
        .unwrap();
        assert_eq!(
            shown(&store),
            (vec!["old-name".into()], vec![Status::Created])
        );
    }

    #[test]
    fn a_missing_or_corrupt_summary_is_ignored_and_the_record_used() {
        let tmp = tempfile::tempdir().unwrap();
        let store = ContainerStore::open(tmp.path()).unwrap();
        let lock = store.lock().unwrap();
        let rec = record('c', "kept");
        store.save(&lock, &rec).unwrap();
        let dir = tmp.path().join(&rec.id);
        let summary = fs::read(dir.join(SUMMARY)).unwrap();
        fs::remove_file(dir.join(SUMMARY)).unwrap();
        assert_eq!(shown(&store), (vec!["kept".into()], vec![Status::Created]));
        // Torn after its generation, empty, or not JSON at all.
        for bad in [&summary[..summary.len() / 2], b"", b"\0\0\0garbage"] {
            fs::write(dir.join(SUMMARY), bad).unwrap();
            assert_eq!(shown(&store), (vec!["kept".into()], vec![Status::Created]));
            assert_eq!(store.resolve("kept").unwrap(), rec);
        }
    }
}
