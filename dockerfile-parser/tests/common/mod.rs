//! Shared helpers for the integration tests: locating BuildKit's conformance
//! data outside the repository.

use std::path::PathBuf;

/// `$CARGO_MANIFEST_DIR/../../shared/conformance/dockerfile`, or a clear
/// panic if it is missing.
pub fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/dockerfile");
    if !dir.join("testfiles").is_dir() {
        panic!(
            "BuildKit conformance data not found at {} (expected the shared checkout next to the repository: ../shared/conformance/dockerfile)",
            dir.display()
        );
    }
    dir
}
