//! kiste's contexts: names for kiste stores, kept in kiste's own config dir. Two private
//! stores get a context each; `context use`, `-c` and `DOCKER_CONTEXT`/`KISTE_CONTEXT`
//! choose which one `run` and `ps` work on, explicit `--root`/`--runroot` win over all of
//! them, the current context is not removed without `-f`, export/import round-trip in
//! docker's archive layout, and what docker would refuse is refused with its line and
//! exit code. The files and the output next to docker's: tests/context_layout.rs.

mod support;

use std::process::{Command, Stdio};
use support::context::Config;
use support::*;

fn names(out: &str) -> Vec<&str> {
    out.lines().collect()
}

#[test]
fn context_create_and_update_set_docker_store_from_and_description() {
    let cfg = Config::new();
    let (k1, k2) = (Kiste::new(), Kiste::new());
    let fmt = "{{.Metadata.Description}}|{{.Endpoints.kiste.Root}}|{{.Endpoints.kiste.RunRoot}}";
    let shows = |name: &str| cfg.ok(&["context", "inspect", "-f", fmt, name]);
    let store =
        |d: &str, k: &Kiste| format!("{d}|{}|{}\n", k.root().display(), k.runroot().display());
    // Two --docker values merge, as docker's map flag does.
    let (root1, run1) = (
        format!("root={}", k1.root().display()),
        format!("runroot={}", k1.runroot().display()),
    );
    cfg.ok(&[
        "context",
        "create",
        "one",
        "--description",
        "first store",
        "--docker",
        &root1,
        "--docker",
        &run1,
    ]);
    assert_eq!(shows("one"), store("first store", &k1));
    // --from copies the store and the description; --description replaces the latter.
    cfg.ok(&["context", "create", "two", "--from", "one"]);
    assert_eq!(shows("two"), store("first store", &k1));
    cfg.ok(&[
        "context",
        "create",
        "three",
        "--from",
        "one",
        "--description",
        "third",
    ]);
    assert_eq!(shows("three"), store("third", &k1));
    // Neither --docker nor --from: a copy of the current context (docker's rule).
    cfg.ok(&["context", "use", "one"]);
    cfg.ok(&["context", "create", "four"]);
    assert_eq!(shows("four"), store("first store", &k1));
    // update --docker replaces the store and keeps the description; an empty
    // --description keeps it too (as docker).
    let docker2 = format!(
        "root={},runroot={}",
        k2.root().display(),
        k2.runroot().display()
    );
    let r = cfg.run(&[
        "context",
        "update",
        "two",
        "--docker",
        &docker2,
        "--description",
        "",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str()),
        ("two\n", "Successfully updated context \"two\"\n")
    );
    assert_eq!(shows("two"), store("first store", &k2));
    assert_eq!(shows("one"), store("first store", &k1));
    // A relative store path is made absolute where the context is made.
    let mut c = cfg.cmd(&["context", "create", "rel", "--docker", "root=r,runroot=rr"]);
    assert!(c.current_dir(cfg.path()).output().unwrap().status.success());
    assert_eq!(
        cfg.ok(&[
            "context",
            "inspect",
            "-f",
            "{{.Endpoints.kiste.Root}} {{.Endpoints.kiste.RunRoot}}",
            "rel"
        ]),
        format!(
            "{} {}\n",
            cfg.path().join("r").display(),
            cfg.path().join("rr").display()
        )
    );
    // Only the stores' names were written: no store was made.
    assert!(!k1.root().exists() && !k2.root().exists());
}

