//! `ps -s` / `inspect -s`: the writable layer's size and the virtual size (with the image),
//! and ps's Mounts, LocalVolumes and Networks columns from the container's record.

mod support;

use support::*;

#[test]
fn sizes_count_the_writable_layer_and_the_image_below_it() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "run",
        "--name",
        "big",
        "-v",
        "kt-data:/data",
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/blob bs=1000 count=300 2>/dev/null",
    ]);
    let v = k.inspect("big");
    assert!(v.get("SizeRw").is_none(), "no sizes without -s: {v}");
    let sized: serde_json::Value = serde_json::from_str(&k.ok(&["inspect", "-s", "big"])).unwrap();
    let rw = sized[0]["SizeRw"].as_u64().unwrap();
    let root = sized[0]["SizeRootFs"].as_u64().unwrap();
    assert!((300_000..400_000).contains(&rw), "SizeRw {rw}");
    let image: serde_json::Value =
        serde_json::from_str(&k.ok(&["image", "inspect", "busybox"])).unwrap();
    assert_eq!(root, rw + image[0]["Size"].as_u64().unwrap());

    let table = k.ok(&["ps", "-a", "-s"]);
    let header = table.lines().next().unwrap();
    assert!(header.ends_with("SIZE"), "{table}");
    let line = table.lines().nth(1).unwrap();
    assert!(line.contains("kB (virtual "), "{line}");
    let fields = k.ok(&[
        "ps",
        "-a",
        "--format",
        "{{.Size}}|{{.Mounts}}|{{.LocalVolumes}}|{{.Networks}}",
    ]);
    let f: Vec<&str> = fields.trim().split('|').collect();
    assert!(
        f[0].starts_with("3") && f[0].contains("kB (virtual "),
        "{fields}"
    );
    assert_eq!(f[1], "kt-data");
    assert_eq!(f[2], "1");
    assert!(!f[3].is_empty(), "{fields}");
    k.ok(&["rm", "-v", "big"]);
    k.ok(&["volume", "rm", "kt-data"]);
}
