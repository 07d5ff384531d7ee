#!/usr/bin/env bash
# The whole test suite, as root: unit tests, the parser's conformance run, and the
# integration tests (real namespaces, overlays, cgroups; cgroup v2 in qemu; docker
# comparisons). Ends with one summary line over every test binary cargo ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The qemu test boots the static binary; build it first.
bash scripts/build-static.sh >/dev/null
log=$(mktemp /tmp/kiste-test.XXXXXX)
# A test that cannot run here calls support::skip(reason), which appends a line to this
# file; it then counts as skipped, not passed, and its reason is printed below.
export KISTE_SKIP_LOG
KISTE_SKIP_LOG=$(mktemp /tmp/kiste-skips.XXXXXX)
# A docker engine that a comparison test starts is stopped at the end (by its pid).
source scripts/lib/stop-test-dockerd.sh
export KISTE_TEST_DOCKERD_PIDFILE=/tmp/kiste-tests-dockerd.$$.pid
trap 'stop_test_dockerd "$KISTE_TEST_DOCKERD_PIDFILE"; rm -f "$log" "$KISTE_SKIP_LOG"' EXIT
status=0
cargo test --workspace --no-fail-fast -- --test-threads 2 2>&1 | tee "$log" || status=$?
# The start path under injected faults (a panic and a SIGKILL at each step of the child):
# only this test binary is built with the test-only feature.
cargo test --features fault-injection --test runtime_faults -- --test-threads 2 2>&1 | tee -a "$log" || status=$?
bash scripts/test-summary.sh "$log" "$KISTE_SKIP_LOG"
exit "$status"
