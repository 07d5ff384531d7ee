#!/usr/bin/env bash
# Fuzz the confined file-system code (fs::Root) through the builder's COPY, ADD-archive
# and layer-unpack paths for SECONDS (default 60): random source/lower/destination
# trees of files, dirs, symlinks and hardlinks plus random tar archives, with a
# sentinel directory beside them that must stay untouched (fuzz/fuzz_targets/confined.rs).
#
# Engine: libFuzzer through cargo-fuzz (installed from crates.io if missing). Like
# scripts/fuzz-parser.sh it runs on the stable toolchain with RUSTC_BOOTSTRAP=1 and
# `--sanitizer none` (the unsafe code is syscalls, and the finding we look for is a
# write outside the root, which the harness checks itself). Run it as root: the harness
# chowns its sentinel. Crash inputs land in fuzz/artifacts/confined/.
#
# Usage: scripts/fuzz-confined.sh [SECONDS] [--selftest]
#   --selftest adds the unconfined path-based write the builder used to make, to show
#   the harness catches an escape (it must fail within seconds).
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
SELFTEST="${2:-}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/fuzz"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}-fuzz"

if [ "$(id -u)" != 0 ]; then
    echo "fuzz-confined.sh: run as root (the harness chowns its sentinel files)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo-fuzz missing: 'cargo install cargo-fuzz --locked'"
    cargo install cargo-fuzz --locked >/dev/null
fi
echo "== building with $(cargo fuzz --version) (RUSTC_BOOTSTRAP=1, no sanitizer)"
(cd "$FUZZ" && CARGO_TARGET_DIR="$TARGET_DIR" RUSTC_BOOTSTRAP=1 \
    cargo fuzz build confined --sanitizer none -O)

corpus="$FUZZ/corpus/confined"
mkdir -p "$corpus" "$FUZZ/artifacts/confined"
scratch="$(mktemp -d /tmp/kiste-fuzz-confined.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
extra=()
if [ "$SELFTEST" = "--selftest" ]; then
    export KISTE_FUZZ_SELFTEST=1
    corpus="$scratch/corpus"
    mkdir -p "$corpus"
    extra=(-artifact_prefix="$scratch/")
fi
echo "== libFuzzer for ${SECONDS_TO_RUN}s"
cd "$FUZZ"
TMPDIR="$scratch" CARGO_TARGET_DIR="$TARGET_DIR" RUSTC_BOOTSTRAP=1 \
    cargo fuzz run confined --sanitizer none -O "$corpus" -- \
    -max_total_time="$SECONDS_TO_RUN" -max_len=512 -len_control=0 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}"
