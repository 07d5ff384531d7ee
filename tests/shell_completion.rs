//! `kiste completion bash|zsh|fish`, loaded into the real shells, completing against a
//! store with known containers (`web` created, `db` running, `done` exited) and images
//! (busybox, other:1.0): running ones for stop/kill, stopped ones for start, all for rm,
//! image references for run, signal names for `kill -s`, `--format` fields for ps.

mod support;

use std::process::Command;
use support::{checked_output, have, Kiste};

fn store() -> Kiste {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["tag", "busybox", "other:1.0"]);
    k.ok(&["create", "--name", "web", "busybox", "sleep", "100"]);
    k.ok(&["run", "-d", "--name", "db", "busybox", "sleep", "300"]);
    let r = k.run(&["run", "--name", "done", "busybox", "true"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    k
}

fn script(k: &Kiste, shell: &str) -> std::path::PathBuf {
    let path = k.dir.path().join(format!("kiste.{shell}"));
    // The script as a user gets it: no --root (the completer finds the store itself).
    let out = checked_output(Command::new(env!("CARGO_BIN_EXE_kiste")).args(["completion", shell]));
    std::fs::write(&path, out).unwrap();
    path
}

/// The candidates real bash puts in COMPREPLY for the words (the last one is the word
/// being completed), without the flags; sorted.
fn bash_complete(k: &Kiste, words: &[&str], with_env: bool) -> Vec<String> {
    let script = script(k, "bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        r#"source '{}'
complete -p kiste >/dev/null || exit 9
COMP_WORDS=({})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
_clap_complete_kiste kiste "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script.display(),
        quoted.join(" ")
    );
    let mut cmd = Command::new("bash");
    cmd.args(["--norc", "-c", &prog]);
    cmd.env_remove("KISTE_ROOT").env_remove("KISTE_RUNROOT");
    if with_env {
        cmd.env("KISTE_ROOT", k.root())
            .env("KISTE_RUNROOT", k.runroot());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    candidates(&String::from_utf8_lossy(&out.stdout))
}

fn candidates(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn bash_completes_containers_by_state_images_signals_and_fields() {
    let k = store();
    assert_eq!(bash_complete(&k, &["kiste", "sto"], true), ["stop"]);
    assert_eq!(bash_complete(&k, &["kiste", "stop", ""], true), ["db"]);
    assert_eq!(bash_complete(&k, &["kiste", "kill", ""], true), ["db"]);
    assert_eq!(
        bash_complete(&k, &["kiste", "start", ""], true),
        ["done", "web"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "rm", ""], true),
        ["db", "done", "web"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "logs", "d"], true),
        ["db", "done"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "run", ""], true),
        ["busybox:latest", "other:1.0"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "rmi", "o"], true),
        ["other:1.0"]
    );
    let sigs = bash_complete(&k, &["kiste", "kill", "-s", ""], true);
    assert!(
        sigs.contains(&"KILL".into()) && sigs.contains(&"TERM".into()),
        "{sigs:?}"
    );
    let fields = bash_complete(&k, &["kiste", "ps", "--format", ""], true);
    assert!(fields.contains(&"{{.Names}}".into()), "{fields:?}");
    assert!(fields.contains(&"json".into()), "{fields:?}");
    assert_eq!(
        bash_complete(&k, &["kiste", "ps", "--filter", "status="], true),
        ["status=created", "status=exited", "status=running"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "run", "--restart", ""], true),
        ["always", "no", "on-failure", "unless-stopped"]
    );
    assert_eq!(bash_complete(&k, &["kiste", "exec", ""], true), ["db"]);
    assert_eq!(bash_complete(&k, &["kiste", "attach", ""], true), ["db"]);
    assert_eq!(bash_complete(&k, &["kiste", "pause", ""], true), ["db"]);
    assert!(bash_complete(&k, &["kiste", "unpause", ""], true).is_empty());
    k.ok(&["pause", "db"]);
    assert_eq!(bash_complete(&k, &["kiste", "unpause", ""], true), ["db"]);
    k.ok(&["unpause", "db"]);
}

#[test]
fn bash_completion_reads_the_store_named_on_the_command_line() {
    let k = store();
    let root = k.root();
    let runroot = k.runroot();
    let words = [
        "kiste",
        "--root",
        root.to_str().unwrap(),
        "--runroot",
        runroot.to_str().unwrap(),
        "start",
        "",
    ];
    assert_eq!(bash_complete(&k, &words, false), ["done", "web"]);
}

#[test]
fn completion_leaves_the_store_as_it_was() {
    let k = Kiste::new();
    // A store that does not exist yet is not created by a tab.
    let words = ["kiste", "rm", ""];
    assert!(bash_complete(&k, &words, true).is_empty());
    assert!(!k.root().exists(), "completion created the store");
}

#[test]
fn zsh_completes_running_containers() {
    if !have("zsh") {
        support::skip("zsh is not installed (scripts/setup.sh installs it)");
        return;
    }
    let k = store();
    let script = script(&k, "zsh");
    // compdef and _describe belong to zsh's completion system, which needs a terminal;
    // these stand-ins record the registration and print what would be offered.
    let prog = format!(
        r#"compdef() {{ print -r -- "compdef $*" }}
_describe() {{ print -rl -- "${{(@P)3}}" }}
source '{}'
words=(kiste stop '') CURRENT=3
_clap_dynamic_completer_kiste"#,
        script.display()
    );
    let out = Command::new("zsh")
        .args(["-f", "-c", &prog])
        .env("KISTE_ROOT", k.root())
        .env("KISTE_RUNROOT", k.runroot())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "zsh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("compdef _clap_dynamic_completer_kiste kiste"),
        "{text}"
    );
    // zsh's entries are `value:description`.
    let got: Vec<String> = candidates(&text)
        .into_iter()
        .filter(|c| !c.starts_with("compdef"))
        .map(|c| c.split(':').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(got, ["db"]);
}

