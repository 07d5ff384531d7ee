#!/usr/bin/env bash
# Install what building and testing kiste needs on a fresh Debian 12 machine (as root).
# Idempotent: packages already present are left alone.
set -euo pipefail

# Installed without their recommendations (kernel and qemu would pull in much more).
lean=(
  busybox-static      # the base image's only binary
  musl-tools          # musl-gcc, for the static build (ring's C)
  curl file tar util-linux iproute2 gcc libc6-dev make openssl procps xz-utils bzip2
  qemu-system-x86 linux-image-amd64 cpio   # the cgroup v2 tests boot a real v2 kernel
)
# Installed as docker's packaging intends (the build tests compare with docker's images;
# the archive tests move images to and from docker, podman and skopeo).
full=(docker.io podman skopeo runc)

missing() {
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
  done
}
mapfile -t need_lean < <(missing "${lean[@]}")
mapfile -t need_full < <(missing "${full[@]}")
if ((${#need_lean[@]} + ${#need_full[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ((${#need_lean[@]})); then
    apt-get install -y -qq --no-install-recommends "${need_lean[@]}" >/dev/null
  fi
  if ((${#need_full[@]})); then
    apt-get install -y -qq "${need_full[@]}" >/dev/null
  fi
fi
if ! rustup target list --installed 2>/dev/null | grep -q x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl
fi
# podman fails here without it: its default nofile/nproc limits exceed the hard limits and
# crun refuses hybrid cgroups (RECIPES.md).
if [ ! -f /etc/containers/containers.conf ]; then
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
fi
