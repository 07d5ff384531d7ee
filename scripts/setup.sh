#!/usr/bin/env bash
# Install what building and testing kiste needs on a fresh Debian 12 machine (as root).
# Idempotent: packages already present are left alone.
set -euo pipefail

# Installed without their recommendations (kernel and qemu would pull in much more).
lean=(
  busybox-static      # the base image's only binary
  musl-tools          # musl-gcc, for the static build (ring's C)
  python3-pip         # pip installs kubernetes-validate (below)
  curl file tar util-linux iproute2 gcc libc6-dev make openssl procps xz-utils bzip2
  qemu-system-x86 linux-image-amd64 cpio   # the cgroup v2 tests boot a real v2 kernel
  apache2-utils       # htpasswd, for the registry Basic auth test
  bash-completion zsh fish hyperfine   # the completion tests and bench-complete.sh
  nftables            # nft: the bridge network loads its rules through `nft -f -`
  xfsprogs binutils   # mkfs.xfs and objcopy: the --storage-opt size= (XFS project quota) test's VM
  uidmap passt slirp4netns fuse-overlayfs   # rootless: newuidmap/newgidmap, pasta (default network), slirp4netns and fuse-overlayfs (fallbacks)
  openssh-server openssh-client   # the ssh context test starts its own sshd on 127.0.0.1
)
# Installed as docker's packaging intends (the build tests compare with docker's images).
# docker-registry, skopeo and podman: the registry and archive tests move images to and
# from the real tools. docker-compose (1.29): `compose config` is compared with its output.
# containerd and conmon (podman's) drive `kiste-oci` in the OCI client tests; crun is the
# third runtime of bench-start.sh.
full=(docker.io docker-registry skopeo podman runc uidmap docker-compose containerd conmon crun)

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
source "$(dirname "$0")/lib/podman-conf.sh"

# kubernetes-validate (PyPI): Kubernetes' JSON schemas, offline, for the `generate kube` tests.
if ! command -v kubernetes-validate >/dev/null; then
  pip install -q --break-system-packages kubernetes-validate
fi
