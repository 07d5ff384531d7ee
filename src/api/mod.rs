//! A Docker Engine API subset on a unix socket, served without a daemon: `kiste system
//! service` runs it when a user asks, and `run --use-api-socket` runs it for one
//! container's lifetime (`sidecar`). The server is single-threaded and forks one child
//! per connection (`server`); a request that changes containers runs kiste itself as a
//! subprocess with the flags docker's JSON maps to (`backend`, `create`), so the API
//! and the command line share one validator. Nothing here runs unless it was asked for.

mod attach;
mod backend;
mod containers;
mod create;
pub mod http;
mod images;
mod routes;
mod server;
mod sidecar;

pub use backend::Backend;
pub use server::{serve, Listener};
pub use sidecar::{
    docker_config_env, socket_path, write_credentials, Sidecar, CONFIG_IN_CONTAINER,
    SOCKET_IN_CONTAINER,
};

/// The API version kiste answers with (docker 20.10's, whose fields it serves).
pub const API_VERSION: &str = "1.41";
/// The oldest API version a client may ask for.
pub const MIN_API_VERSION: &str = "1.24";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot listen on {path}: {source}")]
    Listen {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("api service: {action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl ApiError {
    pub(crate) fn io(action: &str) -> impl FnOnce(std::io::Error) -> ApiError + '_ {
        move |source| ApiError::Io {
            action: action.to_string(),
            source,
        }
    }
}
