//! The store's summary index ($root/containers/summaries, see src/state/index.rs) is a
//! cache: `ps` shows the records as they are whether the index is current, missing,
//! damaged or being rewritten while monitors and other commands save records.
//! The index only answers for a record whose file has not changed for two seconds, so
//! the tests wait that long where they mean the index to answer.

mod support;

use std::path::PathBuf;
use std::time::Duration;
use support::*;

/// Long enough for every record written before it to be answered from the index.
const SETTLE: Duration = Duration::from_millis(2100);

fn index(k: &Kiste) -> PathBuf {
    k.root().join("containers").join("summaries")
}

/// `ps -a` as names and statuses, sorted (one line per container).
fn rows(k: &Kiste) -> Vec<String> {
    let out = k.ok(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}} {{.State}} {{.Label \"n\"}}",
    ]);
    let mut rows: Vec<String> = out.lines().map(str::to_string).collect();
    rows.sort();
    rows
}

fn create(k: &Kiste, name: &str) -> String {
    let label = format!("n={name}");
    k.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        name,
        "-l",
        &label,
        "busybox",
        "true",
    ])
    .trim()
    .to_string()
}

fn record(k: &Kiste, id: &str) -> PathBuf {
    k.root().join("containers").join(id).join("container.json")
}

#[test]
fn the_index_is_rebuilt_when_deleted_or_damaged_and_ps_shows_the_same() {
    let k = Kiste::new();
    k.busybox();
    for name in ["one", "two", "three"] {
        create(&k, name);
    }
    std::thread::sleep(SETTLE);
    let expected = rows(&k);
    assert_eq!(
        expected,
        ["one created one", "three created three", "two created two"]
    );
    let built = std::fs::read(index(&k)).unwrap();
    assert!(built.starts_with(b"kiste-summary-1\n"), "{built:?}");
    // Answered from the index now; the same rows.
    assert_eq!(rows(&k), expected);

    std::fs::remove_file(index(&k)).unwrap();
    assert_eq!(rows(&k), expected);
    assert_rebuilt(&k, &built);

    // Damage of every kind: a flipped byte inside an entry, a cut, another format,
    // nothing at all, a directory in its place.
    let mut flipped = built.clone();
    let at = built.len() / 2;
    flipped[at] ^= 0x20;
    let damaged: [&[u8]; 4] = [
        &flipped,
        &built[..built.len() - 5],
        b"{\"summary\":{}}",
        b"",
    ];
    for bad in damaged {
        std::fs::write(index(&k), bad).unwrap();
        assert_eq!(rows(&k), expected);
        assert_rebuilt(&k, &built);
    }
    std::fs::remove_file(index(&k)).unwrap();
    std::fs::create_dir(index(&k)).unwrap();
    assert_eq!(rows(&k), expected);
    std::fs::remove_dir(index(&k)).unwrap();
    assert_eq!(rows(&k), expected);
}

/// The index holds an entry for each container again (the times noted in it differ).
fn assert_rebuilt(k: &Kiste, built: &[u8]) {
    let now = std::fs::read(index(k)).unwrap();
    assert!(now.starts_with(b"kiste-summary-1\n"));
    assert_eq!(now.len(), built.len());
}

#[test]
fn a_record_changed_behind_the_index_shows_its_new_state() {
    let k = Kiste::new();
    k.busybox();
    let id = create(&k, "alpha");
    create(&k, "other");
    std::thread::sleep(SETTLE);
    assert_eq!(rows(&k), ["alpha created alpha", "other created other"]);
    // Rewritten in place (same inode, same size) by something that is not kiste: the
    // summary and the record say "gamma" now.
    let path = record(&k, &id);
    let old = std::fs::read_to_string(&path).unwrap();
    let new = old.replace("\"name\":\"alpha\"", "\"name\":\"gamma\"");
    assert_ne!(old, new);
    std::fs::write(&path, &new).unwrap();
    assert_eq!(rows(&k), ["gamma created alpha", "other created other"]);
    std::thread::sleep(SETTLE);
    assert_eq!(rows(&k), ["gamma created alpha", "other created other"]);
    assert_eq!(rows(&k), ["gamma created alpha", "other created other"]);

    // kiste's own saves: a rename, and a start whose monitor records the exit.
    k.ok(&["rename", "gamma", "delta"]);
    assert_eq!(rows(&k), ["delta created alpha", "other created other"]);
    k.ok(&["start", "-a", "other"]);
    assert_eq!(rows(&k), ["delta created alpha", "other exited other"]);
    std::thread::sleep(SETTLE);
    assert_eq!(rows(&k), ["delta created alpha", "other exited other"]);
}

#[test]
fn rm_removes_the_row_and_its_entry() {
    let k = Kiste::new();
    k.busybox();
    let gone = create(&k, "gone");
    create(&k, "kept");
    std::thread::sleep(SETTLE);
    assert_eq!(rows(&k), ["gone created gone", "kept created kept"]);
    assert!(contains(
        &std::fs::read(index(&k)).unwrap(),
        gone.as_bytes()
    ));
    k.ok(&["rm", "gone"]);
    assert_eq!(rows(&k), ["kept created kept"]);
    assert!(!contains(
        &std::fs::read(index(&k)).unwrap(),
        gone.as_bytes()
    ));
    // A record removed behind kiste's back (its directory stays: an interrupted create,
    // which the next command's repair removes) is no row either.
    let kept = k.ok(&["ps", "-aq", "--no-trunc"]).trim().to_string();
    std::fs::remove_file(record(&k, &kept)).unwrap();
    assert_eq!(rows(&k), Vec::<String>::new());
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn saves_while_ps_lists_never_show_a_wrong_row() {
    let k = Kiste::new();
    k.busybox();
    let ids: Vec<String> = (0..6).map(|i| create(&k, &format!("c{i}"))).collect();
    std::thread::sleep(SETTLE);
    rows(&k);
    // Monitors record starts and exits, and renames save, while `ps` lists (and
    // rewrites the index it finds out of date).
    std::thread::scope(|s| {
        let k = &k;
        s.spawn(move || {
            for round in 0..4 {
                for i in 0..6 {
                    let (from, to) = if round % 2 == 0 {
                        (format!("c{i}"), format!("r{i}"))
                    } else {
                        (format!("r{i}"), format!("c{i}"))
                    };
                    k.ok(&["rename", &from, &to]);
                }
            }
        });
        let ids = &ids;
        s.spawn(move || {
            for id in ids {
                k.ok(&["start", id]);
            }
        });
        for _ in 0..15 {
            for row in rows(k) {
                let mut f = row.split(' ');
                let (name, state, label) = (f.next(), f.next(), f.next());
                let (name, label) = (name.unwrap(), label.unwrap());
                // The name is the label's or its renamed twin; the state one of a start's.
                assert!(
                    name == label || name == label.replacen('c', "r", 1),
                    "{row}"
                );
                assert!(
                    matches!(state, Some("created" | "running" | "exited")),
                    "{row}"
                );
            }
        }
    });
    for i in 0..6 {
        k.wait_exited(&format!("c{i}"), Duration::from_secs(20));
    }
    let expected: Vec<String> = (0..6).map(|i| format!("c{i} exited c{i}")).collect();
    assert_eq!(rows(&k), expected);
    std::thread::sleep(SETTLE);
    assert_eq!(rows(&k), expected);
    assert_eq!(rows(&k), expected);
}
