//! Every long flag of docker's CLI (testdata/docker-flags/flags.tsv, written by
//! scripts/docker-flags.sh from docker 28.x's `--help`) is accounted for in
//! testdata/docker-flags/coverage.tsv, and each row is checked against kiste itself:
//! - `works FILE::TEST`: kiste's help lists the flag and that test exists and passes it;
//! - `untested`: kiste's help lists the flag (no behaviour test names it yet);
//! - `refused CLASS: reason`: passing it exits 125 with one line naming the class, and
//!   creates nothing; a flag-level refusal is listed in the help too;
//! - `absent`: kiste does not know the flag yet and rejects it (exit 125), never ignores it.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use support::*;

const CLASSES: &[&str] = &[
    "windows-only",
    "swarm-only",
    "legacy-removed",
    "hardware-absent",
    "no-daemon",
    "not-implemented",
];

fn data(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/docker-flags")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The rows after the comment lines and the header.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// `(command, flag) → takes a value`.
fn docker_flags() -> BTreeMap<(String, String), bool> {
    let text = data("flags.tsv");
    let version = text.lines().next().unwrap();
    assert!(
        version.starts_with("# Docker version 28."),
        "flags.tsv records docker's version first: {version}"
    );
    rows(&text)
        .into_iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r[2] == "value"))
        .collect()
}

struct Coverage {
    command: String,
    flag: String,
    status: String,
    detail: String,
}

