//! `--format` and `--filter` as a script uses them: docker's Go templates, `table`,
//! `json`, and the filter keys of `ps` and `images`, against a store with known
//! containers (created, running, exited with 3) and images (two tags of one image, a
//! dangling one).

mod support;

use support::Kiste;

/// busybox (also tagged other:1.0); containers: `web` created (label app=web), `db`
/// running (labels app=db, tier=back), `done` exited with 3; newest first: done, db, web.
fn store() -> Kiste {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["tag", "busybox", "other:1.0"]);
    k.ok(&[
        "create", "--name", "web", "-l", "app=web", "busybox", "sleep", "100",
    ]);
    k.ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "-l",
        "app=db",
        "-l",
        "tier=back",
        "busybox",
        "sleep",
        "300",
    ]);
    let r = k.run(&["run", "--name", "done", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    k
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn ps_formats_fields_tables_and_json() {
    let k = store();
    assert_eq!(
        lines(&k.ok(&["ps", "--format", "{{.Names}} {{.State}}"])),
        ["db running"]
    );
    let t = k.ok(&[
        "ps",
        "-a",
        "--format",
        "table {{.Names}}\\t{{.State}}\\t{{upper .Image}}",
    ]);
    assert_eq!(
        lines(&t),
        [
            "NAMES     STATE     IMAGE",
            "done      exited    BUSYBOX",
            "db        running   BUSYBOX",
            "web       created   BUSYBOX",
        ]
    );
    // `--format json` and `{{json .}}`: one object per line, docker 28's keys.
    let json = k.ok(&["ps", "-a", "--format", "json"]);
    assert_eq!(json, k.ok(&["ps", "-a", "--format", "{{json .}}"]));
    let first: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "Command",
            "CreatedAt",
            "ID",
            "Image",
            "Labels",
            "LocalVolumes",
            "Mounts",
            "Names",
            "Networks",
            "Platform",
            "Ports",
            "RunningFor",
            "Size",
            "State",
            "Status"
        ]
    );
    assert_eq!(first["Status"].as_str().unwrap()[..10], *"Exited (3)");
    assert_eq!(first["Command"], "\"sh -c exit 3\"");
    let labels = k.ok(&["ps", "--format", "{{join (split .Labels \",\") \"+\"}}"]);
    assert_eq!(labels, "app=db+tier=back\n");
    assert_eq!(
        k.ok(&["ps", "-a", "--format", "{{.Names}}={{.Label \"app\"}}"]),
        "done=\ndb=db\nweb=web\n"
    );
}

#[test]
fn ps_format_errors_name_the_template() {
    let k = store();
    let r = k.run(&["ps", "--format", "{{.Names"]);
    assert_eq!(r.code, 125);
    assert!(
        r.stderr.starts_with("Error: template parsing error:"),
        "{}",
        r.stderr
    );
    let r = k.run(&["ps", "--format", "{{.NoSuchField}}"]);
    assert_eq!(r.code, 125, "{}", r.stdout);
    assert!(r.stderr.contains("NoSuchField"), "{}", r.stderr);
}

#[test]
fn ps_filters_or_within_a_key_and_across_keys() {
    let k = store();
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["ps", "-a", "--format", "{{.Names}}"];
        a.extend_from_slice(args);
        k.ok(&a).lines().map(String::from).collect()
    };
    assert_eq!(names(&["-f", "name=db", "-f", "name=web"]), ["db", "web"]);
    assert_eq!(
        names(&["-f", "name=db", "-f", "label=app=web"]),
        Vec::<String>::new()
    );
    assert_eq!(names(&["-f", "label=app"]), ["db", "web"]);
    assert_eq!(names(&["-f", "label=tier=back"]), ["db"]);
    assert_eq!(names(&["-f", "status=exited"]), ["done"]);
    assert_eq!(
        names(&["-f", "status=created", "-f", "status=running"]),
        ["db", "web"]
    );
    assert_eq!(names(&["-f", "exited=3"]), ["done"]);
    assert_eq!(names(&["-f", "exited=0"]), Vec::<String>::new());
    assert_eq!(names(&["-f", "since=web"]), ["done", "db"]);
    assert_eq!(names(&["-f", "before=db"]), ["web"]);
    assert_eq!(names(&["-f", "ancestor=other:1.0"]), ["done", "db", "web"]);
    assert_eq!(names(&["-f", "ancestor=nothing"]), Vec::<String>::new());
    let id = k.ok(&["ps", "-a", "-q", "-f", "name=db"]);
    assert_eq!(names(&["-f", &format!("id={}", &id.trim()[..6])]), ["db"]);
    // A status filter lists stopped containers without -a, as docker does.
    assert_eq!(
        k.ok(&["ps", "-f", "status=exited", "--format", "{{.Names}}"]),
        "done\n"
    );
    let r = k.run(&["ps", "-f", "colour=red"]);
    assert_eq!(
        (r.code, r.stderr.trim()),
        (125, "Error: invalid filter 'colour'")
    );
    let r = k.run(&["ps", "-f", "status=sleeping"]);
    assert_eq!(r.code, 125);
}

