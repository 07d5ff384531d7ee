//! Helpers for the rootless tests (`tests/rootless_*.rs`): a throwaway user made with
//! `useradd -m` (Debian gives it a subordinate id range), kiste copied where that user can
//! run it, commands run as the user with `runuser` and a clean environment (HOME, USER,
//! PATH, XDG_RUNTIME_DIR), and a cleanup that removes the user's containers, stops its
//! pause process and every process left in its ids (by pid), then `userdel -r`.

use super::{have, Run};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct User {
    pub name: String,
    pub uid: u32,
    pub home: PathBuf,
    /// XDG_RUNTIME_DIR given to the user's kiste (a private dir of the user's).
    pub runtime_dir: PathBuf,
    /// The first host id of the user's subordinate range (None without one).
    pub subuid: Option<u32>,
    bin_dir: tempfile::TempDir,
}

/// Why rootless tests cannot run here, None when they can.
pub fn unsupported() -> Option<&'static str> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("rootless tests create users: they need root");
    }
    for tool in ["useradd", "userdel", "runuser", "newuidmap", "newgidmap"] {
        if !have(tool) {
            return Some("useradd, userdel, runuser and newuidmap (uidmap) are needed");
        }
    }
    None
}

impl User {
    /// A new user named after `tag` (and this process), with a subordinate range unless
    /// `subordinate` is false.
    pub fn create(tag: &str, subordinate: bool) -> User {
        let name = format!("kr{tag}{}", std::process::id() % 100_000);
        let mut cmd = Command::new("useradd");
        cmd.args(["-m", "-s", "/bin/sh"]);
        if !subordinate {
            cmd.args(["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]);
        }
        super::checked_output(cmd.arg(&name));
        let uid: u32 = String::from_utf8(super::checked_output(
            Command::new("id").args(["-u", &name]),
        ))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
        let home = PathBuf::from(format!("/home/{name}"));
        let runtime_dir = PathBuf::from(format!("/tmp/kiste-rl-run-{uid}"));
        std::fs::create_dir_all(&runtime_dir).unwrap();
        std::os::unix::fs::chown(&runtime_dir, Some(uid), Some(uid)).unwrap();
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        // The test binary's target dir may not be open to the user: a readable copy.
        let bin_dir = tempfile::Builder::new()
            .prefix("kiste-rl-bin-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::copy(env!("CARGO_BIN_EXE_kiste"), bin_dir.path().join("kiste")).unwrap();
        let subuid = std::fs::read_to_string("/etc/subuid")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() == 3 && f[0] == name && f[2] != "0").then(|| f[1].parse().unwrap())
            });
        User {
            name,
            uid,
            home,
            runtime_dir,
            subuid,
            bin_dir,
        }
    }

    /// `kiste args` as the user, to adjust (env, stdin…) before running. The environment is
    /// a login's: HOME, USER, PATH and XDG_RUNTIME_DIR only.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("runuser");
        c.args(["-u", &self.name, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("USER={}", self.name))
            .arg("PATH=/usr/local/bin:/usr/bin:/bin")
            .arg(format!("XDG_RUNTIME_DIR={}", self.runtime_dir.display()))
            .arg(self.bin_dir.path().join("kiste"))
            .args(args)
            .current_dir(&self.home)
            .stdin(Stdio::null());
        c
    }

    /// `kiste args` as the user with these variables changed (None: unset).
    pub fn run_env(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
        let mut c = Command::new("runuser");
        c.args(["-u", &self.name, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.display()))
            .arg(format!("USER={}", self.name));
        let mut vars = vec![
            ("PATH", Some("/usr/local/bin:/usr/bin:/bin".to_string())),
            (
                "XDG_RUNTIME_DIR",
                Some(self.runtime_dir.display().to_string()),
            ),
        ];
        for (k, v) in env {
            vars.retain(|(name, _)| name != k);
            vars.push((k, v.map(String::from)));
        }
        for (k, v) in vars {
            if let Some(v) = v {
                c.arg(format!("{k}={v}"));
            }
        }
        c.arg(self.bin_dir.path().join("kiste"))
            .args(args)
            .current_dir(&self.home)
            .stdin(Stdio::null());
        c.output().unwrap().into()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().unwrap().into()
    }

    /// kiste `args` as the user; it must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "kiste {args:?} as {} failed: {}{}",
            self.name, r.stdout, r.stderr
        );
        r.stdout
    }

    /// A directory in the user's home with these files, owned by the user.
    pub fn context(&self, dir: &str, files: &[(&str, &str)]) -> PathBuf {
        let ctx = self.home.join(dir);
        std::fs::create_dir_all(&ctx).unwrap();
        for (path, content) in files {
            std::fs::write(ctx.join(path), content).unwrap();
        }
        self.give(&ctx);
        ctx
    }

    /// `busybox` in the user's store, built from busybox-static as the README says.
    pub fn busybox(&self) {
        let ctx = super::busybox_context(&self.home.join("busybox-ctx"));
        self.give(&ctx);
        self.ok(&["build", "-q", "-t", "busybox", ctx.to_str().unwrap()]);
    }

    /// Hand `path` (recursively) to the user.
    pub fn give(&self, path: &Path) {
        super::checked_output(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{}:{}", self.name, self.name))
                .arg(path),
        );
    }

    /// The user's store, as kiste's rootless default places it.
    pub fn store(&self) -> PathBuf {
        self.home.join(".local/share/kiste")
    }

    /// The pid of the user's pause process, if one is recorded.
    pub fn pause_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.runtime_dir.join("kiste/pause.pid")).ok()?;
        text.split_whitespace().next()?.parse().ok()
    }

    /// Pids of live processes running as the user or in its subordinate range.
    pub fn processes(&self) -> Vec<i32> {
        let in_range = |uid: u32| {
            uid == self.uid || self.subuid.is_some_and(|s| (s..s + 65536).contains(&uid))
        };
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| {
                        let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_string();
                        line.split_whitespace().nth(1)?.parse::<u32>().ok()
                    })
                    .is_some_and(in_range)
            })
            .collect()
    }
}

impl Drop for User {
    fn drop(&mut self) {
        if let Ok(out) = self.cmd(&["ps", "-aq"]).output() {
            let ids = String::from_utf8_lossy(&out.stdout).into_owned();
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let _ = self.cmd(&[&["rm", "-f"][..], &ids].concat()).output();
            }
        }
        // What this test's user still runs (its pause process, a helper) was started by
        // this test: end it by pid before the user goes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = self.processes();
            if left.is_empty() || std::time::Instant::now() > deadline {
                break;
            }
            for pid in left {
                // SAFETY: kill has no memory preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = Command::new("userdel").args(["-r", &self.name]).output();
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
        let _ = std::fs::remove_dir_all(format!("/tmp/kiste-{}", self.uid));
    }
}
