//! kiste's contexts next to docker's: docker's on-disk layout (sha256-named dirs, private
//! files, `currentContext`) under kiste's own config dir, and `context ls`/`inspect` with
//! the columns, JSON fields and field order of docker 28.2's own context commands (which
//! need no daemon: they run against a private DOCKER_CONFIG).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::context::Config;
use support::*;

#[test]
fn contexts_are_private_files_in_dockers_layout_under_kistes_config_dir() {
    use std::os::unix::fs::PermissionsExt;
    let cfg = Config::new();
    let k = Kiste::new();
    cfg.create_for("web", &k);
    cfg.ok(&["context", "use", "web"]);
    // One dir, named as docker names it (sha256 of the name: compared with docker's own
    // in ls_and_inspect_have_the_layout_of_dockers_context_commands).
    let listed: Vec<PathBuf> = std::fs::read_dir(cfg.path().join("contexts/meta"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(listed.len(), 1);
    let meta_dir = &listed[0];
    let hex = meta_dir.file_name().unwrap().to_str().unwrap();
    assert!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{meta_dir:?}"
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta_dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["Name"], "web");
    assert_eq!(
        meta["Endpoints"]["kiste"]["Root"],
        k.root().display().to_string()
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cfg.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["currentContext"], "web");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&meta_dir.join("meta.json")), 0o600);
    assert_eq!(mode(&cfg.path().join("config.json")), 0o600);
    assert_eq!(mode(meta_dir), 0o700);
    // inspect says where (docker's Storage fields).
    let inspected: serde_json::Value =
        serde_json::from_str(&cfg.ok(&["context", "inspect", "web"])).unwrap();
    assert_eq!(
        inspected[0]["Storage"]["MetadataPath"],
        meta_dir.display().to_string()
    );
}

/// The fields a JSON line or object has, sorted.
fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// Where each of docker's inspect fields first appears in the text: their order.
fn field_order(text: &str) -> Vec<usize> {
    [
        "\"Name\"",
        "\"Metadata\"",
        "\"Endpoints\"",
        "\"TLSMaterial\"",
        "\"Storage\"",
    ]
    .iter()
    .map(|f| {
        text.find(f)
            .unwrap_or_else(|| panic!("{f} missing in {text}"))
    })
    .collect()
}

#[test]
fn ls_and_inspect_have_the_layout_of_dockers_context_commands() {
    if !have("docker") {
        return skip("docker's CLI is not installed");
    }
    // docker's context commands need no daemon: a private DOCKER_CONFIG is enough.
    let docker_config = tempfile::tempdir().unwrap();
    let docker = |args: &[&str]| -> String {
        let out = Command::new("docker")
            .args(args)
            .env("DOCKER_CONFIG", docker_config.path())
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap();
        assert!(out.status.success(), "docker {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    docker(&[
        "context",
        "create",
        "other",
        "--description",
        "d",
        "--docker",
        "host=unix:///nonexistent.sock",
    ]);
    docker(&["context", "use", "other"]);
    let cfg = Config::new();
    let k = Kiste::new();
    cfg.create_for("other", &k);
    cfg.ok(&["context", "update", "other", "--description", "d"]);
    cfg.ok(&["context", "use", "other"]);

    // The table: the same columns, the current context marked " *".
    let (theirs, ours) = (docker(&["context", "ls"]), cfg.ok(&["context", "ls"]));
    let header = |t: &str| -> Vec<String> {
        t.lines()
            .next()
            .unwrap()
            .split("   ")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    assert_eq!(header(&ours), header(&theirs), "{ours}\n{theirs}");
    for t in [&theirs, &ours] {
        let marked: Vec<&str> = t.lines().filter(|l| l.contains(" * ")).collect();
        assert_eq!(marked.len(), 1, "{t}");
        assert!(marked[0].starts_with("other *"), "{t}");
    }
    // JSON lines: the same fields, and the same rows (default and other, in name order).
    let lines = |t: &str| -> Vec<serde_json::Value> {
        t.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (theirs, ours) = (
        lines(&docker(&["context", "ls", "--format", "json"])),
        lines(&cfg.ok(&["context", "ls", "--format", "json"])),
    );
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(keys(o), keys(t));
        assert_eq!((&o["Name"], &o["Current"]), (&t["Name"], &t["Current"]));
    }
    assert_eq!(ours[1]["Description"], theirs[1]["Description"]);
    // A Go template over the same fields.
    let tmpl = [
        "context",
        "ls",
        "--format",
        "{{.Name}} {{.Current}} {{.Error}}",
    ];
    assert_eq!(cfg.ok(&tmpl), docker(&tmpl));

    // inspect: docker's fields in docker's order; Storage and Metadata the same shape.
    let (theirs, ours) = (
        docker(&["context", "inspect"]),
        cfg.ok(&["context", "inspect"]),
    );
    let (order_t, order_o) = (field_order(&theirs), field_order(&ours));
    assert!(order_t.windows(2).all(|w| w[0] < w[1]), "{theirs}");
    assert!(order_o.windows(2).all(|w| w[0] < w[1]), "{ours}");
    let (t, o): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&theirs).unwrap(),
        serde_json::from_str(&ours).unwrap(),
    );
    assert_eq!(keys(&o[0]), keys(&t[0]));
    assert_eq!(keys(&o[0]["Storage"]), keys(&t[0]["Storage"]));
    assert_eq!(o[0]["Metadata"], t[0]["Metadata"]);
    assert_eq!(o[0]["TLSMaterial"], t[0]["TLSMaterial"]);
    // Both name the metadata dir by sha256 of the name.
    let tail = |v: &serde_json::Value| {
        let p = v[0]["Storage"]["MetadataPath"]
            .as_str()
            .unwrap()
            .to_string();
        p.rsplit('/').next().unwrap().to_string()
    };
    assert_eq!(tail(&o), tail(&t));
}
