//! docker's management-command forms (`container ls`, `image ls`, `system info`, …) are the
//! short verbs under a longer name: the same flags, the same output, the same exit code.
//! Shell completion knows them too.

mod support;

use support::*;

/// `short` and `long` (the same verb) print the same thing and exit alike.
fn same(k: &Kiste, short: &[&str], long: &[&str]) {
    let a = k.run(short);
    let b = k.run(long);
    assert_eq!(
        a.code, b.code,
        "{short:?} vs {long:?}: {}{}",
        a.stderr, b.stderr
    );
    assert_eq!(a.stdout, b.stdout, "{short:?} vs {long:?}");
    assert_eq!(a.stderr, b.stderr, "{short:?} vs {long:?}");
}

#[test]
fn management_forms_print_what_the_short_verbs_print() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "create", "--name", "made", "-l", "a=b", "busybox", "echo", "hi",
    ]);
    k.ok(&[
        "container",
        "run",
        "--name",
        "ran",
        "busybox",
        "echo",
        "ran",
    ]);
    same(&k, &["ps", "-a"], &["container", "ls", "-a"]);
    same(&k, &["ps", "-a"], &["container", "list", "-a"]);
    same(&k, &["ps", "-a"], &["container", "ps", "-a"]);
    same(
        &k,
        &["ps", "-a", "--format", "{{.Names}} {{.Labels}}"],
        &[
            "container",
            "ls",
            "-a",
            "--format",
            "{{.Names}} {{.Labels}}",
        ],
    );
    same(&k, &["logs", "ran"], &["container", "logs", "ran"]);
    same(&k, &["images"], &["image", "ls"]);
    same(&k, &["images", "-q"], &["image", "list", "-q"]);
    same(
        &k,
        &["history", "busybox"],
        &["image", "history", "busybox"],
    );
    same(
        &k,
        &[
            "inspect",
            "--type",
            "container",
            "-f",
            "{{.Name}} {{.State.Status}}",
            "made",
        ],
        &[
            "container",
            "inspect",
            "-f",
            "{{.Name}} {{.State.Status}}",
            "made",
        ],
    );
    same(&k, &["port", "made"], &["container", "port", "made"]);
    same(&k, &["diff", "ran"], &["container", "diff", "ran"]);
    same(
        &k,
        &["info", "--format", "{{.Driver}}"],
        &["system", "info", "--format", "{{.Driver}}"],
    );
    // Errors too: a missing container is the same message and code in both forms.
    same(&k, &["logs", "nosuch"], &["container", "logs", "nosuch"]);
    same(&k, &["rm", "nosuch"], &["container", "rm", "nosuch"]);
    same(&k, &["rmi", "nosuch"], &["image", "rm", "nosuch"]);

    // Acting through the long forms acts on the same store.
    k.ok(&["container", "start", "-a", "made"]);
    k.ok(&["image", "tag", "busybox", "other:1"]);
    assert!(k
        .ok(&["images", "--format", "{{.Repository}}"])
        .contains("other"));
    k.ok(&["image", "rm", "other:1"]);
    k.ok(&["container", "rename", "made", "renamed"]);
    k.ok(&["container", "rm", "renamed", "ran"]);
    assert_eq!(k.ok(&["ps", "-a", "-q"]), "");
}

#[test]
fn management_forms_take_the_short_verbs_flags() {
    // The same flag struct: every long flag of the short verb is in the long form's help.
    let cmd = kiste::cli::command();
    for (path, short) in kiste::cli::MANAGEMENT_FORMS {
        let mut long = &cmd;
        for word in path.split(' ') {
            long = long
                .find_subcommand(word)
                .unwrap_or_else(|| panic!("kiste {path} does not exist"));
        }
        let verb = cmd
            .find_subcommand(short)
            .unwrap_or_else(|| panic!("kiste {short} does not exist"));
        // As sets: with each verb's definition deferred, clap propagates the global
        // flags before or after the verb's own depending on the depth (the help text
        // lists them in the same order either way).
        let flags = |c: &clap::Command| -> std::collections::BTreeSet<String> {
            c.get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect()
        };
        assert_eq!(flags(long), flags(verb), "kiste {path} vs kiste {short}");
    }
}

/// What kiste offers at tab time for the last of `words` (clap's bash protocol).
fn complete(words: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiste"))
        .arg("--")
        .args(words)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "true")
        .env("_CLAP_IFS", "\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn completion_offers_the_management_forms() {
    let words = complete(&["kiste", "container", "st"]);
    for w in ["start", "stats", "stop"] {
        assert!(words.iter().any(|c| c == w), "{words:?}");
    }
    let words = complete(&["kiste", "image", "b"]);
    assert!(words.iter().any(|c| c == "build"), "{words:?}");
    let words = complete(&["kiste", "system", "d"]);
    assert!(words.iter().any(|c| c == "df"), "{words:?}");
}
