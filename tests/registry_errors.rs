//! Bad input from registries: an unknown tag, a blob or manifest whose digest does not
//! match, a blob cut short on disk or by a closed connection, an unsupported media
//! type. Each is one clear line naming the reference, exit 125, and no image left in
//! the store. A pull killed with SIGKILL mid-layer leaves no image, and the next pull
//! completes.

mod support;

use std::time::{Duration, Instant};
use support::registry::*;
use support::*;

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The pull of `name` fails with one `Error:` line containing every one of `needles`,
/// exit 125, and leaves no image, no temp and not the bad blob (layers that arrived
/// whole are kept for the next attempt).
fn assert_pull_fails(k: &Kiste, name: &str, needles: &[&str], bad_blob: Option<&str>) {
    let r = k.run(&["pull", name]);
    assert_eq!(r.code, 125, "{}{}", r.stdout, r.stderr);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("Error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    for n in needles.iter().chain([&name]) {
        assert!(errors[0].contains(n), "{n:?} not in {}", errors[0]);
    }
    assert_eq!(k.ok(&["images", "-q"]), "");
    let temps = std::fs::read_dir(k.root().join("images/tmp"))
        .unwrap()
        .count();
    assert_eq!(temps, 0, "no temp may be left");
    if let Some(digest) = bad_blob {
        let blob = k.root().join("images/blobs/sha256").join(&digest[7..]);
        assert!(!blob.exists(), "the bad blob {digest} was stored");
    }
}

#[test]
fn unknown_tag_is_a_404_naming_the_reference() {
    let k = Kiste::new();
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        return skip("docker-registry is not installed");
    };
    let name = format!("{}/bb:1", reg.host());
    busybox_as(&k, &name);
    k.ok(&["push", &name]);
    let k2 = Kiste::new();
    assert_pull_fails(
        &k2,
        &format!("{}/bb:nope", reg.host()),
        &["not found"],
        None,
    );
    assert_pull_fails(
        &k2,
        &format!("{}/nobody:1", reg.host()),
        &["not found"],
        None,
    );
}

#[test]
fn corrupted_and_truncated_blobs_in_the_registry_store_nothing() {
    let k = Kiste::new();
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        return skip("docker-registry is not installed");
    };
    let name = format!("{}/bad/bb:1", reg.host());
    busybox_as(&k, &name);
    k.ok(&["push", &name]);
    let (manifest, _) = reg.get_json(
        "/v2/bad/bb/manifests/1",
        "application/vnd.oci.image.manifest.v1+json",
    );
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let file = reg.blob_file(layer);
    let good = std::fs::read(&file).unwrap();

    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0xff;
    std::fs::write(&file, &corrupt).unwrap();
    let k2 = Kiste::new();
    assert_pull_fails(&k2, &name, &[], Some(layer));

    std::fs::write(&file, &good[..good.len() / 2]).unwrap();
    assert_pull_fails(&k2, &name, &[], Some(layer));

    std::fs::write(&file, &good).unwrap();
    k2.ok(&["pull", &name]);
}

