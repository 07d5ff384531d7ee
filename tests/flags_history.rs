//! `history --format` and `--human`: docker's fields (ID, CreatedSince, CreatedAt,
//! CreatedBy, Size, Comment) and layout, compared with docker's engine on the same image.

mod support;

use std::process::Command;
use support::*;

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_string).collect()
}

#[test]
fn history_format_and_human_match_docker() {
    let k = Kiste::new();
    k.busybox();
    let json = k.ok(&["history", "--format", "json", "busybox"]);
    for line in json.lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "Comment",
                "CreatedAt",
                "CreatedBy",
                "CreatedSince",
                "ID",
                "Size"
            ]
        );
    }
    // --human=false: bytes and RFC 3339 times, in the table and in the fields.
    let raw = k.ok(&["history", "--human=false", "busybox"]);
    assert!(raw.starts_with("IMAGE          CREATED AT "), "{raw}");
    let sizes = k.ok(&["history", "-H=false", "--format", "{{.Size}}", "busybox"]);
    assert!(sizes.lines().all(|s| s.parse::<u64>().is_ok()), "{sizes}");
    let human = k.ok(&["history", "--format", "{{.Size}}", "busybox"]);
    assert!(human.lines().all(|s| s.ends_with('B')), "{human}");
    let table = k.ok(&["history", "--format", "table {{.ID}}\t{{.Size}}", "busybox"]);
    assert!(table.starts_with("IMAGE "), "{table}");

    if !have("docker") {
        return skip("docker is not installed: no comparison");
    }
    support::docker::ensure_docker();
    const NAME: &str = "kiste-flags-history:1";
    k.ok(&["tag", "busybox", NAME]);
    let tar = k.dir.path().join("h.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), NAME]);
    let st = Command::new("docker")
        .args(["load", "-q", "-i", tar.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let docker = |args: &[&str]| -> String {
        let out = Command::new("docker").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Sizes are left out: docker counts a layer's file contents (a symlink as its target's
    // length), kiste the layer's uncompressed tar, headers included.
    for format in [
        "{{.ID}}|{{.Comment}}|{{.CreatedAt}}",
        "table {{.ID}}\t{{.CreatedAt}}\t{{.Comment}}",
    ] {
        let ours = k.ok(&["history", "--format", format, NAME]);
        let theirs = docker(&["history", "--format", format, NAME]);
        assert_eq!(lines(&ours), lines(&theirs), "{format}");
    }
    let ours = k.ok(&[
        "history",
        "--human=false",
        "--format",
        "{{.CreatedSince}}",
        NAME,
    ]);
    let theirs = docker(&[
        "history",
        "--human=false",
        "--format",
        "{{.CreatedSince}}",
        NAME,
    ]);
    assert_eq!(lines(&ours), lines(&theirs));
    let _ = Command::new("docker").args(["rmi", NAME]).output();
}
