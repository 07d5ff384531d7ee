//! Helpers shared by the `store_*` integration tests (included with `#[path]`).
#![allow(dead_code)]

use kiste::image::config::{History, ImageConfig, RootFs};
use kiste::image::{ImageStore, LayerInfo, Reference};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

pub fn store(dir: &Path) -> ImageStore {
    ImageStore::open(&dir.join("images")).expect("open store")
}

pub fn reference(s: &str) -> Reference {
    Reference::parse(s).expect("valid reference")
}

pub fn config_for(layers: &[LayerInfo], created: &str, cmd: &str) -> ImageConfig {
    ImageConfig {
        created: Some(created.to_string()),
        architecture: "amd64".into(),
        os: "linux".into(),
        config: kiste::image::config::ContainerConfig {
            cmd: Some(vec![cmd.to_string()]),
            ..Default::default()
        },
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids: layers.iter().map(|l| l.diff_id.clone()).collect(),
        },
        history: vec![History {
            created_by: Some(cmd.to_string()),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A small directory tree: files, a nested dir, a symlink.
pub fn populate(dir: &Path, marker: &str) {
    fs::create_dir_all(dir.join("etc/app")).unwrap();
    fs::write(dir.join("etc/app/conf"), format!("marker={marker}\n")).unwrap();
    fs::write(dir.join("hello.txt"), "hello\n").unwrap();
    fs::set_permissions(dir.join("hello.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    symlink("etc/app/conf", dir.join("link")).unwrap();
}

/// Makes a layer from a freshly populated directory under `scratch`.
pub fn make_layer(store: &ImageStore, scratch: &Path, marker: &str) -> LayerInfo {
    let dir = scratch.join(format!("src-{marker}"));
    fs::create_dir_all(&dir).unwrap();
    populate(&dir, marker);
    store
        .create_layer(&dir, Some(1_700_000_000))
        .expect("create layer")
}
