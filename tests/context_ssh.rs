//! A context on another machine: `host=ssh://USER@HOST:PORT`. The test starts its own
//! sshd (Debian's openssh-server) on 127.0.0.1 and a free port, with a host key, a client
//! key and an authorized_keys file it makes in a temp dir (root logs in with that key
//! only; nothing in /etc/ssh or ~/.ssh is used), and kills it by pid at the end. kiste
//! then runs itself there through ssh: the container lands in the remote store, stdin,
//! stdout and the exit code pass through, and arguments arrive word for word.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::context::Config;
use support::*;

/// An sshd of the test's own, and the `ssh` wrapper (the test's client config) and
/// `kiste` that both ends find first on their PATH.
struct Sshd {
    child: Child,
    port: u16,
    bin: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sshd {
    fn start() -> Sshd {
        let dir = tempfile::Builder::new()
            .prefix("kiste-sshd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        for key in ["hostkey", "id"] {
            checked_output(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", ""])
                    .arg("-f")
                    .arg(d.join(key)),
            );
        }
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kiste"), bin.join("kiste")).unwrap();
        let port = free_port();
        let p = d.display();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {p}/hostkey\n\
                 AuthorizedKeysFile {p}/authorized_keys\nPermitRootLogin prohibit-password\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 StrictModes no\nPidFile {p}/sshd.pid\n\
                 SetEnv PATH={p}/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {p}/id\n  IdentitiesOnly yes\n  BatchMode yes\n  \
                 UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n"
            ),
        )
        .unwrap();
        let wrapper = bin.join("ssh");
        std::fs::write(
            &wrapper,
            format!("#!/bin/sh\nexec /usr/bin/ssh -F {p}/ssh_config \"$@\"\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        // sshd insists on its privilege separation dir (the package's service makes it).
        std::fs::create_dir_all("/run/sshd").unwrap();
        let log = std::fs::File::create(d.join("sshd.log")).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        wait_until("sshd to listen", Duration::from_secs(10), || {
            port_in_use(port)
        });
        Sshd {
            child,
            port,
            bin,
            _dir: dir,
        }
    }

    /// kiste with the test's config dir and `ssh` first on the PATH.
    fn kiste(&self, cfg: &Config, args: &[&str]) -> Command {
        let mut c = cfg.cmd(args);
        let path = std::env::var("PATH").unwrap_or_default();
        c.env("PATH", format!("{}:{path}", self.bin.display()));
        c
    }

    fn run(&self, cfg: &Config, args: &[&str]) -> Run {
        self.kiste(cfg, args).output().unwrap().into()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn store_of(k: &Kiste) -> String {
    format!(
        "root={},runroot={}",
        k.root().display(),
        k.runroot().display()
    )
}

#[test]
fn an_ssh_context_runs_kiste_on_the_remote_store_with_stdio_and_exit_code() {
    if !Path::new("/usr/sbin/sshd").exists() || !have("ssh") || !have("ssh-keygen") {
        return skip("openssh-server and openssh-client are not installed");
    }
    let sshd = Sshd::start();
    let cfg = Config::new();
    let far = Kiste::new();
    far.busybox();
    let host = format!("host=ssh://root@127.0.0.1:{}", sshd.port);
    let docker = format!("{host},{}", store_of(&far));
    cfg.ok(&["context", "create", "far", "--docker", &docker]);
    let ls = cfg.ok(&["context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}}"]);
    assert!(
        ls.contains(&format!("far ssh://root@127.0.0.1:{}", sshd.port)),
        "{ls}"
    );

    // The container is made in the remote store, and its output comes back.
    let r = sshd.run(
        &cfg,
        &[
            "-c", "far", "run", "--name", "viassh", "busybox", "echo", "hello",
        ],
    );
    assert_eq!((r.code, r.stdout.as_str()), (0, "hello\n"), "{}", r.stderr);
    let ps = ["ps", "-a", "--format", "{{.Names}}"];
    assert_eq!(far.ok(&ps), "viassh\n");
    // As the current context too.
    cfg.ok(&["context", "use", "far"]);
    let r = sshd.run(&cfg, &ps);
    assert_eq!((r.code, r.stdout.as_str()), (0, "viassh\n"), "{}", r.stderr);

    // The remote exit code is kiste's.
    let r = sshd.run(&cfg, &["run", "--rm", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    // Words arrive as they were given: no remote shell splits or expands them.
    let r = sshd.run(
        &cfg,
        &["run", "--rm", "busybox", "echo", "it's a $HOME;", "x  y"],
    );
    assert_eq!(r.stdout, "it's a $HOME; x  y\n", "{}", r.stderr);
    // stdin passes through for -i.
    let mut c = sshd.kiste(&cfg, &["run", "--rm", "-i", "busybox", "cat"]);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"through ssh\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, b"through ssh\n");

    // An unreachable host: ssh's own failure code (255), with ssh's message.
    let nobody = format!("host=ssh://root@127.0.0.1:{}", free_port());
    cfg.ok(&["context", "create", "gone", "--docker", &nobody]);
    let r = sshd.run(&cfg, &["-c", "gone", "ps"]);
    assert_eq!(r.code, 255, "{}", r.stderr);
    assert!(!r.stderr.is_empty());
}
