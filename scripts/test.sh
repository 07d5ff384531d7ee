#!/usr/bin/env bash
# The whole test suite, as root: unit tests, the parser's conformance run, and the
# integration tests (real namespaces, overlays, cgroups; cgroup v2 in qemu; docker
# comparisons). Ends with cargo's summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The qemu test boots the static binary; build it first.
bash scripts/build-static.sh >/dev/null
cargo test --workspace --no-fail-fast -- --test-threads 2 2>&1
