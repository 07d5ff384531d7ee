//! Image records: commit, resolve by every accepted form, list, tag, untag, remove.

mod support;

use kiste::image::ImageError;
use support::store::*;

#[test]
fn commit_then_resolve_by_name_tag_id_and_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let layer = make_layer(&store, tmp.path(), "a");
    let config = config_for(std::slice::from_ref(&layer), "2026-01-01T00:00:00Z", "sh");
    let image = store
        .commit_image(&config, std::slice::from_ref(&layer), &[reference("web")])
        .unwrap();

    assert!(image.id.starts_with("sha256:") && image.id.len() == 71);
    assert_eq!(image.tags, vec!["web:latest".to_string()]);
    assert_eq!(image.config.rootfs.diff_ids, vec![layer.diff_id.clone()]);
    assert_eq!(image.manifest.layers[0].digest, layer.digest);
    assert_eq!(image.size, layer.uncompressed_size);
    let hex = &image.id[7..];
    for form in [
        "web",
        "web:latest",
        "docker.io/library/web:latest",
        &image.id,
        hex,
        &hex[..12],
        &hex[..1],
    ] {
        assert_eq!(
            store.resolve(form).unwrap().id,
            image.id,
            "resolving {form}"
        );
    }
    let by_digest = format!("web@{}", image.manifest_digest);
    assert_eq!(store.resolve(&by_digest).unwrap().id, image.id);
    assert_eq!(store.layers_of(&image).unwrap(), vec![layer]);
}

#[test]
fn unknown_names_and_ambiguous_prefixes_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let err = store.resolve("web").unwrap_err();
    assert!(matches!(err, ImageError::NotFound(_)));
    assert_eq!(err.to_string(), "no such image: web:latest");

    // Commit images until two ids share a first hex digit.
    let layer = make_layer(&store, tmp.path(), "a");
    let mut ids: Vec<String> = Vec::new();
    for i in 0..40 {
        let config = config_for(
            std::slice::from_ref(&layer),
            "2026-01-01T00:00:00Z",
            &format!("cmd{i}"),
        );
        let img = store
            .commit_image(&config, std::slice::from_ref(&layer), &[])
            .unwrap();
        if let Some(other) = ids
            .iter()
            .find(|id| id.as_bytes()[7] == img.id.as_bytes()[7])
        {
            let prefix = &img.id[7..8];
            let err = store.resolve(prefix).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, ImageError::Ambiguous { .. }), "{msg}");
            assert!(
                msg.contains(&other[7..19]) && msg.contains(&img.id[7..19]),
                "{msg}"
            );
            return;
        }
        ids.push(img.id);
    }
    panic!("40 ids with distinct first digits out of 16 is impossible");
}

#[test]
fn tags_move_between_images_and_dangling_images_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let layer = make_layer(&store, tmp.path(), "a");
    let layers = std::slice::from_ref(&layer);
    let old = store
        .commit_image(
            &config_for(layers, "2026-01-01T00:00:00Z", "old"),
            layers,
            &[reference("web")],
        )
        .unwrap();
    let new = store
        .commit_image(
            &config_for(layers, "2026-01-02T00:00:00Z", "new"),
            layers,
            &[reference("web")],
        )
        .unwrap();
    assert_eq!(store.resolve("web").unwrap().id, new.id);
    let old = store.resolve(&old.id).unwrap();
    assert!(old.tags.is_empty(), "old image keeps no tag but stays");

    store.tag(&old.id[7..19], &reference("web:v1")).unwrap();
    store
        .tag("web", &reference("localhost:5000/team/web:2"))
        .unwrap();
    assert_eq!(store.resolve("web:v1").unwrap().id, old.id);
    assert_eq!(
        store.resolve("localhost:5000/team/web:2").unwrap().id,
        new.id
    );

    let listed: Vec<String> = store.list().unwrap().into_iter().map(|i| i.id).collect();
    assert_eq!(listed, vec![new.id.clone(), old.id.clone()], "newest first");

    store.untag(&reference("web:v1")).unwrap();
    assert!(matches!(
        store.resolve("web:v1"),
        Err(ImageError::NotFound(_))
    ));
    assert!(store.resolve(&old.id).is_ok());
    assert!(matches!(
        store.untag(&reference("web:v1")),
        Err(ImageError::NotFound(_))
    ));
}

