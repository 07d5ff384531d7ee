#!/usr/bin/env bash
# Fuzz the dockerfile-parser crate for SECONDS (default 60).
#
# Preferred engine: libFuzzer through cargo-fuzz (dockerfile-parser/fuzz,
# target `parse`). Only the stable toolchain exists here, so cargo-fuzz runs
# with RUSTC_BOOTSTRAP=1 and `--sanitizer none` (the crate has no unsafe
# code). cargo-fuzz is installed from crates.io if missing. If it cannot be
# installed or built, the same harness (dockerfile-parser/fuzz/harness.rs)
# runs under the pure-Rust random-mutation driver (example `fuzz_driver`).
# Either way a scaling check first verifies linear time on pathological
# inputs. Crash inputs land in dockerfile-parser/fuzz/artifacts/.
#
# Usage: scripts/fuzz-parser.sh [SECONDS] [--driver]   (--driver forces the pure-Rust engine)
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
FORCE_DRIVER="${2:-}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CRATE="$ROOT/dockerfile-parser"
FUZZ="$CRATE/fuzz"
DATA="$ROOT/../shared/conformance/dockerfile"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

echo "== scaling check (time must grow linearly with input size)"
CARGO_TARGET_DIR="$TARGET_DIR" cargo run -q --release -p dockerfile-parser --example fuzz_driver \
    --manifest-path "$ROOT/Cargo.toml" -- --scaling-only

use_libfuzzer=0
if [ "$FORCE_DRIVER" != "--driver" ]; then
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "== cargo-fuzz missing: trying 'cargo install cargo-fuzz'"
        cargo install cargo-fuzz --locked >/dev/null 2>&1 || true
    fi
    if cargo fuzz --version >/dev/null 2>&1; then
        echo "== building libFuzzer target with $(cargo fuzz --version) (RUSTC_BOOTSTRAP=1, no sanitizer)"
        if (cd "$FUZZ" && CARGO_TARGET_DIR="$TARGET_DIR-fuzz" RUSTC_BOOTSTRAP=1 \
                cargo fuzz build parse --sanitizer none -O); then
            use_libfuzzer=1
        else
            echo "== cargo-fuzz build failed: falling back to the pure-Rust driver"
        fi
    else
        echo "== cargo-fuzz unavailable: using the pure-Rust driver"
    fi
fi

if [ "$use_libfuzzer" = 1 ]; then
    corpus="$FUZZ/corpus/parse"
    mkdir -p "$corpus" "$FUZZ/artifacts/parse"
    if [ -d "$DATA/testfiles" ]; then
        for d in "$DATA"/testfiles/* "$DATA"/testfiles-negative/*; do
            cp "$d/Dockerfile" "$corpus/seed-$(basename "$d")" 2>/dev/null || true
        done
    fi
    echo "== libFuzzer for ${SECONDS_TO_RUN}s"
    cd "$FUZZ"
    CARGO_TARGET_DIR="$TARGET_DIR-fuzz" RUSTC_BOOTSTRAP=1 cargo fuzz run parse --sanitizer none -O \
        "$corpus" -- -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1
else
    echo "== pure-Rust driver for ${SECONDS_TO_RUN}s"
    CARGO_TARGET_DIR="$TARGET_DIR" cargo run -q --release -p dockerfile-parser --example fuzz_driver \
        --manifest-path "$ROOT/Cargo.toml" -- --seconds "$SECONDS_TO_RUN"
fi