fn coverage() -> Vec<Coverage> {
    rows(&data("coverage.tsv"))
        .into_iter()
        .map(|r| Coverage {
            command: r[0].clone(),
            flag: r[1].clone(),
            status: r[2].clone(),
            detail: r.get(3).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The long flags (with their aliases) kiste's definition of `command` has; None when
/// kiste has no such command.
fn kiste_flags(command: &str) -> Option<BTreeSet<String>> {
    let root = kiste::cli::command();
    let mut cmd = &root;
    for word in command.split(' ') {
        cmd = cmd.find_subcommand(word)?;
    }
    let mut flags = BTreeSet::new();
    for a in cmd.get_arguments() {
        if let Some(l) = a.get_long() {
            flags.insert(format!("--{l}"));
        }
        for l in a.get_long_and_visible_aliases().unwrap_or_default() {
            flags.insert(format!("--{l}"));
        }
    }
    Some(flags)
}

#[test]
fn every_docker_flag_has_one_coverage_row() {
    let docker = docker_flags();
    let rows = coverage();
    let mut seen = BTreeSet::new();
    for r in &rows {
        let key = (r.command.clone(), r.flag.clone());
        assert!(
            docker.contains_key(&key),
            "coverage.tsv names {key:?}, not in flags.tsv"
        );
        assert!(seen.insert(key.clone()), "{key:?} twice in coverage.tsv");
    }
    for key in docker.keys() {
        assert!(seen.contains(key), "no coverage row for {key:?}");
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let class = match r.status.as_str() {
            "refused" => format!("refused {}", r.detail.split(':').next().unwrap()),
            s => s.to_string(),
        };
        *counts.entry(class).or_default() += 1;
    }
    eprintln!("{} docker flags: {counts:?}", rows.len());
}

#[test]
fn working_flags_are_in_kistes_help_and_named_tests_pass_them() {
    let tests_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for r in coverage() {
        if !matches!(r.status.as_str(), "works" | "untested" | "works-help") {
            continue;
        }
        let flags = kiste_flags(&r.command)
            .unwrap_or_else(|| panic!("kiste has no command {:?}", r.command));
        assert!(
            flags.contains(&r.flag),
            "kiste {} --help does not list {}",
            r.command,
            r.flag
        );
        if r.status != "works" {
            continue;
        }
        let (file, func) = r
            .detail
            .split_once("::")
            .unwrap_or_else(|| panic!("{} {}: works needs FILE::TEST", r.command, r.flag));
        let src = std::fs::read_to_string(tests_dir.join(file))
            .unwrap_or_else(|e| panic!("{} {}: {file}: {e}", r.command, r.flag));
        let start = src
            .find(&format!("fn {func}()"))
            .unwrap_or_else(|| panic!("{} {}: no test {file}::{func}", r.command, r.flag));
        assert!(
            src[..start].trim_end().ends_with("#[test]")
                || src[..start]
                    .rsplit("#[test]")
                    .next()
                    .is_some_and(|gap| gap.lines().all(|l| l.trim().is_empty()
                        || l.trim().starts_with("#[")
                        || l.trim().starts_with("///"))),
            "{file}::{func} is not a #[test]"
        );
        let body = &src[start..src[start..].find("\n}\n").map_or(src.len(), |e| start + e)];
        let short = kiste_short(&r.command, &r.flag);
        assert!(
            body.contains(&format!("\"{}", r.flag))
                || short.is_some_and(|s| body.contains(&format!("\"-{s}"))),
            "{file}::{func} does not pass {} ({})",
            r.flag,
            r.command
        );
    }
}

/// The short form kiste gives a long flag, if any.
fn kiste_short(command: &str, flag: &str) -> Option<char> {
    let root = kiste::cli::command();
    let mut cmd = &root;
    for word in command.split(' ') {
        cmd = cmd.find_subcommand(word)?;
    }
    let long = flag.trim_start_matches("--");
    let short = cmd
        .get_arguments()
        .find(|a| {
            a.get_long() == Some(long)
                || a.get_long_and_visible_aliases()
                    .is_some_and(|v| v.contains(&long))
        })
        .and_then(|a| a.get_short());
    short
}

#[test]
fn refused_and_absent_flags_exit_125_and_create_nothing() {
    let docker = docker_flags();
    let k = Kiste::new();
    for r in coverage() {
        if !matches!(r.status.as_str(), "refused" | "absent") {
            continue;
        }
        let takes_value = docker[&(r.command.clone(), r.flag.clone())];
        let mut args: Vec<&str> = r.command.split(' ').collect();
        args.push(&r.flag);
        if takes_value {
            args.push("x");
        }
        let out = k.run(&args);
        assert_eq!(out.code, 125, "kiste {args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "kiste {args:?}: {}", out.stdout);
        let known = kiste_flags(&r.command).is_some_and(|f| f.contains(&r.flag));
        if r.status == "absent" {
            assert!(
                !known,
                "{args:?} is marked absent but kiste has it: update coverage.tsv"
            );
            continue;
        }
        let class = r.detail.split(':').next().unwrap();
        assert!(CLASSES.contains(&class), "{args:?}: class {class:?}");
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "kiste {args:?}: {}",
            out.stderr
        );
        let whole = r.detail.contains("the whole command is refused");
        if whole {
            assert!(
                out.stderr.starts_with("Error: kiste "),
                "{args:?}: {}",
                out.stderr
            );
        } else {
            assert!(known, "kiste {} --help does not list {}", r.command, r.flag);
            assert!(
                out.stderr.contains(&format!("refused ({class})")),
                "kiste {args:?}: {}",
                out.stderr
            );
            let reason = r.detail.split_once(": ").map_or("", |(_, t)| t);
            assert!(out.stderr.contains(reason), "{args:?}: {}", out.stderr);
        }
    }
    // Nothing was created by any of them.
    assert_eq!(k.run(&["ps", "-a", "-q"]).stdout, "");
    assert_eq!(k.run(&["network", "ls", "-q"]).stdout.lines().count(), 3);
}

#[test]
fn kiste_answers_help_for_every_docker_command_outside_swarm() {
    let commands: BTreeSet<String> = docker_flags().keys().map(|(c, _)| c.clone()).collect();
    let rows = coverage();
    let k = Kiste::new();
    let mut missing = Vec::new();
    for c in
        commands
            .iter()
            .map(String::as_str)
            .chain(["checkpoint", "context show", "context use"])
    {
        let mut args: Vec<&str> = c.split(' ').collect();
        args.push("--help");
        let whole_refused = rows
            .iter()
            .filter(|r| r.command == c)
            .all(|r| r.status == "refused" && r.detail.contains("the whole command is refused"));
        let code = k.run(&args).code;
        if whole_refused && code == 125 {
            // `plugin install --help`: the refusal of the whole command answers.
            continue;
        }
        if code != 0 {
            // Only a command whose every flag is marked absent may be missing.
            assert!(
                rows.iter()
                    .filter(|r| r.command == c)
                    .all(|r| r.status == "absent"),
                "kiste {c} --help fails"
            );
            missing.push(c);
        }
    }
    eprintln!("docker commands kiste does not have yet: {missing:?}");
}
