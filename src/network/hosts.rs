//! The /etc files of a container with a network of its own: /etc/hosts (localhost lines,
//! its own name, `--add-host` lines and, on user-defined networks, every member of its
//! networks by container name and alias) and /etc/resolv.conf (the host's, its loopback
//! resolvers left out as docker does, or `--dns`/`--dns-search`/`--dns-option`).
//!
//! Names resolve without a daemon: when a member joins or leaves a user-defined network,
//! kiste rewrites the /etc/hosts of every member. Each container's hosts file is
//! bind-mounted over its /etc/hosts, so it is rewritten in place (under an flock on the
//! file, one `pwrite` then `ftruncate`) rather than replaced by rename: a rename gives a new
//! inode and the bind mount would keep showing the old one. Mounting the containing
//! directory instead would need /etc/hosts to become a symlink into it, changing the image's
//! tree. The in-place write keeps the inode every member already sees; a reader racing a
//! writer can at worst see the new text followed by a tail of the old, for microseconds.
//! The part that does not change (own name, `--add-host`) is kept next to it as
//! `hosts.base`. The default `bridge` network gets no member names, as docker's does not.

use super::members::all_members;
use crate::config::DEFAULT_NETWORK;
use crate::paths::Paths;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// /etc/hosts for a container with its own network namespace; `ip` is its address on a
/// network (loopback without one).
pub fn hosts_file(hostname: &str, ip: Option<Ipv4Addr>) -> String {
    let own = ip.map_or_else(|| "127.0.0.1".to_string(), |ip| ip.to_string());
    format!(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n{own}\t{hostname}\n"
    )
}

/// /etc/resolv.conf for a container with its own network namespace: the host's, without
/// its loopback resolvers (they answer only on the host's loopback, as docker notes);
/// docker's public defaults when none is left.
pub fn resolv_conf(host: &str) -> String {
    resolv_conf_for(host, &[], &[], &[])
}

/// /etc/resolv.conf with `servers` (`--dns`) in place of the host's nameservers; the
/// host's search and options lines stay, as in docker.
pub fn resolv_conf_with(host: &str, servers: &[IpAddr]) -> String {
    resolv_conf_for(host, servers, &[], &[])
}

