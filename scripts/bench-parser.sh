#!/usr/bin/env bash
# Benchmark dockerfile-parser: median time of `parse` on synthetic
# Dockerfiles of 10k, 20k and 40k lines, with the growth ratio between
# sizes (about 2.0 means linear). Release build; not a test assertion.
#
# Usage: scripts/bench-parser.sh [LINES...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$#" -eq 0 ]; then set -- 10000 20000 40000; fi
cargo run -q --release --manifest-path "$ROOT/Cargo.toml" -p dockerfile-parser \
    --example bench_parse -- "$@"
