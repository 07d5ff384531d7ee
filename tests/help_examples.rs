//! Every verb's `--help` ends with an example that uses the verb, `kiste --help` lists the
//! exit codes, and scripts/man.sh writes a man page per verb from the same definitions.

mod support;

use std::process::Command;
use support::checked_output;

/// Every subcommand path (`run`, `image ls`, `system prune`, …).
fn paths(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
    for sub in cmd.get_subcommands() {
        let path = if prefix.is_empty() {
            sub.get_name().to_string()
        } else {
            format!("{prefix} {}", sub.get_name())
        };
        out.push(path.clone());
        paths(sub, &path, out);
    }
}

fn all_paths() -> Vec<String> {
    let mut v = Vec::new();
    paths(&kiste::cli::command(), "", &mut v);
    v
}

#[test]
fn every_help_shows_an_example_of_its_own_verb() {
    let all = all_paths();
    assert!(all.len() > 40, "{all:?}");
    for path in &all {
        let mut args: Vec<&str> = path.split(' ').collect();
        args.push("--help");
        let out = Command::new(env!("CARGO_BIN_EXE_kiste"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{path} --help");
        let help = String::from_utf8_lossy(&out.stdout);
        let example = help
            .split("Example:\n  ")
            .nth(1)
            .unwrap_or_else(|| panic!("kiste {path} --help has no example:\n{help}"));
        // The example runs the verb itself (`image ls` through `kiste image …`).
        let first = path.split(' ').next().unwrap();
        assert!(
            example.contains(&format!("kiste {first}")),
            "{path}: {example}"
        );
    }
    // The table names no verb that does not exist.
    for (path, _) in kiste::cli::EXAMPLES {
        assert!(all.iter().any(|p| p == path), "EXAMPLES names {path}");
    }
}

#[test]
fn top_level_help_lists_the_exit_codes() {
    let help = String::from_utf8(checked_output(
        Command::new(env!("CARGO_BIN_EXE_kiste")).arg("--help"),
    ))
    .unwrap();
    for code in ["125  ", "126  ", "127  ", "N    "] {
        assert!(help.contains(code), "{code:?} in {help}");
    }
    // A bad flag is kiste's own error.
    let bad = Command::new(env!("CARGO_BIN_EXE_kiste"))
        .args(["ps", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(125));
}

#[test]
fn man_pages_cover_every_verb() {
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/man.sh");
    checked_output(Command::new("bash").arg(script).arg(dir.path()));
    let page = |path: &str| dir.path().join(format!("{}.1", path.replace(' ', "-")));
    let root = std::fs::read_to_string(page("kiste")).unwrap();
    assert!(root.contains("125"), "kiste.1 lists the exit codes");
    for path in all_paths() {
        let p = page(&format!("kiste {path}"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|_| panic!("{}", p.display()));
        assert!(text.contains("Example"), "{}", p.display());
    }
}

/// The first line of every verb's `--help` is that verb's own one-line description, as
/// recorded in testdata/help/abouts.tsv: clap lets the doc comment of a flattened flag
/// group (`RunRefusedFlags`, `ApiSocketArgs`, …) replace a deferred verb's, which once
/// made `kiste build --help` open with "The refused flags of `build`". After a deliberate
/// change of a description, `KISTE_BLESS=1 cargo test --test help_examples abouts`
/// rewrites the file; review its diff.
#[test]
fn every_verbs_help_opens_with_its_own_description() {
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/help/abouts.tsv");
    let mut now = String::new();
    for path in all_paths() {
        if path == "help" || path.ends_with(" help") || path.starts_with("oci ") {
            continue;
        }
        let mut args: Vec<&str> = path.split(' ').collect();
        args.push("--help");
        let out = checked_output(Command::new(env!("CARGO_BIN_EXE_kiste")).args(&args));
        let text = String::from_utf8_lossy(&out);
        let first = text.lines().next().unwrap_or("").trim_end();
        now.push_str(&format!("{path}\t{first}\n"));
    }
    if std::env::var_os("KISTE_BLESS").is_some() {
        std::fs::create_dir_all(std::path::Path::new(golden).parent().unwrap()).unwrap();
        std::fs::write(golden, &now).unwrap();
    }
    let want = std::fs::read_to_string(golden).unwrap();
    let (w, n): (Vec<&str>, Vec<&str>) = (want.lines().collect(), now.lines().collect());
    let differ: Vec<String> = w
        .iter()
        .zip(&n)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("  want {a}\n  got  {b}"))
        .collect();
    assert!(
        differ.is_empty() && w.len() == n.len(),
        "verb descriptions differ from {golden} ({} vs {} lines):\n{}",
        w.len(),
        n.len(),
        differ.join("\n")
    );
}
