//! The monitor's half of a bridged container's start: once its process is cloned (in a
//! new network namespace of its own, held before its execve), the namespace is opened
//! from the process and the container is put on its networks there, while the process
//! mounts its root. The address allocation, veths and routes are `crate::network`'s.

use crate::network::{join, Joined, NetworkError};
use crate::paths::Paths;

/// Put container `id` (named `name`, whose process `pid` was just cloned) on its
/// `endpoints`; its namespace stays open in the returned handle.
pub(super) fn join_started(
    paths: &Paths,
    id: &str,
    name: &str,
    hostname: &str,
    endpoints: &[crate::config::Endpoint],
    pid: i32,
) -> Result<Joined, NetworkError> {
    let path = format!("/proc/{pid}/ns/net");
    let netns = std::fs::File::open(&path).map_err(|source| NetworkError::Io {
        action: format!("open the network namespace {path} of container {id}"),
        source,
    })?;
    join(paths, id, name, hostname, endpoints, netns)
}
