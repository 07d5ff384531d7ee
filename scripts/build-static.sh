#!/usr/bin/env bash
# Build the one static kiste binary and check that it is static. Prints its path.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --target x86_64-unknown-linux-musl >&2
bin=target/x86_64-unknown-linux-musl/release/kiste
if ! file "$bin" | grep -q static; then
  echo "error: $bin is not statically linked: $(file "$bin")" >&2
  exit 1
fi
echo "$bin"
