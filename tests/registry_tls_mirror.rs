//! TLS and registries.conf against docker-registry: a registry with a certificate from a
//! CA the test makes is trusted only through `certs.d/HOST/ca.crt` (or with
//! `--tls-verify=false`); a docker.io mirror serves `httpd:2.4`, so the source
//! material's two-line Dockerfile builds exactly as written and its container serves
//! the page.

mod support;

use std::path::Path;
use support::registry::*;
use support::*;

/// kiste with `args` and the test's registries.conf and certs.d.
fn kiste_with(k: &Kiste, conf: &Path, certs: &Path, args: &[&str]) -> Run {
    k.cmd(args)
        .env("KISTE_REGISTRIES_CONF", conf)
        .env("KISTE_CERTS_D", certs)
        .env("DOCKER_CONFIG", k.dir.path().join("no-creds"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap()
        .into()
}

#[test]
fn tls_registry_is_trusted_through_its_certs_d_ca() {
    if !have("openssl") {
        return skip("openssl is not installed");
    }
    let k = Kiste::new();
    let pki = k.dir.path().join("pki");
    make_ca_and_server_cert(&pki);
    let tls = format!(
        "  tls:\n    certificate: {0}/server.crt\n    key: {0}/server.key\n",
        pki.display()
    );
    let Some(reg) = Registry::start(&k.dir.path().join("registry"), &tls, "") else {
        return skip("docker-registry is not installed");
    };
    // A loopback registry is insecure by default, as in docker: say it is not.
    let conf = k.dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = false\n",
            reg.host()
        ),
    )
    .unwrap();
    let no_certs = k.dir.path().join("certs-empty");
    let certs = k.dir.path().join("certs.d");
    std::fs::create_dir_all(certs.join(reg.host())).unwrap();
    std::fs::copy(pki.join("ca.crt"), certs.join(reg.host()).join("ca.crt")).unwrap();

    let name = format!("{}/tls/bb:1", reg.host());
    busybox_as(&k, &name);
    let r = kiste_with(&k, &conf, &no_certs, &["push", &name]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    assert!(
        r.stderr.contains(&name) && r.stderr.to_lowercase().contains("certificate"),
        "{}",
        r.stderr
    );
    let r = kiste_with(&k, &conf, &certs, &["push", &name]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let k2 = Kiste::new();
    let r = kiste_with(&k2, &conf, &no_certs, &["pull", &name]);
    assert_eq!(r.code, 125, "{}", r.stderr);
    let r = kiste_with(
        &k2,
        &conf,
        &no_certs,
        &["pull", "--tls-verify=false", &name],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let k3 = Kiste::new();
    let r = kiste_with(&k3, &conf, &certs, &["pull", &name]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(k3.sh(&name, "echo tls-ok").trim(), "tls-ok");
}

#[test]
fn source_dockerfile_builds_from_httpd_through_a_docker_io_mirror() {
    let k = Kiste::new();
    let Some(mirror) = Registry::start(&k.dir.path().join("mirror"), "", "") else {
        return skip("docker-registry is not installed");
    };
    // The mirror's library/httpd:2.4: a busybox httpd serving /usr/local/apache2/htdocs
    // on port 80, as the real image does.
    k.busybox();
    let ctx = k.context(
        "httpd-ctx",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN mkdir -p /usr/local/apache2/htdocs\nEXPOSE 80\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/usr/local/apache2/htdocs\"]\n",
        )],
    );
    let upstream = format!("{}/library/httpd:2.4", mirror.host());
    k.ok(&["build", "-q", "-t", &upstream, ctx.to_str().unwrap()]);
    k.ok(&["push", &upstream]);

    let conf = k.dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "unqualified-search-registries = [\"docker.io\"]\n[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n",
            mirror.host()
        ),
    )
    .unwrap();
    // The source material's Dockerfile, exactly as written.
    let app = k.dir.path().join("apache2sample");
    std::fs::create_dir_all(app.join("html")).unwrap();
    std::fs::write(
        app.join("Dockerfile"),
        "FROM httpd:2.4\nCOPY ./html/ /usr/local/apache2/htdocs/\n",
    )
    .unwrap();
    let html = testdata("apache2sample/html/index.html");
    let page = std::fs::read_to_string(&html).unwrap_or_else(|_| "<h1>kiste sample</h1>\n".into());
    std::fs::write(app.join("html/index.html"), &page).unwrap();

    let user = Kiste::new();
    let no_certs = k.dir.path().join("certs-empty");
    let r: Run = user
        .cmd(&["build", "./", "--tag", "apache2sample"])
        .current_dir(&app)
        .env("KISTE_REGISTRIES_CONF", &conf)
        .env("KISTE_CERTS_D", &no_certs)
        .env("DOCKER_CONFIG", k.dir.path().join("no-creds"))
        .output()
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines.contains(&"2.4: Pulling from library/httpd"),
        "{}",
        r.stdout
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with(": Pull complete"))
            .count(),
        3,
        "{}",
        r.stdout
    );
    assert!(
        lines.iter().any(|l| l.starts_with("Digest: sha256:")),
        "{}",
        r.stdout
    );
    assert!(
        lines.contains(&"Status: Downloaded newer image for httpd:2.4"),
        "{}",
        r.stdout
    );
    assert!(user.ok(&["images", "-q", "httpd:2.4"]).trim().len() == 12);

    let port = free_port();
    let publish = format!("{port}:80");
    user.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        "apache2sample",
    ]);
    let answer = http_get(port);
    user.run(&["rm", "-f", "web"]);
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    assert!(answer.ends_with(&page), "{answer}");
}
