//! docker's commands that kiste answers in its own terms: `context` (the "default"
//! context is the local store; named contexts are tested in tests/context.rs), `builder`
//! (build and the build cache), and the refused ones (`checkpoint`, `trust`; plugins are
//! tested in tests/plugin.rs):
//! exit 125, one line that says why, and no store is made.

mod support;

use support::*;

#[test]
fn refused_commands_say_why_in_one_line_and_touch_nothing() {
    let k = Kiste::new();
    let cases: &[(&[&str], &str)] = &[
        (&["checkpoint", "create", "web", "cp1"], "CRIU"),
        (&["checkpoint", "ls", "web"], "CRIU"),
        (&["trust", "sign", "app:1"], "Notary v1"),
        (&["trust", "key", "generate", "me"], "Notary v1"),
    ];
    for (args, why) in cases {
        let r = k.run(args);
        assert_eq!(r.code, 125, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    assert!(!k.root().exists(), "a refused command made the store");
    // Each still answers --help.
    for c in ["checkpoint", "plugin", "trust", "events", "system events"] {
        let mut args: Vec<&str> = c.split(' ').collect();
        args.push("--help");
        assert_eq!(k.run(&args).code, 0, "{c} --help");
    }
}

#[test]
fn the_default_context_is_the_local_store() {
    let k = Kiste::new();
    let ls = k.ok(&["context", "ls"]);
    let mut lines = ls.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("  ")
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(
        header.iter().map(|s| s.trim()).collect::<Vec<_>>(),
        ["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"]
    );
    let row = lines.next().unwrap();
    assert!(row.starts_with("default *"), "{ls}");
    assert!(row.contains(&k.root().display().to_string()), "{ls}");
    assert_eq!(k.ok(&["context", "ls", "-q"]), "default\n");
    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["context", "ls", "--format", "json"])).unwrap();
    assert_eq!(json["Name"], "default");
    assert_eq!(json["Current"], true);
    assert_eq!(k.ok(&["context", "show"]), "default\n");
    let inspected: serde_json::Value =
        serde_json::from_str(&k.ok(&["context", "inspect"])).unwrap();
    assert_eq!(
        inspected[0]["Endpoints"]["kiste"]["Root"],
        k.root().display().to_string()
    );
    assert_eq!(
        k.ok(&["context", "inspect", "-f", "{{.Name}}", "default"]),
        "default\n"
    );
    let used = k.run(&["context", "use", "default"]);
    assert_eq!(used.code, 0);
    assert_eq!(used.stdout, "default\n");
    assert_eq!(used.stderr, "Current context is now \"default\"\n");
    // docker's message and code for a context that does not exist.
    let r = k.run(&["context", "use", "remote"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("context \"remote\": context not found"),
        "{}",
        r.stderr
    );
    assert_eq!(k.run(&["context", "inspect", "remote"]).code, 1);
}

#[test]
fn docker_context_ls_has_the_same_columns() {
    if !have("docker") {
        return skip("docker's CLI is not installed");
    }
    let out = std::process::Command::new("docker")
        .args(["context", "ls", "--format", "json"])
        .output()
        .unwrap();
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let k = Kiste::new();
    let ours: serde_json::Value =
        serde_json::from_str(&k.ok(&["context", "ls", "--format", "json"])).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(&theirs));
}

#[test]
fn builder_prune_empties_the_build_cache_and_builder_build_builds() {
    let k = Kiste::new();
    k.busybox();
    let ctx = k.context(
        "cached",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN head -c 100000 /dev/urandom > /r\n",
        )],
    );
    k.ok(&[
        "builder",
        "build",
        "-q",
        "-t",
        "cached",
        ctx.to_str().unwrap(),
    ]);
    assert!(k
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains("cached"));
    let df = |k: &Kiste| k.ok(&["system", "df", "--format", "{{.Type}} {{.Size}}"]);
    let before = df(&k);
    assert!(!before.contains("Build Cache 0B"), "{before}");
    // Records used just now are not older than an hour, and all fit in 1 GB: nothing goes
    // (tests/image_flags.rs checks what these flags remove).
    let r = k.run(&["builder", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(r.stdout, "Total reclaimed space: 0B\n", "{}", r.stderr);
    let r = k.run(&["builder", "prune", "-f", "--keep-storage", "1g"]);
    assert_eq!(r.stdout, "Total reclaimed space: 0B\n", "{}", r.stderr);
    assert_eq!(df(&k), before);
    // Without -f it asks, and "n" keeps the cache.
    let mut c = k.cmd(&["builder", "prune"]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout)
        .starts_with("WARNING! This will remove all dangling build cache."));
    assert_eq!(df(&k), before);
    let out = k.ok(&["builder", "prune", "-a", "-f"]);
    assert!(out.contains("Total reclaimed space:"), "{out}");
    assert!(df(&k).contains("Build Cache 0B"), "{}", df(&k));
}
