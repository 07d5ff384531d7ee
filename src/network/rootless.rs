//! The default network of a rootless container: its own network namespace connected to
//! the host by `pasta` (Debian's `passt`), which gives it an address, a default route and
//! outbound TCP/UDP through the user's sockets, and publishes `-p` ports on the host as
//! the user. `slirp4netns` is the fallback for outbound traffic when pasta is missing
//! (it cannot publish ports without its API socket, so `-p` then asks for pasta).
//!
//! The helper is given the namespace as a file: `/proc/PID/ns/net` of the container is
//! bind-mounted on `RUN_DIR/netns` (in kiste's rootless mount namespace), because the
//! helper drops its capabilities before opening the namespace and may not open another
//! process's /proc entries then. `release` stops the helper (by the pid it recorded) and
//! unmounts the file.

use crate::config::{PortMapping, Protocol};
use std::path::{Path, PathBuf};

const NETNS: &str = "netns";
const HELPER_PID: &str = "net-helper.pid";

#[derive(Debug, thiserror::Error)]
pub enum RootlessNetError {
    #[error("the default rootless network needs pasta (apt-get install passt) or slirp4netns; or run with --network none or --network host")]
    NoHelper,
    #[error("publishing ports rootless needs pasta (apt-get install passt); slirp4netns alone cannot publish {0}")]
    NoPublisher(String),
    #[error("cannot {action}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{helper} failed for container {id}: {detail}")]
    Helper {
        helper: &'static str,
        id: String,
        detail: String,
    },
}

fn io(action: String) -> impl FnOnce(std::io::Error) -> RootlessNetError {
    move |source| RootlessNetError::Io { action, source }
}

/// The lowest port an unprivileged user may bind (net.ipv4.ip_unprivileged_port_start).
pub fn unprivileged_port_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

/// Why `ports` cannot be published by a rootless container, None when they can.
pub fn port_refusal(ports: &[PortMapping]) -> Option<String> {
    let start = unprivileged_port_start();
    let low = ports
        .iter()
        .find(|p| p.host_port != 0 && p.host_port < start)?;
    Some(format!(
        "rootless kiste cannot publish host port {}: ports below {start} are privileged (net.ipv4.ip_unprivileged_port_start={start}); publish a port >= {start}, or let users bind lower ports with: sysctl net.ipv4.ip_unprivileged_port_start={}",
        low.host_port, low.host_port
    ))
}

/// The pasta options publishing `ports` (tcp with -t, udp with -u, none else).
pub fn pasta_port_args(ports: &[PortMapping]) -> Vec<String> {
    let mut args = Vec::new();
    for (flag, proto) in [("-t", Protocol::Tcp), ("-u", Protocol::Udp)] {
        let mine: Vec<_> = ports.iter().filter(|p| p.protocol == proto).collect();
        if mine.is_empty() {
            args.extend([flag.to_string(), "none".to_string()]);
        }
        for p in mine {
            let addr = p.host_ip.map(|ip| format!("{ip}/")).unwrap_or_default();
            args.extend([
                flag.to_string(),
                format!("{addr}{}:{}", p.host_port, p.container_port),
            ]);
        }
    }
    // Nothing from the container to the host's loopback ports.
    args.extend(["-T", "none", "-U", "none"].map(String::from));
    args
}