#[test]
fn digest_mismatch_connection_closed_and_unsupported_media_type() {
    let k = Kiste::new();
    let hello = b"#!/bin/sh\necho hello\n".to_vec();

    // A layer whose bytes differ from its digest.
    let img = mem_image("app", "1", &[("hello", noise(300_000))], OCI_CONFIG);
    let fake = FakeRegistry::start(
        img.content,
        Some((img.layer_digest.clone(), Spoil::Corrupt)),
    );
    assert_pull_fails(
        &k,
        &format!("{}/app:1", fake.host()),
        &[],
        Some(&img.layer_digest),
    );

    // The connection closes halfway through the layer.
    let img = mem_image("app", "1", &[("hello", noise(300_000))], OCI_CONFIG);
    let fake = FakeRegistry::start(
        img.content,
        Some((img.layer_digest.clone(), Spoil::CloseMidway)),
    );
    assert_pull_fails(
        &k,
        &format!("{}/app:1", fake.host()),
        &[],
        Some(&img.layer_digest),
    );

    // A manifest served under a digest it does not have.
    let mut img = mem_image("app", "1", &[("hello", hello.clone())], OCI_CONFIG);
    let bogus = format!("sha256:{}", "0".repeat(64));
    let manifest = img.content[&format!("app/manifests/{}", img.manifest_digest)].clone();
    img.content
        .insert(format!("app/manifests/{bogus}"), manifest);
    let fake = FakeRegistry::start(img.content, None);
    assert_pull_fails(
        &k,
        &format!("{}/app@{bogus}", fake.host()),
        &["digest mismatch"],
        None,
    );

    // Not a container image (a Helm chart's config).
    let img = mem_image(
        "chart",
        "1",
        &[("hello", hello)],
        "application/vnd.cncf.helm.config.v1+json",
    );
    let fake = FakeRegistry::start(img.content, None);
    assert_pull_fails(
        &k,
        &format!("{}/chart:1", fake.host()),
        &[
            "unsupported media type",
            "application/vnd.cncf.helm.config.v1+json",
        ],
        None,
    );
}

#[test]
fn pull_killed_mid_layer_leaves_no_image_and_the_next_pull_completes() {
    let k = Kiste::new();
    let img = mem_image("slow", "1", &[("big", noise(2_000_000))], OCI_CONFIG);
    let fake = FakeRegistry::start(
        img.content.clone(),
        Some((img.layer_digest.clone(), Spoil::Stall)),
    );
    let name = format!("{}/slow:1", fake.host());
    let mut child = k
        .cmd(&["pull", &name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the layer is half written into the store's temp area.
    let tmp = k.root().join("images/tmp");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let started = fake
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.path.ends_with(&img.layer_digest));
        let temps = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
        if started && temps > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pull never reached the layer"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(fake);
    assert_eq!(k.ok(&["images", "-q"]), "");

    let fake = FakeRegistry::start(img.content, None);
    let name = format!("{}/slow:1", fake.host());
    let out = k.ok(&["pull", &name]);
    assert!(out.contains("Pull complete"), "{out}");
    assert_eq!(k.ok(&["images", "-q"]).lines().count(), 1);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "stale temps are removed"
    );
}

#[test]
fn blobs_redirected_to_another_host_are_fetched_without_credentials() {
    let k = Kiste::new();
    let img = mem_image("app", "1", &[("hello", noise(100_000))], OCI_CONFIG);
    let blobs = FakeRegistry::start(img.content.clone(), None);
    let auth = format!("Basic {}", kiste::registry::creds::base64_encode(b"u:p"));
    let registry = FakeRegistry::start_with(
        img.content,
        None,
        FakeOptions {
            require_authorization: Some(auth.clone()),
            redirect_blobs_to: Some(format!("http://{}", blobs.host())),
        },
    );
    let config = k.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let creds = serde_json::json!({"auths": {registry.host(): {"auth": &auth[6..]}}});
    std::fs::write(config.join("config.json"), creds.to_string()).unwrap();
    let name = format!("{}/app:1", registry.host());
    let r: Run = k
        .cmd(&["pull", &name])
        .env("DOCKER_CONFIG", &config)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let at_registry = registry.seen.lock().unwrap().clone();
    assert!(
        at_registry
            .iter()
            .any(|s| s.path.contains("/manifests/") && s.authorization.as_ref() == Some(&auth)),
        "{at_registry:?}"
    );
    let at_blobs = blobs.seen.lock().unwrap().clone();
    assert_eq!(
        at_blobs.len(),
        2,
        "config and layer fetched from the blob host: {at_blobs:?}"
    );
    assert!(
        at_blobs.iter().all(|s| s.authorization.is_none()),
        "{at_blobs:?}"
    );
}
