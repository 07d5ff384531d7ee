//! `image prune` frees what nothing refers to any more: blobs and layers of removed images
//! and of intermediate build stages (once the build cache lets go of them), and says how
//! much it freed; what images and the cache use stays.

mod support;

use std::path::Path;
use support::*;

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Make everything in the store look old enough to collect (past the grace period that
/// protects a build committing at the same moment).
fn age_store(k: &Kiste) {
    for sub in ["images/blobs/sha256", "images/layers"] {
        for e in entries(&k.root().join(sub)) {
            let st = std::process::Command::new("touch")
                .args(["-h", "-d", "2 hours ago"])
                .arg(k.root().join(sub).join(e))
                .status()
                .unwrap();
            assert!(st.success());
        }
    }
}

#[test]
fn prune_frees_intermediate_stages_once_the_cache_lets_go() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "stages",
        &[(
            "Dockerfile",
            "FROM busybox AS scratchpad\nRUN head -c 300000 /dev/urandom > /big\nFROM busybox\nRUN echo final > /f\n",
        )],
    );
    k.ok(&["build", "-q", "-t", "final", ctx.to_str().unwrap()]);
    let layers = k.root().join("images/layers");
    let before = entries(&layers);
    let kept: Vec<String> =
        serde_json::from_str::<serde_json::Value>(&k.ok(&["image", "inspect", "final"])).unwrap()
            [0]["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                l.as_str()
                    .unwrap()
                    .trim_start_matches("sha256:")
                    .to_string()
            })
            .collect();
    assert_eq!(
        before.len(),
        kept.len() + 1,
        "the scratchpad stage left one layer: {before:?}"
    );

    age_store(&k);
    let cached = k.ok(&["image", "prune", "-f"]);
    assert!(
        cached.contains("Total reclaimed space: 0B"),
        "the build cache still uses it: {cached}"
    );
    assert_eq!(entries(&layers), before);

    let pruned = k.ok(&["image", "prune", "-f", "--build-cache"]);
    assert!(!pruned.contains("Total reclaimed space: 0B"), "{pruned}");
    assert_eq!(
        entries(&layers),
        {
            let mut v = kept.clone();
            v.sort();
            v
        },
        "only the image's layers stay"
    );
    assert_eq!(k.sh("final", "cat /f"), "final\n", "the image still runs");

    k.ok(&["rmi", "final"]);
    age_store(&k);
    k.ok(&["image", "prune", "-f", "--build-cache"]);
    let busybox_layers =
        serde_json::from_str::<serde_json::Value>(&k.ok(&["image", "inspect", "busybox"])).unwrap()
            [0]["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .len();
    assert_eq!(
        entries(&layers).len(),
        busybox_layers,
        "only busybox's layers are left"
    );
}