/// Make the container's network namespace before it starts (so its command finds the
/// network up), connect it to the host and publish `ports` (whose host sockets the caller
/// has closed). Returns the namespace file for the container to join.
pub fn connect(
    id: &str,
    run_dir: &Path,
    ports: &[PortMapping],
) -> Result<PathBuf, RootlessNetError> {
    let pasta = crate::rootless::find_program("pasta");
    let slirp = crate::rootless::find_program("slirp4netns");
    if pasta.is_none() && slirp.is_some() && !ports.is_empty() {
        let list: Vec<String> = ports.iter().map(|p| p.host_port.to_string()).collect();
        return Err(RootlessNetError::NoPublisher(list.join(", ")));
    }
    if pasta.is_none() && slirp.is_none() {
        return Err(RootlessNetError::NoHelper);
    }
    let netns = run_dir.join(NETNS);
    let pidfile = run_dir.join(HELPER_PID);
    make_netns(&netns).map_err(io(format!("make the network namespace of {id}")))?;
    let (helper, mut cmd) = match (pasta, slirp) {
        (Some(pasta), _) => {
            let mut cmd = std::process::Command::new(pasta);
            cmd.args(["--config-net", "--quiet", "--netns"])
                .arg(&netns)
                .arg("-P")
                .arg(&pidfile)
                .args(pasta_port_args(ports));
            ("pasta", cmd)
        }
        (None, Some(slirp)) => {
            let mut cmd = std::process::Command::new(slirp);
            cmd.args(["--configure", "--mtu=65520", "--disable-host-loopback"])
                .args(["--netns-type=path", "--pid-file"])
                .arg(&pidfile)
                .arg(&netns)
                .arg("tap0");
            ("slirp4netns", cmd)
        }
        (None, None) => unreachable!("checked above"),
    };
    if helper == "slirp4netns" {
        // slirp4netns stays in the foreground: it must not hold the monitor's pipes.
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd.spawn().map_err(io(format!("start {helper}")))?;
        wait_for_pidfile(&pidfile, id)?;
        return Ok(netns);
    }
    let out = cmd.output().map_err(io(format!("start {helper}")))?;
    if !out.status.success() {
        return Err(RootlessNetError::Helper {
            helper,
            id: id.to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(netns)
}

/// A new network namespace (owned by kiste's user namespace) kept by a bind mount on
/// `file`: a forked child unshares it and mounts its own ns file there.
fn make_netns(file: &Path) -> std::io::Result<()> {
    std::fs::write(file, b"")?;
    // SAFETY: the child only makes syscalls and leaves with _exit.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => {
            let ok = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_ok()
                && nix::mount::mount(
                    Some("/proc/self/ns/net"),
                    file,
                    None::<&str>,
                    nix::mount::MsFlags::MS_BIND,
                    None::<&str>,
                )
                .is_ok();
            // SAFETY: leaving the forked child without the parent's destructors.
            unsafe { libc::_exit(i32::from(!ok)) }
        }
        nix::unistd::ForkResult::Parent { child } => match nix::sys::wait::waitpid(child, None)? {
            nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
            other => Err(std::io::Error::other(format!(
                "the namespace maker ended with {other:?}"
            ))),
        },
    }
}

fn wait_for_pidfile(pidfile: &Path, id: &str) -> Result<(), RootlessNetError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if std::fs::metadata(pidfile).is_ok_and(|m| m.len() > 0) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(RootlessNetError::Helper {
        helper: "slirp4netns",
        id: id.to_string(),
        detail: "it did not start within 5s".to_string(),
    })
}

/// Stop the container's network helper and unmount its namespace file (nothing when the
/// container has none).
pub fn release(run_dir: &Path) {
    let pidfile: PathBuf = run_dir.join(HELPER_PID);
    if let Some(pid) = std::fs::read_to_string(&pidfile)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.starts_with("pasta") || comm.starts_with("passt") || comm.starts_with("slirp4netns")
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let _ = std::fs::remove_file(&pidfile);
    }
    let netns = run_dir.join(NETNS);
    if netns.exists() {
        let _ = nix::mount::umount2(&netns, nix::mount::MntFlags::MNT_DETACH);
        let _ = std::fs::remove_file(&netns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(ip: Option<&str>, host: u16, ctr: u16, protocol: Protocol) -> PortMapping {
        PortMapping {
            host_ip: ip.map(|i| i.parse().unwrap()),
            host_port: host,
            container_port: ctr,
            protocol,
        }
    }

    #[test]
    fn pasta_publishes_each_mapping_and_nothing_else() {
        let args = pasta_port_args(&[
            map(None, 8080, 80, Protocol::Tcp),
            map(Some("127.0.0.1"), 5353, 53, Protocol::Udp),
        ]);
        assert_eq!(
            args.join(" "),
            "-t 8080:80 -u 127.0.0.1/5353:53 -T none -U none"
        );
        assert_eq!(
            pasta_port_args(&[]).join(" "),
            "-t none -u none -T none -U none"
        );
    }

    #[test]
    fn a_privileged_host_port_is_refused_with_the_sysctl_named() {
        let start = unprivileged_port_start();
        if start == 0 {
            crate::test_skip::skip_log("every port is unprivileged on this host");
            return;
        }
        let why = port_refusal(&[map(None, start - 1, 80, Protocol::Tcp)]).unwrap();
        assert!(why.contains("net.ipv4.ip_unprivileged_port_start"), "{why}");
        assert!(port_refusal(&[map(None, 0, 80, Protocol::Tcp)]).is_none());
    }
}
