#!/usr/bin/env bash
# Generate kiste's man pages from the clap definitions (clap_mangen, through the `man`
# example so the shipped binary does not carry it) into DIR (default target/man), then
# check each renders with man(1) when it is installed.
# Usage: scripts/man.sh [DIR]      Install: cp DIR/*.1 /usr/local/share/man/man1/
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-target/man}
cargo run --quiet --example man -- "$dir"
if command -v man >/dev/null; then
  for page in "$dir"/*.1; do
    MANWIDTH=100 man -l "$page" >/dev/null 2>&1 || { echo "error: $page does not render" >&2; exit 1; }
  done
fi
echo "$dir"
