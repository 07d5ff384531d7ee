//! kiste: a daemonless container tool. The library holds everything the `kiste` binary
//! does; `main.rs` only parses the command line and maps errors to exit codes.

pub mod build;
pub mod cgroups;
pub mod cli;
pub mod commands;
pub mod fs;
pub mod http;
pub mod image;
pub mod monitor;
pub mod network;
pub mod paths;
pub mod runtime;
pub mod state;
pub mod storage;
