#!/usr/bin/env bash
# Install what building and testing kiste needs on a fresh Debian 12 machine (as root).
# Idempotent: packages already present are left alone.
set -euo pipefail

packages=(
  busybox-static      # the base image's only binary
  musl-tools          # musl-gcc, for the static build
  curl file tar util-linux iproute2 gcc libc6-dev make openssl procps xz-utils bzip2
  qemu-system-x86 linux-image-amd64 cpio   # the cgroup v2 tests boot a real v2 kernel
  docker.io           # the build tests compare kiste's images with docker's
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! rustup target list --installed 2>/dev/null | grep -q x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi
