//! `run/create --use-api-socket`: docker's 28.x CLI (statically linked, bind-mounted into
//! a busybox container) talks to the API kiste serves for that container: it runs,
//! lists, reads and removes a sibling container that kiste on the host then knows of,
//! and finds the logins `kiste login` stored. The service runs only while the container
//! does; nothing of it (process, socket) is left after the container ends.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use support::registry::start_with_password;
use support::*;

const DOCKER_CLI: &str = "/usr/local/bin/docker";

/// Pids of `system service` processes working on `k`'s store.
fn services(k: &Kiste) -> Vec<u32> {
    let root = k.root().display().to_string();
    let mut pids = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.contains(&root) && args.iter().any(|a| a == "service") {
            pids.push(pid);
        }
    }
    pids
}

/// Every `docker.sock` under `dir`.
fn sockets(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name() == "docker.sock" {
            found.push(p);
        } else if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            found.extend(sockets(&p));
        }
    }
    found
}

const SCRIPT: &str = r#"
set -e
echo "env=$DOCKER_CONFIG"
echo "config=$(cat /run/secrets/docker/config.json | tr -d ' \n')"
stat -c 'mode=%a' /run/secrets/docker/config.json
test -S /var/run/docker.sock && echo socket=yes
docker version --format 'server={{.Server.APIVersion}}'
docker ps -a --format 'ps={{.Names}} {{.Status}}'
docker run -d --name sib -l from=inside busybox sh -c 'echo from-sibling; sleep 30' >/dev/null
i=0
until docker logs sib 2>&1 | grep -q from-sibling; do
  i=$((i+1)); [ $i -lt 200 ] || { echo "no sibling log"; exit 9; }; sleep 0.05
done
docker logs sib | sed 's/^/log=/'
docker inspect -f 'inspect={{.State.Status}} {{index .Config.Labels "from"}}' sib
docker rm -f sib >/dev/null
docker ps -a --format 'after={{.Names}}'
echo done
"#;

#[test]
fn the_docker_cli_in_a_container_runs_a_sibling_through_use_api_socket() {
    if !Path::new(DOCKER_CLI).exists() {
        skip("docker's static 28.x CLI is not at /usr/local/bin/docker");
        return;
    }
    let k = Kiste::new();
    let Some(reg) = start_with_password(&k.dir.path().join("registry"), "kiste", "s3cret") else {
        return;
    };
    k.busybox();
    let config = k.dir.path().join("docker-config");
    let as_user = |args: &[&str]| {
        let mut c = k.cmd(args);
        c.env("DOCKER_CONFIG", &config)
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR");
        c
    };
    let mut login = as_user(&["login", "-u", "kiste", "--password-stdin", &reg.host()]);
    login.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = login.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    assert!(child.wait().unwrap().success(), "kiste login");
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(config.join("config.json")).unwrap()).unwrap();
    let auth = stored["auths"][reg.host()]["auth"]
        .as_str()
        .unwrap()
        .to_string();

    let bind = format!("{DOCKER_CLI}:{DOCKER_CLI}:ro");
    let out = as_user(&[
        "run",
        "--rm",
        "--use-api-socket",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        SCRIPT,
    ])
    .output()
    .unwrap();
    let r: Run = out.into();
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let has = |l: &str| lines.contains(&l);
    assert!(has("env=/run/secrets/docker"), "{}", r.stdout);
    let expect = format!(
        "config={{\"auths\":{{\"{}\":{{\"auth\":\"{auth}\"}}}}}}",
        reg.host()
    );
    assert!(has(&expect), "{expect} in {}", r.stdout);
    assert!(has("mode=600"), "{}", r.stdout);
    assert!(has("socket=yes"), "{}", r.stdout);
    assert!(has("server=1.41"), "{}", r.stdout);
    // The container itself is on the list its own CLI gets.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ps=") && l.contains(" Up ")),
        "{}",
        r.stdout
    );
    assert!(has("log=from-sibling"), "{}", r.stdout);
    assert!(has("inspect=running inside"), "{}", r.stdout);
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("after=") && l.contains("sib")),
        "{}",
        r.stdout
    );
    assert!(has("done"), "{}", r.stdout);

    // The host's kiste saw the sibling come and go.
    let events = k.ok(&[
        "events",
        "--since",
        "10m",
        "--until",
        "0s",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    for action in ["create sib", "start sib", "destroy sib"] {
        assert!(events.lines().any(|l| l == action), "{action} in {events}");
    }
    assert_eq!(k.ok(&["ps", "-aq"]).trim(), "", "both containers are gone");
    wait_until("the api service to end", Duration::from_secs(10), || {
        services(&k).is_empty()
    });
    assert_eq!(
        sockets(&k.runroot()),
        Vec::<PathBuf>::new(),
        "no socket is left"
    );
}

/// docker's `run` without `-d`: attach, wait, start; `-i` sends stdin along.
const FOREGROUND: &str = r#"
mkdir -p /tmp
docker run --rm --name fg busybox sh -c 'echo out; echo err >&2; exit 3' >/tmp/o 2>/tmp/e
echo "rc=$?"
sed 's/^/stdout=/' /tmp/o
sed 's/^/stderr=/' /tmp/e
echo piped | docker run -i --rm busybox sh -c 'read x; echo "got=$x"'
docker ps -a --format '{{.Names}}' | grep -v '^outer$' | sed 's/^/left=/'
echo done
"#;

#[test]
fn the_docker_cli_runs_a_sibling_in_the_foreground_with_its_streams_and_exit_code() {
    if !Path::new(DOCKER_CLI).exists() {
        skip("docker's static 28.x CLI is not at /usr/local/bin/docker");
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let bind = format!("{DOCKER_CLI}:{DOCKER_CLI}:ro");
    let r = k.run(&[
        "run",
        "--rm",
        "--name",
        "outer",
        "--use-api-socket",
        "-v",
        &bind,
        "busybox",
        "sh",
        "-c",
        FOREGROUND,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let sibling: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| {
            ["rc=", "stdout=", "stderr=", "got=", "left="]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert_eq!(
        sibling,
        ["rc=3", "stdout=out", "stderr=err", "got=piped"],
        "{}",
        r.stdout
    );
    assert_eq!(lines.last(), Some(&"done"), "{}", r.stdout);
    assert_eq!(k.ok(&["ps", "-aq"]).trim(), "", "every container is gone");
    let events = k.ok(&[
        "events",
        "--since",
        "10m",
        "--until",
        "0s",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert!(events.lines().any(|l| l == "destroy fg"), "{events}");
}

#[test]
fn a_created_container_serves_its_socket_only_while_it_runs() {
    let k = Kiste::new();
    k.busybox();
    let empty = k.dir.path().join("no-logins");
    std::fs::create_dir_all(&empty).unwrap();
    let id = {
        let out = k
            .cmd(&["create", "--use-api-socket", "busybox", "sleep", "60"])
            .env("DOCKER_CONFIG", &empty)
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    // Without logins docker's CLI copies nothing in and sets no DOCKER_CONFIG.
    let env = k.ok(&["inspect", "-f", "{{json .Config.Env}}", &id]);
    assert!(!env.contains("DOCKER_CONFIG"), "{env}");
    let sock = k.runroot().join("containers").join(&id).join("docker.sock");
    assert!(
        services(&k).is_empty(),
        "nothing runs for a created container"
    );
    assert!(!sock.exists());
    // The run dir's path is longer than a socket address holds; connect() follows links.
    let short = PathBuf::from(format!("/tmp/kiste-apisock-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&short);
    std::os::unix::fs::symlink(&sock, &short).unwrap();

    for round in 0..2 {
        k.ok(&["start", &id]);
        assert_eq!(
            services(&k).len(),
            1,
            "round {round}: one service while it runs"
        );
        let out = std::process::Command::new("curl")
            .args(["-s", "--unix-socket"])
            .arg(&short)
            .arg("http://docker/containers/json")
            .output()
            .expect("curl is installed");
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list[0]["Id"], id.as_str(), "{list}");
        let inside = k.ok(&[
            "exec",
            &id,
            "sh",
            "-c",
            "test -S /var/run/docker.sock && echo yes",
        ]);
        assert_eq!(inside.trim(), "yes");
        k.ok(&["stop", "-t", "1", &id]);
        wait_until("the api service to end", Duration::from_secs(10), || {
            services(&k).is_empty()
        });
        assert!(
            !sock.exists(),
            "round {round}: the socket goes with the container"
        );
    }
    std::fs::remove_file(&short).unwrap();
    k.ok(&["rm", &id]);
    assert!(services(&k).is_empty());
    assert_eq!(sockets(&k.runroot()), Vec::<PathBuf>::new());
}

#[test]
fn a_container_without_the_flag_gets_no_socket() {
    let k = Kiste::new();
    k.busybox();
    let out = k.sh(
        "busybox",
        "test -e /var/run/docker.sock && echo has || echo none; echo ${DOCKER_CONFIG:-unset}",
    );
    assert_eq!(out, "none\nunset\n");
}
