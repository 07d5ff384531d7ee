//! `search REGISTRY/TERM` against Debian's docker-registry on loopback, which serves its
//! catalog two repositories per page: the matching names across pages, `--limit`,
//! `--filter`, `--format`, `--list-tags`, and the errors (bad flags exit 125, a registry
//! that does not answer exits 1 as docker's search does). Docker Hub's API is checked by
//! unit tests on a recorded response (no internet here).

mod support;
use support::registry::{busybox_as, Registry};
use support::Kiste;

/// A registry with a two-entry catalog page, holding busybox as each of `repos`.
fn registry_with(k: &Kiste, repos: &[&str]) -> Option<Registry> {
    let reg = Registry::start(
        &k.dir.path().join("registry"),
        "",
        "catalog:\n  maxentries: 2\n",
    );
    let Some(reg) = reg else {
        support::skip("docker-registry is not installed (apt-get install docker-registry)");
        return None;
    };
    busybox_as(k, "busybox");
    for repo in repos {
        let name = format!("{}/{repo}", reg.host());
        k.ok(&["tag", "busybox", &name]);
        k.ok(&["push", "-q", &name]);
    }
    Some(reg)
}

const REPOS: &[&str] = &["app/api", "app/web:1", "base", "tools/app-cli", "zeta"];

#[test]
fn search_finds_matching_repositories_across_catalog_pages() {
    let k = Kiste::new();
    let Some(reg) = registry_with(&k, REPOS) else {
        return;
    };
    let host = reg.host();
    // The catalog really is paged: the first page holds two names and a Link header.
    let (page, _) = reg.get_json("/v2/_catalog", "application/json");
    assert_eq!(page["repositories"].as_array().unwrap().len(), 2, "{page}");
    let out = k.ok(&["search", &format!("{host}/app")]);
    let mut lines = out.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]);
    let names: Vec<&str> = lines
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let want: Vec<String> = ["app/api", "app/web", "tools/app-cli"]
        .iter()
        .map(|r| format!("{host}/{r}"))
        .collect();
    assert_eq!(names, want, "{out}");
    // Each row has 0 stars; an empty term lists the whole catalog.
    assert!(
        out.lines().skip(1).all(|l| l.trim_end().ends_with(" 0")),
        "{out}"
    );
    let all = k.ok(&["search", "--format", "{{.Name}}", &format!("{host}/")]);
    assert_eq!(all.lines().count(), 5, "{all}");
}

#[test]
fn search_limit_filter_and_format_shape_the_output() {
    let k = Kiste::new();
    let Some(reg) = registry_with(&k, REPOS) else {
        return;
    };
    let term = format!("{}/a", reg.host());
    let limited = k.ok(&["search", "--limit", "2", "--format", "{{.Name}}", &term]);
    assert_eq!(
        limited,
        format!("{0}/app/api\n{0}/app/web\n", reg.host()),
        "{limited}"
    );
    // Catalog entries have no stars and are not official.
    let starred = k.ok(&[
        "search",
        "--filter",
        "stars=1",
        "--format",
        "{{.Name}}",
        &term,
    ]);
    assert_eq!(starred, "");
    let plain = k.ok(&[
        "search",
        "--filter",
        "is-official=false",
        "--format",
        "{{.Name}}|{{.StarCount}}|{{.IsOfficial}}|{{.IsAutomated}}|{{.Description}}",
        &format!("{}/zeta", reg.host()),
    ]);
    assert_eq!(plain, format!("{}/zeta|0|||\n", reg.host()));
    let json = k.ok(&[
        "search",
        "--format",
        "json",
        &format!("{}/base", reg.host()),
    ]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["Name"], format!("{}/base", reg.host()));
    assert_eq!(v["StarCount"], "0");
    // podman's --list-tags: the tags of one repository.
    let tags = k.ok(&["search", "--list-tags", &format!("{}/app/web", reg.host())]);
    let rows: Vec<Vec<&str>> = tags
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["NAME", "TAG"],
            vec![&*format!("{}/app/web", reg.host()), "1"]
        ]
    );
}

#[test]
fn search_refuses_bad_flags_and_reports_an_unreachable_registry() {
    let k = Kiste::new();
    for (args, want) in [
        (
            &["search", "--limit", "0x", "x"][..],
            "invalid argument \"0x\" for \"--limit\" flag",
        ),
        (
            &["search", "--limit", "101", "x"][..],
            "limit 101 is outside the range of [1, 100]",
        ),
        (
            &["search", "--filter", "stars=lots", "x"][..],
            "invalid filter 'stars=lots'",
        ),
        (
            &["search", "--filter", "color=red", "x"][..],
            "invalid filter 'color=red'",
        ),
        (
            &["search", "--format", "{{.Nope}}", "127.0.0.1:1/x"][..],
            "",
        ),
    ] {
        let r = k.run(args);
        if want.is_empty() {
            // Checked after the registry answers: here it cannot, so exit 1 comes first.
            assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
            continue;
        }
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
    let port = support::free_port();
    let r = k.run(&["search", &format!("127.0.0.1:{port}/app")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{port}")) && r.stderr.contains("refused"),
        "{}",
        r.stderr
    );
}
