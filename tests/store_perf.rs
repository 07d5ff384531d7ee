//! Timings for the hot paths (run with `cargo test --release --test store_perf -- --ignored --nocapture`).
//! Ignored by default: they measure, they do not assert on a loaded CI machine.

mod support;

use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};
use support::store::*;

fn busybox_dir(dir: &std::path::Path) {
    fs::create_dir_all(dir.join("bin")).unwrap();
    fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    for applet in ["sh", "ls", "cat", "echo", "true", "sleep", "env", "ps"] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
#[ignore]
fn perf_create_layer_busybox_and_small_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let mut big = Vec::new();
    let mut small = Vec::new();
    for i in 0..9 {
        let dir = tmp.path().join(format!("bb{i}"));
        busybox_dir(&dir);
        fs::write(dir.join("marker"), i.to_string()).unwrap(); // a new layer each time
        let t = Instant::now();
        store.create_layer(&dir, None).unwrap();
        big.push(t.elapsed());

        // FROM <base> + COPY of a small dir: one layer + one commit.
        let dir = tmp.path().join(format!("small{i}"));
        populate(&dir, &i.to_string());
        let t = Instant::now();
        let layer = store.create_layer(&dir, None).unwrap();
        let layers = [layer];
        let config = config_for(&layers, "2026-01-01T00:00:00Z", "copy");
        store
            .commit_image(&config, &layers, &[reference("small")])
            .unwrap();
        small.push(t.elapsed());
    }
    println!("create_layer(busybox 2 MB dir): median {:?}", median(big));
    println!(
        "create_layer(small dir) + commit_image: median {:?}",
        median(small)
    );
}

#[test]
#[ignore]
fn perf_resolve_and_layer_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    for i in 0..20 {
        let layers: Vec<_> = (0..5)
            .map(|j| make_layer(&store, tmp.path(), &format!("{i}-{j}")))
            .collect();
        store
            .commit_image(
                &config_for(&layers, "2026-01-01T00:00:00Z", "x"),
                &layers,
                &[reference(&format!("img{i}"))],
            )
            .unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let store = kiste::image::ImageStore::open(&tmp.path().join("images")).unwrap();
        let image = store.resolve("img7").unwrap();
        let dirs = store.layer_dirs(&image).unwrap();
        times.push(t.elapsed());
        assert_eq!(dirs.len(), 5);
    }
    println!(
        "open + resolve + layer_dirs (20 images, 5 layers): median {:?}",
        median(times)
    );
}

#[test]
#[ignore]
fn perf_gzip_levels_on_busybox() {
    let data = fs::read("/bin/busybox").unwrap();
    for level in [1, 2, 3, 4, 6] {
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let mut enc =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            enc.write_all(&data).unwrap();
            size = enc.finish().unwrap().len();
            times.push(t.elapsed());
        }
        println!(
            "gzip level {level}: {} -> {size} bytes, median {:?}",
            data.len(),
            median(times)
        );
    }
}
