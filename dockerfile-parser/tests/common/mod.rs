//! Shared helpers for the integration tests: locating BuildKit's conformance data outside
//! the repository, and skipping (not failing, not passing) where it is absent.

use std::path::PathBuf;

#[path = "../../../tests/support/skip.rs"]
mod skip;

/// Where the conformance data lives: `$KISTE_CONFORMANCE_DIR`, else the shared checkout next
/// to the repository (`$CARGO_MANIFEST_DIR/../../shared/conformance/dockerfile`).
fn location() -> PathBuf {
    match std::env::var_os("KISTE_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/dockerfile")
        }
    }
}

/// The conformance data directory, or `None` after recording the running test as skipped
/// with the reason (a clone without the shared checkout cannot run these cases). The
/// caller returns on `None`.
pub fn data_dir_or_skip() -> Option<PathBuf> {
    let dir = location();
    if dir.join("testfiles").is_dir() {
        return Some(dir);
    }
    skip::skip_log(&format!(
        "BuildKit conformance data not found at {} (the shared checkout ../shared/conformance/dockerfile next to the repository, or $KISTE_CONFORMANCE_DIR)",
        dir.display()
    ));
    None
}
