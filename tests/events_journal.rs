//! The events journal under load: lines of concurrent writers never interleave, and a
//! `kiste events` follower keeps every event, in order, across the journal's rotations.

mod support;

use kiste::events::{append, Event, Journal, ROTATE_AT};
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};
use support::Kiste;

/// An event about 1 KiB long, naming its writer and number.
fn big_event(writer: usize, n: usize) -> Event {
    Event::volume("create", &format!("w{writer}-{n}"), "local").with("pad", "x".repeat(1000))
}

#[test]
fn concurrent_writers_lines_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal {
        dir: dir.path().join("events"),
        // No rotation: every line stays in one file to check.
        rotate_at: u64::MAX,
    };
    let per_writer = 2000;
    std::thread::scope(|s| {
        for w in 0..2 {
            let j = &journal;
            s.spawn(move || {
                for n in 0..per_writer {
                    append(j, &big_event(w, n)).unwrap();
                }
            });
        }
    });
    let text = std::fs::read_to_string(journal.current()).unwrap();
    let mut next = [0usize; 2];
    for line in text.lines() {
        let e: Event = serde_json::from_str(line).unwrap_or_else(|e| panic!("torn line: {e}"));
        let (w, n) = e.actor.id[1..].split_once('-').unwrap();
        let (w, n): (usize, usize) = (w.parse().unwrap(), n.parse().unwrap());
        assert_eq!(n, next[w], "writer {w}'s lines are in its order");
        next[w] += 1;
    }
    assert_eq!(next, [per_writer, per_writer]);
}

#[test]
fn follower_keeps_every_event_across_rotations() {
    let k = Kiste::new();
    let journal = Journal {
        dir: k.runroot().join("events"),
        rotate_at: ROTATE_AT,
    };
    let mut child = k
        .cmd(&["events", "--format", "{{.Actor.ID}}"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    // Wait until the follower watches: it shows a marker written after it started.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        append(&journal, &Event::volume("create", "marker", "local")).unwrap();
        if lines.recv_timeout(Duration::from_millis(200)).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the follower never started");
    }
    while lines.recv_timeout(Duration::from_millis(100)).is_ok() {}
    // Batches of a bit more than one generation each: every batch crosses a rotation.
    let per_batch = (ROTATE_AT / 1000) as usize + 200;
    let mut rotations = 0;
    for b in 0..4 {
        let before = std::fs::metadata(journal.current()).unwrap();
        for n in 0..per_batch {
            append(&journal, &big_event(b, n)).unwrap();
        }
        use std::os::unix::fs::MetadataExt;
        if std::fs::metadata(journal.current()).unwrap().ino() != before.ino() {
            rotations += 1;
        }
        for n in 0..per_batch {
            let got = lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("batch {b}: event {n} never shown"));
            assert_eq!(got, format!("w{b}-{n}"));
        }
    }
    assert!(rotations >= 3, "the journal rotated {rotations} times");
    assert!(journal.previous().exists());
    let _ = child.kill();
    let _ = child.wait();
}
