#!/usr/bin/env bash
# The main job: set up, build kiste, make the busybox base image, build the example web
# server from testdata/, run it detached with a published port and show it answering.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bin=$(bash scripts/build-static.sh)
echo "kiste: $bin ($(file -b "$bin" | cut -d, -f1-4))"
state=$(mktemp -d /tmp/kiste-demo.XXXXXX)
k=("$PWD/$bin" --root "$state/root" --runroot "$state/run")
cleanup() { "${k[@]}" rm -f myapache >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
port=${PORT:-8000}

set -x
bash scripts/make-busybox-image.sh "${k[@]}"
"${k[@]}" build --tag apache2sample testdata/apache2sample
"${k[@]}" images
"${k[@]}" run --name myapache -d -p "$port:80" apache2sample
"${k[@]}" ps
curl -sS --retry 5 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$port/"
"${k[@]}" stop -t 2 myapache
"${k[@]}" start myapache
curl -sS --retry 5 --retry-connrefused --retry-delay 0 "http://127.0.0.1:$port/"
"${k[@]}" logs myapache
"${k[@]}" rm -f myapache
