//! Tests of `store`: the record store, its lock, staging and listings.

use super::*;
use crate::state::{ContainerConfig, ContainerStatus};

fn record(id_byte: char, name: &str, created: &str) -> ContainerRecord {
    ContainerRecord {
        id: id_byte.to_string().repeat(64),
        name: name.into(),
        created: created.into(),
        config: ContainerConfig {
            image: "busybox".into(),
            cmd: vec!["true".into()],
            ..ContainerConfig::default()
        },
        state: ContainerStatus::default(),
    }
}

#[test]
fn a_staged_update_changes_the_record_only_when_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ContainerStore::open(tmp.path()).unwrap();
    let rec = record('c', "web", "2026-12-03T08:00:00Z");
    store.save(&store.lock().unwrap(), &rec).unwrap();
    let temp = tmp.path().join(&rec.id).join(RECORD_TMP);
    let staged = store
        .stage_update(&rec.id, |r| r.state.status = Status::Running)
        .unwrap();
    assert!(temp.exists(), "the new record waits in its temp file");
    assert_eq!(store.load(&rec.id).unwrap().state.status, Status::Created);
    assert_eq!(staged.record().state.status, Status::Running);
    drop(staged);
    assert!(!temp.exists(), "a dropped stage leaves no temp file");
    assert_eq!(store.load(&rec.id).unwrap().state.status, Status::Created);
    let staged = store
        .stage_update(&rec.id, |r| r.state.status = Status::Running)
        .unwrap();
    assert_eq!(staged.commit().unwrap().state.status, Status::Running);
    assert_eq!(store.load(&rec.id).unwrap().state.status, Status::Running);
    assert!(!temp.exists());
    // The lock went with the commit.
    drop(store.lock().unwrap());
}

#[test]
fn an_rm_containers_staged_update_is_exchanged_into_place_and_leaves_no_temp() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ContainerStore::open(tmp.path()).unwrap();
    let mut rec = record('d', "rm", "2026-12-03T08:00:00Z");
    rec.config.host.auto_remove = true;
    store.save(&store.lock().unwrap(), &rec).unwrap();
    let temp = tmp.path().join(&rec.id).join(RECORD_TMP);
    let staged = store
        .stage_update(&rec.id, |r| r.state.status = Status::Running)
        .unwrap();
    use std::os::unix::fs::MetadataExt;
    let new_inode = fs::metadata(&temp).unwrap().ino();
    assert_eq!(staged.commit().unwrap().state.status, Status::Running);
    assert_eq!(store.load(&rec.id).unwrap().state.status, Status::Running);
    assert_eq!(
        fs::metadata(store.record_path(&rec.id)).unwrap().ino(),
        new_inode,
        "the staged file is the record now"
    );
    assert!(
        !temp.exists(),
        "the previous record does not stay under the temp name"
    );
    // With no record in place there is nothing to exchange with: a plain rename.
    let staged = store
        .stage_update(&rec.id, |r| r.state.status = Status::Exited)
        .unwrap();
    fs::remove_file(store.record_path(&rec.id)).unwrap();
    assert_eq!(staged.commit().unwrap().state.status, Status::Exited);
    assert_eq!(store.load(&rec.id).unwrap().state.status, Status::Exited);
    assert!(!temp.exists());
}

#[test]
fn records_are_saved_compact_and_pretty_old_ones_still_load() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ContainerStore::open(tmp.path()).unwrap();
    let lock = store.lock().unwrap();
    let rec = record('a', "one", "2026-12-02T08:00:00Z");
    store.save(&lock, &rec).unwrap();
    let saved = fs::read_to_string(store.record_path(&rec.id)).unwrap();
    assert!(!saved.contains('\n'), "{saved}");
    let old = record('b', "two", "2026-12-02T07:00:00Z");
    fs::create_dir(tmp.path().join(&old.id)).unwrap();
    let pretty = serde_json::to_vec_pretty(&old).unwrap();
    fs::write(store.record_path(&old.id), pretty).unwrap();
    assert_eq!(store.load(&old.id).unwrap(), old);
    assert_eq!(store.list().unwrap(), vec![old, rec]);
}

#[test]
fn the_listing_after_a_scan_is_the_files_the_scan_read_once() {
    let _scanning = SCANNING_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let store = ContainerStore::open(tmp.path()).unwrap();
    let lock = store.lock().unwrap();
    let first = record('c', "first", "2026-12-02T08:00:00Z");
    store.save(&lock, &first).unwrap();
    let (summaries, orphans) = store.scan_summaries().unwrap();
    assert_eq!((summaries.len(), orphans.len()), (1, 0));
    // Changed behind this process's back: the listing right after the scan is what
    // the scan read; the next one reads the files again.
    let mut changed = first.clone();
    changed.name = "renamed".into();
    fs::write(
        store.record_path(&first.id),
        serde_json::to_vec(&changed).unwrap(),
    )
    .unwrap();
    let names = |l: Vec<ContainerRecord>| l.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(names(store.list_shown().unwrap()), ["first"]);
    assert_eq!(names(store.list_shown().unwrap()), ["renamed"]);
    // A save by this process drops what the scan read.
    store.scan_summaries().unwrap();
    let second = record('d', "second", "2026-12-02T09:00:00Z");
    store.save(&lock, &second).unwrap();
    assert_eq!(names(store.list_shown().unwrap()), ["renamed", "second"]);
    assert_eq!(store.resolve("renamed").unwrap(), changed);
}

#[test]
fn an_rm_record_saves_and_an_empty_record_is_an_interrupted_create() {
    let _scanning = SCANNING_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let store = ContainerStore::open(tmp.path()).unwrap();
    let lock = store.lock().unwrap();
    let mut rm = record('7', "gone-soon", "2026-12-02T08:00:00Z");
    rm.config.host.auto_remove = true;
    store.save(&lock, &rm).unwrap();
    assert_eq!(store.load(&rm.id).unwrap(), rm);
    // What a crash can leave of an unsynced record: an empty file.
    let crashed = "8".repeat(64);
    fs::create_dir(tmp.path().join(&crashed)).unwrap();
    fs::write(store.record_path(&crashed), "").unwrap();
    assert!(matches!(store.load(&crashed), Err(StateError::NotFound(_))));
    let (records, orphans) = store.scan_summaries().unwrap();
    assert_eq!((records.len(), orphans), (1, vec![crashed.clone()]));
    store.remove_orphan(&lock, &crashed).unwrap();
    assert!(!tmp.path().join(&crashed).exists());
    assert_eq!(store.list().unwrap(), vec![rm]);
}

#[test]
fn a_new_name_is_checked_against_every_record() {
    let tmp = tempfile::tempdir().unwrap();
    let store = ContainerStore::open(tmp.path()).unwrap();
    let lock = store.lock().unwrap();
    store
        .create(&lock, &mut record('e', "taken", "2026-12-02T08:00:00Z"))
        .unwrap();
    let e = store
        .create(&lock, &mut record('f', "taken", "2026-12-02T08:00:01Z"))
        .unwrap_err();
    assert!(matches!(e, StateError::NameInUse { ref id, .. } if id == &"e".repeat(64)));
    let mut unnamed = record('0', "", "2026-12-02T08:00:02Z");
    store.create(&lock, &mut unnamed).unwrap();
    assert!(!unnamed.name.is_empty() && unnamed.name != "taken");
}