#[test]
fn the_chosen_context_decides_which_store_run_and_ps_see() {
    let cfg = Config::new();
    let (a, b) = (Kiste::new(), Kiste::new());
    a.busybox();
    b.busybox();
    cfg.create_for("store-a", &a);
    cfg.create_for("store-b", &b);

    let used = cfg.run(&["context", "use", "store-a"]);
    assert_eq!(used.code, 0, "{}", used.stderr);
    assert_eq!(used.stderr, "Current context is now \"store-a\"\n");
    assert_eq!(cfg.ok(&["context", "show"]), "store-a\n");
    let ps = ["ps", "-a", "--format", "{{.Names}}"];

    // The current context's store: the container lands in a's store and only there.
    assert_eq!(
        cfg.ok(&["run", "--name", "in-a", "busybox", "echo", "hi"]),
        "hi\n"
    );
    assert_eq!(names(&cfg.ok(&ps)), ["in-a"]);
    assert_eq!(names(&a.ok(&ps)), ["in-a"]);
    assert!(b.ok(&ps).is_empty());

    // -c picks the other store for one command.
    let mut in_b = vec![
        "-c", "store-b", "create", "--name", "in-b", "busybox", "true",
    ];
    cfg.ok(&in_b);
    in_b.truncate(2);
    in_b.extend(ps);
    assert_eq!(names(&cfg.ok(&in_b)), ["in-b"]);
    assert_eq!(names(&b.ok(&ps)), ["in-b"]);
    assert_eq!(names(&cfg.ok(&ps)), ["in-a"]);

    // DOCKER_CONTEXT and KISTE_CONTEXT too; KISTE_CONTEXT is the more specific, and -c
    // beats both.
    let env_ps = |vars: &[(&str, &str)], extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(ps);
        let mut c = cfg.cmd(&args);
        c.envs(vars.iter().copied());
        let r: Run = c.output().unwrap().into();
        assert_eq!(r.code, 0, "{vars:?} {extra:?}: {}", r.stderr);
        r.stdout
    };
    assert_eq!(env_ps(&[("DOCKER_CONTEXT", "store-b")], &[]), "in-b\n");
    assert_eq!(
        env_ps(
            &[("DOCKER_CONTEXT", "store-b"), ("KISTE_CONTEXT", "store-a")],
            &[]
        ),
        "in-a\n"
    );
    assert_eq!(
        env_ps(&[("KISTE_CONTEXT", "store-a")], &["-c", "store-b"]),
        "in-b\n"
    );
    // Explicit --root/--runroot override whatever context is chosen.
    let (root, runroot) = (a.root(), a.runroot());
    let explicit = [
        "-c",
        "store-b",
        "--root",
        root.to_str().unwrap(),
        "--runroot",
        runroot.to_str().unwrap(),
    ];
    assert_eq!(env_ps(&[], &explicit), "in-a\n");
    // "default" is kiste's default store again (not a's or b's).
    let r = cfg.run(&["-c", "default", "context", "show"]);
    assert_eq!(r.stdout, "default\n");

    // The current context is not removed without -f (docker's message and code).
    let r = cfg.run(&["context", "rm", "store-a"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr,
        "context \"store-a\" is in use, set -f flag to force remove\n"
    );
    assert_eq!(cfg.ok(&["context", "show"]), "store-a\n");
    // Another one goes; with -f the current one goes too and "default" is current.
    assert_eq!(cfg.ok(&["context", "rm", "store-b"]), "store-b\n");
    assert_eq!(cfg.ok(&["context", "rm", "-f", "store-a"]), "store-a\n");
    assert_eq!(cfg.ok(&["context", "show"]), "default\n");
    assert_eq!(cfg.ok(&["context", "ls", "-q"]), "default\n");
    // The stores themselves are untouched by removing their names.
    assert_eq!(names(&a.ok(&ps)), ["in-a"]);
}

#[test]
fn export_and_import_round_trip_in_dockers_archive_layout() {
    let cfg = Config::new();
    let k = Kiste::new();
    cfg.create_for("orig", &k);
    cfg.ok(&["context", "update", "orig", "--description", "the original"]);
    let tar = cfg.path().join("orig.tar");
    let r = cfg.run(&["context", "export", "orig", tar.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, format!("Written file \"{}\"\n", tar.display()));
    // docker's layout: meta.json and an empty tls/ dir.
    let listing = checked_output(Command::new("tar").arg("-tvf").arg(&tar));
    let entries: Vec<String> = String::from_utf8_lossy(&listing)
        .lines()
        .map(|l| l.split_whitespace().last().unwrap().to_string())
        .collect();
    assert_eq!(entries, ["meta.json", "tls"]);

    let r = cfg.run(&["context", "import", "copy", tar.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "Successfully imported context \"copy\"\n");
    // Through a pipe: export to stdout, import from stdin.
    let exported = cfg
        .cmd(&["context", "export", "orig", "-"])
        .output()
        .unwrap();
    assert!(exported.status.success());
    let mut import = cfg.cmd(&["context", "import", "piped", "-"]);
    import
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = import.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&exported.stdout)
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    let fmt = "{{.Metadata.Description}}|{{.Endpoints.kiste.Root}}|{{.Endpoints.kiste.RunRoot}}";
    let want = format!(
        "the original|{}|{}\n",
        k.root().display(),
        k.runroot().display()
    );
    for name in ["orig", "copy", "piped"] {
        assert_eq!(
            cfg.ok(&["context", "inspect", "-f", fmt, name]),
            want,
            "{name}"
        );
    }
    // Importing over an existing name is refused as docker refuses it.
    let r = cfg.run(&["context", "import", "copy", tar.to_str().unwrap()]);
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "context \"copy\" already exists\n")
    );
}

