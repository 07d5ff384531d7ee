//! `kiste compose config` and the checks before anything runs: interpolation with `.env`,
//! `-f` merges, profiles, every kind of bad input (one line naming file, line and key;
//! exit 1 as docker compose), and the resolved file compared with Debian's
//! docker-compose 1.29 `config` for the same files. None of these start a container.

mod support;

use serde_yaml::{Mapping, Value};
use std::path::Path;
use support::{testdata, Kiste};

fn compose(k: &Kiste, dir: &Path, args: &[&str]) -> support::Run {
    let mut c = k.command();
    c.current_dir(dir).arg("compose").args(args);
    for v in [
        "MODE",
        "WEB_TAG",
        "COMPOSE_PROJECT_NAME",
        "COMPOSE_PROFILES",
        "NAME",
        "TAG",
    ] {
        c.env_remove(v);
    }
    c.output().unwrap().into()
}

fn config(k: &Kiste, dir: &Path, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("config");
    let r = compose(k, dir, &a);
    assert_eq!(r.code, 0, "compose config failed: {}", r.stderr);
    serde_yaml::from_str(&r.stdout).unwrap()
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("myproj-")
        .tempdir()
        .unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn interpolation_takes_dotenv_and_the_environment_wins() {
    let k = Kiste::new();
    let dir = project(&[
        ("compose.yaml", "name: ${NAME:-fallback}\nservices:\n  web:\n    image: \"busybox:${TAG}\"\n    environment:\n      PRICE: $$5\n      UNSET: ${NOPE-dflt}\n      EMPTY: ${EMPTY:-was-empty}\n"),
        (".env", "TAG=from-dotenv\nEMPTY=\n# a comment\nNAME=\"dotenv-name\"\n"),
    ]);
    let c = config(&k, dir.path(), &[]);
    assert_eq!(c["name"], Value::from("dotenv-name"));
    let web = &c["services"]["web"];
    assert_eq!(web["image"], Value::from("busybox:from-dotenv"));
    assert_eq!(web["environment"]["PRICE"], Value::from("$5"));
    assert_eq!(web["environment"]["UNSET"], Value::from("dflt"));
    assert_eq!(web["environment"]["EMPTY"], Value::from("was-empty"));
    let mut cmd = k.command();
    cmd.current_dir(dir.path())
        .args(["compose", "config"])
        .env("TAG", "from-env");
    let out: Value = serde_yaml::from_slice(&cmd.output().unwrap().stdout).unwrap();
    assert_eq!(
        out["services"]["web"]["image"],
        Value::from("busybox:from-env")
    );
}

#[test]
fn project_name_comes_from_flag_then_env_then_name_key_then_directory() {
    let k = Kiste::new();
    let dir = tempfile::Builder::new()
        .prefix("My.Proj_")
        .tempdir()
        .unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  a:\n    image: busybox\n",
    )
    .unwrap();
    let base = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_lowercase()
        .replace('.', "");
    assert_eq!(
        config(&k, dir.path(), &[])["name"],
        Value::from(base.as_str())
    );
    assert_eq!(
        config(&k, dir.path(), &["-p", "given"])["name"],
        Value::from("given")
    );
    assert_eq!(
        config(&k, dir.path(), &["-p", "given"])["networks"]["default"]["name"],
        Value::from("given_default")
    );
    let r = compose(&k, dir.path(), &["-p", "Bad Name", "config"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("project name \"Bad Name\""),
        "{}",
        r.stderr
    );
}

#[test]
fn several_files_merge_in_order() {
    let k = Kiste::new();
    let dir = testdata("compose/merge");
    let c = config(
        &k,
        &dir,
        &["-f", "compose.yaml", "-f", "compose.override.yaml"],
    );
    let web = &c["services"]["web"];
    assert_eq!(
        web["image"],
        Value::from("busybox:2"),
        "scalars are replaced"
    );
    assert_eq!(
        web["command"],
        serde_yaml::from_str::<Value>("[sleep, '1']").unwrap(),
        "command is replaced"
    );
    assert_eq!(
        web["environment"],
        serde_yaml::from_str::<Value>("{A: '1', B: '3', C: '4'}").unwrap()
    );
    assert_eq!(web["labels"]["keep"], Value::from("yes"));
    let published: Vec<&Value> = web["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| &p["published"])
        .collect();
    assert_eq!(
        published,
        [&Value::from("8080"), &Value::from("9090")],
        "ports are appended"
    );
    let vols: Vec<(String, String)> = web["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["source"].as_str().unwrap().to_string(),
                v["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let d = dir.display();
    assert_eq!(
        vols,
        [
            (format!("{d}/other"), "/data".into()),
            (format!("{d}/conf"), "/conf".into())
        ],
        "volumes merge by target"
    );
    assert!(c["services"]["extra"].is_mapping());
    // COMPOSE_FILE names the same files when no -f is given.
    let mut cmd = k.command();
    cmd.current_dir(&dir)
        .args(["compose", "config"])
        .env("COMPOSE_FILE", "compose.yaml:compose.override.yaml");
    let out = cmd.output().unwrap();
    assert_eq!(serde_yaml::from_slice::<Value>(&out.stdout).unwrap(), c);
}

#[test]
fn profiles_enable_services() {
    let k = Kiste::new();
    let dir = testdata("compose/profiles");
    let services = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["config", "--services"]);
        let r = compose(&k, &dir, &a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout.lines().map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(services(&[]), ["app"]);
    assert_eq!(services(&["--profile", "tools"]), ["app", "tools"]);
    assert_eq!(services(&["--profile", "debug"]), ["app", "debug", "tools"]);
    let mut c = k.command();
    c.current_dir(&dir)
        .args(["compose", "config", "--services"])
        .env("COMPOSE_PROFILES", "debug");
    assert_eq!(
        String::from_utf8(c.output().unwrap().stdout).unwrap(),
        "app\ndebug\ntools\n"
    );
}

/// Each bad file: the exit code and the one error line (file, line, key, message).
#[test]
fn bad_input_is_one_line_naming_file_line_and_key() {
    let k = Kiste::new();
    let cases: &[(&str, &str)] = &[
        ("services:\n  web:\n    image: busybox\n   bad: [\n", "compose.yaml:4:4: invalid yaml: did not find expected key"),
        ("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n", "compose.yaml:4: services.a.depends_on: dependency cycle detected: a -> b -> a"),
        ("services:\n  a:\n    image: x\n    environment:\n      P: ${DB_PASSWORD:?set DB_PASSWORD in .env}\n", "compose.yaml:5: services.a.environment.P: required variable DB_PASSWORD is missing a value: set DB_PASSWORD in .env"),
        ("services:\n  a:\n    command: echo\n", "compose.yaml:2: services.a: has neither an image nor a build context specified"),
        ("services:\n  a:\n    image: x\n    depends_on:\n      - db\n", "compose.yaml:5: services.a.depends_on.db: service \"a\" depends on undefined service \"db\""),
        ("services:\n  a:\n    image: x\n    volumes:\n      - /x:/y\n      - data:/d\n", "compose.yaml:6: services.a.volumes.1: service \"a\" refers to undefined volume \"data\""),
        ("services:\n  a:\n    image: x\n    ports:\n      - \"x:80\"\n", "compose.yaml:5: services.a.ports.0: invalid port \"x:80\""),
        ("services:\n  a:\n    image: x\n    depends_on:\n      b:\n        condition: service_happy\n  b:\n    image: x\n", "compose.yaml:6: services.a.depends_on.b.condition: invalid condition \"service_happy\""),
    ];
    for (text, want) in cases {
        let dir = project(&[("compose.yaml", text)]);
        for verb in [&["config"][..], &["up", "-d"][..]] {
            let r = compose(&k, dir.path(), verb);
            assert_eq!(r.code, 1, "{verb:?} on {text}: {}", r.stderr);
            let lines: Vec<&str> = r.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {}", r.stderr);
            let want = format!("Error: {}/{want}", dir.path().display());
            assert!(
                lines[0].starts_with(&want),
                "got {:?}\nwant {want:?}",
                lines[0]
            );
        }
    }
    assert!(
        !k.root().join("containers").exists()
            || std::fs::read_dir(k.root().join("containers"))
                .unwrap()
                .next()
                .is_none(),
        "nothing was created"
    );
}

#[test]
fn unknown_keys_warn_and_strict_refuses_them() {
    let k = Kiste::new();
    let dir = project(&[("compose.yaml", "services:\n  web:\n    image: busybox\n    imgae: typo\n    dns: [1.1.1.1]\n    x-note: mine\nx-top: 1\n")]);
    let r = compose(&k, dir.path(), &["config", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = dir.path().display();
    assert!(
        r.stderr.contains(&format!(
            "{d}/compose.yaml:4: services.web.imgae: is not a compose key, ignored"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "{d}/compose.yaml:5: services.web.dns: is not supported by kiste, ignored"
        )),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("x-"),
        "extension fields are the user's: {}",
        r.stderr
    );
    let r = compose(&k, dir.path(), &["--strict", "config"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        format!("Error: {d}/compose.yaml:4: services.web.imgae: is not a compose key (--strict)")
    );
}

#[test]
fn no_compose_file_says_where_it_looked() {
    let k = Kiste::new();
    let dir = project(&[]);
    let r = compose(&k, dir.path(), &["config"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no configuration file provided"),
        "{}",
        r.stderr
    );
}

// --- the comparison with docker-compose 1.29 ---

/// A port as both print it: (host_ip, published, target, protocol).
fn port(v: &Value) -> Value {
    let (ip, published, target, proto) = match v {
        Value::String(s) => {
            let (rest, proto) = s.split_once('/').unwrap_or((s, "tcp"));
            let parts: Vec<&str> = rest.rsplitn(3, ':').collect();
            match parts.as_slice() {
                [t] => (
                    String::new(),
                    String::new(),
                    t.to_string(),
                    proto.to_string(),
                ),
                [t, p] => (
                    String::new(),
                    p.to_string(),
                    t.to_string(),
                    proto.to_string(),
                ),
                [t, p, ip] => (
                    ip.to_string(),
                    p.to_string(),
                    t.to_string(),
                    proto.to_string(),
                ),
                _ => unreachable!(),
            }
        }
        m => {
            let s = |k: &str| match &m[k] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("{other:?}"),
            };
            let proto = if m["protocol"].is_null() {
                "tcp".to_string()
            } else {
                s("protocol")
            };
            (s("host_ip"), s("published"), s("target"), proto)
        }
    };
    Value::from(format!("{ip}|{published}|{target}|{proto}"))
}

/// A service volume as both print it: (type, source, target, read_only).
fn volume(v: &Value) -> Value {
    let (kind, src, target, ro) = match v {
        Value::String(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            let kind = if parts[0].starts_with('/') {
                "bind"
            } else {
                "volume"
            };
            (
                kind.to_string(),
                parts[0].to_string(),
                parts[1].to_string(),
                parts.get(2) == Some(&"ro"),
            )
        }
        m => (
            m["type"].as_str().unwrap().to_string(),
            m["source"].as_str().unwrap_or_default().to_string(),
            m["target"].as_str().unwrap().to_string(),
            m["read_only"].as_bool().unwrap_or(false),
        ),
    };
    Value::from(format!("{kind}|{src}|{target}|{ro}"))
}

fn scalar(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::from(n.to_string()),
        Value::Bool(b) => Value::from(b.to_string()),
        other => other.clone(),
    }
}

/// One service reduced to what both tools say the same way. Each step is a known
/// difference in form, not in meaning:
/// - 1.29 keeps a string `command` as written; v2 (and kiste) split it into words.
/// - 1.29 mixes short and long ports and volumes; v2 prints the long form: both become
///   (ip, published, target, protocol) and (type, source, target, read_only) tuples.
/// - 1.29 writes an empty service network as `{}`; v2 as null. v2 lists the implicit
///   `default` network of a service; 1.29 leaves it out.
/// - numbers (`expose: [4000]`, published ports) are compared as strings.
fn normalise_service(s: &Value) -> Value {
    let mut out = Mapping::new();
    for (k, v) in s.as_mapping().unwrap() {
        let key = k.as_str().unwrap();
        let v = match key {
            "command" | "entrypoint" => match v {
                Value::String(c) => {
                    Value::Sequence(c.split_whitespace().map(Value::from).collect())
                }
                other => other.clone(),
            },
            "ports" => Value::Sequence(v.as_sequence().unwrap().iter().map(port).collect()),
            "volumes" => Value::Sequence(v.as_sequence().unwrap().iter().map(volume).collect()),
            "expose" => Value::Sequence(v.as_sequence().unwrap().iter().map(scalar).collect()),
            "networks" => {
                let m: Mapping = v
                    .as_mapping()
                    .unwrap()
                    .iter()
                    .filter(|(n, d)| !(n.as_str() == Some("default") && d.is_null()))
                    .map(|(n, d)| {
                        (
                            n.clone(),
                            if d.as_mapping().is_some_and(|m| m.is_empty()) {
                                Value::Null
                            } else {
                                d.clone()
                            },
                        )
                    })
                    .collect();
                if m.is_empty() {
                    continue;
                }
                Value::Mapping(m)
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Mapping(out)
}

/// The top-level networks and volumes: 1.29 prints them as declared (driver, name when
/// given), v2 with the name each gets; the declared keys and any given `name` must agree.
fn declared(doc: &Value, section: &str) -> Vec<(String, Option<String>)> {
    doc[section]
        .as_mapping()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str() != Some("default"))
                .map(|(k, v)| {
                    let name = v["name"]
                        .as_str()
                        .map(str::to_string)
                        .filter(|n| !n.ends_with(&format!("_{}", k.as_str().unwrap())));
                    (k.as_str().unwrap().to_string(), name)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn config_matches_docker_compose_1_29() {
    if !support::have("docker-compose") {
        support::skip("docker-compose (Debian's 1.29) is not installed");
        return;
    }
    let k = Kiste::new();
    let dir = testdata("compose/full");
    let ours = config(&k, &dir, &["--profile", "setup"]);
    let mut dc = std::process::Command::new("docker-compose");
    dc.current_dir(&dir).args(["--profile", "setup", "config"]);
    for v in [
        "MODE",
        "WEB_TAG",
        "COMPOSE_PROJECT_NAME",
        "COMPOSE_PROFILES",
    ] {
        dc.env_remove(v);
    }
    let out = dc.output().unwrap();
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_yaml::from_slice(&out.stdout).unwrap();
    let names = |d: &Value| -> Vec<String> {
        d["services"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&ours), names(&theirs));
    for name in names(&theirs) {
        let a = normalise_service(&ours["services"][name.as_str()]);
        let b = normalise_service(&theirs["services"][name.as_str()]);
        assert_eq!(
            a,
            b,
            "service {name}:\nkiste:\n{}\ndocker-compose:\n{}",
            serde_yaml::to_string(&a).unwrap(),
            serde_yaml::to_string(&b).unwrap()
        );
    }
    assert_eq!(declared(&ours, "networks"), declared(&theirs, "networks"));
    assert_eq!(declared(&ours, "volumes"), declared(&theirs, "volumes"));
}

#[test]
fn anchors_and_merge_keys_expand() {
    let k = Kiste::new();
    let dir = project(&[("compose.yaml", "x-common: &common\n  image: busybox\n  environment:\n    A: \"1\"\nservices:\n  web:\n    <<: *common\n    command: [true]\n")]);
    let r = compose(&k, dir.path(), &["config"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "no warning about `<<`: {}", r.stderr);
    let c: Value = serde_yaml::from_str(&r.stdout).unwrap();
    assert_eq!(c["services"]["web"]["image"], Value::from("busybox"));
    assert_eq!(c["services"]["web"]["environment"]["A"], Value::from("1"));
}

#[test]
fn an_error_in_an_override_file_names_that_file() {
    let k = Kiste::new();
    let dir = project(&[
        ("compose.yaml", "services:\n  web:\n    image: busybox\n"),
        (
            "override.yaml",
            "services:\n  web:\n    depends_on:\n      - nosuch\n",
        ),
    ]);
    let r = compose(
        &k,
        dir.path(),
        &["-f", "compose.yaml", "-f", "override.yaml", "config"],
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        format!("Error: {}/override.yaml:4: services.web.depends_on.nosuch: service \"web\" depends on undefined service \"nosuch\"", dir.path().display())
    );
}

#[test]
fn a_bad_setting_stops_up_before_anything_is_made() {
    let k = Kiste::new();
    let dir = project(&[("compose.yaml", "services:\n  ok:\n    image: busybox\n  web:\n    image: busybox\n    mem_limit: lots\n    depends_on: [ok]\n")]);
    let r = compose(&k, dir.path(), &["up", "-d"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("Error: service \"web\": invalid argument \"lots\""),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Created"), "{}", r.stderr);
    assert!(k.ok(&["ps", "-aq"]).is_empty());
}