#[test]
fn fish_completes_stopped_containers_and_images() {
    if !have("fish") {
        support::skip("fish is not installed (scripts/setup.sh installs it)");
        return;
    }
    let k = store();
    let script = script(&k, "fish");
    let ask = |line: &str| -> Vec<String> {
        let out = Command::new("fish")
            .args([
                "--no-config",
                "-c",
                &format!("source '{}'; complete -C '{line}'", script.display()),
            ])
            .env("KISTE_ROOT", k.root())
            .env("KISTE_RUNROOT", k.runroot())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fish: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        candidates(&String::from_utf8_lossy(&out.stdout))
    };
    assert_eq!(ask("kiste start "), ["done", "web"]);
    assert_eq!(ask("kiste history "), ["busybox:latest", "other:1.0"]);
}

/// A network the store defines, as `network create` keeps it (`networks/NAME.json`).
fn define_network(k: &Kiste, name: &str) {
    let dir = k.root().join("networks");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{name}.json")),
        format!("{{\"name\":\"{name}\"}}"),
    )
    .unwrap();
}

#[test]
fn bash_completes_networks_images_for_every_image_verb_and_global_values() {
    let k = store();
    define_network(&k, "backend");
    assert_eq!(
        bash_complete(&k, &["kiste", "run", "--network", ""], true),
        ["backend", "bridge", "container:", "host", "none", "private"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "create", "--net", "b"], true),
        ["backend", "bridge"]
    );
    for verb in ["create", "rmi", "tag", "push", "save", "history"] {
        assert_eq!(
            bash_complete(&k, &["kiste", verb, ""], true),
            ["busybox:latest", "other:1.0"],
            "{verb}"
        );
    }
    assert_eq!(
        bash_complete(&k, &["kiste", "inspect", ""], true),
        ["busybox:latest", "db", "done", "other:1.0", "web"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "--log-level", ""], true),
        ["debug", "error", "info", "warn"]
    );
    let info = bash_complete(&k, &["kiste", "info", "--format", ""], true);
    assert!(info.contains(&"{{.CgroupVersion}}".into()), "{info:?}");
    let df = bash_complete(&k, &["kiste", "system", "df", "--format", ""], true);
    assert!(df.contains(&"{{.Reclaimable}}".into()), "{df:?}");
    assert_eq!(
        bash_complete(&k, &["kiste", "system", ""], true),
        ["df", "events", "info", "prune", "service"]
    );
    assert_eq!(
        bash_complete(&k, &["kiste", "container", "p"], true),
        ["pause", "port", "prune", "ps"]
    );
}

/// What zsh's completer offers for `words` (the last one is being completed).
fn zsh_complete(k: &Kiste, words: &[&str]) -> Vec<String> {
    let script = script(k, "zsh");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prog = format!(
        r#"compdef() {{ : }}
_describe() {{ print -rl -- "${{(@P)3}}" }}
source '{}'
words=({}) CURRENT={}
_clap_dynamic_completer_kiste"#,
        script.display(),
        quoted.join(" "),
        words.len()
    );
    let out = Command::new("zsh")
        .args(["-f", "-c", &prog])
        .env("KISTE_ROOT", k.root())
        .env("KISTE_RUNROOT", k.runroot())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zsh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    candidates(&String::from_utf8_lossy(&out.stdout))
        .into_iter()
        .map(|c| c.split(':').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn zsh_completes_signals_networks_and_all_containers() {
    if !have("zsh") {
        support::skip("zsh is not installed (scripts/setup.sh installs it)");
        return;
    }
    let k = store();
    define_network(&k, "backend");
    let sigs = zsh_complete(&k, &["kiste", "kill", "-s", ""]);
    assert!(
        sigs.contains(&"HUP".into()) && sigs.contains(&"USR1".into()),
        "{sigs:?}"
    );
    assert_eq!(
        zsh_complete(&k, &["kiste", "rm", ""]),
        ["db", "done", "web"]
    );
    assert_eq!(zsh_complete(&k, &["kiste", "start", ""]), ["done", "web"]);
    let nets = zsh_complete(&k, &["kiste", "run", "--network", ""]);
    assert!(
        nets.contains(&"backend".into()) && nets.contains(&"none".into()),
        "{nets:?}"
    );
}

#[test]
fn fish_completes_running_containers_signals_and_networks() {
    if !have("fish") {
        support::skip("fish is not installed (scripts/setup.sh installs it)");
        return;
    }
    let k = store();
    define_network(&k, "backend");
    let script = script(&k, "fish");
    let ask = |line: &str| -> Vec<String> {
        let out = Command::new("fish")
            .args([
                "--no-config",
                "-c",
                &format!("source '{}'; complete -C '{line}'", script.display()),
            ])
            .env("KISTE_ROOT", k.root())
            .env("KISTE_RUNROOT", k.runroot())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "fish: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        candidates(&String::from_utf8_lossy(&out.stdout))
    };
    assert_eq!(ask("kiste stop "), ["db"]);
    assert_eq!(ask("kiste logs "), ["db", "done", "web"]);
    let sigs = ask("kiste kill -s ");
    assert!(sigs.contains(&"TERM".into()), "{sigs:?}");
    let nets = ask("kiste run --network ");
    assert!(
        nets.contains(&"backend".into()) && nets.contains(&"host".into()),
        "{nets:?}"
    );
}
