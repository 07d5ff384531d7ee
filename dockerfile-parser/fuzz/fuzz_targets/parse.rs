//! libFuzzer target over `parse`, the node tree and word expansion.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../harness.rs");

fuzz_target!(|data: &[u8]| {
    exercise(data);
});
