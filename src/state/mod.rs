//! Container records: what a container was created with (its config) and what it is doing
//! (its status), one JSON file per container, written atomically under the store's lock.
//! This module knows nothing about how containers are started; `monitor/` (start, exit)
//! and `container/` (stop, remove, crash repair) drive the transitions.

mod exits;
mod files;
mod health;
mod index;
mod listing;
mod names;
mod record;
mod staged;
mod store;
mod summary;

pub use exits::{prune_exits, read_exit, write_exit};
pub use health::{HealthProbe, HealthState, HealthStatus};
pub use names::generate_name;
pub use record::*;
pub use staged::StagedRecord;
pub use store::*;

/// A fresh 64-hex container id.
pub fn new_id() -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the kernel's random source is available");
    crate::image::hex(&bytes)
}
