#!/usr/bin/env bash
# Make the `busybox` base image from Debian's busybox-static through kiste itself:
# FROM scratch, COPY the static busybox, let it install its applet links.
# Usage: scripts/make-busybox-image.sh [KISTE [extra kiste flags…]]
set -euo pipefail
kiste=("${@:-kiste}")
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp /bin/busybox "$ctx/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCMD ["/bin/sh"]\n' > "$ctx/Dockerfile"
"${kiste[@]}" build -q -t busybox "$ctx"
