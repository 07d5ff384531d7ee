#!/usr/bin/env bash
# The closing summary of a test run: test-summary.sh CARGO_TEST_OUTPUT SKIP_LOG.
# Prints every test that counts as skipped, with its reason, then one line
# "summary: P passed, F failed, S skipped" over every test binary cargo ran.
# A test that cannot run calls support::skip(reason), which appends "bin::test: reason" to
# SKIP_LOG and returns, so cargo counted it as passed: it moves to the skipped column here.
# Tests marked #[ignore] are skipped too (cargo prints "test NAME ... ignored[, reason]").
set -euo pipefail
log=$1
skip_log=$2
# One line per skipped test, even if it called skip more than once.
skipped=$(awk -F': ' '!seen[$1]++' "$skip_log")
skips=$(grep -c . <<<"$skipped" || true)
ignored=$(grep -E '^test .* \.\.\. ignored' "$log" || true)
if [ "$skips" -gt 0 ] || [ -n "$ignored" ]; then
  echo "skipped (cannot run on this machine, or ignored):"
  [ "$skips" -eq 0 ] || sed 's/^/  /' <<<"$skipped"
  [ -z "$ignored" ] || sed -E 's/^test (.*) \.\.\. ignored,? ?(.*)$/  \1: ignored \2/' <<<"$ignored"
fi
# cargo prints one "test result:" line per test binary (the last is often an empty doc-test
# run): sum them into a single closing line.
awk -v k="$skips" '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "summary: %d passed, %d failed, %d skipped\n", p - k, f, s + k }' "$log"