#[test]
fn commit_rejects_config_whose_diff_ids_do_not_match_the_layers() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let a = make_layer(&store, tmp.path(), "a");
    let b = make_layer(&store, tmp.path(), "b");
    let config = config_for(std::slice::from_ref(&a), "2026-01-01T00:00:00Z", "sh");
    let err = store
        .commit_image(&config, &[a.clone(), b.clone()], &[])
        .unwrap_err();
    assert!(matches!(err, ImageError::Commit(_)), "{err}");
    let config = config_for(&[b.clone(), a.clone()], "2026-01-01T00:00:00Z", "sh");
    assert!(
        store.commit_image(&config, &[a, b], &[]).is_err(),
        "order matters"
    );
}

#[test]
fn layer_dirs_are_bottom_to_top_and_hold_the_layer_files() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let a = make_layer(&store, tmp.path(), "a");
    let b = make_layer(&store, tmp.path(), "b");
    let layers = [a.clone(), b.clone()];
    let image = store
        .commit_image(
            &config_for(&layers, "2026-01-01T00:00:00Z", "sh"),
            &layers,
            &[reference("two")],
        )
        .unwrap();
    let dirs = store.layer_dirs(&image).unwrap();
    assert_eq!(dirs.len(), 2);
    assert!(dirs[0].ends_with(&a.diff_id[7..]));
    assert_eq!(
        std::fs::read_to_string(dirs[1].join("etc/app/conf")).unwrap(),
        "marker=b\n"
    );
    assert!(
        !tmp.path().join("src-a").exists(),
        "create_layer moves the source dir"
    );
}

#[test]
fn layer_dirs_re_extracts_a_missing_layer_from_its_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let a = make_layer(&store, tmp.path(), "a");
    let layers = [a.clone()];
    let image = store
        .commit_image(
            &config_for(&layers, "2026-01-01T00:00:00Z", "sh"),
            &layers,
            &[],
        )
        .unwrap();
    let dir = store.layer_dirs(&image).unwrap().remove(0);
    std::fs::remove_dir_all(&dir).unwrap();
    let again = store.layer_dirs(&image).unwrap().remove(0);
    assert_eq!(again, dir);
    assert_eq!(
        std::fs::read_to_string(dir.join("etc/app/conf")).unwrap(),
        "marker=a\n"
    );
    assert_eq!(
        std::fs::read_link(dir.join("link")).unwrap().to_str(),
        Some("etc/app/conf")
    );
}

#[test]
fn identical_layer_is_stored_once_and_its_source_dir_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let first = make_layer(&store, tmp.path(), "same");
    let second = make_layer(&store, tmp.path(), "same");
    assert_eq!(first, second);
    assert!(!tmp.path().join("src-same").exists());
}

#[test]
fn remove_deletes_unshared_blobs_and_layers_but_keeps_shared_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let shared = make_layer(&store, tmp.path(), "shared");
    let own = make_layer(&store, tmp.path(), "own");
    let both = [shared.clone(), own.clone()];
    let big = store
        .commit_image(
            &config_for(&both, "2026-01-01T00:00:00Z", "big"),
            &both,
            &[reference("big")],
        )
        .unwrap();
    let small_layers = [shared.clone()];
    let small = store
        .commit_image(
            &config_for(&small_layers, "2026-01-01T00:00:00Z", "small"),
            &small_layers,
            &[reference("small")],
        )
        .unwrap();
    store.layer_dirs(&big).unwrap();

    store.remove("big").unwrap();
    assert!(matches!(store.resolve("big"), Err(ImageError::NotFound(_))));
    assert!(matches!(
        store.resolve(&big.id),
        Err(ImageError::NotFound(_))
    ));
    let gone = |d: &str| !store.blob_path(d).unwrap().exists();
    assert!(gone(&big.id) && gone(&big.manifest_digest) && gone(&own.digest));
    assert!(!store.layer_path(&own.diff_id).unwrap().exists());
    assert!(!gone(&shared.digest) && !gone(&small.id) && !gone(&small.manifest_digest));
    assert!(store.layer_path(&shared.diff_id).unwrap().exists());
    let small = store.resolve("small").unwrap();
    assert_eq!(store.layer_dirs(&small).unwrap().len(), 1);
    assert!(std::fs::read_dir(store.root().join("tmp"))
        .unwrap()
        .next()
        .is_none());
    assert!(matches!(store.remove("big"), Err(ImageError::NotFound(_))));
}