/// The whole rule: `servers`, `search` and `options` each replace the host's lines of
/// that kind when given; the host's loopback nameservers never reach a container.
pub fn resolv_conf_for(
    host: &str,
    servers: &[IpAddr],
    search: &[String],
    options: &[String],
) -> String {
    let first = |l: &str| l.split_whitespace().next().map(str::to_string);
    let loopback = |line: &str| {
        let mut words = line.split_whitespace();
        words.next() == Some("nameserver")
            && words
                .next()
                .and_then(|a| a.parse::<IpAddr>().ok())
                .is_some_and(|ip| ip.is_loopback())
    };
    let mut out = String::new();
    for l in host.lines() {
        let kind = first(l);
        let replaced = match kind.as_deref() {
            Some("nameserver") => !servers.is_empty() || loopback(l),
            Some("search") | Some("domain") => !search.is_empty(),
            Some("options") => !options.is_empty(),
            _ => false,
        };
        if !replaced {
            out.push_str(l);
            out.push('\n');
        }
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !out
        .lines()
        .any(|l| first(l).as_deref() == Some("nameserver"))
    {
        out.push_str("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }
    out
}

/// The container now has addresses `own` (IPv4 first, then IPv6): its own lines in
/// /etc/hosts say so, and that text becomes the base that `refresh` adds the networks'
/// members to.
pub fn set_own_address(run_dir: &Path, hostname: &str, own: &[IpAddr]) -> std::io::Result<()> {
    let hosts = run_dir.join("hosts");
    let text = std::fs::read_to_string(&hosts)?;
    let line = format!("127.0.0.1\t{hostname}\n");
    let lines: String = own.iter().map(|ip| format!("{ip}\t{hostname}\n")).collect();
    let text = if own.is_empty() {
        text
    } else {
        text.replacen(&line, &lines, 1)
    };
    std::fs::write(run_dir.join("hosts.base"), &text)?;
    std::fs::write(&hosts, text)
}

/// Rewrite container `id`'s /etc/hosts (in place) from its base and the members of its
/// user-defined networks. A container without a base (not started) is left alone.
pub fn refresh(paths: &Paths, id: &str) -> std::io::Result<()> {
    let run_dir = paths.container_run_dir(id);
    let Ok(mut text) = std::fs::read_to_string(run_dir.join("hosts.base")) else {
        return Ok(());
    };
    for (network, members) in all_members(paths) {
        if network == DEFAULT_NETWORK || !members.contains_key(id) {
            continue;
        }
        for (mid, m) in &members {
            let mut names = vec![m.name.clone()];
            names.extend(m.aliases.iter().cloned());
            names.push(mid[..mid.len().min(12)].to_string());
            names.retain(|n| !n.is_empty());
            for ip in m.addresses() {
                text.push_str(&format!("{ip}\t{}\n", names.join(" ")));
            }
        }
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(run_dir.join("hosts"))?;
    file.lock()?;
    file.write_all_at(text.as_bytes(), 0)?;
    file.set_len(text.len() as u64)
}

/// `refresh` for each of `ids`, best effort (a member whose run dir is gone is skipped).
pub fn refresh_all<'a>(paths: &Paths, ids: impl Iterator<Item = &'a String>) {
    for id in ids {
        let _ = refresh(paths, id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn members_are_written_into_the_same_inode_that_is_bind_mounted() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths {
            root: dir.path().join("root"),
            runroot: dir.path().join("run"),
            rootless: false,
        };
        let run_dir = paths.container_run_dir("aaaaaaaaaaaaaaaa");
        std::fs::create_dir_all(&run_dir).unwrap();
        std::fs::create_dir_all(paths.runroot.join("networks")).unwrap();
        std::fs::write(run_dir.join("hosts"), hosts_file("box", None)).unwrap();
        let inode = std::fs::metadata(run_dir.join("hosts")).unwrap().ino();
        set_own_address(&run_dir, "box", &[Ipv4Addr::new(10, 89, 0, 2).into()]).unwrap();
        std::fs::write(
            paths.runroot.join("networks/app.json"),
            r#"{"members":{"aaaaaaaaaaaaaaaa":{"ip":"10.89.0.2","name":"web"},
               "bbbbbbbbbbbbbbbb":{"ip":"10.89.0.3","ip6":"fd00:9::3","name":"db","aliases":["pg"]}}}"#,
        )
        .unwrap();
        refresh(&paths, "aaaaaaaaaaaaaaaa").unwrap();
        let text = std::fs::read_to_string(run_dir.join("hosts")).unwrap();
        assert!(text.contains("10.89.0.2\tbox\n"), "{text}");
        assert!(text.contains("10.89.0.3\tdb pg bbbbbbbbbbbb\n"), "{text}");
        assert!(text.contains("fd00:9::3\tdb pg bbbbbbbbbbbb\n"), "{text}");
        assert!(text.contains("10.89.0.2\tweb aaaaaaaaaaaa\n"), "{text}");
        assert_eq!(
            std::fs::metadata(run_dir.join("hosts")).unwrap().ino(),
            inode
        );
        // A member leaves: the file shrinks in place.
        std::fs::write(
            paths.runroot.join("networks/app.json"),
            r#"{"members":{"aaaaaaaaaaaaaaaa":{"ip":"10.89.0.2","name":"web"}}}"#,
        )
        .unwrap();
        refresh(&paths, "aaaaaaaaaaaaaaaa").unwrap();
        let text = std::fs::read_to_string(run_dir.join("hosts")).unwrap();
        assert!(!text.contains("db"), "{text}");
        assert_eq!(
            std::fs::metadata(run_dir.join("hosts")).unwrap().ino(),
            inode
        );
    }

    #[test]
    fn loopback_resolvers_of_the_host_are_left_out() {
        let host =
            "search example.org\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.0.0.2\n";
        assert_eq!(
            resolv_conf(host),
            "search example.org\nnameserver 10.0.0.2\n"
        );
        assert_eq!(
            resolv_conf("nameserver 127.0.0.53\noptions edns0\n"),
            "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        let dns = ["1.1.1.1".parse().unwrap()];
        assert_eq!(
            resolv_conf_with("search x\nnameserver 10.0.0.2\n", &dns),
            "search x\nnameserver 1.1.1.1\n"
        );
        assert_eq!(
            resolv_conf_for(
                "search x\noptions rotate\nnameserver 10.0.0.2\n",
                &[],
                &["a.test".into(), "b.test".into()],
                &["ndots:2".into()]
            ),
            "nameserver 10.0.0.2\nsearch a.test b.test\noptions ndots:2\n"
        );
    }
}
