//! docker's registry flags that had no behaviour test, each against Debian's docker-registry
//! on loopback and compared with docker (the 28.2 CLI; pulls through the 20.10 daemon):
//! `--disable-content-trust` (true is kiste's way; asking for Notary v1 verification, by
//! `=false` or DOCKER_CONTENT_TRUST, is refused), `images --digests`, `login --password`,
//! `manifest annotate --os/--os-features/--os-version`.

mod support;
use std::path::Path;
use std::process::Command;
use support::registry::{busybox_as, start_with_password, Registry};
use support::*;

/// A registry, and kiste's busybox tagged `REGISTRY/repo` in `k`'s store.
fn registry_with_busybox(k: &Kiste, repo: &str) -> Option<(Registry, String)> {
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), "", "") else {
        skip("docker-registry is not installed (apt-get install docker-registry)");
        return None;
    };
    let name = format!("{}/{repo}", reg.host());
    busybox_as(k, &name);
    Some((reg, name))
}

/// `docker ARGS` with its client configuration (credentials, manifest lists) in `config`.
fn docker<S: AsRef<std::ffi::OsStr>>(config: &Path, args: &[S]) -> Run {
    docker::ensure_docker();
    Command::new("docker")
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_CONTENT_TRUST")
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// docker 28 with `--disable-content-trust=false` or DOCKER_CONTENT_TRUST=1 asks a
/// notary server (none here: it fails); kiste refuses at once and says why.
#[test]
fn disable_content_trust_true_works_and_asking_for_notary_verification_is_refused() {
    let k = Kiste::new();
    let Some((_reg, name)) = registry_with_busybox(&k, "trust/bb:1") else {
        return;
    };
    // docker's default is true (no verification): kiste never verifies, so true works
    // in every spelling, on every verb that has the flag.
    k.ok(&["push", "-q", "--disable-content-trust", &name]);
    k.ok(&["image", "push", "-q", "--disable-content-trust=true", &name]);
    let k2 = Kiste::new();
    k2.ok(&["pull", "-q", "--disable-content-trust", &name]);
    k2.ok(&["image", "pull", "-q", "--disable-content-trust=1", &name]);
    for verb in [&["run", "--rm"][..], &["container", "run", "--rm"]] {
        let args = [
            verb,
            &["--disable-content-trust=true", &name, "echo", "ran"],
        ]
        .concat();
        assert_eq!(k2.ok(&args), "ran\n");
    }
    for verb in [&["create"][..], &["container", "create"]] {
        let args = [verb, &["--disable-content-trust", &name, "true"]].concat();
        let id = k2.ok(&args);
        k2.ok(&["rm", id.trim()]);
    }
    // =false asks for Docker Content Trust (Notary v1), which docker deprecated: docker
    // cannot pull or push without a notary server either, and kiste says why at once.
    let config = k.dir.path().join("docker-config");
    let d = docker(&config, &["pull", "--disable-content-trust=false", &name]);
    assert_ne!(d.code, 0, "{}", d.stdout);
    assert!(d.stderr.contains("notary"), "{}", d.stderr);
    let k3 = Kiste::new();
    for args in [
        &["pull", "--disable-content-trust=false", &name][..],
        &["image", "push", "--disable-content-trust=false", &name],
        &["run", "--disable-content-trust=false", &name, "true"],
        &[
            "container",
            "create",
            "--disable-content-trust=false",
            &name,
        ],
    ] {
        let r = k3.run(args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("refused (legacy-removed)")
                && r.stderr
                    .contains("Docker Content Trust (Notary v1) is deprecated"),
            "{args:?}: {}",
            r.stderr
        );
    }
    // DOCKER_CONTENT_TRUST=1 asks for it too (docker: the flag's default turns false);
    // an explicit --disable-content-trust wins over it, as in docker.
    let trusting = |args: &[&str]| -> Run {
        k3.cmd(args)
            .env("DOCKER_CONTENT_TRUST", "1")
            .output()
            .unwrap()
            .into()
    };
    let r = trusting(&["pull", "-q", &name]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(r.stderr.contains("DOCKER_CONTENT_TRUST"), "{}", r.stderr);
    assert!(k3.run(&["image", "inspect", &name]).code != 0);
    let r = trusting(&["run", "--rm", &name, "true"]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = trusting(&["pull", "-q", "--disable-content-trust", &name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = trusting(&["run", "--rm", "--disable-content-trust", &name, "true"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // DOCKER_CONTENT_TRUST=0 (or empty) leaves verification off.
    let r: Run = k3
        .cmd(&["pull", "-q", &name])
        .env("DOCKER_CONTENT_TRUST", "0")
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// The lines of `images --format` output, sorted.
fn digest_rows(format_out: &str) -> Vec<String> {
    let mut rows: Vec<String> = format_out.lines().map(str::to_string).collect();
    rows.sort();
    rows
}

/// The cells of line `n` of a table (columns are two or more spaces apart).
fn columns(table: &str, n: usize) -> Vec<String> {
    let line = table
        .lines()
        .nth(n)
        .unwrap_or_else(|| panic!("no line {n}: {table}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn images_digests_show_each_tags_repository_digest_as_docker_does() {
    let (k, puller) = (Kiste::new(), Kiste::new());
    let Some((reg, name)) = registry_with_busybox(&k, "digests/bb:1") else {
        return;
    };
    let repo = format!("{}/digests/bb", reg.host());
    // Never pushed or pulled: no digest.
    let local = k.ok(&["images", "--digests", "--format", "{{.Digest}}", "busybox"]);
    assert_eq!(local, "<none>\n");
    k.ok(&["push", &name]);
    let (_, pushed) = reg.get_json(
        "/v2/digests/bb/manifests/1",
        "application/vnd.oci.image.manifest.v1+json",
    );
    // After a push, the pushed tag carries the registry's digest, as in docker.
    let after_push = k.ok(&["images", "--digests", "--format", "{{.Digest}}", &repo]);
    assert_eq!(after_push.trim(), pushed);

    puller.ok(&["pull", &name]);
    let format = "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}";
    let kiste_rows = digest_rows(&puller.ok(&["images", "--digests", "--format", format, &repo]));
    assert_eq!(
        kiste_rows,
        [format!(
            "{repo} 1 {pushed} {}",
            &puller.ok(&["image", "inspect", "-f", "{{.Id}}", &name])[7..19]
        )]
    );
    let image_ls = puller.ok(&["image", "ls", "--digests", &repo]);
    let config = k.dir.path().join("docker-config");
    let d = docker(&config, &["pull", &name]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    let docker_rows = docker(&config, &["images", "--digests", "--format", format, &repo]);
    let docker_ls = docker(&config, &["image", "ls", "--digests", &repo]).stdout;
    docker(&config, &["rmi", &name]);
    assert_eq!(digest_rows(&docker_rows.stdout), kiste_rows);
    // The table: the same header, and the same repository, tag and digest.
    assert_eq!(columns(&image_ls, 0), columns(&docker_ls, 0), "{image_ls}");
    assert_eq!(columns(&image_ls, 1)[..3], columns(&docker_ls, 1)[..3]);
}

#[test]
fn login_password_flag_saves_the_credentials_docker_saves_and_warns_as_docker() {
    let k = Kiste::new();
    let Some(reg) = start_with_password(&k.dir.path().join("registry"), "kiste", "s3cret") else {
        return;
    };
    let host = reg.host();
    let login = |config: &Path, password: &str| -> Run {
        k.cmd(&["login", "-u", "kiste", "--password", password, &host])
            .env("DOCKER_CONFIG", config)
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .unwrap()
            .into()
    };
    let kiste_config = k.dir.path().join("kiste-config");
    let r = login(&kiste_config, "wrong");
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("unauthorized"), "{}", r.stderr);
    assert!(!kiste_config.join("config.json").exists());
    let r = login(&kiste_config, "s3cret");
    assert_eq!(r.code, 0, "{}", r.stderr);

    let docker_config = k.dir.path().join("docker-config");
    let d = docker(
        &docker_config,
        &["login", "-u", "kiste", "--password", "s3cret", &host],
    );
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert_eq!(r.stdout, d.stdout);
    let warning = "WARNING! Using --password via the CLI is insecure. Use --password-stdin.";
    assert!(
        r.stderr.contains(warning) && d.stderr.contains(warning),
        "{}\n{}",
        r.stderr,
        d.stderr
    );
    let saved = |config: &Path| -> serde_json::Value {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(config.join("config.json")).unwrap()).unwrap();
        v["auths"][&host]["auth"].clone()
    };
    assert_eq!(saved(&kiste_config), saved(&docker_config));
    docker(&docker_config, &["logout", &host]);
    // The saved credentials push.
    let name = format!("{host}/login/bb:1");
    busybox_as(&k, &name);
    let r: Run = k
        .cmd(&["push", "-q", &name])
        .env("DOCKER_CONFIG", &kiste_config)
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// docker's `manifest create` of `list` from `images` in the loopback registry (plain
/// http: its CLI reads the registry itself and needs --insecure for that).
fn docker_manifest_create(list: &str, images: &[&str]) -> Vec<String> {
    let mut args = vec!["manifest", "create", "--insecure", list];
    args.extend(images);
    args.into_iter().map(String::from).collect()
}

/// The platform of the entry for `image_digest` in a list as `manifest inspect` prints it.
fn platform_of(inspect: &str, image_digest: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(inspect).unwrap();
    v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["digest"] == image_digest)
        .unwrap_or_else(|| panic!("no {image_digest} in {v}"))["platform"]
        .clone()
}

/// docker's CLI keeps its lists in DOCKER_CONFIG/manifests; both read the same images
/// from the registry, so the annotated platforms compare field by field.
#[test]
fn manifest_annotate_sets_os_features_and_os_version_as_docker_does() {
    let k = Kiste::new();
    let (reg, amd) = match registry_with_busybox(&k, "ann/bb:amd") {
        Some(found) => found,
        None => return,
    };
    let other = format!("{}/ann/bb:other", reg.host());
    let ctx = k.context("other", &[("Dockerfile", "FROM busybox\nLABEL other=1\n")]);
    k.ok(&["build", "-q", "-t", &other, ctx.to_str().unwrap()]);
    k.ok(&["push", "-q", &amd]);
    k.ok(&["push", "-q", &other]);
    let list = format!("{}/ann/multi:1", reg.host());
    let annotate = [
        "--os",
        "linux",
        "--arch",
        "arm64",
        "--os-version",
        "10.0.17763.1879",
        "--os-features",
        "win32k,sse4",
    ];
    k.ok(&["manifest", "create", &list, &amd, &other]);
    k.ok(&[&["manifest", "annotate"][..], &annotate, &[&list, &other]].concat());
    let digest = k
        .ok(&["manifest", "inspect", "-v", &list, &other])
        .parse::<serde_json::Value>()
        .unwrap()["Descriptor"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let ours = platform_of(&k.ok(&["manifest", "inspect", &list]), &digest);
    assert_eq!(ours["os.version"], "10.0.17763.1879", "{ours}");
    assert_eq!(ours["os.features"], serde_json::json!(["win32k", "sse4"]));

    let config = k.dir.path().join("docker-config");
    let d = docker(&config, &docker_manifest_create(&list, &[&amd, &other]));
    assert_eq!(d.code, 0, "{}", d.stderr);
    let d = docker(
        &config,
        &[&["manifest", "annotate"][..], &annotate, &[&list, &other]].concat(),
    );
    assert_eq!(d.code, 0, "{}", d.stderr);
    let d = docker(&config, &["manifest", "inspect", &list]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert_eq!(ours, platform_of(&d.stdout, &digest));
    // Annotating again adds the features not there yet, as docker's does.
    let again_args = [
        "manifest",
        "annotate",
        "--os-features",
        "one",
        &list,
        &other,
    ];
    k.ok(&again_args);
    let again = platform_of(&k.ok(&["manifest", "inspect", &list]), &digest);
    docker(&config, &again_args);
    let d = docker(&config, &["manifest", "inspect", &list]);
    assert_eq!(again, platform_of(&d.stdout, &digest));
    assert_eq!(
        again["os.features"],
        serde_json::json!(["win32k", "sse4", "one"])
    );
}

/// A registry's search API on loopback (what docker's daemon asks for `search
/// REGISTRY/TERM`): `/v1/search` answers two repositories, one with a description longer
/// than docker's 45-character cut; anything else gets 404, and what is not plain HTTP
/// (a TLS attempt first) 400. Serves until the test process ends.
fn serve_v1_search() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = conn.read(&mut buf) {
                req.extend_from_slice(&buf[..n]);
                if n == 0 || !req.starts_with(b"GET ") || req.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let line = String::from_utf8_lossy(&req);
            let body = serde_json::json!({"num_results": 2, "query": "app", "results": [
                {"name": "team/app", "description": "An application image whose description is much longer than forty-five characters",
                 "star_count": 12, "is_official": false, "is_automated": true},
                {"name": "short", "description": "short one", "star_count": 3,
                 "is_official": true, "is_automated": false}]})
            .to_string();
            let resp = if !line.starts_with("GET ") {
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            } else if line.starts_with("GET /v1/search?") {
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_string()
            };
            let _ = conn.write_all(resp.as_bytes());
        }
    });
    port
}

#[test]
fn search_no_trunc_shows_whole_descriptions_from_a_registrys_search_api_as_docker_does() {
    let k = Kiste::new();
    let term = format!("127.0.0.1:{}/app", serve_v1_search());
    let config = k.dir.path().join("docker-config");
    let cut = k.ok(&["search", &term]);
    assert!(
        cut.contains("An application image whose description is mu…"),
        "{cut}"
    );
    let whole = k.ok(&["search", "--no-trunc", &term]);
    assert!(
        whole.contains(
            "An application image whose description is much longer than forty-five characters"
        ),
        "{whole}"
    );
    assert_eq!(cut, docker(&config, &["search", &term]).stdout);
    assert_eq!(
        whole,
        docker(&config, &["search", "--no-trunc", &term]).stdout
    );
    let format = "{{.Name}}|{{.Description}}|{{.StarCount}}|{{.IsOfficial}}";
    for flags in [&[][..], &["--no-trunc"]] {
        let args = [&["search", "--format", format][..], flags, &[&term]].concat();
        assert_eq!(k.ok(&args), docker(&config, &args).stdout, "{flags:?}");
    }
}