#[test]
fn values_docker_refuses_or_kiste_cannot_use_are_refused_with_one_line() {
    let cfg = Config::new();
    let k = Kiste::new();
    cfg.create_for("there", &k);
    cfg.ok(&["context", "use", "there"]);
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["context", "create", "xx", "--docker", "foo=bar"],
            1,
            "unable to create docker endpoint config: unrecognized config key: foo",
        ),
        (
            &[
                "context",
                "create",
                "xx",
                "--docker",
                "host=unix:///var/run/docker.sock",
            ],
            1,
            "no daemon",
        ),
        (
            &[
                "context",
                "create",
                "xx",
                "--docker",
                "host=tcp://10.0.0.1:2375",
            ],
            1,
            "no daemon",
        ),
        (
            &["context", "create", "xx", "--docker", "host=ssh://"],
            1,
            "ssh host connection is not valid: invalid SSH URL: hostname is empty",
        ),
        (
            &["context", "create", "xx", "--docker", "ca=/x/ca.pem"],
            1,
            "TLS material",
        ),
        (
            &["context", "create", "xx", "--docker", "host"],
            125,
            "invalid argument \"host\" for \"--docker\" flag: host must be formatted as key=value",
        ),
        (
            &["context", "create", "x"],
            1,
            "context name \"x\" is invalid",
        ),
        (
            &["context", "create", "default"],
            1,
            "\"default\" is a reserved context name",
        ),
        (
            &["context", "create", "there"],
            1,
            "context \"there\" already exists",
        ),
        (
            &[
                "context", "create", "xx", "--from", "there", "--docker", "root=/x",
            ],
            1,
            "cannot use --docker flag when --from is set",
        ),
        (
            &["context", "update", "default", "--description", "d"],
            1,
            "reserved",
        ),
        (
            &["context", "update", "there", "--docker", "host=tcp://h:1"],
            1,
            "no daemon",
        ),
        (
            &["context", "use", "nope"],
            1,
            "context \"nope\": context not found",
        ),
        (
            &["context", "inspect", "nope"],
            1,
            "context \"nope\": context not found",
        ),
        (
            &["context", "rm", "nope"],
            1,
            "context \"nope\" does not exist",
        ),
        (
            &["context", "rm", "default"],
            1,
            "context \"default\" cannot be removed",
        ),
        (
            &["-c", "nope", "ps"],
            1,
            "unable to resolve docker endpoint: context \"nope\"",
        ),
    ];
    for (args, code, why) in cases {
        let r = cfg.run(args);
        assert_eq!(r.code, *code, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(why), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    // Nothing was made or changed: one context, still current, still naming k's store.
    assert_eq!(cfg.ok(&["context", "ls", "-q"]), "default\nthere\n");
    assert_eq!(cfg.ok(&["context", "show"]), "there\n");
    assert_eq!(
        cfg.ok(&["context", "inspect", "-f", "{{.Endpoints.kiste.Root}}"]),
        format!("{}\n", k.root().display())
    );
    // A context docker exported (its endpoint is a daemon) is not imported.
    let docker_tar = cfg.path().join("docker.tar");
    let meta = br#"{"Name":"d","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///var/run/docker.sock","SkipTLSVerify":false}}}"#;
    let staging = cfg.path().join("staging");
    std::fs::create_dir_all(staging.join("tls")).unwrap();
    std::fs::write(staging.join("meta.json"), meta).unwrap();
    checked_output(
        Command::new("tar")
            .arg("-cf")
            .arg(&docker_tar)
            .arg("-C")
            .arg(&staging)
            .args(["meta.json", "tls"]),
    );
    let r = cfg.run(&[
        "context",
        "import",
        "fromdocker",
        docker_tar.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("names a docker daemon"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);
}
