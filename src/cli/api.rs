//! Flags of `system service` (a Docker Engine API on a unix socket, podman's names) and
//! of `run/create --use-api-socket` (docker 28's flag, served by that same service for
//! the container's lifetime).

use clap::Args;
use std::path::PathBuf;

// `kiste system service [--socket unix:///PATH] [--time SECONDS]`.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Where to listen: unix:///PATH (default unix://RUNROOT/kiste.sock)
    #[arg(long, value_name = "URI", value_parser = parse_socket_uri)]
    pub socket: Option<PathBuf>,
    /// Seconds without a connection before the service exits (0: never)
    #[arg(short = 't', long, value_name = "SECONDS", default_value_t = 5)]
    pub time: u64,
    /// Serve on this already listening descriptor (the --use-api-socket sidecar)
    #[arg(long, hide = true, value_name = "FD", conflicts_with = "socket")]
    pub listen_fd: Option<i32>,
}

/// `unix:///PATH` (or a bare absolute path) to the socket's path; other schemes are refused.
fn parse_socket_uri(v: &str) -> Result<PathBuf, String> {
    let path = v.strip_prefix("unix://").unwrap_or(v);
    if !path.starts_with('/') {
        return Err("only unix:///ABSOLUTE/PATH sockets are served".into());
    }
    Ok(PathBuf::from(path))
}

// `run/create --use-api-socket`.
#[derive(Debug, Default, Args)]
pub struct ApiSocketArgs {
    /// Bind mount Docker API socket and required auth (a kiste API service runs while the container does)
    #[arg(long)]
    pub use_api_socket: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_uri_takes_unix_paths_only() {
        assert_eq!(
            parse_socket_uri("unix:///run/x.sock").unwrap(),
            PathBuf::from("/run/x.sock")
        );
        assert!(parse_socket_uri("tcp://127.0.0.1:2375").is_err());
        assert!(parse_socket_uri("unix://rel.sock").is_err());
    }
}
