//! A context on another machine: `host=ssh://[user@]host[:port]`. kiste runs itself there
//! through the `ssh` on the PATH (the user's ssh config, keys and agent apply), with the
//! same arguments, the context's `--root`/`--runroot` in front, stdio streamed and ssh's
//! exit code (the remote kiste's, or 255 when ssh fails) as its own. Only the arguments
//! that chose the context locally (`-c/--context`, `--root`, `--runroot` before the verb)
//! are not forwarded.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Command;

/// A parsed `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SshHost {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshHost {
    /// docker's checks: an ssh URL with a host name, an optional user and port, no path.
    pub fn parse(url: &str) -> Result<SshHost, String> {
        let rest = url
            .strip_prefix("ssh://")
            .ok_or_else(|| format!("invalid SSH URL {url:?}: it does not start with ssh://"))?;
        if rest.contains(['/', '?', '#']) {
            return Err("extra path after the host".into());
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
            Some((_, h)) => (None, h),
            None => (None, rest),
        };
        let port_of = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| format!("invalid SSH URL: port {p:?} is not a number"))
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| "invalid SSH URL: unclosed '['".to_string())?;
            match after.strip_prefix(':') {
                Some(p) => (h, Some(port_of(p)?)),
                None if after.is_empty() => (h, None),
                None => return Err(format!("invalid SSH URL: {after:?} after the host")),
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(port_of(p)?)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err("invalid SSH URL: hostname is empty".into());
        }
        if host.starts_with('-') || user.as_deref().is_some_and(|u| u.starts_with('-')) {
            return Err("invalid SSH URL: a host or user may not start with '-'".into());
        }
        Ok(SshHost {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// `ssh … -- [user@]host 'kiste --root R --runroot RR ARGS…'`: ssh hands the remote
    /// shell one string, so every word is quoted for it. A terminal on both ends asks ssh
    /// for a remote one (`run -it`), else none, so that binary streams pass unchanged.
    pub fn command(
        &self,
        root: Option<&PathBuf>,
        runroot: Option<&PathBuf>,
        args: &[OsString],
    ) -> Command {
        let mut remote = vec![OsString::from("kiste")];
        for (flag, value) in [("--root", root), ("--runroot", runroot)] {
            if let Some(v) = value {
                remote.push(flag.into());
                remote.push(v.clone().into_os_string());
            }
        }
        remote.extend(args.iter().cloned());
        let line = remote
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        let mut ssh = Command::new("ssh");
        if let Some(p) = self.port {
            ssh.arg("-p").arg(p.to_string());
        }
        if let Some(u) = &self.user {
            ssh.arg("-l").arg(u);
        }
        let terminal = nix::unistd::isatty(std::io::stdin()).unwrap_or(false)
            && nix::unistd::isatty(std::io::stdout()).unwrap_or(false);
        ssh.arg(if terminal { "-t" } else { "-T" });
        ssh.arg("--").arg(&self.host).arg(line);
        ssh
    }
}

impl std::fmt::Display for SshHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ssh://")?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            write!(f, "{}", self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for SshHost {
    type Error = String;
    fn try_from(s: String) -> Result<SshHost, String> {
        SshHost::parse(&s)
    }
}

impl From<SshHost> for String {
    fn from(h: SshHost) -> String {
        h.to_string()
    }
}

/// One word for a POSIX shell: single-quoted, a quote inside as `'\''`.
fn shell_quote(word: &OsStr) -> String {
    let s = String::from_utf8_lossy(word.as_bytes());
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// kiste's own arguments minus those that chose the store here: `-c/--context`, `--root`
/// and `--runroot` (with their values) before the verb. After the verb nothing is touched
/// (`run -c 512` is docker's `--cpu-shares`).
pub fn forwarded_args(argv: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    const DROP: [&str; 4] = ["-c", "--context", "--root", "--runroot"];
    const KEEP_WITH_VALUE: [&str; 1] = ["--log-level"];
    let mut out = Vec::new();
    let mut it = argv.into_iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy().into_owned();
        if !s.starts_with('-') || s == "-" {
            out.push(a);
            out.extend(it);
            break;
        }
        let name = s.split('=').next().unwrap_or("").to_string();
        let short_c = s.starts_with("-c") && !s.starts_with("--");
        let inline = s.contains('=') || (short_c && s.len() > 2);
        if DROP.contains(&name.as_str()) || short_c {
            if !inline {
                it.next();
            }
            continue;
        }
        out.push(a);
        if KEEP_WITH_VALUE.contains(&name.as_str()) && !inline {
            out.extend(it.next());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn ssh_urls_parse_as_dockers_and_print_back() {
        let h = SshHost::parse("ssh://me@box.example:2222").unwrap();
        assert_eq!(
            (h.user.as_deref(), h.host.as_str(), h.port),
            (Some("me"), "box.example", Some(2222))
        );
        assert_eq!(h.to_string(), "ssh://me@box.example:2222");
        assert_eq!(
            SshHost::parse("ssh://box").unwrap().to_string(),
            "ssh://box"
        );
        assert_eq!(
            SshHost::parse("ssh://[::1]:22").unwrap().to_string(),
            "ssh://[::1]:22"
        );
        assert_eq!(SshHost::parse("ssh://[::1]").unwrap().host, "::1");
        for bad in [
            "ssh://",
            "ssh://me@",
            "ssh://h/path",
            "ssh://h:x",
            "ssh://-oProxy",
            "tcp://h",
        ] {
            assert!(SshHost::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_store_choosing_flags_before_the_verb_are_dropped() {
        assert_eq!(
            forwarded_args(os(&[
                "-c",
                "far",
                "--log-level",
                "debug",
                "run",
                "-c",
                "512",
                "img"
            ])),
            os(&["--log-level", "debug", "run", "-c", "512", "img"])
        );
        assert_eq!(
            forwarded_args(os(&[
                "--context=far",
                "--root",
                "/r",
                "--runroot=/rr",
                "-cfar",
                "ps",
                "--root",
                "x"
            ])),
            os(&["ps", "--root", "x"])
        );
    }

    #[test]
    fn the_remote_line_quotes_every_word() {
        let h = SshHost::parse("ssh://u@h:7").unwrap();
        let c = h.command(Some(&PathBuf::from("/s t")), None, &os(&["run", "it's"]));
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[..4], ["-p", "7", "-l", "u"]);
        assert_eq!(
            args[args.len() - 2..],
            [
                "h".to_string(),
                "'kiste' '--root' '/s t' 'run' 'it'\\''s'".to_string()
            ]
        );
    }
}