#[test]
fn busybox_rootfs_tarball_imports_as_a_one_layer_image() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let tarball = tmp.path().join("rootfs.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&tarball).unwrap(),
        flate2::Compression::default(),
    );
    let mut b = tar::Builder::new(gz);
    b.append_dir("./", tmp.path()).unwrap();
    b.append_dir("./bin", tmp.path()).unwrap();
    b.append_path_with_name("/bin/busybox", "./bin/busybox")
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "./bin/sh", "busybox").unwrap();
    b.into_inner().unwrap().finish().unwrap();

    let image = store
        .import_rootfs_tarball(&tarball, &[reference("busybox")], "")
        .unwrap();
    assert_eq!(image.config.architecture, "amd64");
    assert_eq!(image.config.os, "linux");
    assert!(image.config.created.is_some());
    let comment = image.config.history[0].comment.clone().unwrap();
    assert!(
        comment.starts_with("Imported from ") && comment.contains("rootfs.tar.gz"),
        "{comment}"
    );
    let resolved = store.resolve("busybox:latest").unwrap();
    assert_eq!(resolved, image);
    let layers = store.layers_of(&resolved).unwrap();
    let diff_ids: Vec<String> = layers.iter().map(|l| l.diff_id.clone()).collect();
    assert_eq!(resolved.config.rootfs.diff_ids, diff_ids);
    assert_eq!(resolved.manifest.layers[0].digest, layers[0].digest);
    let dirs = store.layer_dirs(&resolved).unwrap();
    let busybox = dirs[0].join("bin/busybox");
    assert_eq!(
        std::fs::read(&busybox).unwrap(),
        std::fs::read("/bin/busybox").unwrap()
    );
    assert_eq!(
        std::fs::read_link(dirs[0].join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    assert_eq!(image.size, layers[0].uncompressed_size);
}

#[test]
fn stale_temps_of_dead_processes_are_cleaned_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("images");
    drop(store(tmp.path()));
    // pid 2^22+1 is above the default pid_max range of a fresh kernel: never alive here.
    let dead = root.join("tmp/4194305-00112233-layer");
    std::fs::create_dir_all(dead.join("sub")).unwrap();
    let mine = root.join(format!("tmp/{}-aabbccdd-blob", std::process::id()));
    std::fs::write(&mine, "in flight").unwrap();
    drop(store(tmp.path()));
    assert!(!dead.exists());
    assert!(mine.exists(), "a live process's temp is left alone");
}

#[test]
fn concurrent_commits_from_threads_lose_no_image() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let root = root.clone();
            std::thread::spawn(move || {
                let store = store(&root);
                let layer = make_layer(&store, &root, &format!("t{i}"));
                let layers = [layer];
                let config = config_for(&layers, "2026-01-01T00:00:00Z", &format!("t{i}"));
                store
                    .commit_image(&config, &layers, &[reference(&format!("t{i}"))])
                    .unwrap()
            })
        })
        .collect();
    let ids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap().id).collect();
    let store = store(&root);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(&store.resolve(&format!("t{i}")).unwrap().id, id);
    }
    assert_eq!(store.list().unwrap().len(), 8);
}

#[test]
fn an_image_without_layers_commits_and_has_no_layer_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let config = config_for(&[], "2026-01-01T00:00:00Z", "scratch");
    let image = store
        .commit_image(&config, &[], &[reference("empty:1")])
        .unwrap();
    assert!(image.manifest.layers.is_empty());
    assert_eq!(image.size, 0);
    let image = store.resolve("empty:1").unwrap();
    assert!(store.layer_dirs(&image).unwrap().is_empty());
    assert!(store.layers_of(&image).unwrap().is_empty());
}