#[test]
fn images_format_and_filters() {
    let k = store();
    // A dangling image: a rebuilt tag leaves the old image without one (its own
    // layer, so it is not taken for an intermediate image of the new one).
    let df = |v: &str| format!("FROM busybox\nCOPY f /f\nLABEL v={v}\n");
    let ctx = k.context("d", &[("Dockerfile", &df("1")), ("f", "1")]);
    k.ok(&["build", "-q", "-t", "lab", ctx.to_str().unwrap()]);
    let ctx2 = k.context("d2", &[("Dockerfile", &df("2")), ("f", "2")]);
    k.ok(&["build", "-q", "-t", "lab", ctx2.to_str().unwrap()]);
    let refs = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["images", "--format", "{{.Repository}}:{{.Tag}}"];
        a.extend_from_slice(args);
        let mut v: Vec<String> = k.ok(&a).lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(refs(&["-f", "reference=oth*"]), ["other:1.0"]);
    assert_eq!(
        refs(&["-f", "reference=busybox", "-f", "reference=other:*"]),
        ["busybox:latest", "other:1.0"]
    );
    assert_eq!(refs(&["-f", "dangling=true"]), ["<none>:<none>"]);
    assert_eq!(refs(&["-f", "label=v=2"]), ["lab:latest"]);
    assert_eq!(refs(&["-f", "label=v"]), ["<none>:<none>", "lab:latest"]);
    assert_eq!(
        refs(&["-f", "since=busybox", "-f", "dangling=false"]),
        ["lab:latest"]
    );
    assert_eq!(refs(&["-f", "before=lab"]).len(), 3);
    let t = k.ok(&[
        "images",
        "-f",
        "reference=other",
        "--format",
        "table {{.Repository}}\\t{{.Tag}}\\t{{.Size}}",
    ]);
    assert!(
        t.starts_with("REPOSITORY   TAG       SIZE\nother        1.0       "),
        "{t}"
    );
    let j = k.ok(&["images", "-f", "dangling=true", "--format", "json"]);
    assert!(j.contains(r#""Repository":"\u003cnone\u003e""#), "{j}");
}

#[test]
fn inspect_and_version_take_templates() {
    let k = store();
    assert_eq!(
        k.ok(&[
            "inspect",
            "-f",
            "{{.Name}} {{.State.Status}} {{json .Config.Labels}}",
            "db",
            "web"
        ]),
        "/db running {\"app\":\"db\",\"tier\":\"back\"}\n/web created {\"app\":\"web\"}\n"
    );
    assert_eq!(
        k.ok(&[
            "image",
            "inspect",
            "--format",
            "{{join .RepoTags \",\"}}",
            "other:1.0"
        ]),
        "busybox:latest,other:1.0\n"
    );
    // --format json is the default JSON array.
    let arr: serde_json::Value =
        serde_json::from_str(&k.ok(&["inspect", "--format", "json", "db"])).unwrap();
    assert_eq!(arr[0]["Name"], "/db");
    let v: serde_json::Value =
        serde_json::from_str(&k.ok(&["version", "--format", "json"])).unwrap();
    assert_eq!(v["Client"]["Version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["Server"], serde_json::Value::Null);
    assert_eq!(
        k.ok(&["version", "-f", "{{.Client.Os}}/{{.Client.Arch}}"]),
        "linux/amd64\n"
    );
    let text = k.ok(&["version"]);
    for label in [
        "Version:",
        "API version:",
        "Rust version:",
        "Git commit:",
        "Built:",
        "OS/Arch:",
    ] {
        assert!(
            text.contains(&format!(" {label}")),
            "{label} missing: {text}"
        );
    }
}

/// Removes what the docker comparison made, even when it fails.
struct DockerLeftovers {
    container: String,
    image: String,
}

impl Drop for DockerLeftovers {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.container])
            .output();
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.image])
            .output();
    }
}

fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_keys(line: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn formats_have_dockers_shape_for_the_same_kind_of_objects() {
    if std::process::Command::new("docker")
        .arg("--version")
        .output()
        .is_err()
    {
        support::skip("docker is not installed");
        return;
    }
    support::docker::ensure_docker();
    let k = Kiste::new();
    k.busybox();
    let name = format!("kiste-fmt-{}", std::process::id());
    let image = format!("{name}:1");
    k.ok(&["tag", "busybox", &image]);
    let _cleanup = DockerLeftovers {
        container: name.clone(),
        image: image.clone(),
    };
    let tar = k.dir.path().join("img.tar");
    k.ok(&["save", "-o", tar.to_str().unwrap(), &image]);
    docker(&["load", "-i", tar.to_str().unwrap()]);
    let create = [
        "create", "--name", &name, "-l", "a=b", &image, "sh", "-c", "exit 3",
    ];
    docker(&create);
    k.ok(&create);
    let both = |args: &[&str]| -> (String, String) { (docker(args), k.ok(args)) };

    let filter = format!("name={name}");
    let (d, ks) = both(&["ps", "-a", "--filter", &filter, "--format", "json"]);
    assert_eq!(json_keys(d.trim()), json_keys(ks.trim()));
    let (d, ks) = both(&[
        "ps",
        "-a",
        "--filter",
        &filter,
        "--format",
        "table {{.Names}}\t{{.State}}\t{{.Labels}}\t{{.Label \"a\"}}\t{{.Status}}",
    ]);
    assert_eq!(d, ks, "same container, same table");

    let reference = format!("reference={name}");
    let (d, ks) = both(&["images", "--filter", &reference, "--format", "{{json .}}"]);
    assert_eq!(json_keys(d.trim()), json_keys(ks.trim()));
    let (d, ks) = both(&[
        "images",
        "--filter",
        &reference,
        "--format",
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}",
    ]);
    assert_eq!(d, ks, "the same image (docker load keeps the id)");

    let (d, ks) = both(&[
        "inspect",
        "--format",
        "{{.Name}} {{.State.Status}} {{json .Config.Labels}} {{join .Config.Cmd \" \"}}",
        &name,
    ]);
    assert_eq!(d, ks);
}
